//! Failed SCIM reads, counted per team, hour, client, route and error.

use diesel::prelude::*;

use crate::scim::ids::TenantId;
use crate::store::StoreError;
use crate::store::db::DbConnection;
use crate::store::schema::failed_reads;

/// One kind of failed read in one hour, and how many there were.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = failed_reads)]
pub struct FailedReads {
    pub tenant_id: String,
    /// The clock hour (UTC), `2026-11-26T13:00:00Z`.
    pub hour: String,
    pub client: String,
    /// The route pattern, `/api/external/scim/v2/Users`.
    pub route: String,
    pub status: i32,
    /// Empty when the error has none.
    pub scim_type: String,
    pub detail: String,
    pub count: i64,
}

/// Adds `reads.count` to its hour's line. (Diesel's upsert is not
/// available over both backends at once: update, else insert, and when a
/// concurrent insert won, update again.)
pub fn add(conn: &mut DbConnection, reads: &FailedReads) -> Result<(), StoreError> {
    let bump = |conn: &mut DbConnection| {
        diesel::update(
            failed_reads::table
                .filter(failed_reads::tenant_id.eq(&reads.tenant_id))
                .filter(failed_reads::hour.eq(&reads.hour))
                .filter(failed_reads::client.eq(&reads.client))
                .filter(failed_reads::route.eq(&reads.route))
                .filter(failed_reads::status.eq(reads.status))
                .filter(failed_reads::scim_type.eq(&reads.scim_type))
                .filter(failed_reads::detail.eq(&reads.detail)),
        )
        .set(failed_reads::count.eq(failed_reads::count + reads.count))
        .execute(conn)
    };
    if bump(conn)? > 0 {
        return Ok(());
    }
    match diesel::insert_into(failed_reads::table)
        .values(reads)
        .execute(conn)
    {
        Ok(_) => Ok(()),
        Err(e) => {
            let e = StoreError::from(e);
            if e.is_unique_violation() {
                bump(conn)?;
                Ok(())
            } else {
                Err(e)
            }
        }
    }
}

/// The team's lines from `since_hour` on, newest hour first.
pub fn since(
    tenant: &TenantId,
    conn: &mut DbConnection,
    since_hour: &str,
) -> Result<Vec<FailedReads>, StoreError> {
    Ok(failed_reads::table
        .filter(failed_reads::tenant_id.eq(tenant.as_str()))
        .filter(failed_reads::hour.ge(since_hour))
        .order((failed_reads::hour.desc(), failed_reads::count.desc()))
        .select(FailedReads::as_select())
        .load(conn)?)
}

/// Deletes hours before `before`; returns how many lines.
pub fn prune(conn: &mut DbConnection, before: &str) -> Result<usize, StoreError> {
    Ok(diesel::delete(failed_reads::table.filter(failed_reads::hour.lt(before))).execute(conn)?)
}

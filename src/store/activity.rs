//! The provisioning activity log and the digest cursors that read it.

use diesel::prelude::*;

use crate::scim::activity::{ADDITIONS, LoggedEvent, NOT_IN_TEAM, NewEvent, TEAM_UNCHANGED};
use crate::scim::ids::TenantId;
use crate::scim::time;
use crate::store::Db;
use crate::store::StoreError;
use crate::store::db::DbConnection;
use crate::store::schema::{digest_cursors, provisioning_events};

#[derive(Queryable, Selectable)]
#[diesel(table_name = provisioning_events)]
struct EventRow {
    occurred_at: String,
    token_label: Option<String>,
    client: String,
    operation: String,
    resource_type: String,
    resource_id: Option<String>,
    resource_name: Option<String>,
    fields_changed: Option<String>,
    status: i32,
    scim_type: Option<String>,
    detail: Option<String>,
}

impl From<EventRow> for LoggedEvent {
    fn from(row: EventRow) -> Self {
        LoggedEvent {
            occurred_at: row.occurred_at,
            token_label: row.token_label,
            client: row.client,
            operation: row.operation,
            resource_type: row.resource_type,
            resource_id: row.resource_id,
            resource_name: row.resource_name,
            fields_changed: row
                .fields_changed
                .as_deref()
                .and_then(|f| serde_json::from_str(f).ok())
                .unwrap_or_default(),
            status: row.status,
            scim_type: row.scim_type,
            detail: row.detail,
        }
    }
}

pub fn record(
    tenant: &TenantId,
    conn: &mut DbConnection,
    event: &NewEvent<'_>,
) -> Result<(), StoreError> {
    let fields = (!event.fields_changed.is_empty())
        .then(|| serde_json::to_string(event.fields_changed).unwrap_or_default());
    diesel::insert_into(provisioning_events::table)
        .values((
            provisioning_events::tenant_id.eq(tenant.as_str()),
            provisioning_events::occurred_at.eq(time::now()),
            provisioning_events::token_label.eq(&event.actor.token_label),
            provisioning_events::client.eq(event.actor.client.as_str()),
            provisioning_events::operation.eq(event.operation.as_str()),
            provisioning_events::resource_type.eq(event.resource_type),
            provisioning_events::resource_id.eq(event.resource_id),
            provisioning_events::resource_name.eq(event.resource_name),
            provisioning_events::fields_changed.eq(fields),
            provisioning_events::status.eq(i32::from(event.status)),
            provisioning_events::scim_type.eq(event.scim_type),
            provisioning_events::detail.eq(event.detail),
        ))
        .execute(conn)?;
    Ok(())
}

type EventQuery<'a> = provisioning_events::BoxedQuery<'a, Db>;

fn tenant_events(tenant: &TenantId) -> EventQuery<'_> {
    provisioning_events::table
        .filter(provisioning_events::tenant_id.eq(tenant.as_str()))
        .into_boxed()
}

fn load_events(
    query: EventQuery<'_>,
    conn: &mut DbConnection,
) -> Result<Vec<LoggedEvent>, StoreError> {
    Ok(query
        .select(EventRow::as_select())
        .load(conn)?
        .into_iter()
        .map(LoggedEvent::from)
        .collect())
}

/// A tenant's events at or after `since` (stored time format), oldest first.
pub fn since(
    tenant: &TenantId,
    conn: &mut DbConnection,
    since: Option<&str>,
) -> Result<Vec<LoggedEvent>, StoreError> {
    window(tenant, conn, since, None)
}

/// A tenant's events at or after `since` and at or before `until` (stored
/// time format), oldest first.
pub fn window(
    tenant: &TenantId,
    conn: &mut DbConnection,
    since: Option<&str>,
    until: Option<&str>,
) -> Result<Vec<LoggedEvent>, StoreError> {
    in_window(tenant_events(tenant), conn, since, until)
}

/// `window`'s failed writes (status 400 and up) alone, picked out by the
/// database.
pub fn failed_in_window(
    tenant: &TenantId,
    conn: &mut DbConnection,
    since: Option<&str>,
    until: Option<&str>,
) -> Result<Vec<LoggedEvent>, StoreError> {
    let failed = tenant_events(tenant).filter(provisioning_events::status.ge(400));
    in_window(failed, conn, since, until)
}

fn in_window(
    mut query: EventQuery<'_>,
    conn: &mut DbConnection,
    since: Option<&str>,
    until: Option<&str>,
) -> Result<Vec<LoggedEvent>, StoreError> {
    if let Some(since) = since {
        query = query.filter(provisioning_events::occurred_at.ge(since.to_owned()));
    }
    if let Some(until) = until {
        query = query.filter(provisioning_events::occurred_at.le(until.to_owned()));
    }
    // Time order, so the (tenant, time) index answers a window of time.
    let query = query.order((
        provisioning_events::occurred_at.asc(),
        provisioning_events::seq.asc(),
    ));
    load_events(query, conn)
}

/// The newest event's sequence number and time, if any.
pub fn latest(
    tenant: &TenantId,
    conn: &mut DbConnection,
) -> Result<Option<(i64, String)>, StoreError> {
    Ok(provisioning_events::table
        .filter(provisioning_events::tenant_id.eq(tenant.as_str()))
        .order(provisioning_events::seq.desc())
        .select((provisioning_events::seq, provisioning_events::occurred_at))
        .first(conn)
        .optional()?)
}

/// Events with `after < seq <= through`, oldest first.
pub fn between(
    tenant: &TenantId,
    conn: &mut DbConnection,
    after: i64,
    through: i64,
) -> Result<Vec<LoggedEvent>, StoreError> {
    let query = tenant_events(tenant)
        .filter(provisioning_events::seq.gt(after))
        .filter(provisioning_events::seq.le(through))
        .order(provisioning_events::seq.asc());
    load_events(query, conn)
}

/// The times of the team's writes after `after`, oldest first, at most `limit`.
pub fn times_after(
    tenant: &TenantId,
    conn: &mut DbConnection,
    after: &str,
    limit: i64,
) -> Result<Vec<String>, StoreError> {
    Ok(provisioning_events::table
        .filter(provisioning_events::tenant_id.eq(tenant.as_str()))
        .filter(provisioning_events::occurred_at.gt(after))
        .order(provisioning_events::occurred_at.asc())
        .limit(limit)
        .select(provisioning_events::occurred_at)
        .load(conn)?)
}

/// The times of the team's writes before `before`, newest first, at most `limit`.
pub fn times_before(
    tenant: &TenantId,
    conn: &mut DbConnection,
    before: &str,
    limit: i64,
) -> Result<Vec<String>, StoreError> {
    Ok(provisioning_events::table
        .filter(provisioning_events::tenant_id.eq(tenant.as_str()))
        .filter(provisioning_events::occurred_at.lt(before))
        .order(provisioning_events::occurred_at.desc())
        .limit(limit)
        .select(provisioning_events::occurred_at)
        .load(conn)?)
}

/// How many members joined the team (created, adopted, back) since `since`:
/// the events `LoggedEvent::is_addition` counts, counted in the database.
pub fn additions_since(
    tenant: &TenantId,
    conn: &mut DbConnection,
    since: &str,
) -> Result<i64, StoreError> {
    Ok(provisioning_events::table
        .filter(provisioning_events::tenant_id.eq(tenant.as_str()))
        .filter(provisioning_events::occurred_at.ge(since))
        .filter(provisioning_events::resource_type.eq("User"))
        .filter(provisioning_events::operation.eq_any(ADDITIONS))
        .filter(provisioning_events::status.lt(400))
        .filter(
            provisioning_events::detail
                .is_null()
                .or(provisioning_events::detail
                    .not_like(format!("{NOT_IN_TEAM}%"))
                    .and(provisioning_events::detail.not_like(format!("{TEAM_UNCHANGED}%")))),
        )
        .count()
        .get_result(conn)?)
}

/// How many of the team's writes since `since` failed.
pub fn failures_since(
    tenant: &TenantId,
    conn: &mut DbConnection,
    since: &str,
) -> Result<i64, StoreError> {
    Ok(provisioning_events::table
        .filter(provisioning_events::tenant_id.eq(tenant.as_str()))
        .filter(provisioning_events::occurred_at.ge(since))
        .filter(provisioning_events::status.ge(400))
        .count()
        .get_result(conn)?)
}

/// The team's events about one resource (a member's history), newest first.
pub fn of_resource(
    tenant: &TenantId,
    conn: &mut DbConnection,
    resource_id: &str,
    limit: i64,
) -> Result<Vec<LoggedEvent>, StoreError> {
    let query = tenant_events(tenant)
        .filter(provisioning_events::resource_id.eq(resource_id.to_owned()))
        .order((
            provisioning_events::occurred_at.desc(),
            provisioning_events::seq.desc(),
        ))
        .limit(limit);
    load_events(query, conn)
}

/// Deletes events older than `before` (stored time format); returns how many.
pub fn prune(conn: &mut DbConnection, before: &str) -> Result<usize, StoreError> {
    Ok(diesel::delete(
        provisioning_events::table.filter(provisioning_events::occurred_at.lt(before)),
    )
    .execute(conn)?)
}

/// The last event a digest covered; `None` before the tenant's first digest.
pub fn digest_cursor(
    tenant: &TenantId,
    conn: &mut DbConnection,
) -> Result<Option<i64>, StoreError> {
    Ok(digest_cursors::table
        .filter(digest_cursors::tenant_id.eq(tenant.as_str()))
        .select(digest_cursors::last_event_seq)
        .first(conn)
        .optional()?)
}

pub fn set_digest_cursor(
    tenant: &TenantId,
    conn: &mut DbConnection,
    seq: i64,
) -> Result<(), StoreError> {
    let updated =
        diesel::update(digest_cursors::table.filter(digest_cursors::tenant_id.eq(tenant.as_str())))
            .set(digest_cursors::last_event_seq.eq(seq))
            .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(digest_cursors::table)
            .values((
                digest_cursors::tenant_id.eq(tenant.as_str()),
                digest_cursors::last_event_seq.eq(seq),
            ))
            .execute(conn)?;
    }
    Ok(())
}

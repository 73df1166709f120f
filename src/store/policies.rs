//! Tenant policies: one JSON document per tenant, with a version that every
//! change bumps so cached copies notice it.

use diesel::prelude::*;

use crate::scim::ids::TenantId;
use crate::scim::time;
use crate::store::StoreError;
use crate::store::db::DbConnection;
use crate::store::schema::tenant_policies;

/// The stored document and its version; `None` for a tenant that never set
/// one (version 0, the default policy).
pub fn get(
    tenant: &TenantId,
    conn: &mut DbConnection,
) -> Result<Option<(String, i64)>, StoreError> {
    Ok(tenant_policies::table
        .filter(tenant_policies::tenant_id.eq(tenant.as_str()))
        .select((tenant_policies::settings, tenant_policies::version))
        .first(conn)
        .optional()?)
}

pub fn version(tenant: &TenantId, conn: &mut DbConnection) -> Result<i64, StoreError> {
    Ok(tenant_policies::table
        .filter(tenant_policies::tenant_id.eq(tenant.as_str()))
        .select(tenant_policies::version)
        .first(conn)
        .optional()?
        .unwrap_or(0))
}

/// Stores a new document; the caller holds a write transaction.
pub fn put(tenant: &TenantId, conn: &mut DbConnection, settings: &str) -> Result<i64, StoreError> {
    let now = time::now();
    let current = version(tenant, conn)?;
    let next = current + 1;
    if current == 0 {
        diesel::insert_into(tenant_policies::table)
            .values((
                tenant_policies::tenant_id.eq(tenant.as_str()),
                tenant_policies::settings.eq(settings),
                tenant_policies::version.eq(next),
                tenant_policies::updated_at.eq(&now),
            ))
            .execute(conn)?;
    } else {
        diesel::update(
            tenant_policies::table.filter(tenant_policies::tenant_id.eq(tenant.as_str())),
        )
        .set((
            tenant_policies::settings.eq(settings),
            tenant_policies::version.eq(next),
            tenant_policies::updated_at.eq(&now),
        ))
        .execute(conn)?;
    }
    Ok(next)
}

/// Every tenant that has a stored policy, with its document (for the
/// background digest job).
pub fn all(conn: &mut DbConnection) -> Result<Vec<(TenantId, String)>, StoreError> {
    Ok(tenant_policies::table
        .select((tenant_policies::tenant_id, tenant_policies::settings))
        .load::<(String, String)>(conn)?
        .into_iter()
        .map(|(tenant, settings)| (TenantId::from_string(tenant), settings))
        .collect())
}

//! Tenants (teams). Names are unique ignoring ASCII case: the unique index
//! is on `name_key`, the name with ASCII letters lower-cased.

use diesel::prelude::*;

use crate::scim::ids::TenantId;
use crate::scim::time;
use crate::store::StoreError;
use crate::store::db::DbConnection;
use crate::store::schema::tenants;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tenants)]
pub struct TenantRow {
    pub id: String,
    pub name: String,
    pub created_at: String,
}

impl TenantRow {
    pub fn tenant_id(&self) -> TenantId {
        TenantId::from_string(self.id.clone())
    }
}

/// What a tenant name is compared by. ASCII only, so both backends (and
/// the migration that filled existing rows) agree on it.
fn name_key(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// Creates a tenant; `Ok(None)` when the name is taken.
pub fn create(conn: &mut DbConnection, name: &str) -> Result<Option<TenantRow>, StoreError> {
    let row = TenantRow {
        id: TenantId::generate().to_string(),
        name: name.to_owned(),
        created_at: time::now(),
    };
    let inserted = diesel::insert_into(tenants::table)
        .values((
            tenants::id.eq(&row.id),
            tenants::name.eq(&row.name),
            tenants::name_key.eq(name_key(&row.name)),
            tenants::created_at.eq(&row.created_at),
        ))
        .execute(conn)
        .map_err(StoreError::from);
    match inserted {
        Ok(_) => Ok(Some(row)),
        Err(e) if e.is_unique_violation() => Ok(None),
        Err(e) => Err(e),
    }
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<TenantRow>, StoreError> {
    Ok(tenants::table
        .order(tenants::created_at.asc())
        .select(TenantRow::as_select())
        .load(conn)?)
}

/// The tenant with this id, else the one with this name (ignoring case).
pub fn find_by_name_or_id(
    conn: &mut DbConnection,
    name_or_id: &str,
) -> Result<Option<TenantRow>, StoreError> {
    Ok(tenants::table
        .filter(
            tenants::id
                .eq(name_or_id)
                .or(tenants::name_key.eq(name_key(name_or_id))),
        )
        // An id wins over another tenant's name that happens to equal it.
        .order(tenants::id.eq(name_or_id).desc())
        .select(TenantRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn count(conn: &mut DbConnection) -> Result<i64, StoreError> {
    Ok(tenants::table.count().get_result(conn)?)
}

pub fn find(conn: &mut DbConnection, id: &TenantId) -> Result<Option<TenantRow>, StoreError> {
    Ok(tenants::table
        .filter(tenants::id.eq(id.as_str()))
        .select(TenantRow::as_select())
        .first(conn)
        .optional()?)
}

/// Renames a tenant; `Ok(false)` when the new name is taken.
pub fn rename(conn: &mut DbConnection, id: &TenantId, name: &str) -> Result<bool, StoreError> {
    let renamed = diesel::update(tenants::table.filter(tenants::id.eq(id.as_str())))
        .set((tenants::name.eq(name), tenants::name_key.eq(name_key(name))))
        .execute(conn)
        .map_err(StoreError::from);
    match renamed {
        Ok(_) => Ok(true),
        Err(e) if e.is_unique_violation() => Ok(false),
        Err(e) => Err(e),
    }
}

/// Deletes a tenant and, through the foreign keys, everything it owns.
pub fn delete(conn: &mut DbConnection, id: &TenantId) -> Result<(), StoreError> {
    diesel::delete(tenants::table.filter(tenants::id.eq(id.as_str()))).execute(conn)?;
    Ok(())
}

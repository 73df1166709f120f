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

/// Creates a tenant; `Ok(None)` when the name is taken.
pub fn create(conn: &mut DbConnection, name: &str) -> Result<Option<TenantRow>, StoreError> {
    let row = TenantRow {
        id: TenantId::random().to_string(),
        name: name.to_owned(),
        created_at: time::now(),
    };
    let inserted = diesel::insert_into(tenants::table)
        .values((
            tenants::id.eq(&row.id),
            tenants::name.eq(&row.name),
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

pub fn find_by_name(conn: &mut DbConnection, name: &str) -> Result<Option<TenantRow>, StoreError> {
    Ok(tenants::table
        .filter(tenants::name.eq(name))
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

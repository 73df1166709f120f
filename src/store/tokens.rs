use diesel::prelude::*;

use crate::scim::ids::{TenantId, TokenId};
use crate::scim::time;
use crate::store::StoreError;
use crate::store::db::DbConnection;
use crate::store::schema::api_tokens;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_tokens)]
pub struct TokenRow {
    pub id: String,
    pub tenant_id: String,
    pub label: String,
    pub lookup_prefix: String,
    pub secret_hash: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

pub fn insert(
    tenant: &TenantId,
    conn: &mut DbConnection,
    label: &str,
    lookup_prefix: &str,
    secret_hash: &str,
) -> Result<TokenRow, StoreError> {
    let row = TokenRow {
        id: TokenId::generate().to_string(),
        tenant_id: tenant.to_string(),
        label: label.to_owned(),
        lookup_prefix: lookup_prefix.to_owned(),
        secret_hash: secret_hash.to_owned(),
        created_at: time::now(),
        last_used_at: None,
        revoked_at: None,
    };
    diesel::insert_into(api_tokens::table)
        .values((
            api_tokens::id.eq(&row.id),
            api_tokens::tenant_id.eq(&row.tenant_id),
            api_tokens::label.eq(&row.label),
            api_tokens::lookup_prefix.eq(&row.lookup_prefix),
            api_tokens::secret_hash.eq(&row.secret_hash),
            api_tokens::created_at.eq(&row.created_at),
        ))
        .execute(conn)?;
    Ok(row)
}

/// The one lookup that is not tenant-scoped: authentication is how the
/// tenant is found. An index hit on the public prefix.
pub fn find_by_lookup_prefix(
    conn: &mut DbConnection,
    lookup_prefix: &str,
) -> Result<Option<TokenRow>, StoreError> {
    Ok(api_tokens::table
        .filter(api_tokens::lookup_prefix.eq(lookup_prefix))
        .select(TokenRow::as_select())
        .first(conn)
        .optional()?)
}

/// Records that the token was used.
pub fn touch(conn: &mut DbConnection, id: &TokenId) -> Result<(), StoreError> {
    diesel::update(api_tokens::table.filter(api_tokens::id.eq(id.as_str())))
        .set(api_tokens::last_used_at.eq(time::now()))
        .execute(conn)?;
    Ok(())
}

pub fn is_active(conn: &mut DbConnection, id: &TokenId) -> Result<bool, StoreError> {
    let found: Option<String> = api_tokens::table
        .filter(api_tokens::id.eq(id.as_str()))
        .filter(api_tokens::revoked_at.is_null())
        .select(api_tokens::id)
        .first(conn)
        .optional()?;
    Ok(found.is_some())
}

pub fn list(tenant: &TenantId, conn: &mut DbConnection) -> Result<Vec<TokenRow>, StoreError> {
    Ok(api_tokens::table
        .filter(api_tokens::tenant_id.eq(tenant.as_str()))
        .order(api_tokens::created_at.asc())
        .select(TokenRow::as_select())
        .load(conn)?)
}

/// The tenant's active token with this label (labels of active tokens are unique).
pub fn find_active_by_label(
    tenant: &TenantId,
    conn: &mut DbConnection,
    label: &str,
) -> Result<Option<TokenRow>, StoreError> {
    Ok(api_tokens::table
        .filter(api_tokens::tenant_id.eq(tenant.as_str()))
        .filter(api_tokens::label.eq(label))
        .filter(api_tokens::revoked_at.is_null())
        .select(TokenRow::as_select())
        .first(conn)
        .optional()?)
}

/// Revokes by token id; `false` when there is no such active token.
pub fn revoke(conn: &mut DbConnection, id: &TokenId) -> Result<bool, StoreError> {
    let updated = diesel::update(
        api_tokens::table
            .filter(api_tokens::id.eq(id.as_str()))
            .filter(api_tokens::revoked_at.is_null()),
    )
    .set(api_tokens::revoked_at.eq(time::now()))
    .execute(conn)?;
    Ok(updated == 1)
}

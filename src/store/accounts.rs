//! Console accounts and the console's signing key.

use diesel::prelude::*;

use crate::scim::time;
use crate::store::StoreError;
use crate::store::db::DbConnection;
use crate::store::schema::{console_accounts, console_keys};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = console_accounts)]
pub struct AccountRow {
    pub id: String,
    pub name: String,
    /// `None`: an operator, who sees every team.
    pub tenant_id: Option<String>,
    pub password_hash: String,
    pub session_epoch: i64,
    pub created_at: String,
    pub disabled_at: Option<String>,
    pub failed_sign_ins: i64,
    pub last_failed_at: Option<String>,
}

/// Inserts an account; `None` when the name is taken.
pub fn insert(
    conn: &mut DbConnection,
    id: &str,
    name: &str,
    tenant_id: Option<&str>,
    password_hash: &str,
) -> Result<Option<AccountRow>, StoreError> {
    let inserted = diesel::insert_into(console_accounts::table)
        .values((
            console_accounts::id.eq(id),
            console_accounts::name.eq(name),
            console_accounts::tenant_id.eq(tenant_id),
            console_accounts::password_hash.eq(password_hash),
            console_accounts::created_at.eq(time::now()),
        ))
        .execute(conn);
    match inserted {
        Ok(_) => find_by_name(conn, name),
        Err(e) => {
            let e = StoreError::from(e);
            if e.is_unique_violation() {
                Ok(None)
            } else {
                Err(e)
            }
        }
    }
}

pub fn find_by_name(conn: &mut DbConnection, name: &str) -> Result<Option<AccountRow>, StoreError> {
    Ok(console_accounts::table
        .filter(console_accounts::name.eq(name))
        .select(AccountRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<AccountRow>, StoreError> {
    Ok(console_accounts::table
        .find(id)
        .select(AccountRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<AccountRow>, StoreError> {
    Ok(console_accounts::table
        .order(console_accounts::name)
        .select(AccountRow::as_select())
        .load(conn)?)
}

/// A new password; every session signed before it ends.
pub fn set_password(
    conn: &mut DbConnection,
    id: &str,
    password_hash: &str,
) -> Result<(), StoreError> {
    diesel::update(console_accounts::table.find(id))
        .set((
            console_accounts::password_hash.eq(password_hash),
            console_accounts::session_epoch.eq(console_accounts::session_epoch + 1),
            console_accounts::disabled_at.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records a sign-in's outcome: the failures not yet forgiven (the caller
/// works them out) and when the last was; `0` and `None` clear them.
pub fn record_sign_in(
    conn: &mut DbConnection,
    id: &str,
    failures: i64,
    last_failed: Option<&str>,
) -> Result<(), StoreError> {
    diesel::update(console_accounts::table.find(id))
        .set((
            console_accounts::failed_sign_ins.eq(failures),
            console_accounts::last_failed_at.eq(last_failed),
        ))
        .execute(conn)?;
    Ok(())
}

/// Refuses the account's sign-ins and ends its sessions.
pub fn disable(conn: &mut DbConnection, id: &str) -> Result<(), StoreError> {
    diesel::update(console_accounts::table.find(id))
        .set((
            console_accounts::disabled_at.eq(time::now()),
            console_accounts::session_epoch.eq(console_accounts::session_epoch + 1),
        ))
        .execute(conn)?;
    Ok(())
}

/// The key named `name`, made from `fresh` by whichever process asks first.
pub fn key(
    conn: &mut DbConnection,
    name: &str,
    fresh: impl FnOnce() -> String,
) -> Result<String, StoreError> {
    let find = |conn: &mut DbConnection| {
        console_keys::table
            .find(name)
            .select(console_keys::secret)
            .first::<String>(conn)
            .optional()
    };
    if let Some(secret) = find(conn)? {
        return Ok(secret);
    }
    let inserted = diesel::insert_into(console_keys::table)
        .values((
            console_keys::name.eq(name),
            console_keys::secret.eq(fresh()),
        ))
        .execute(conn);
    if let Err(e) = inserted {
        // Another process made it first: use theirs.
        let e = StoreError::from(e);
        if !e.is_unique_violation() {
            return Err(e);
        }
    }
    find(conn)?.ok_or_else(|| StoreError::Unavailable("the console key vanished".into()))
}

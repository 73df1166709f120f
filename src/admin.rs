//! Operator actions shared by the CLI and the tests: tenants, tokens,
//! policies and members made outside SCIM.

use crate::scim::ScimError;
use crate::scim::activity::{Actor, Client};
use crate::scim::ids::{MemberId, TenantId, TokenId};
use crate::scim::policy::Policy;
use crate::scim::token;
use crate::service;
use crate::store::db::{DbConnection, write_transaction};
use crate::store::members::{self, UnprovisionedMember};
use crate::store::tenants::{self, TenantRow};
use crate::store::tokens::{self, TokenRow};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("a tenant named {0:?} already exists")]
    TenantExists(String),
    #[error("no tenant named {0:?}")]
    NoSuchTenant(String),
    #[error("no active token with id {0}")]
    NoSuchToken(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Scim(#[from] ScimError),
}

pub fn create_tenant(conn: &mut DbConnection, name: &str) -> Result<TenantRow, AdminError> {
    tenants::create(conn, name)?.ok_or_else(|| AdminError::TenantExists(name.to_owned()))
}

pub fn tenant_by_name(conn: &mut DbConnection, name: &str) -> Result<TenantRow, AdminError> {
    tenants::find_by_name(conn, name)?.ok_or_else(|| AdminError::NoSuchTenant(name.to_owned()))
}

/// Issues a token; the plaintext in the result is the only copy there will be.
pub fn issue_token(
    conn: &mut DbConnection,
    tenant: &TenantId,
    label: &str,
) -> Result<(TokenRow, String), AdminError> {
    let issued = token::issue()?;
    let row = tokens::insert(
        tenant,
        conn,
        label,
        &issued.lookup_prefix,
        &issued.secret_hash,
    )?;
    Ok((row, issued.plaintext))
}

pub fn revoke_token(conn: &mut DbConnection, id: &TokenId) -> Result<(), AdminError> {
    if tokens::revoke(conn, id)? {
        Ok(())
    } else {
        Err(AdminError::NoSuchToken(id.to_string()))
    }
}

/// On an empty database, makes tenant `default` and a token for it so the
/// first `scimd serve` yields a working endpoint.
pub fn bootstrap_default_tenant(conn: &mut DbConnection) -> Result<Option<String>, AdminError> {
    if tenants::count(conn)? > 0 {
        return Ok(None);
    }
    let tenant = create_tenant(conn, "default")?;
    let (_, plaintext) = issue_token(conn, &tenant.tenant_id(), "bootstrap")?;
    Ok(Some(plaintext))
}

/// A tenant's policy as stored (or the default).
pub fn policy(conn: &mut DbConnection, tenant: &TenantRow) -> Result<Policy, AdminError> {
    Ok(service::policy::load(&tenant.tenant_id(), conn)?.0)
}

/// Who the activity log names for what a policy change does to existing
/// members (users moved in or out of the team by the user allowlist).
fn policy_actor() -> Actor {
    Actor {
        token_label: "policy".to_owned(),
        client: Client::Other,
    }
}

/// Changes a tenant's policy; running servers apply it from their next request.
pub fn set_policy(
    conn: &mut DbConnection,
    tenant: &TenantRow,
    edit: impl FnOnce(&mut Policy),
) -> Result<Policy, AdminError> {
    let mut policy = policy(conn, tenant)?;
    edit(&mut policy);
    service::policy::store(&tenant.tenant_id(), conn, &policy, &policy_actor())?;
    Ok(policy)
}

/// Makes a member the way the dashboard or an import does: outside SCIM,
/// with an email and optional template links. A later SCIM create with the
/// same primary email adopts it.
pub fn add_member(
    conn: &mut DbConnection,
    tenant: &TenantRow,
    member: &UnprovisionedMember<'_>,
) -> Result<MemberId, AdminError> {
    let id = MemberId::random();
    write_transaction(conn, |conn| {
        members::insert_unprovisioned(&tenant.tenant_id(), conn, &id, member)
    })?;
    Ok(id)
}

//! Operator actions shared by the CLI and the tests: tenants, tokens,
//! policies and members made outside SCIM.

use crate::scim::ScimError;
use crate::scim::activity::{Actor, Client};
use crate::scim::card::email_address;
use crate::scim::ids::{MemberId, TokenId};
use crate::scim::policy::Policy;
use crate::scim::token;
use crate::service::guard::{self, Decision};
use crate::service::{self, Scope};
use crate::store::db::{DbConnection, write_transaction};
use crate::store::holds::{self, Held};
use crate::store::members::{self, MemberRow, UnprovisionedMember};
use crate::store::tenants::{self, TenantRow};
use crate::store::tokens::{self, TokenRow};
use crate::telemetry::DETACHED;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("a tenant named {0:?} already exists (names are compared ignoring case)")]
    TenantExists(String),
    #[error("a tenant name must not be empty")]
    EmptyTenantName,
    #[error("no tenant with the name or id {0:?} (`scimd tenant list` shows them)")]
    NoSuchTenant(String),
    #[error("no active token {0:?} (`scimd token list --tenant T` shows them)")]
    NoSuchToken(String),
    #[error(
        "tenant {tenant:?} already has an active token labelled {label:?}: pick another --label, or revoke that one first"
    )]
    LabelTaken { tenant: String, label: String },
    #[error(
        "no member with the id, userName or email {0:?} in this team (`scimd member list --tenant T`)"
    )]
    NoSuchMember(String),
    #[error("{reference:?} names {} members ({}): use an id", ids.len(), ids.join(", "))]
    AmbiguousMember { reference: String, ids: Vec<String> },
    #[error("{email:?} is already the email of member {}: one person, one member", ids.join(", "))]
    EmailTaken { email: String, ids: Vec<String> },
    #[error("{0}")]
    InvalidEmail(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),

    #[error(transparent)]
    Scim(#[from] ScimError),
}

impl From<diesel::result::Error> for AdminError {
    fn from(error: diesel::result::Error) -> Self {
        AdminError::Store(error.into())
    }
}

/// A usable tenant name: surrounding white space dropped, not empty.
fn tenant_name(name: &str) -> Result<&str, AdminError> {
    let name = name.trim();
    if name.is_empty() {
        Err(AdminError::EmptyTenantName)
    } else {
        Ok(name)
    }
}

pub fn create_tenant(conn: &mut DbConnection, name: &str) -> Result<TenantRow, AdminError> {
    let name = tenant_name(name)?;
    tenants::create(conn, name)?.ok_or_else(|| AdminError::TenantExists(name.to_owned()))
}

/// The tenant a CLI argument names: its id, or its name ignoring case.
pub fn find_tenant(conn: &mut DbConnection, name_or_id: &str) -> Result<TenantRow, AdminError> {
    tenants::find_by_name_or_id(conn, name_or_id.trim())?
        .ok_or_else(|| AdminError::NoSuchTenant(name_or_id.to_owned()))
}

pub fn rename_tenant(
    conn: &mut DbConnection,
    tenant: &TenantRow,
    new_name: &str,
) -> Result<(), AdminError> {
    let new_name = tenant_name(new_name)?;
    if tenants::rename(conn, &tenant.tenant_id(), new_name)? {
        Ok(())
    } else {
        Err(AdminError::TenantExists(new_name.to_owned()))
    }
}

/// Deletes the tenant with its tokens, policy, members, cards, links,
/// groups and memberships, activity log and outbox.
pub fn delete_tenant(conn: &mut DbConnection, tenant: &TenantRow) -> Result<(), AdminError> {
    write_transaction(conn, |conn| tenants::delete(conn, &tenant.tenant_id()))?;
    Ok(())
}

/// Issues a token; the plaintext in the result is the only copy there will be.
pub fn issue_token(
    conn: &mut DbConnection,
    tenant: &TenantRow,
    label: &str,
) -> Result<(TokenRow, String), AdminError> {
    let issued = token::issue()?;
    tokens::insert(
        &tenant.tenant_id(),
        conn,
        label,
        &issued.lookup_prefix,
        &issued.secret_hash,
    )
    .map(|row| (row, issued.plaintext))
    .map_err(|e| {
        if e.is_unique_violation() {
            AdminError::LabelTaken {
                tenant: tenant.name.clone(),
                label: label.to_owned(),
            }
        } else {
            e.into()
        }
    })
}

/// Revokes a token named by its id, or by its label within `tenant`.
pub fn revoke_token(
    conn: &mut DbConnection,
    tenant: Option<&TenantRow>,
    id_or_label: &str,
) -> Result<TokenId, AdminError> {
    let by_id = TokenId::from_string(id_or_label.to_owned());
    if tokens::revoke(conn, &by_id)? {
        return Ok(by_id);
    }
    if let Some(tenant) = tenant
        && let Some(row) = tokens::find_active_by_label(&tenant.tenant_id(), conn, id_or_label)?
    {
        let id = TokenId::from_string(row.id);
        if tokens::revoke(conn, &id)? {
            return Ok(id);
        }
    }
    Err(AdminError::NoSuchToken(id_or_label.to_owned()))
}

/// On an empty database, makes tenant `default` and a token for it so the
/// first `scimd serve` yields a working endpoint.
pub fn bootstrap_default_tenant(conn: &mut DbConnection) -> Result<Option<String>, AdminError> {
    if tenants::count(conn)? > 0 {
        return Ok(None);
    }
    // Replicas started together on an empty database all get here: the
    // ones whose insert loses find the tenant made, like a later start.
    let Some(tenant) = tenants::create(conn, "default")? else {
        return Ok(None);
    };
    let (_, plaintext) = issue_token(conn, &tenant, "bootstrap")?;
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
/// The email must be one, and no other member of the team may have it
/// (compared ignoring case): one person, one member.
pub fn add_member(
    conn: &mut DbConnection,
    tenant: &TenantRow,
    member: &UnprovisionedMember<'_>,
) -> Result<MemberId, AdminError> {
    let email = email_address(member.email).map_err(AdminError::InvalidEmail)?;
    let member = UnprovisionedMember {
        email: &email,
        ..*member
    };
    let id = MemberId::generate();
    write_transaction(conn, |conn| {
        let ids = members::ids_with_email(&tenant.tenant_id(), conn, &email)?;
        if !ids.is_empty() {
            return Err(AdminError::EmailTaken {
                email: email.clone(),
                ids,
            });
        }
        members::insert_unprovisioned(&tenant.tenant_id(), conn, &id, &member)?;
        Ok(())
    })?;
    Ok(id)
}

/// The member a CLI argument names: its id, `userName` or email.
pub fn find_member(
    conn: &mut DbConnection,
    tenant: &TenantRow,
    reference: &str,
) -> Result<MemberRow, AdminError> {
    let reference = reference.trim();
    let mut found = members::find_by_reference(&tenant.tenant_id(), conn, reference)?;
    match found.len() {
        0 => Err(AdminError::NoSuchMember(reference.to_owned())),
        1 => Ok(found.remove(0)),
        _ => Err(AdminError::AmbiguousMember {
            reference: reference.to_owned(),
            ids: found.into_iter().map(|row| row.id).collect(),
        }),
    }
}

/// Who the activity log names for a decision on held removals made with
/// `scimd held approve|reject`.
fn held_actor() -> Actor {
    Actor {
        token_label: "scimd held".to_owned(),
        client: Client::Other,
    }
}

/// The team's removals waiting for an admin, oldest first.
pub fn held_removals(conn: &mut DbConnection, tenant: &TenantRow) -> Result<Vec<Held>, AdminError> {
    Ok(holds::open(&tenant.tenant_id(), conn)?)
}

/// Approves or rejects held removals (`ids`, or all when `None`).
pub fn decide_held(
    conn: &mut DbConnection,
    tenant: &TenantRow,
    ids: Option<&[i64]>,
    decision: Decision,
) -> Result<Vec<Held>, AdminError> {
    let policy = policy(conn, tenant)?;
    let tenant_id = tenant.tenant_id();
    let scope = Scope {
        tenant: &tenant_id,
        policy: &policy,
        actor: &held_actor(),
        telemetry: &DETACHED,
    };
    Ok(guard::decide(&scope, conn, ids, decision)?)
}

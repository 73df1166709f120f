//! Operator actions shared by the CLI and the tests: tenants, tokens,
//! policies and members made outside SCIM.

use crate::scim::ScimError;
use crate::scim::activity::{Actor, Client, NewEvent, Operation, changed_attributes};
use crate::scim::card::email_address;
use crate::scim::ids::{MemberId, TokenId};
use crate::scim::policy::Policy;
use crate::scim::token;
use crate::service::guard::{self, Decision};
use crate::service::{self, Scope};
use crate::store::accounts::{self, AccountRow};
use crate::store::activity;
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
    #[error("an account named {0:?} already exists (names are compared ignoring case)")]
    AccountExists(String),
    #[error("no console account {0:?} (`scimd account list` shows them)")]
    NoSuchAccount(String),
    #[error("{0}")]
    InvalidAccount(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),

    #[error(transparent)]
    Scim(#[from] ScimError),
}

/// Where an operator action runs inside a request's database closure (the
/// console's), its error travels as SCIM's: a refusal is a 400 with its
/// message.
impl From<AdminError> for ScimError {
    fn from(error: AdminError) -> Self {
        match error {
            AdminError::Scim(e) => e,
            AdminError::Store(e) => e.into(),
            other => ScimError::BadRequest(other.to_string()),
        }
    }
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
    set_policy_as(conn, tenant, &policy_actor(), edit)
}

/// `set_policy`, logged as made by `actor`: what the change does to members
/// and one `Policy` entry naming the settings it changed.
pub fn set_policy_as(
    conn: &mut DbConnection,
    tenant: &TenantRow,
    actor: &Actor,
    edit: impl FnOnce(&mut Policy),
) -> Result<Policy, AdminError> {
    let previous = policy(conn, tenant)?;
    let mut policy = previous.clone();
    edit(&mut policy);
    write_transaction(conn, |conn| {
        service::policy::store(&tenant.tenant_id(), conn, &policy, actor)?;
        let changed = changed_attributes(
            &previous.effective().to_value(),
            &policy.effective().to_value(),
        );
        if !changed.is_empty() {
            log_admin_change(
                conn,
                tenant,
                actor,
                Operation::Update,
                "Policy",
                None,
                &changed,
            )?;
        }
        Ok::<_, AdminError>(())
    })?;
    Ok(policy)
}

/// One entry in the team's activity log for a change made outside SCIM
/// (a policy, a token), so the log shows who did it.
fn log_admin_change(
    conn: &mut DbConnection,
    tenant: &TenantRow,
    actor: &Actor,
    operation: Operation,
    resource_type: &'static str,
    resource: Option<(&str, &str)>,
    fields_changed: &[String],
) -> Result<(), AdminError> {
    activity::record(
        &tenant.tenant_id(),
        conn,
        &NewEvent {
            actor,
            operation,
            resource_type,
            resource_id: resource.map(|(id, _)| id),
            resource_name: resource.map(|(_, name)| name),
            fields_changed,
            status: 200,
            scim_type: None,
            detail: None,
        },
    )?;
    Ok(())
}

/// `issue_token`, logged as made by `actor`.
pub fn issue_token_as(
    conn: &mut DbConnection,
    tenant: &TenantRow,
    label: &str,
    actor: &Actor,
) -> Result<(TokenRow, String), AdminError> {
    write_transaction(conn, |conn| {
        let (row, plaintext) = issue_token(conn, tenant, label)?;
        let resource = Some((row.id.as_str(), row.label.as_str()));
        log_admin_change(
            conn,
            tenant,
            actor,
            Operation::Create,
            "Token",
            resource,
            &[],
        )?;
        Ok((row, plaintext))
    })
}

/// Revokes one of `tenant`'s tokens by id, logged as made by `actor`.
pub fn revoke_token_as(
    conn: &mut DbConnection,
    tenant: &TenantRow,
    id: &str,
    actor: &Actor,
) -> Result<TokenRow, AdminError> {
    write_transaction(conn, |conn| {
        let row = tokens::list(&tenant.tenant_id(), conn)?
            .into_iter()
            .find(|row| row.id == id && row.revoked_at.is_none())
            .ok_or_else(|| AdminError::NoSuchToken(id.to_owned()))?;
        tokens::revoke(conn, &TokenId::from_string(row.id.clone()))?;
        let resource = Some((row.id.as_str(), row.label.as_str()));
        log_admin_change(
            conn,
            tenant,
            actor,
            Operation::Delete,
            "Token",
            resource,
            &[],
        )?;
        Ok(row)
    })
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
    decide_held_as(conn, tenant, ids, decision, &held_actor())
}

/// `decide_held`, logged as made by `actor`.
pub fn decide_held_as(
    conn: &mut DbConnection,
    tenant: &TenantRow,
    ids: Option<&[i64]>,
    decision: Decision,
    actor: &Actor,
) -> Result<Vec<Held>, AdminError> {
    let policy = policy(conn, tenant)?;
    let tenant_id = tenant.tenant_id();
    let scope = Scope {
        tenant: &tenant_id,
        policy: &policy,
        actor,
        telemetry: &DETACHED,
    };
    Ok(guard::decide(&scope, conn, ids, decision)?)
}

/// Who the activity log names for a change made in the console.
pub fn console_actor(account: &AccountRow) -> Actor {
    Actor {
        token_label: format!("console: {}", account.name),
        client: Client::Console,
    }
}

/// The shortest console password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;

fn account_name(name: &str) -> Result<String, AdminError> {
    let name = name.trim().to_lowercase();
    let usable = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if usable {
        Ok(name)
    } else {
        Err(AdminError::InvalidAccount(
            "an account name is 1 to 64 letters, digits, '.', '_', '-' or '@'".into(),
        ))
    }
}

fn password_hash(password: &str) -> Result<String, AdminError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AdminError::InvalidAccount(format!(
            "a console password has at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    Ok(token::hash_secret(password)?)
}

/// Makes a console account: an operator (`tenant` `None`, every team) or
/// that team's admin.
pub fn create_account(
    conn: &mut DbConnection,
    name: &str,
    tenant: Option<&TenantRow>,
    password: &str,
) -> Result<AccountRow, AdminError> {
    let name = account_name(name)?;
    let hash = password_hash(password)?;
    let id = uuid::Uuid::new_v4().to_string();
    let tenant_id = tenant.map(|t| t.id.as_str());
    accounts::insert(conn, &id, &name, tenant_id, &hash)?.ok_or(AdminError::AccountExists(name))
}

pub fn find_account(conn: &mut DbConnection, name: &str) -> Result<AccountRow, AdminError> {
    let key = name.trim().to_lowercase();
    accounts::find_by_name(conn, &key)?.ok_or_else(|| AdminError::NoSuchAccount(name.to_owned()))
}

/// A new password (which also enables a disabled account); the account's
/// sessions end. Returns the account's name as stored.
pub fn reset_password(
    conn: &mut DbConnection,
    name: &str,
    password: &str,
) -> Result<String, AdminError> {
    let account = find_account(conn, name)?;
    accounts::set_password(conn, &account.id, &password_hash(password)?)?;
    Ok(account.name)
}

/// Refuses the account's sign-ins from now on and ends its sessions.
/// Returns the account's name as stored.
pub fn disable_account(conn: &mut DbConnection, name: &str) -> Result<String, AdminError> {
    let account = find_account(conn, name)?;
    accounts::disable(conn, &account.id)?;
    Ok(account.name)
}

/// Failed sign-ins an account may make in a row; then one a minute.
pub const SIGN_IN_FAILURES: i64 = 5;
/// One failure is forgiven per this many seconds since the last.
const FORGIVEN_EVERY_SECS: i64 = 60;

/// The account's failures not yet forgiven at `now`, and the seconds since
/// the last one.
fn outstanding_failures(account: &AccountRow, now: chrono::DateTime<chrono::Utc>) -> (i64, i64) {
    let Some(last) = account
        .last_failed_at
        .as_deref()
        .and_then(crate::scim::time::parse)
    else {
        return (0, 0);
    };
    let since = (now - last).num_seconds().max(0);
    (
        (account.failed_sign_ins - since / FORGIVEN_EVERY_SECS).max(0),
        since,
    )
}

/// Seconds until the account may try to sign in again, if it must wait.
/// Kept in the account's row, so every replica counts the same failures.
pub fn sign_in_wait(account: &AccountRow, now: chrono::DateTime<chrono::Utc>) -> Option<u64> {
    let (owed, since) = outstanding_failures(account, now);
    (owed >= SIGN_IN_FAILURES)
        .then(|| u64::try_from(FORGIVEN_EVERY_SECS - since % FORGIVEN_EVERY_SECS).unwrap_or(1))
}

/// Whether `password` signs in to `account` (which must not be disabled).
/// argon2 runs for an unknown name too, against a decoy, so the answer's
/// timing does not tell which names exist.
pub fn password_accepted(account: Option<&AccountRow>, password: &str) -> bool {
    match account {
        None => {
            token::verify_secret(password, decoy_hash());
            false
        }
        Some(account) => {
            token::verify_secret(password, &account.password_hash) && account.disabled_at.is_none()
        }
    }
}

/// Counts a failed sign-in against the account, or clears its failures.
pub fn record_sign_in(
    conn: &mut DbConnection,
    account: &AccountRow,
    accepted: bool,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), AdminError> {
    let failures = if accepted {
        0
    } else {
        outstanding_failures(account, now).0 + 1
    };
    if failures != account.failed_sign_ins || failures > 0 {
        let last_failed = (failures > 0).then(|| crate::scim::time::format(now));
        accounts::record_sign_in(conn, &account.id, failures, last_failed.as_deref())?;
    }
    Ok(())
}

/// An argon2id hash of a random password nobody has, made once, checked
/// against for unknown account names.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        let unguessable = uuid::Uuid::new_v4().to_string();
        token::hash_secret(&unguessable).unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(failures: i64, last_failed: Option<&str>) -> AccountRow {
        AccountRow {
            id: "a".into(),
            name: "op".into(),
            tenant_id: None,
            password_hash: String::new(),
            session_epoch: 0,
            created_at: "2026-11-26T00:00:00.000000Z".into(),
            disabled_at: None,
            failed_sign_ins: failures,
            last_failed_at: last_failed.map(str::to_owned),
        }
    }

    #[test]
    fn failures_are_forgiven_one_a_minute() {
        let now = crate::scim::time::parse("2026-11-26T12:00:00Z").unwrap();
        let at =
            |secs_ago: i64| crate::scim::time::format(now - chrono::Duration::seconds(secs_ago));
        assert_eq!(sign_in_wait(&account(0, None), now), None);
        assert_eq!(sign_in_wait(&account(4, Some(&at(1))), now), None);
        assert_eq!(sign_in_wait(&account(5, Some(&at(30))), now), Some(30));
        assert_eq!(
            sign_in_wait(&account(5, Some(&at(61))), now),
            None,
            "one forgiven"
        );
        assert_eq!(
            sign_in_wait(&account(7, Some(&at(125))), now),
            Some(55),
            "two forgiven"
        );
        assert_eq!(outstanding_failures(&account(3, Some(&at(3600))), now).0, 0);
    }
}

//! The mass-deprovisioning guard. A scoping mistake in an IdP can deactivate
//! or delete most of a company in one sync; with a guard set, once a sync
//! run has removed its share of the team, further removals are *held*: the
//! IdP gets its usual answer and the SCIM side shows its change (so it does
//! not retry), while the member side (team membership, subteams, card,
//! purge) waits for an admin to approve or reject.
//!
//! A run is a stretch of writes without a gap longer than the policy's
//! `run_gap_mins`, as `scimd activity --summary runs` groups them.

use chrono::Duration;

use crate::scim::ScimError;
use crate::scim::activity::{Change, Operation, TEAM_UNCHANGED};
use crate::scim::ids::{MemberId, TenantId};
use crate::scim::policy::{Deprovisioning, RemovalGuard};
use crate::scim::schema::ResourceKind;
use crate::scim::time;
use crate::service::{Scope, record};
use crate::store::db::{DbConnection, write_transaction};
use crate::store::holds::{self, GuardRun, Held, HeldKind, Resolution};
use crate::store::outbox::{self, NewEmail};
use crate::store::{activity, members, subteams, tenants};

/// Event times read at a time while looking for the run's edges.
const TIMES_PER_READ: i64 = 1000;

/// What the guard decides about one removal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removal {
    Apply,
    /// Held; the run it belongs to began at this time.
    Hold {
        run_started_at: String,
    },
}

fn gap_between(earlier: &str, later: &str) -> Duration {
    match (time::parse(earlier), time::parse(later)) {
        (Some(a), Some(b)) => b - a,
        _ => Duration::zero(),
    }
}

/// The run this write belongs to, brought up to date: the writes since the
/// last check are walked for a gap that would have ended the run.
fn current_run(
    tenant: &TenantId,
    conn: &mut DbConnection,
    now: &str,
    gap: Duration,
) -> Result<GuardRun, ScimError> {
    let (mut started, mut last, mut run) = match holds::guard_run(tenant, conn)? {
        Some(run) => (
            run.run_started_at.clone(),
            run.checked_through.clone(),
            Some(run),
        ),
        // The first removal the guard sees: walk back to where this run began.
        None => {
            let mut started = now.to_owned();
            'back: loop {
                let times = activity::times_before(tenant, conn, &started, TIMES_PER_READ)?;
                for earlier in &times {
                    if gap_between(earlier, &started) > gap {
                        break 'back;
                    }
                    started.clone_from(earlier);
                }
                if times.len() < TIMES_PER_READ as usize {
                    break;
                }
            }
            (started, now.to_owned(), None)
        }
    };
    loop {
        let times = activity::times_after(tenant, conn, &last, TIMES_PER_READ)?;
        for later in &times {
            if gap_between(&last, later) > gap {
                started.clone_from(later);
            }
            last.clone_from(later);
        }
        if times.len() < TIMES_PER_READ as usize {
            break;
        }
    }
    if gap_between(&last, now) > gap {
        now.clone_into(&mut started);
    }
    if let Some(run) = run.take().filter(|run| run.run_started_at == started) {
        return Ok(GuardRun {
            checked_through: now.to_owned(),
            ..run
        });
    }
    // A new run: the base of a percentage is the team as it began.
    let in_team = members::in_team_count(tenant, conn)?;
    let joined = activity::additions_since(tenant, conn, &started)?;
    Ok(GuardRun {
        run_started_at: started,
        checked_through: now.to_owned(),
        baseline: (in_team - joined).max(0),
        removals: 0,
    })
}

/// Decides about a removal from the team the IdP asked for, in the write's
/// transaction, and counts it when it goes through.
pub fn check(scope: &Scope<'_>, conn: &mut DbConnection) -> Result<Removal, ScimError> {
    let Some(guard) = scope.policy.removal_guard else {
        return Ok(Removal::Apply);
    };
    let now = time::now();
    let gap = Duration::minutes(i64::try_from(scope.policy.run_gap_mins).unwrap_or(i64::MAX));
    let mut run = current_run(scope.tenant, conn, &now, gap)?;
    let limit = guard.limit(u64::try_from(run.baseline).unwrap_or(0));
    let decision = if u64::try_from(run.removals).unwrap_or(0) < limit {
        run.removals += 1;
        Removal::Apply
    } else {
        Removal::Hold {
            run_started_at: run.run_started_at.clone(),
        }
    };
    holds::put_guard_run(scope.tenant, conn, &run)?;
    Ok(decision)
}

/// Records a held removal and, the first time in a run, emails the team's
/// admins (the configured contacts and the team admins still in the team).
pub fn hold(
    scope: &Scope<'_>,
    conn: &mut DbConnection,
    (member, user_name): (&MemberId, Option<&str>),
    kind: HeldKind,
    run_started_at: &str,
) -> Result<String, ScimError> {
    holds::hold(scope.tenant, conn, member, user_name, kind, run_started_at)?;
    let Some(guard) = scope.policy.removal_guard else {
        return Ok(String::new());
    };
    // Once per run and address: after a run's first hold, every recipient
    // has had the email, and nothing more is written or built.
    let mut unsent = Vec::new();
    for recipient in scope
        .policy
        .admin_recipients(members::team_admin_emails(scope.tenant, conn)?)
    {
        let dedupe_key = format!("guard:{run_started_at}:{}", recipient.to_lowercase());
        if !outbox::is_queued(scope.tenant, conn, &dedupe_key)? {
            unsent.push((recipient, dedupe_key));
        }
    }
    if !unsent.is_empty() {
        let team =
            tenants::find(conn, scope.tenant)?.map_or_else(|| scope.tenant.to_string(), |t| t.name);
        email_admins(scope, conn, &team, guard, unsent)?;
    }
    Ok(format!(
        "{} held: this sync run has made the {guard} of removals the team's guard allows",
        kind.as_str()
    ))
}

/// The guard's alert, to each (address, dedupe key) not yet sent it.
fn email_admins(
    scope: &Scope<'_>,
    conn: &mut DbConnection,
    team: &str,
    guard: RemovalGuard,
    unsent: Vec<(String, String)>,
) -> Result<(), ScimError> {
    for (recipient, dedupe_key) in unsent {
        outbox::enqueue(
            scope.tenant,
            conn,
            &NewEmail {
                kind: "guard",
                dedupe_key,
                member_id: None,
                recipient: &recipient,
                subject: format!("{team}: removals held by the deprovisioning guard"),
                body: format!(
                    "Your identity provider removed more members of {team} in one sync than the \
                     team's guard allows ({guard}). Its further removals are held: those members \
                     stay in the team until an admin decides.\r\n\r\nSee them with \
                     `scimd held --tenant {team:?}`; let them through with `scimd held approve \
                     --tenant {team:?} --all`, or keep the members with `scimd held reject \
                     --tenant {team:?} --all`.\r\n"
                ),
            },
        )?;
    }
    Ok(())
}

/// The log's detail for a write that took back a held removal.
pub fn cancelled_detail() -> String {
    format!("{TEAM_UNCHANGED}: the IdP took back a removal the guard kept from the team")
}

/// The IdP took back a held removal (`active: true`, the user created
/// again after a held DELETE, or a DELETE after a held deactivation): the
/// member's open hold, if any, ends and is returned; nothing else changes.
pub fn cancel_open(
    scope: &Scope<'_>,
    conn: &mut DbConnection,
    member: &MemberId,
) -> Result<Option<Held>, ScimError> {
    let Some(held) = holds::open_for(scope.tenant, conn, member)? else {
        return Ok(None);
    };
    holds::resolve(
        scope.tenant,
        conn,
        held.id,
        Resolution::Cancelled,
        &scope.actor.token_label,
    )?;
    Ok(Some(held))
}

/// An admin's decision on held removals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject,
}

/// Applies (approve) or drops (reject) the team's held removals named by
/// `ids` (all of them when `None`); each is logged as the scope's actor.
/// Returns the ones decided.
pub fn decide(
    scope: &Scope<'_>,
    conn: &mut DbConnection,
    ids: Option<&[i64]>,
    decision: Decision,
) -> Result<Vec<Held>, ScimError> {
    write_transaction(conn, |conn| {
        let open = holds::open(scope.tenant, conn)?;
        let chosen: Vec<Held> = match ids {
            None => open,
            Some(ids) => {
                let unknown: Vec<String> = ids
                    .iter()
                    .filter(|id| !open.iter().any(|h| h.id == **id))
                    .map(i64::to_string)
                    .collect();
                if !unknown.is_empty() {
                    return Err(ScimError::NotFound(format!(
                        "no held removal {} in this team",
                        unknown.join(", ")
                    )));
                }
                open.into_iter().filter(|h| ids.contains(&h.id)).collect()
            }
        };
        for held in &chosen {
            let (resolution, operation) = match decision {
                Decision::Approve => (Resolution::Approved, Operation::Approved),
                Decision::Reject => (Resolution::Rejected, Operation::Rejected),
            };
            // Resolved first: a purge takes the hold's row with the member.
            holds::resolve(
                scope.tenant,
                conn,
                held.id,
                resolution,
                &scope.actor.token_label,
            )?;
            if decision == Decision::Approve {
                apply(scope, conn, held)?;
            }
            let change = Change {
                operation,
                resource_id: held.member_id.to_string(),
                resource_name: held.user_name.clone(),
                fields_changed: Vec::new(),
                detail: Some(format!(
                    "held {} {} by {}",
                    held.kind.as_str(),
                    operation.as_str(),
                    scope.actor.token_label
                )),
            };
            record(scope, conn, ResourceKind::User, 200, &change)?;
        }
        Ok(chosen)
    })
}

/// An approved removal reaches the member side: out of the team (its
/// subteams dormant); a held DELETE also leaves its subteams, or is purged
/// when the team deletes for good.
fn apply(scope: &Scope<'_>, conn: &mut DbConnection, held: &Held) -> Result<(), ScimError> {
    let member = &held.member_id;
    match held.kind {
        HeldKind::Deactivate => members::set_in_team(scope.tenant, conn, member, false)?,
        HeldKind::Delete => match scope.policy.deprovisioning {
            Deprovisioning::Deactivate => {
                members::set_in_team(scope.tenant, conn, member, false)?;
                subteams::drop_member_rows(scope.tenant, conn, member)?;
            }
            Deprovisioning::Delete => {
                outbox::cancel_for_member(scope.tenant, conn, member)?;
                members::purge(scope.tenant, conn, member)?;
            }
        },
    }
    Ok(())
}

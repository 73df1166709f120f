//! Reading and changing a tenant's provisioning policy.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::scim::ScimError;
use crate::scim::activity::Actor;
use crate::scim::ids::TenantId;
use crate::scim::policy::Policy;
use crate::service::{Scope, users};
use crate::store::db::{DbConnection, write_transaction};
use crate::store::{activity, policies, subteams};
use crate::telemetry;

/// The policy as stored, or the default for a tenant that never set one.
pub fn load(tenant: &TenantId, conn: &mut DbConnection) -> Result<(Policy, i64), ScimError> {
    match policies::get(tenant, conn)? {
        Some((settings, version)) => Ok((
            Policy::from_json(&settings).map_err(|e| ScimError::internal(anyhow::anyhow!(e)))?,
            version,
        )),
        None => Ok((Policy::default(), 0)),
    }
}

/// Stores a new policy and applies what it changes about existing data:
/// groups are re-sorted into subteams or not by the new group allowlist,
/// users into the team or not by the new user allowlist (logged as made by
/// `actor`), all in one write transaction.
pub fn store(
    tenant: &TenantId,
    conn: &mut DbConnection,
    policy: &Policy,
    actor: &Actor,
) -> Result<i64, ScimError> {
    write_transaction(conn, |conn| {
        let (previous, _) = load(tenant, conn)?;
        let version = policies::put(tenant, conn, &policy.to_json())?;
        // Digests just switched on, or the first contacts just set: the next
        // digest covers what happens from now on, not what came before.
        let digests_start = policy.digests
            && (!previous.digests
                || (previous.admin_contacts.is_empty() && !policy.admin_contacts.is_empty()));
        if digests_start && let Some((latest, _)) = activity::latest(tenant, conn)? {
            activity::set_digest_cursor(tenant, conn, latest)?;
        }
        for group in subteams::all(tenant, conn)? {
            let allowed = policy.allows_group(&group.display_name, group.external_id.as_deref());
            if allowed != group.is_subteam {
                subteams::set_is_subteam(tenant, conn, &group.subteam_id(), allowed)?;
            }
        }
        if previous.user_allowlist != policy.user_allowlist {
            let scope = Scope {
                tenant,
                policy,
                actor,
                // Policies change outside the server (the CLI): no metrics.
                telemetry: &telemetry::DETACHED,
            };
            users::sort_users_again(&scope, conn, &previous)?;
        }
        Ok(version)
    })
}

/// Policies by tenant, each kept while its stored version is unchanged. Each
/// request reads only the version (one primary-key lookup), so a change made
/// by any process, the `scimd policy set` CLI included, applies to the very
/// next request.
#[derive(Default)]
pub struct PolicyCache {
    entries: Mutex<HashMap<TenantId, (i64, Arc<Policy>)>>,
}

impl PolicyCache {
    pub fn current(
        &self,
        tenant: &TenantId,
        conn: &mut DbConnection,
    ) -> Result<Arc<Policy>, ScimError> {
        let version = policies::version(tenant, conn)?;
        if let Some((cached, policy)) = self.entries().get(tenant)
            && *cached == version
        {
            return Ok(policy.clone());
        }
        let (policy, version) = load(tenant, conn)?;
        let policy = Arc::new(policy);
        self.entries()
            .insert(tenant.clone(), (version, policy.clone()));
        Ok(policy)
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<TenantId, (i64, Arc<Policy>)>> {
        // A poisoned lock only means another request panicked mid-insert of a whole entry.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

//! Counters the layers below HTTP bump: provisioning writes (from
//! `service::logged`/`service::record`, beside the activity log) and email
//! deliveries (from `jobs`). No actix, no diesel: `http/metrics.rs` registers
//! these into the registry `/metrics` renders.

use prometheus::{IntCounterVec, Opts, Registry};

/// One server's counters. Each server has its own (tests run several in one
/// process), handed to the services through `service::Scope`.
pub struct Telemetry {
    /// `None`: counting nowhere (`DETACHED`).
    counters: Option<Counters>,
}

struct Counters {
    provisioning: IntCounterVec,
    /// Whether `provisioning` carries a `team` label.
    team_label: bool,
    email_sends: IntCounterVec,
}

/// Counts nothing: for writes made outside a server (the CLI's `policy
/// set`), which the activity log has and no `/metrics` shows.
pub static DETACHED: Telemetry = Telemetry { counters: None };

/// How one delivery attempt of an email ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailOutcome {
    Sent,
    /// A transient failure: the email is tried again later.
    Retrying,
    /// A permanent failure, or the last attempt failed.
    GivenUp,
}

impl EmailOutcome {
    fn as_str(self) -> &'static str {
        match self {
            EmailOutcome::Sent => "sent",
            EmailOutcome::Retrying => "retrying",
            EmailOutcome::GivenUp => "given_up",
        }
    }
}

impl Telemetry {
    /// `team_label`: count provisioning writes per team too. The label set is
    /// fixed here, for the life of the server: one series per team, operation
    /// and outcome is fine for a few teams and too many for thousands.
    pub fn new(team_label: bool) -> prometheus::Result<Telemetry> {
        let mut labels = vec!["resource_type", "operation", "outcome"];
        if team_label {
            labels.push("team");
        }
        let counters = Counters {
            provisioning: IntCounterVec::new(
                Opts::new(
                    "scimd_provisioning_operations_total",
                    "SCIM writes by resource type, operation and outcome \
                     (success, or the error's status and scimType), as the activity log records them",
                ),
                &labels,
            )?,
            team_label,
            email_sends: IntCounterVec::new(
                Opts::new(
                    "scimd_email_send_attempts_total",
                    "Email delivery attempts by kind (invite, digest) and outcome \
                     (sent, retrying, given_up)",
                ),
                &["kind", "outcome"],
            )?,
        };
        Ok(Telemetry {
            counters: Some(counters),
        })
    }

    pub fn register(&self, registry: &Registry) -> prometheus::Result<()> {
        if let Some(counters) = &self.counters {
            registry.register(Box::new(counters.provisioning.clone()))?;
            registry.register(Box::new(counters.email_sends.clone()))?;
        }
        Ok(())
    }

    /// One SCIM write, as logged: its status and, for an error, its `scimType`.
    pub fn provisioning(
        &self,
        team: &str,
        resource_type: &str,
        operation: &str,
        status: u16,
        scim_type: Option<&str>,
    ) {
        let Some(counters) = &self.counters else {
            return;
        };
        let outcome = outcome(status, scim_type);
        let mut labels = vec![resource_type, operation, outcome.as_str()];
        if counters.team_label {
            labels.push(team);
        }
        counters.provisioning.with_label_values(&labels).inc();
    }

    pub fn email_send(&self, kind: &str, outcome: EmailOutcome) {
        if let Some(counters) = &self.counters {
            counters
                .email_sends
                .with_label_values(&[kind, outcome.as_str()])
                .inc();
        }
    }
}

/// `success`, else the status with the `scimType` when there is one
/// (`400_invalidValue`, `409_uniqueness`, `404`): a bounded set of values.
fn outcome(status: u16, scim_type: Option<&str>) -> String {
    match (status, scim_type) {
        (..400, _) => "success".to_owned(),
        (status, Some(scim_type)) => format!("{status}_{scim_type}"),
        (status, None) => status.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::outcome;

    #[test]
    fn outcomes_name_the_status_and_scim_type() {
        assert_eq!(outcome(201, None), "success");
        assert_eq!(outcome(204, None), "success");
        assert_eq!(outcome(400, Some("invalidValue")), "400_invalidValue");
        assert_eq!(outcome(404, None), "404");
    }
}

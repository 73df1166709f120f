//! `scimd outbox`: a team's emails (invites, digests) and their delivery.

use clap::Subcommand;
use scimd::store::outbox::{self, Finished};
use scimd::{admin, scim::time};

use super::{open, parse_age};

#[derive(Subcommand)]
pub enum OutboxCommand {
    /// Each email with its state and, while unsent, the time of its next attempt.
    List {
        #[arg(long)]
        tenant: String,
    },
    /// Send an unsent email now (one given up on gets one more attempt).
    Retry {
        #[arg(long)]
        tenant: String,
        /// The email's id, as `outbox list` shows it.
        id: i64,
    },
    /// Delete finished emails older than an age.
    Purge {
        #[arg(long)]
        tenant: String,
        /// Emails that were sent.
        #[arg(long)]
        sent: bool,
        /// Emails given up on after their last attempt.
        #[arg(long)]
        failed: bool,
        /// An age such as 30d, 12h or 90m, counted from when each finished.
        #[arg(long, value_parser = parse_age)]
        older_than: chrono::Duration,
    },
}

pub fn run(database_url: &str, command: OutboxCommand) -> anyhow::Result<()> {
    let pool = open(database_url)?;
    let conn = &mut *pool.get()?;
    match command {
        OutboxCommand::List { tenant } => {
            let tenant = admin::find_tenant(conn, &tenant)?;
            println!("id\tkind\trecipient\tsubject\tattempts\tstate");
            for email in outbox::list(&tenant.tenant_id(), conn)? {
                let state = match (&email.sent_at, &email.failed_at) {
                    (Some(at), _) => format!("sent {at}"),
                    (None, Some(at)) => format!(
                        "gave up {at}: {}",
                        email.last_error.as_deref().unwrap_or("")
                    ),
                    (None, None) => match &email.last_error {
                        Some(error) => format!(
                            "queued, next attempt {}, last error: {error}",
                            email.next_attempt_at
                        ),
                        None => format!("queued, next attempt {}", email.next_attempt_at),
                    },
                };
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{state}",
                    email.seq, email.kind, email.recipient, email.subject, email.attempts
                );
            }
        }
        OutboxCommand::Retry { tenant, id } => {
            let tenant = admin::find_tenant(conn, &tenant)?;
            anyhow::ensure!(
                outbox::retry(&tenant.tenant_id(), conn, id)?,
                "tenant {} has no unsent email {id} (`scimd outbox list --tenant {}`)",
                tenant.name,
                tenant.name
            );
            println!("email {id} will be sent by the next running server's delivery round");
        }
        OutboxCommand::Purge {
            tenant,
            sent,
            failed,
            older_than,
        } => {
            anyhow::ensure!(
                sent || failed,
                "say what to purge: --sent, --failed, or both"
            );
            let tenant = admin::find_tenant(conn, &tenant)?;
            let before = time::format(chrono::Utc::now() - older_than);
            let mut purged = 0;
            for (wanted, finished) in [(sent, Finished::Sent), (failed, Finished::GivenUp)] {
                if wanted {
                    purged += outbox::purge(&tenant.tenant_id(), conn, finished, &before)?;
                }
            }
            println!("purged {purged} emails of tenant {}", tenant.name);
        }
    }
    Ok(())
}

//! `scimd outbox`: a team's emails and their delivery state.

use scimd::{admin, store};

use super::open;

#[derive(clap::Args)]
pub struct OutboxArgs {
    #[arg(long)]
    tenant: String,
}

pub fn run(database_url: &str, args: &OutboxArgs) -> anyhow::Result<()> {
    let pool = open(database_url)?;
    let conn = &mut *pool.get()?;
    let tenant = admin::tenant_by_name(conn, &args.tenant)?;
    println!("kind\trecipient\tsubject\tattempts\tstate");
    for email in store::outbox::list(&tenant.tenant_id(), conn)? {
        let state = match (&email.sent_at, &email.failed_at) {
            (Some(at), _) => format!("sent {at}"),
            (None, Some(at)) => format!(
                "gave up {at}: {}",
                email.last_error.as_deref().unwrap_or("")
            ),
            (None, None) => match &email.last_error {
                Some(error) => format!("queued, last error: {error}"),
                None => "queued".to_owned(),
            },
        };
        println!(
            "{}\t{}\t{}\t{}\t{state}",
            email.kind, email.recipient, email.subject, email.attempts
        );
    }
    Ok(())
}

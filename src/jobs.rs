//! Background work of a running server, on one thread of its own: admin
//! digests of settled provisioning bursts, email delivery from the outbox
//! over SMTP (with retry and backoff), and pruning of old activity.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::Utc;
use lettre::message::header::ContentType;
use lettre::{Message, SmtpTransport, Transport};

use crate::scim::ScimError;
use crate::scim::activity;
use crate::scim::ids::TenantId;
use crate::scim::policy::Policy;
use crate::scim::time;
use crate::store::db::{DbConnection, DbPool, write_transaction};
use crate::store::outbox::{self, EmailRow, NewEmail};
use crate::store::{self, policies, tenants};
use crate::telemetry::{EmailOutcome, Telemetry};

#[derive(Debug, Clone)]
pub struct JobSettings {
    /// `smtp://host:port`, `smtp://host?tls=required`, `smtps://user:pass@host`;
    /// `None`: emails stay queued until a server with SMTP settings runs.
    pub smtp_url: Option<String>,
    pub mail_from: String,
    /// How often the outbox and the activity log are looked at.
    pub poll: Duration,
    /// Wait before the first retry; doubles per failed attempt, up to an hour.
    pub retry_base: Duration,
    /// Attempts before an email is given up (left in the outbox, marked failed).
    pub max_attempts: i32,
    /// Activity entries older than this are deleted.
    pub activity_retention: Duration,
}

impl Default for JobSettings {
    fn default() -> Self {
        JobSettings {
            smtp_url: None,
            mail_from: "scimd <noreply@localhost>".into(),
            poll: Duration::from_secs(2),
            retry_base: Duration::from_secs(30),
            max_attempts: 8,
            activity_retention: Duration::from_secs(90 * 24 * 3600),
        }
    }
}

/// The running job thread; stopping (or dropping) it ends the loop.
pub struct Jobs {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Jobs {
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Jobs {
    fn drop(&mut self) {
        self.shutdown();
    }
}

struct Mailer {
    transport: SmtpTransport,
    from: lettre::message::Mailbox,
}

/// Refuses an SMTP URL of another scheme before lettre parses it (lettre
/// would answer with a message about TLS features). The URL itself is not
/// repeated: it may hold a password.
pub fn check_smtp_url(url: &str) -> Result<(), String> {
    const FORMS: &str = "use smtp://host:port (STARTTLS with ?tls=required) or smtps://host (TLS)";
    let scheme = url.split_once("://").map_or("", |(scheme, _)| scheme);
    if !matches!(scheme.to_ascii_lowercase().as_str(), "smtp" | "smtps") {
        return Err(format!("unsupported scheme {scheme:?}: {FORMS}"));
    }
    // Parsing only: nothing connects until an email is due.
    SmtpTransport::from_url(url)
        .map(drop)
        .map_err(|e| format!("{e}: {FORMS}"))
}

/// Starts the job thread. A bad SMTP URL or sender address fails here, at
/// start. Delivery attempts are counted in `telemetry`.
pub fn spawn(
    pool: DbPool,
    settings: JobSettings,
    telemetry: Arc<Telemetry>,
) -> anyhow::Result<Jobs> {
    let mailer = match &settings.smtp_url {
        Some(url) => {
            check_smtp_url(url).map_err(|e| anyhow::anyhow!("SMTP URL: {e}"))?;
            Some(Mailer {
                transport: SmtpTransport::from_url(url)?
                    .timeout(Some(Duration::from_secs(20)))
                    .build(),
                from: settings.mail_from.parse()?,
            })
        }
        None => None,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let stopping = stop.clone();
    let thread = std::thread::Builder::new()
        .name("scimd-jobs".into())
        .spawn(move || run(&pool, &settings, mailer.as_ref(), &telemetry, &stopping))?;
    Ok(Jobs {
        stop,
        thread: Some(thread),
    })
}

fn run(
    pool: &DbPool,
    settings: &JobSettings,
    mailer: Option<&Mailer>,
    telemetry: &Telemetry,
    stop: &AtomicBool,
) {
    let mut last_prune: Option<Instant> = None;
    while !stop.load(Ordering::Relaxed) {
        match pool.get() {
            Ok(mut conn) => {
                if last_prune.is_none_or(|at| at.elapsed() > Duration::from_secs(3600)) {
                    last_prune = Some(Instant::now());
                    prune_activity(&mut conn, settings.activity_retention);
                }
                queue_digests(&mut conn);
                if let Some(mailer) = mailer {
                    deliver_due(&mut conn, mailer, settings, telemetry);
                }
            }
            Err(error) => {
                if let Some(repeated) = crate::repeats::admit("jobs: no database connection") {
                    tracing::warn!(%error, repeated, "jobs: no database connection");
                }
            }
        }
        let deadline = Instant::now() + settings.poll;
        while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(50).min(settings.poll));
        }
    }
}

fn at_offset(offset: Duration) -> String {
    let offset = chrono::Duration::from_std(offset).unwrap_or(chrono::Duration::MAX);
    time::format(Utc::now().checked_add_signed(offset).unwrap_or(Utc::now()))
}

fn ago(age: Duration) -> String {
    let age = chrono::Duration::from_std(age).unwrap_or(chrono::Duration::MAX);
    time::format(Utc::now().checked_sub_signed(age).unwrap_or(Utc::now()))
}

fn prune_activity(conn: &mut DbConnection, retention: Duration) {
    match store::activity::prune(conn, &ago(retention)) {
        Ok(0) => {}
        Ok(pruned) => tracing::info!(pruned, "jobs: old activity entries deleted"),
        Err(error) => tracing::warn!(%error, "jobs: pruning activity failed"),
    }
    match store::failed_reads::prune(conn, &ago(retention)) {
        Ok(0) => {}
        Ok(pruned) => tracing::info!(pruned, "jobs: old failed-read counts deleted"),
        Err(error) => tracing::warn!(%error, "jobs: pruning failed-read counts failed"),
    }
}

fn queue_digests(conn: &mut DbConnection) {
    let read = tenants::list(conn).and_then(|teams| Ok((teams, policies::all(conn)?)));
    let (teams, stored) = match read {
        Ok(read) => read,
        Err(error) => {
            tracing::warn!(%error, "jobs: reading teams and policies failed");
            return;
        }
    };
    let stored: HashMap<TenantId, String> = stored.into_iter().collect();
    for team in teams {
        let tenant = team.tenant_id();
        // A team that never set a policy has the default one: digests on.
        let policy = match stored
            .get(&tenant)
            .map(|settings| Policy::from_json(settings))
        {
            None => Policy::default(),
            Some(Ok(policy)) => policy,
            Some(Err(error)) => {
                tracing::warn!(%error, tenant = %tenant, "jobs: policy unreadable, no digest");
                continue;
            }
        };
        if let Err(error) = queue_digest(conn, &tenant, &team.name, &policy) {
            // Another server may have queued this digest first (dedupe key).
            tracing::debug!(%error, tenant = %tenant, "jobs: digest not queued");
        }
    }
}

/// Once the team's latest burst has been quiet for the policy's quiet
/// period, queues one digest per admin recipient (none when digests are off
/// or nobody is there to read them) and moves the cursor past the burst
/// either way, so a recipient added later never gets the backlog.
fn queue_digest(
    conn: &mut DbConnection,
    tenant: &TenantId,
    team: &str,
    policy: &Policy,
) -> Result<(), ScimError> {
    let Some((latest, latest_at)) = store::activity::latest(tenant, conn)? else {
        return Ok(());
    };
    let cursor = store::activity::digest_cursor(tenant, conn)?.unwrap_or(0);
    if latest <= cursor || latest_at > ago(Duration::from_secs(policy.digest_quiet_secs)) {
        return Ok(());
    }
    let recipients = if policy.digests {
        policy.admin_recipients(store::members::team_admin_emails(tenant, conn)?)
    } else {
        Vec::new()
    };
    let digest = if recipients.is_empty() {
        None
    } else {
        let events = store::activity::between(tenant, conn, cursor, latest)?;
        activity::digest(team, &events)
    };
    write_transaction(conn, |conn| {
        // Re-checked under the write lock: another server may have moved it.
        if store::activity::digest_cursor(tenant, conn)?.unwrap_or(0) != cursor {
            return Ok(());
        }
        if let Some((subject, body)) = &digest {
            for recipient in &recipients {
                outbox::enqueue(
                    tenant,
                    conn,
                    &NewEmail {
                        kind: "digest",
                        dedupe_key: format!("digest:{latest}:{}", recipient.to_lowercase()),
                        member_id: None,
                        recipient,
                        subject: subject.clone(),
                        body: body.clone(),
                    },
                )?;
            }
        }
        store::activity::set_digest_cursor(tenant, conn, latest)?;
        Ok::<_, ScimError>(())
    })
}

/// The wait before retry number `attempts` (1-based): base × 2^(attempts−1), at most an hour.
fn backoff(base: Duration, attempts: i32) -> Duration {
    let exponent = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(16);
    base.saturating_mul(1 << exponent)
        .min(Duration::from_secs(3600))
}

fn deliver_due(
    conn: &mut DbConnection,
    mailer: &Mailer,
    settings: &JobSettings,
    telemetry: &Telemetry,
) {
    let now = time::now();
    let due = match outbox::due(conn, &now, 50) {
        Ok(due) => due,
        Err(error) => {
            tracing::warn!(%error, "jobs: reading the outbox failed");
            return;
        }
    };
    for email in due {
        // The lease outlives the SMTP timeout, so two servers never send one row at once.
        match outbox::claim(
            conn,
            email.seq,
            &time::now(),
            &at_offset(Duration::from_secs(120)),
        ) {
            Ok(true) => {}
            Ok(false) => continue,
            Err(error) => {
                tracing::warn!(%error, "jobs: claiming an email failed");
                continue;
            }
        }
        let attempts = email.attempts + 1;
        let outcome = send(mailer, &email);
        let retry_at = match &outcome {
            Err(Failure::Transient(_)) if attempts < settings.max_attempts => {
                Some(at_offset(backoff(settings.retry_base, attempts)))
            }
            _ => None,
        };
        // Counted before it is recorded, so a scrape that sees the outbox
        // row sent or given up also sees the attempt.
        telemetry.email_send(
            &email.kind,
            match (&outcome, &retry_at) {
                (Ok(()), _) => EmailOutcome::Sent,
                (Err(_), Some(_)) => EmailOutcome::Retrying,
                (Err(_), None) => EmailOutcome::GivenUp,
            },
        );
        let recorded = match &outcome {
            Ok(()) => outbox::mark_sent(conn, email.seq),
            Err(Failure::Permanent(error) | Failure::Transient(error)) => {
                outbox::mark_failed(conn, email.seq, error, retry_at.as_deref())
            }
        };
        match outcome {
            Ok(()) => tracing::info!(kind = %email.kind, seq = email.seq, "jobs: email sent"),
            Err(Failure::Permanent(error) | Failure::Transient(error)) => {
                tracing::warn!(kind = %email.kind, seq = email.seq, attempts, %error, "jobs: email not sent");
            }
        }
        if let Err(error) = recorded {
            tracing::warn!(%error, seq = email.seq, "jobs: recording a delivery failed");
        }
    }
}

enum Failure {
    /// Will not succeed by retrying (a malformed address).
    Permanent(String),
    Transient(String),
}

fn send(mailer: &Mailer, email: &EmailRow) -> Result<(), Failure> {
    let to = email
        .recipient
        .parse()
        .map_err(|e| Failure::Permanent(format!("bad recipient address: {e}")))?;
    let message = Message::builder()
        .from(mailer.from.clone())
        .to(to)
        .subject(&email.subject)
        .header(ContentType::TEXT_PLAIN)
        .body(email.body.clone())
        .map_err(|e| Failure::Permanent(e.to_string()))?;
    mailer.transport.send(&message).map_err(|e| {
        if e.is_permanent() {
            Failure::Permanent(e.to_string())
        } else {
            Failure::Transient(e.to_string())
        }
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        let base = Duration::from_secs(30);
        assert_eq!(backoff(base, 1), Duration::from_secs(30));
        assert_eq!(backoff(base, 2), Duration::from_secs(60));
        assert_eq!(backoff(base, 4), Duration::from_secs(240));
        assert_eq!(backoff(base, 40), Duration::from_secs(3600));
    }
}

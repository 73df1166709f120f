//! The email outbox. Rows are written in the transaction that causes them
//! and delivered by the background job; a lease keeps two servers from
//! sending the same row at once.

use diesel::prelude::*;

use crate::scim::ids::{MemberId, TenantId};
use crate::scim::time;
use crate::store::StoreError;
use crate::store::db::DbConnection;
use crate::store::schema::outbox;

/// An email to queue.
#[derive(Debug, Clone)]
pub struct NewEmail<'a> {
    pub kind: &'a str,
    /// Unique per tenant: queueing the same key twice fails.
    pub dedupe_key: String,
    pub member_id: Option<&'a MemberId>,
    pub recipient: &'a str,
    pub subject: String,
    pub body: String,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct EmailRow {
    pub seq: i64,
    pub tenant_id: String,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub attempts: i32,
    pub next_attempt_at: String,
    pub sent_at: Option<String>,
    pub failed_at: Option<String>,
    pub last_error: Option<String>,
}

pub fn enqueue(
    tenant: &TenantId,
    conn: &mut DbConnection,
    email: &NewEmail<'_>,
) -> Result<(), StoreError> {
    let now = time::now();
    diesel::insert_into(outbox::table)
        .values((
            outbox::tenant_id.eq(tenant.as_str()),
            outbox::kind.eq(email.kind),
            outbox::dedupe_key.eq(&email.dedupe_key),
            outbox::member_id.eq(email.member_id.map(MemberId::as_str)),
            outbox::recipient.eq(email.recipient),
            outbox::subject.eq(&email.subject),
            outbox::body.eq(&email.body),
            outbox::created_at.eq(&now),
            outbox::attempts.eq(0),
            outbox::next_attempt_at.eq(&now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Whether an email with this dedupe key exists (sent or not).
pub fn is_queued(
    tenant: &TenantId,
    conn: &mut DbConnection,
    dedupe_key: &str,
) -> Result<bool, StoreError> {
    let existing: i64 = outbox::table
        .filter(outbox::tenant_id.eq(tenant.as_str()))
        .filter(outbox::dedupe_key.eq(dedupe_key))
        .count()
        .get_result(conn)?;
    Ok(existing > 0)
}

/// Queues the email unless one with its dedupe key exists (sent or not);
/// whether it was queued. The caller holds a write transaction.
pub fn enqueue_once(
    tenant: &TenantId,
    conn: &mut DbConnection,
    email: &NewEmail<'_>,
) -> Result<bool, StoreError> {
    if is_queued(tenant, conn, &email.dedupe_key)? {
        return Ok(false);
    }
    enqueue(tenant, conn, email)?;
    Ok(true)
}

/// Drops a member's unsent emails (the member was purged).
pub fn cancel_for_member(
    tenant: &TenantId,
    conn: &mut DbConnection,
    member: &MemberId,
) -> Result<(), StoreError> {
    diesel::delete(
        outbox::table
            .filter(outbox::tenant_id.eq(tenant.as_str()))
            .filter(outbox::member_id.eq(member.as_str()))
            .filter(outbox::sent_at.is_null()),
    )
    .execute(conn)?;
    Ok(())
}

/// Unsent rows whose next attempt is due, oldest first.
pub fn due(conn: &mut DbConnection, now: &str, limit: i64) -> Result<Vec<EmailRow>, StoreError> {
    Ok(outbox::table
        .filter(outbox::sent_at.is_null())
        .filter(outbox::failed_at.is_null())
        .filter(outbox::next_attempt_at.le(now))
        .filter(
            outbox::lease_until
                .is_null()
                .or(outbox::lease_until.lt(now)),
        )
        .order(outbox::seq.asc())
        .limit(limit)
        .select(EmailRow::as_select())
        .load(conn)?)
}

/// Takes the row for one delivery attempt; `false` if another worker has it.
pub fn claim(
    conn: &mut DbConnection,
    seq: i64,
    now: &str,
    lease_until: &str,
) -> Result<bool, StoreError> {
    let claimed = diesel::update(
        outbox::table
            .filter(outbox::seq.eq(seq))
            .filter(outbox::sent_at.is_null())
            .filter(outbox::failed_at.is_null())
            .filter(
                outbox::lease_until
                    .is_null()
                    .or(outbox::lease_until.lt(now)),
            ),
    )
    .set((
        outbox::lease_until.eq(lease_until),
        outbox::attempts.eq(outbox::attempts + 1),
    ))
    .execute(conn)?;
    Ok(claimed == 1)
}

pub fn mark_sent(conn: &mut DbConnection, seq: i64) -> Result<(), StoreError> {
    diesel::update(outbox::table.filter(outbox::seq.eq(seq)))
        .set((
            outbox::sent_at.eq(time::now()),
            outbox::lease_until.eq(None::<String>),
            outbox::last_error.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records a failed attempt: try again at `retry_at`, or give up when `None`.
pub fn mark_failed(
    conn: &mut DbConnection,
    seq: i64,
    error: &str,
    retry_at: Option<&str>,
) -> Result<(), StoreError> {
    let target = outbox::table.filter(outbox::seq.eq(seq));
    match retry_at {
        Some(at) => diesel::update(target)
            .set((
                outbox::next_attempt_at.eq(at),
                outbox::lease_until.eq(None::<String>),
                outbox::last_error.eq(error),
            ))
            .execute(conn)?,
        None => diesel::update(target)
            .set((
                outbox::failed_at.eq(time::now()),
                outbox::lease_until.eq(None::<String>),
                outbox::last_error.eq(error),
            ))
            .execute(conn)?,
    };
    Ok(())
}

/// A tenant's emails, oldest first (CLI and tests).
pub fn list(tenant: &TenantId, conn: &mut DbConnection) -> Result<Vec<EmailRow>, StoreError> {
    Ok(outbox::table
        .filter(outbox::tenant_id.eq(tenant.as_str()))
        .order(outbox::seq.asc())
        .select(EmailRow::as_select())
        .load(conn)?)
}

/// Makes an unsent email due now, one given up on included (it gets one
/// more attempt). `false` when the tenant has no such unsent email.
pub fn retry(tenant: &TenantId, conn: &mut DbConnection, seq: i64) -> Result<bool, StoreError> {
    let updated = diesel::update(
        outbox::table
            .filter(outbox::tenant_id.eq(tenant.as_str()))
            .filter(outbox::seq.eq(seq))
            .filter(outbox::sent_at.is_null()),
    )
    .set((
        outbox::next_attempt_at.eq(time::now()),
        outbox::failed_at.eq(None::<String>),
        outbox::lease_until.eq(None::<String>),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// How many emails of every team are in each state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Depth {
    pub queued: i64,
    pub sent: i64,
    /// Given up on after their last attempt.
    pub failed: i64,
}

/// The outbox's depth across teams, in one query (for `/metrics`, like
/// `due` a server-wide read). A row is never both sent and given up:
/// delivery claims only rows that are neither, and `retry` clears
/// `failed_at` before the next attempt.
pub fn depth(conn: &mut DbConnection) -> Result<Depth, StoreError> {
    use diesel::dsl::{count, count_star};
    let (total, sent, failed): (i64, i64, i64) = outbox::table
        .select((
            count_star(),
            count(outbox::sent_at),
            count(outbox::failed_at),
        ))
        .get_result(conn)?;
    Ok(Depth {
        queued: total - sent - failed,
        sent,
        failed,
    })
}

/// Which finished emails `purge` removes.
#[derive(Debug, Clone, Copy)]
pub enum Finished {
    Sent,
    GivenUp,
}

/// Deletes the tenant's emails that finished (sent, or given up on) before
/// `before`; returns how many.
pub fn purge(
    tenant: &TenantId,
    conn: &mut DbConnection,
    finished: Finished,
    before: &str,
) -> Result<usize, StoreError> {
    let scoped = outbox::table.filter(outbox::tenant_id.eq(tenant.as_str()));
    Ok(match finished {
        Finished::Sent => {
            diesel::delete(scoped.filter(outbox::sent_at.lt(before))).execute(conn)?
        }
        Finished::GivenUp => {
            diesel::delete(scoped.filter(outbox::failed_at.lt(before))).execute(conn)?
        }
    })
}

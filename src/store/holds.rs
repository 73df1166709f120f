//! Removals held by a team's mass-deprovisioning guard, and the sync run
//! the guard is counting.

use diesel::prelude::*;

use crate::scim::ids::{MemberId, TenantId};
use crate::scim::time;
use crate::store::StoreError;
use crate::store::db::DbConnection;
use crate::store::schema::{held_removals, removal_guard_runs};

/// What a held removal would do once approved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeldKind {
    /// The IdP set `active: false`.
    Deactivate,
    /// The IdP sent `DELETE /Users/{id}`.
    Delete,
}

impl HeldKind {
    pub fn as_str(self) -> &'static str {
        match self {
            HeldKind::Deactivate => "deactivate",
            HeldKind::Delete => "delete",
        }
    }

    fn parse(text: &str) -> HeldKind {
        if text == "delete" {
            HeldKind::Delete
        } else {
            HeldKind::Deactivate
        }
    }
}

/// How a hold ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    Approved,
    Rejected,
    /// The IdP took the removal back (`active: true`, or the user created again).
    Cancelled,
}

impl Resolution {
    fn as_str(self) -> &'static str {
        match self {
            Resolution::Approved => "approved",
            Resolution::Rejected => "rejected",
            Resolution::Cancelled => "cancelled",
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = held_removals)]
struct Row {
    seq: i64,
    member_id: String,
    user_name: Option<String>,
    kind: String,
    held_at: String,
    run_started_at: String,
}

/// A removal waiting for an admin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub id: i64,
    pub member_id: MemberId,
    pub user_name: Option<String>,
    pub kind: HeldKind,
    pub held_at: String,
    pub run_started_at: String,
}

impl From<Row> for Held {
    fn from(row: Row) -> Self {
        Held {
            id: row.seq,
            member_id: MemberId::from_string(row.member_id),
            user_name: row.user_name,
            kind: HeldKind::parse(&row.kind),
            held_at: row.held_at,
            run_started_at: row.run_started_at,
        }
    }
}

pub fn hold(
    tenant: &TenantId,
    conn: &mut DbConnection,
    member: &MemberId,
    user_name: Option<&str>,
    kind: HeldKind,
    run_started_at: &str,
) -> Result<(), StoreError> {
    diesel::insert_into(held_removals::table)
        .values((
            held_removals::tenant_id.eq(tenant.as_str()),
            held_removals::member_id.eq(member.as_str()),
            held_removals::user_name.eq(user_name),
            held_removals::kind.eq(kind.as_str()),
            held_removals::held_at.eq(time::now()),
            held_removals::run_started_at.eq(run_started_at),
        ))
        .execute(conn)?;
    Ok(())
}

fn open_rows(tenant: &TenantId) -> held_removals::BoxedQuery<'_, crate::store::Db> {
    held_removals::table
        .filter(held_removals::tenant_id.eq(tenant.as_str()))
        .filter(held_removals::resolution.is_null())
        .into_boxed()
}

/// The member's removal waiting for an admin, if any.
pub fn open_for(
    tenant: &TenantId,
    conn: &mut DbConnection,
    member: &MemberId,
) -> Result<Option<Held>, StoreError> {
    Ok(open_rows(tenant)
        .filter(held_removals::member_id.eq(member.as_str()))
        .order(held_removals::seq.desc())
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .map(Held::from))
}

/// Every removal of the team waiting for an admin, oldest first.
pub fn open(tenant: &TenantId, conn: &mut DbConnection) -> Result<Vec<Held>, StoreError> {
    Ok(open_rows(tenant)
        .order(held_removals::seq.asc())
        .select(Row::as_select())
        .load::<Row>(conn)?
        .into_iter()
        .map(Held::from)
        .collect())
}

/// Ends a hold; `false` if it was not waiting any more.
pub fn resolve(
    tenant: &TenantId,
    conn: &mut DbConnection,
    id: i64,
    resolution: Resolution,
    by: &str,
) -> Result<bool, StoreError> {
    let updated = diesel::update(
        held_removals::table
            .filter(held_removals::tenant_id.eq(tenant.as_str()))
            .filter(held_removals::seq.eq(id))
            .filter(held_removals::resolution.is_null()),
    )
    .set((
        held_removals::resolution.eq(resolution.as_str()),
        held_removals::resolved_at.eq(time::now()),
        held_removals::resolved_by.eq(by),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// The sync run the guard is counting for a team.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = removal_guard_runs)]
pub struct GuardRun {
    pub run_started_at: String,
    /// Writes up to this time are known to belong to the run (no gap).
    pub checked_through: String,
    /// Members in the team when the run began.
    pub baseline: i64,
    /// Removals the run has made.
    pub removals: i64,
}

pub fn guard_run(
    tenant: &TenantId,
    conn: &mut DbConnection,
) -> Result<Option<GuardRun>, StoreError> {
    Ok(removal_guard_runs::table
        .filter(removal_guard_runs::tenant_id.eq(tenant.as_str()))
        .select(GuardRun::as_select())
        .first(conn)
        .optional()?)
}

pub fn put_guard_run(
    tenant: &TenantId,
    conn: &mut DbConnection,
    run: &GuardRun,
) -> Result<(), StoreError> {
    let fields = (
        removal_guard_runs::run_started_at.eq(&run.run_started_at),
        removal_guard_runs::checked_through.eq(&run.checked_through),
        removal_guard_runs::baseline.eq(run.baseline),
        removal_guard_runs::removals.eq(run.removals),
    );
    let updated = diesel::update(
        removal_guard_runs::table.filter(removal_guard_runs::tenant_id.eq(tenant.as_str())),
    )
    .set(fields)
    .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(removal_guard_runs::table)
            .values((removal_guard_runs::tenant_id.eq(tenant.as_str()), fields))
            .execute(conn)?;
    }
    Ok(())
}

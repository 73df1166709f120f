//! Subteams (SCIM Groups) and their memberships. Membership changes touch
//! only the rows they name: cost follows the delta, not the group's size.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use serde_json::{Value, json};

use crate::scim::ids::{MemberId, SubteamId, TenantId};
use crate::scim::query::{Column, Condition};
use crate::scim::time;
use crate::store::Db;
use crate::store::StoreError;
use crate::store::db::{DbConnection, on_concrete_connection};
use crate::store::filter::subteam_condition;
use crate::store::members::sort_by;
use crate::store::schema::{members, subteam_members, subteams};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = subteams)]
pub struct SubteamRow {
    pub seq: i64,
    pub id: String,
    pub tenant_id: String,
    pub display_name: String,
    pub display_name_lower: String,
    pub external_id: Option<String>,
    pub scim_resource: String,
    pub created_at: String,
    pub updated_at: String,
    pub version: i64,
    /// False for a group outside the tenant's allowlist: kept for the IdP, not a subteam.
    pub is_subteam: bool,
    /// The group's SCIM members, in or out of the team.
    pub member_count: i64,
}

impl SubteamRow {
    pub fn subteam_id(&self) -> SubteamId {
        SubteamId::from_string(self.id.clone())
    }

    /// The stored resource (without members) as JSON.
    pub fn resource(&self) -> Value {
        resource_of(&self.scim_resource)
    }
}

/// A member as listed in a Group's `members`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRef {
    pub id: String,
    /// The member's `displayName`, else its `userName`.
    pub display: Option<String>,
}

/// A subteam as listed in a User's read-only `groups`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRef {
    pub id: String,
    pub display_name: String,
    pub is_subteam: bool,
}

impl GroupRef {
    pub fn to_scim(&self, base_url: &str) -> Value {
        json!({
            "value": self.id,
            "display": self.display_name,
            "$ref": format!("{base_url}/Groups/{}", self.id),
            "type": "direct",
        })
    }
}

#[derive(Debug, Clone)]
pub struct SubteamWrite {
    pub display_name: String,
    pub external_id: Option<String>,
    /// The canonical SCIM resource without `members` (JSON text).
    pub scim_resource: String,
    pub is_subteam: bool,
}

impl SubteamWrite {
    /// The resource to store, as JSON.
    pub fn resource(&self) -> Value {
        resource_of(&self.scim_resource)
    }
}

fn resource_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

fn scoped(tenant: &TenantId) -> subteams::BoxedQuery<'_, Db> {
    subteams::table
        .filter(subteams::tenant_id.eq(tenant.as_str()))
        .into_boxed()
}

pub fn find(
    tenant: &TenantId,
    conn: &mut DbConnection,
    id: &SubteamId,
) -> Result<Option<SubteamRow>, StoreError> {
    Ok(scoped(tenant)
        .filter(subteams::id.eq(id.as_str()))
        .select(SubteamRow::as_select())
        .first(conn)
        .optional()?)
}

/// The id of the group named `display_name` (ignoring case), if any.
pub fn id_by_display_name(
    tenant: &TenantId,
    conn: &mut DbConnection,
    display_name: &str,
) -> Result<Option<SubteamId>, StoreError> {
    Ok(scoped(tenant)
        .filter(subteams::display_name_lower.eq(display_name.to_lowercase()))
        .select(subteams::id)
        .first::<String>(conn)
        .optional()?
        .map(SubteamId::from_string))
}

/// Takes the subteam's row lock for the caller's transaction (a no-op
/// update), so concurrent writes to one group apply one after the other.
/// `false` if there is no such subteam.
pub fn lock(
    tenant: &TenantId,
    conn: &mut DbConnection,
    id: &SubteamId,
) -> Result<bool, StoreError> {
    let locked = diesel::update(
        subteams::table
            .filter(subteams::tenant_id.eq(tenant.as_str()))
            .filter(subteams::id.eq(id.as_str())),
    )
    .set(subteams::version.eq(subteams::version))
    .execute(conn)?;
    Ok(locked == 1)
}

pub fn insert(
    tenant: &TenantId,
    conn: &mut DbConnection,
    id: &SubteamId,
    write: &SubteamWrite,
) -> Result<SubteamRow, StoreError> {
    let now = time::now();
    diesel::insert_into(subteams::table)
        .values((
            subteams::id.eq(id.as_str()),
            subteams::tenant_id.eq(tenant.as_str()),
            subteams::display_name.eq(&write.display_name),
            subteams::display_name_lower.eq(write.display_name.to_lowercase()),
            subteams::external_id.eq(&write.external_id),
            subteams::scim_resource.eq(&write.scim_resource),
            subteams::created_at.eq(&now),
            subteams::updated_at.eq(&now),
            subteams::version.eq(1_i64),
            subteams::is_subteam.eq(write.is_subteam),
        ))
        .execute(conn)?;
    find(tenant, conn, id)?.ok_or(StoreError::Query(diesel::result::Error::NotFound))
}

/// Rewrites the subteam's own attributes (not its members); bumps the version.
pub fn update(
    tenant: &TenantId,
    conn: &mut DbConnection,
    current: &SubteamRow,
    write: &SubteamWrite,
) -> Result<(), StoreError> {
    diesel::update(
        subteams::table
            .filter(subteams::tenant_id.eq(tenant.as_str()))
            .filter(subteams::id.eq(&current.id)),
    )
    .set((
        subteams::display_name.eq(&write.display_name),
        subteams::display_name_lower.eq(write.display_name.to_lowercase()),
        subteams::external_id.eq(&write.external_id),
        subteams::scim_resource.eq(&write.scim_resource),
        subteams::updated_at.eq(time::now()),
        subteams::version.eq(current.version + 1),
        subteams::is_subteam.eq(write.is_subteam),
    ))
    .execute(conn)?;
    Ok(())
}

/// Every group of the tenant in creation order (CLI, allowlist changes).
pub fn all(tenant: &TenantId, conn: &mut DbConnection) -> Result<Vec<SubteamRow>, StoreError> {
    Ok(scoped(tenant)
        .order(subteams::seq.asc())
        .select(SubteamRow::as_select())
        .load(conn)?)
}

/// Sets whether a group is a subteam (after the allowlist changed).
pub fn set_is_subteam(
    tenant: &TenantId,
    conn: &mut DbConnection,
    id: &SubteamId,
    is_subteam: bool,
) -> Result<(), StoreError> {
    diesel::update(
        subteams::table
            .filter(subteams::tenant_id.eq(tenant.as_str()))
            .filter(subteams::id.eq(id.as_str())),
    )
    .set(subteams::is_subteam.eq(is_subteam))
    .execute(conn)?;
    Ok(())
}

/// Marks a membership-only change: new version and lastModified.
pub fn touch(
    tenant: &TenantId,
    conn: &mut DbConnection,
    current: &SubteamRow,
) -> Result<(), StoreError> {
    diesel::update(
        subteams::table
            .filter(subteams::tenant_id.eq(tenant.as_str()))
            .filter(subteams::id.eq(&current.id)),
    )
    .set((
        subteams::updated_at.eq(time::now()),
        subteams::version.eq(current.version + 1),
    ))
    .execute(conn)?;
    Ok(())
}

/// Deletes the subteam and its memberships; its members stay in the team.
pub fn delete(
    tenant: &TenantId,
    conn: &mut DbConnection,
    id: &SubteamId,
) -> Result<bool, StoreError> {
    diesel::delete(
        subteam_members::table
            .filter(subteam_members::tenant_id.eq(tenant.as_str()))
            .filter(subteam_members::subteam_id.eq(id.as_str())),
    )
    .execute(conn)?;
    let deleted = diesel::delete(
        subteams::table
            .filter(subteams::tenant_id.eq(tenant.as_str()))
            .filter(subteams::id.eq(id.as_str())),
    )
    .execute(conn)?;
    Ok(deleted == 1)
}

/// Chunk size for IN lists: under SQLite's bound-variable limit.
const CHUNK: usize = 500;

/// A SCIM DELETE of the user: out of every group it is in. Each of those
/// groups' member list changed, so each gets a new version and
/// lastModified (an IdP's `If-None-Match` must not answer 304 any more).
pub fn remove_member_everywhere(
    tenant: &TenantId,
    conn: &mut DbConnection,
    member: &MemberId,
) -> Result<usize, StoreError> {
    let groups = shift_member_everywhere(tenant, conn, member, -1)?;
    drop_member_rows(tenant, conn, member)?;
    Ok(groups)
}

/// The user leaves or rejoins the SCIM member lists of every group it is
/// in (`step` -1 or +1 to their counts) while its rows stay: a DELETE the
/// removal guard held keeps the member's subteams until an admin decides.
/// Each group gets a new version and lastModified. Returns how many.
pub fn shift_member_everywhere(
    tenant: &TenantId,
    conn: &mut DbConnection,
    member: &MemberId,
    step: i64,
) -> Result<usize, StoreError> {
    let groups: Vec<String> = subteam_members::table
        .filter(subteam_members::tenant_id.eq(tenant.as_str()))
        .filter(subteam_members::member_id.eq(member.as_str()))
        .select(subteam_members::subteam_id)
        .load(conn)?;
    let now = time::now();
    for chunk in groups.chunks(CHUNK) {
        diesel::update(
            subteams::table
                .filter(subteams::tenant_id.eq(tenant.as_str()))
                .filter(subteams::id.eq_any(chunk)),
        )
        .set((
            subteams::updated_at.eq(&now),
            subteams::version.eq(subteams::version + 1),
            subteams::member_count.eq(subteams::member_count + step),
        ))
        .execute(conn)?;
    }
    Ok(groups.len())
}

/// Deletes the user's membership rows (its SCIM and subteam memberships).
pub fn drop_member_rows(
    tenant: &TenantId,
    conn: &mut DbConnection,
    member: &MemberId,
) -> Result<(), StoreError> {
    diesel::delete(
        subteam_members::table
            .filter(subteam_members::tenant_id.eq(tenant.as_str()))
            .filter(subteam_members::member_id.eq(member.as_str())),
    )
    .execute(conn)?;
    Ok(())
}

/// Per group, how many of its members are in the team: the subteam's
/// member count as the product shows it (the others are dormant).
pub fn in_team_member_counts(
    tenant: &TenantId,
    conn: &mut DbConnection,
) -> Result<HashMap<String, i64>, StoreError> {
    let counts: Vec<(String, i64)> = subteam_members::table
        .inner_join(members::table.on(members::id.eq(subteam_members::member_id)))
        .filter(subteam_members::tenant_id.eq(tenant.as_str()))
        .filter(members::in_team.eq(true))
        .group_by(subteam_members::subteam_id)
        .select((subteam_members::subteam_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(counts.into_iter().collect())
}

/// Adds members not already in the subteam; returns those it added.
pub fn add_members(
    tenant: &TenantId,
    conn: &mut DbConnection,
    subteam: &SubteamId,
    member_ids: &[String],
) -> Result<Vec<String>, StoreError> {
    let now = time::now();
    let mut added = Vec::new();
    for chunk in member_ids.chunks(CHUNK) {
        let present: HashSet<String> = subteam_members::table
            .filter(subteam_members::subteam_id.eq(subteam.as_str()))
            .filter(subteam_members::member_id.eq_any(chunk))
            .select(subteam_members::member_id)
            .load::<String>(conn)?
            .into_iter()
            .collect();
        // In request order, each once.
        let mut seen = HashSet::new();
        let new_ids: Vec<&String> = chunk
            .iter()
            .filter(|id| !present.contains(*id) && seen.insert(*id))
            .collect();
        let rows: Vec<_> = new_ids
            .iter()
            .map(|member| {
                (
                    subteam_members::subteam_id.eq(subteam.as_str()),
                    subteam_members::member_id.eq(member.as_str()),
                    subteam_members::tenant_id.eq(tenant.as_str()),
                    subteam_members::added_at.eq(&now),
                )
            })
            .collect();
        if !rows.is_empty() {
            let insert = diesel::insert_into(subteam_members::table).values(rows);
            on_concrete_connection!(conn, |c| insert.execute(c))?;
            added.extend(new_ids.into_iter().cloned());
        }
    }
    Ok(added)
}

/// Removes those of `member_ids` that are in the subteam; returns them.
pub fn remove_members(
    tenant: &TenantId,
    conn: &mut DbConnection,
    subteam: &SubteamId,
    member_ids: &[String],
) -> Result<Vec<String>, StoreError> {
    let mut removed = Vec::new();
    for chunk in member_ids.chunks(CHUNK) {
        let of_chunk = || {
            subteam_members::table
                .filter(subteam_members::tenant_id.eq(tenant.as_str()))
                .filter(subteam_members::subteam_id.eq(subteam.as_str()))
                .filter(subteam_members::member_id.eq_any(chunk))
        };
        let present: Vec<String> = of_chunk().select(subteam_members::member_id).load(conn)?;
        if !present.is_empty() {
            diesel::delete(of_chunk()).execute(conn)?;
            removed.extend(present);
        }
    }
    Ok(removed)
}

/// Empties the subteam; returns the members it had.
pub fn remove_all_members(
    tenant: &TenantId,
    conn: &mut DbConnection,
    subteam: &SubteamId,
) -> Result<Vec<String>, StoreError> {
    let of_subteam = || {
        subteam_members::table
            .filter(subteam_members::tenant_id.eq(tenant.as_str()))
            .filter(subteam_members::subteam_id.eq(subteam.as_str()))
    };
    let present: Vec<String> = of_subteam().select(subteam_members::member_id).load(conn)?;
    diesel::delete(of_subteam()).execute(conn)?;
    Ok(present)
}

/// One page of a subteam's member ids, keyset-paged by member id so reading
/// a 100k-member group never holds more than a page of rows per query.
pub fn members_page(
    tenant: &TenantId,
    conn: &mut DbConnection,
    subteam: &SubteamId,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<MemberRef>, StoreError> {
    let mut query = subteam_members::table
        .inner_join(members::table.on(members::id.eq(subteam_members::member_id)))
        .filter(subteam_members::tenant_id.eq(tenant.as_str()))
        .filter(subteam_members::subteam_id.eq(subteam.as_str()))
        // A user whose DELETE the removal guard holds is gone from SCIM's
        // view of the group, though its row stays for the subteam.
        .filter(members::deprovisioned_at.is_null())
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(subteam_members::member_id.gt(after.to_owned()));
    }
    let rows: Vec<(String, Option<String>, Option<String>)> = query
        .order(subteam_members::member_id.asc())
        .limit(i64::try_from(limit).unwrap_or(i64::MAX))
        .select((
            subteam_members::member_id,
            members::display_name,
            members::user_name,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, display_name, user_name)| MemberRef {
            id,
            display: display_name.or(user_name),
        })
        .collect())
}

/// Records that a write added `delta` members to the group (negative:
/// removed), in the caller's transaction.
pub fn count_members(
    tenant: &TenantId,
    conn: &mut DbConnection,
    subteam: &SubteamId,
    delta: i64,
) -> Result<(), StoreError> {
    if delta != 0 {
        diesel::update(
            subteams::table
                .filter(subteams::tenant_id.eq(tenant.as_str()))
                .filter(subteams::id.eq(subteam.as_str())),
        )
        .set(subteams::member_count.eq(subteams::member_count + delta))
        .execute(conn)?;
    }
    Ok(())
}

pub fn groups_of_member(
    tenant: &TenantId,
    conn: &mut DbConnection,
    member: &MemberId,
) -> Result<Vec<GroupRef>, StoreError> {
    // One member: an equality, not an IN list, so the statement is prepared once.
    Ok(subteam_members::table
        .inner_join(subteams::table.on(subteams::id.eq(subteam_members::subteam_id)))
        .filter(subteam_members::tenant_id.eq(tenant.as_str()))
        .filter(subteam_members::member_id.eq(member.as_str()))
        .order(subteams::seq.asc())
        .select((subteams::id, subteams::display_name, subteams::is_subteam))
        .load::<(String, String, bool)>(conn)?
        .into_iter()
        .map(|(id, display_name, is_subteam)| GroupRef {
            id,
            display_name,
            is_subteam,
        })
        .collect())
}

/// Subteams of each of `member_ids`, in one query per chunk.
pub fn groups_of_members(
    tenant: &TenantId,
    conn: &mut DbConnection,
    member_ids: &[String],
) -> Result<HashMap<String, Vec<GroupRef>>, StoreError> {
    let mut groups: HashMap<String, Vec<GroupRef>> = HashMap::new();
    for chunk in member_ids.chunks(CHUNK) {
        let rows: Vec<(String, String, String, bool)> = subteam_members::table
            .inner_join(subteams::table.on(subteams::id.eq(subteam_members::subteam_id)))
            .filter(subteam_members::tenant_id.eq(tenant.as_str()))
            .filter(subteam_members::member_id.eq_any(chunk))
            .order(subteams::seq.asc())
            .select((
                subteam_members::member_id,
                subteams::id,
                subteams::display_name,
                subteams::is_subteam,
            ))
            .load(conn)?;
        for (member, id, display_name, is_subteam) in rows {
            groups.entry(member).or_default().push(GroupRef {
                id,
                display_name,
                is_subteam,
            });
        }
    }
    Ok(groups)
}

fn filtered<'a>(
    tenant: &'a TenantId,
    condition: Option<&Condition>,
) -> subteams::BoxedQuery<'a, Db> {
    let query = scoped(tenant);
    match condition {
        Some(c) => query.filter(subteam_condition(tenant, c)),
        None => query,
    }
}

pub fn count(
    tenant: &TenantId,
    conn: &mut DbConnection,
    condition: Option<&Condition>,
) -> Result<usize, StoreError> {
    let total: i64 = filtered(tenant, condition)
        .select(diesel::dsl::count_star())
        .first(conn)?;
    Ok(usize::try_from(total).unwrap_or(0))
}

pub fn page(
    tenant: &TenantId,
    conn: &mut DbConnection,
    condition: Option<&Condition>,
    order: Option<(Column, bool)>,
    offset: usize,
    limit: usize,
) -> Result<Vec<SubteamRow>, StoreError> {
    let query = filtered(tenant, condition);
    let query = match order {
        None | Some((Column::Created | Column::MultiValue | Column::Active, false)) => {
            query.order(subteams::seq.asc())
        }
        Some((Column::Created | Column::MultiValue | Column::Active, true)) => {
            query.order(subteams::seq.desc())
        }
        Some((Column::Id, descending)) => sort_by!(query, subteams::id, descending, subteams::seq),
        Some((Column::ExternalId, descending)) => {
            sort_by!(query, subteams::external_id, descending, subteams::seq)
        }
        Some((Column::Name, descending)) => {
            sort_by!(
                query,
                subteams::display_name_lower,
                descending,
                subteams::seq
            )
        }
        Some((Column::LastModified, descending)) => {
            sort_by!(query, subteams::updated_at, descending, subteams::seq)
        }
    };
    Ok(query
        .offset(i64::try_from(offset).unwrap_or(i64::MAX))
        .limit(i64::try_from(limit).unwrap_or(i64::MAX))
        .select(SubteamRow::as_select())
        .load(conn)?)
}

/// Keyset window in creation order; see `members::window`.
pub fn window(
    tenant: &TenantId,
    conn: &mut DbConnection,
    condition: Option<&Condition>,
    after: Option<i64>,
    before: Option<i64>,
    limit: usize,
) -> Result<Vec<SubteamRow>, StoreError> {
    let mut query = filtered(tenant, condition);
    if let Some(after) = after {
        query = query.filter(subteams::seq.gt(after));
    }
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut rows = match before {
        Some(before) => query
            .filter(subteams::seq.lt(before))
            .order(subteams::seq.desc())
            .limit(limit)
            .select(SubteamRow::as_select())
            .load(conn)?,
        None => query
            .order(subteams::seq.asc())
            .limit(limit)
            .select(SubteamRow::as_select())
            .load(conn)?,
    };
    if before.is_some() {
        rows.reverse();
    }
    Ok(rows)
}

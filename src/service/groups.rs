//! SCIM Group operations over subteams. A group's own attributes live in
//! its stored JSON; `members` live only in `subteam_members`, so a
//! membership change costs what it names, not the group's size.

use std::collections::HashSet;

use scim_filter_parser::{AttrPath, CompValue, CompareOp, Filter};
use serde_json::{Map, Value, json};

use crate::scim::ScimError;
use crate::scim::activity::{
    Change, MemberName, NAMED_MEMBERS, Operation, changed_attributes, membership_detail,
};
use crate::scim::ids::{SubteamId, TenantId};
use crate::scim::list::{Cursor, ListRequest};
use crate::scim::patch::{self, PatchOp, PatchOpKind};
use crate::scim::policy::Policy;
use crate::scim::query::{Column, Condition};
use crate::scim::resource::{self, Incoming};
use crate::scim::schema;
use crate::scim::schema::ResourceKind;
use crate::service::listing::{self, Rows};
use crate::service::{Attempt, Scope, ServerAttrs, etag, logged, record, with_server_attrs};
use crate::store::db::{DbConnection, write_transaction};
use crate::store::members;
use crate::store::subteams::{self, MemberRef, SubteamRow, SubteamWrite};

const KIND: ResourceKind = ResourceKind::Group;
/// Rows fetched per query while reading a group's members.
const MEMBER_PAGE: usize = 1000;

pub struct StoredGroup {
    pub row: SubteamRow,
    /// `None` when the caller did not ask for members.
    pub members: Option<Vec<MemberRef>>,
}

impl StoredGroup {
    pub fn etag(&self) -> String {
        etag(self.row.version)
    }

    /// Consumes the group so a large member list is turned into JSON once,
    /// not copied.
    pub fn into_scim(self, base_url: &str) -> Value {
        let mut resource = with_server_attrs(
            KIND,
            &self.row.scim_resource,
            &ServerAttrs {
                id: &self.row.id,
                created: &self.row.created_at,
                last_modified: &self.row.updated_at,
                version: self.row.version,
            },
            base_url,
        );
        if let Some(members) = self.members.filter(|m| !m.is_empty()) {
            resource["members"] = members
                .into_iter()
                .map(|member| {
                    let mut entry = json!({
                        "$ref": format!("{base_url}/Users/{}", member.id),
                        "type": "User",
                        "value": member.id,
                    });
                    if let Some(display) = member.display {
                        entry["display"] = json!(display);
                    }
                    entry
                })
                .collect();
        }
        resource
    }
}

/// One step of a membership change, applied in request order.
#[derive(Debug, Clone, PartialEq)]
enum MembershipChange {
    Add(Vec<String>),
    Remove(Vec<String>),
    RemoveAll,
    Replace(Vec<String>),
}

fn not_found(id: &SubteamId) -> ScimError {
    ScimError::NotFound(format!("Group {id} not found"))
}

fn uniqueness(display_name: &str) -> ScimError {
    ScimError::Uniqueness(format!(
        "a group named {display_name:?} already exists in this team"
    ))
}

fn member_values(value: &Value) -> Result<Vec<String>, ScimError> {
    let items = match value {
        Value::Array(items) => items.as_slice(),
        single @ Value::Object(_) => std::slice::from_ref(single),
        Value::Null => &[],
        _ => {
            return Err(ScimError::InvalidValue(
                "members must be a list of {\"value\": \"<user id>\"} objects".into(),
            ));
        }
    };
    items
        .iter()
        .map(|item| {
            item.as_object()
                .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case("value")))
                .and_then(|(_, v)| v.as_str())
                .map(str::to_owned)
                .ok_or_else(|| {
                    ScimError::InvalidValue(format!("member {item} has no string value"))
                })
        })
        .collect()
}

/// Splits a normalized group into its stored JSON (without members) and
/// member ids; the tenant's allowlist decides whether it is a subteam.
fn split_members(
    policy: &Policy,
    incoming: Incoming,
) -> Result<(SubteamWrite, Vec<String>), ScimError> {
    let mut resource = incoming.resource;
    let members = match resource.as_object_mut().and_then(|o| o.remove("members")) {
        Some(value) => member_values(&value)?,
        None => Vec::new(),
    };
    let display_name = resource
        .get("displayName")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| ScimError::InvalidValue("displayName is required".into()))?;
    let external_id = resource
        .get("externalId")
        .and_then(Value::as_str)
        .map(str::to_owned);
    Ok((
        SubteamWrite {
            is_subteam: policy.allows_group(&display_name, external_id.as_deref()),
            display_name,
            external_id,
            scim_resource: resource.to_string(),
        },
        members,
    ))
}

fn require_members_exist(
    tenant: &TenantId,
    conn: &mut DbConnection,
    ids: &[String],
) -> Result<(), ScimError> {
    let found: HashSet<String> = members::existing_ids(tenant, conn, ids)?
        .into_iter()
        .collect();
    let missing: Vec<&String> = ids.iter().filter(|id| !found.contains(*id)).collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(ScimError::InvalidValue(format!(
            "no such user in this team: {}",
            missing
                .iter()
                .map(|id| id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )))
    }
}

/// The net effect of a write's membership changes: who is in the group
/// now that was not before, and who left. Each step's store call reports
/// what it really changed, so re-adding a member, or adding then removing
/// one, nets out.
#[derive(Debug, Default)]
struct MembershipDelta {
    added: Vec<String>,
    removed: Vec<String>,
}

impl MembershipDelta {
    fn added(&mut self, ids: Vec<String>) {
        for id in ids {
            match self.removed.iter().position(|r| *r == id) {
                Some(at) => {
                    self.removed.swap_remove(at);
                }
                None => self.added.push(id),
            }
        }
    }

    fn removed(&mut self, ids: Vec<String>) {
        for id in ids {
            match self.added.iter().position(|a| *a == id) {
                Some(at) => {
                    self.added.swap_remove(at);
                }
                None => self.removed.push(id),
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
    }

    /// Keeps the group's member count, in the write's transaction.
    fn count(
        &self,
        tenant: &TenantId,
        conn: &mut DbConnection,
        subteam: &SubteamId,
    ) -> Result<(), ScimError> {
        let net = i64::try_from(self.added.len()).unwrap_or(i64::MAX)
            - i64::try_from(self.removed.len()).unwrap_or(i64::MAX);
        Ok(subteams::count_members(tenant, conn, subteam, net)?)
    }

    /// For the activity log: the first few of each side by id and userName.
    fn detail(
        &self,
        tenant: &TenantId,
        conn: &mut DbConnection,
    ) -> Result<Option<String>, ScimError> {
        let mut named = |ids: &[String]| -> Result<Vec<MemberName>, ScimError> {
            let shown = &ids[..ids.len().min(NAMED_MEMBERS)];
            let names = members::user_names(tenant, conn, shown)?;
            Ok(shown
                .iter()
                .map(|id| (id.clone(), names.get(id).cloned().flatten()))
                .collect())
        };
        let added = named(&self.added)?;
        let removed = named(&self.removed)?;
        Ok(membership_detail(
            (self.added.len(), &added),
            (self.removed.len(), &removed),
        ))
    }
}

fn apply_membership(
    tenant: &TenantId,
    conn: &mut DbConnection,
    subteam: &SubteamId,
    change: &MembershipChange,
    delta: &mut MembershipDelta,
) -> Result<(), ScimError> {
    match change {
        MembershipChange::Add(ids) => {
            require_members_exist(tenant, conn, ids)?;
            delta.added(subteams::add_members(tenant, conn, subteam, ids)?);
        }
        MembershipChange::Remove(ids) => {
            delta.removed(subteams::remove_members(tenant, conn, subteam, ids)?);
        }
        MembershipChange::RemoveAll => {
            delta.removed(subteams::remove_all_members(tenant, conn, subteam)?);
        }
        MembershipChange::Replace(ids) => {
            require_members_exist(tenant, conn, ids)?;
            delta.removed(subteams::remove_all_members(tenant, conn, subteam)?);
            delta.added(subteams::add_members(tenant, conn, subteam, ids)?);
        }
    }
    Ok(())
}

fn load_members(
    tenant: &TenantId,
    conn: &mut DbConnection,
    subteam: &SubteamId,
) -> Result<Vec<MemberRef>, ScimError> {
    let mut all: Vec<MemberRef> = Vec::new();
    loop {
        let after = all.last().map(|m| m.id.clone());
        let page = subteams::members_page(tenant, conn, subteam, after.as_deref(), MEMBER_PAGE)?;
        let done = page.len() < MEMBER_PAGE;
        all.extend(page);
        if done {
            return Ok(all);
        }
    }
}

/// The id of the group named `display_name`: what a refused create
/// collided with, for the log line (which never shows the name).
pub fn id_of_display_name(
    tenant: &TenantId,
    conn: &mut DbConnection,
    display_name: &str,
) -> Result<Option<SubteamId>, ScimError> {
    Ok(subteams::id_by_display_name(tenant, conn, display_name)?)
}

pub fn get(
    tenant: &TenantId,
    conn: &mut DbConnection,
    id: &SubteamId,
    with_members: bool,
) -> Result<StoredGroup, ScimError> {
    let row = subteams::find(tenant, conn, id)?.ok_or_else(|| not_found(id))?;
    let members = with_members
        .then(|| load_members(tenant, conn, id))
        .transpose()?;
    Ok(StoredGroup { row, members })
}

fn map_unique(display_name: &str) -> impl Fn(crate::store::StoreError) -> ScimError + '_ {
    move |e| {
        if e.is_unique_violation() {
            uniqueness(display_name)
        } else {
            e.into()
        }
    }
}

/// What a group write changed, for the activity log: the attributes that
/// differ between the stored resource before and after it, and who its
/// membership changes added and removed.
fn group_change(
    tenant: &TenantId,
    conn: &mut DbConnection,
    (operation, id, display_name): (Operation, &SubteamId, &str),
    (before, after): (&Value, &Value),
    delta: &MembershipDelta,
) -> Result<Change, ScimError> {
    let mut fields_changed = changed_attributes(before, after);
    if !delta.is_empty() {
        fields_changed.push("members".into());
    }
    Ok(Change {
        operation,
        resource_id: id.to_string(),
        resource_name: Some(display_name.to_owned()),
        fields_changed,
        detail: delta.detail(tenant, conn)?,
    })
}

fn attempt<'a>(
    operation: Operation,
    id: Option<&'a SubteamId>,
    name: Option<&'a str>,
) -> Attempt<'a> {
    Attempt {
        kind: KIND,
        operation,
        resource_id: id.map(SubteamId::as_str),
        resource_name: name,
    }
}

pub fn create(
    scope: &Scope<'_>,
    conn: &mut DbConnection,
    body: Value,
) -> Result<StoredGroup, ScimError> {
    let name = resource::text_attribute(&body, "displayName");
    logged(
        scope,
        conn,
        &attempt(Operation::Create, None, name.as_deref()),
        |conn| {
            let (write, member_ids) =
                split_members(scope.policy, resource::normalize(KIND, body)?)?;
            let id = SubteamId::generate();
            write_transaction(conn, |conn| {
                subteams::insert(scope.tenant, conn, &id, &write)
                    .map_err(map_unique(&write.display_name))?;
                let mut delta = MembershipDelta::default();
                let add = MembershipChange::Add(member_ids);
                apply_membership(scope.tenant, conn, &id, &add, &mut delta)?;
                delta.count(scope.tenant, conn, &id)?;
                let change = group_change(
                    scope.tenant,
                    conn,
                    (Operation::Create, &id, &write.display_name),
                    (&Value::Null, &write.resource()),
                    &delta,
                )?;
                record(scope, conn, KIND, 201, &change)
            })?;
            get(scope.tenant, conn, &id, true)
        },
    )
}

/// The subteam, locked for the caller's write transaction and checked
/// against `If-Match`, so concurrent writes to one group apply in turn.
fn locked(
    tenant: &TenantId,
    conn: &mut DbConnection,
    id: &SubteamId,
    if_match: Option<&str>,
) -> Result<SubteamRow, ScimError> {
    if !subteams::lock(tenant, conn, id)? {
        return Err(not_found(id));
    }
    let current = subteams::find(tenant, conn, id)?.ok_or_else(|| not_found(id))?;
    check_version(&current, if_match)?;
    Ok(current)
}

fn check_version(current: &SubteamRow, if_match: Option<&str>) -> Result<(), ScimError> {
    match if_match {
        Some(expected) if expected.trim() != "*" && expected.trim() != etag(current.version) => {
            Err(ScimError::PreconditionFailed)
        }
        _ => Ok(()),
    }
}

pub fn replace(
    scope: &Scope<'_>,
    conn: &mut DbConnection,
    id: &SubteamId,
    if_match: Option<&str>,
    body: Value,
) -> Result<StoredGroup, ScimError> {
    logged(
        scope,
        conn,
        &attempt(Operation::Update, Some(id), None),
        |conn| {
            let (write, member_ids) =
                split_members(scope.policy, resource::normalize(KIND, body)?)?;
            write_transaction(conn, |conn| {
                let current = locked(scope.tenant, conn, id, if_match)?;
                subteams::update(scope.tenant, conn, &current, &write)
                    .map_err(map_unique(&write.display_name))?;
                let mut delta = MembershipDelta::default();
                let replace = MembershipChange::Replace(member_ids);
                apply_membership(scope.tenant, conn, id, &replace, &mut delta)?;
                delta.count(scope.tenant, conn, id)?;
                let change = group_change(
                    scope.tenant,
                    conn,
                    (Operation::Update, id, &write.display_name),
                    (&current.resource(), &write.resource()),
                    &delta,
                )?;
                record(scope, conn, KIND, 200, &change)
            })?;
            get(scope.tenant, conn, id, true)
        },
    )
}

fn is_members_path(path: &AttrPath) -> bool {
    path.name.eq_ignore_ascii_case("members")
        && path
            .urn
            .as_deref()
            .is_none_or(|urn| urn.eq_ignore_ascii_case(schema::GROUP_URN))
}

/// Ids named by a `members[value eq "…"]` filter (or an `or` of them).
fn filtered_ids(filter: &Filter) -> Result<Vec<String>, ScimError> {
    match filter {
        Filter::Compare(path, CompareOp::Eq, CompValue::Str(id))
            if path.name.eq_ignore_ascii_case("value") && path.sub_attr.is_none() =>
        {
            Ok(vec![id.clone()])
        }
        Filter::Or(a, b) => {
            let mut ids = filtered_ids(a)?;
            ids.extend(filtered_ids(b)?);
            Ok(ids)
        }
        _ => Err(ScimError::InvalidFilter(
            "members can be selected by value eq \"<id>\" (optionally or-ed)".into(),
        )),
    }
}

fn membership_change(op: &PatchOp) -> Result<MembershipChange, ScimError> {
    let filter = op.path.as_ref().and_then(|p| p.value_filter.as_ref());
    Ok(match (op.op, filter, &op.value) {
        (PatchOpKind::Add, None, Some(value)) => MembershipChange::Add(member_values(value)?),
        (PatchOpKind::Replace, None, Some(value)) => {
            MembershipChange::Replace(member_values(value)?)
        }
        (PatchOpKind::Remove, Some(filter), _) => MembershipChange::Remove(filtered_ids(filter)?),
        // Entra removes members by listing them in `value`.
        (PatchOpKind::Remove, None, Some(value)) if !value.is_null() => {
            MembershipChange::Remove(member_values(value)?)
        }
        (PatchOpKind::Remove, None, _) => MembershipChange::RemoveAll,
        _ => {
            return Err(ScimError::InvalidPath(
                "unsupported operation on members".into(),
            ));
        }
    })
}

/// Separates membership operations from the rest, keeping request order
/// within each; a no-path value object loses its `members` key to a
/// membership change of the same op.
fn split_ops(ops: &[PatchOp]) -> Result<(Vec<MembershipChange>, Vec<PatchOp>), ScimError> {
    let mut changes = Vec::new();
    let mut others = Vec::new();
    for op in ops {
        match (&op.path, &op.value) {
            (Some(path), _) if is_members_path(&path.attr) => {
                if path.sub_attr.is_some() {
                    return Err(ScimError::InvalidPath(
                        "member sub-attributes are read-only".into(),
                    ));
                }
                changes.push(membership_change(op)?);
            }
            (None, Some(Value::Object(map))) => {
                let (members, rest): (Map<String, Value>, Map<String, Value>) = map
                    .clone()
                    .into_iter()
                    .partition(|(k, _)| k.eq_ignore_ascii_case("members"));
                if let Some(value) = members.into_values().next() {
                    changes.push(membership_change(&PatchOp {
                        op: op.op,
                        path: None,
                        value: Some(value),
                    })?);
                }
                if !rest.is_empty() {
                    others.push(PatchOp {
                        op: op.op,
                        path: None,
                        value: Some(Value::Object(rest)),
                    });
                }
            }
            _ => others.push(op.clone()),
        }
    }
    Ok((changes, others))
}

/// Above this many members a PATCH answers 204 instead of echoing the
/// group: a membership delta must not cost a full member listing.
pub const PATCH_ECHO_MEMBER_LIMIT: usize = 1000;

/// PATCH: attribute ops through the JSON engine, membership ops as deltas;
/// one transaction, all or nothing.
pub fn patch(
    scope: &Scope<'_>,
    conn: &mut DbConnection,
    id: &SubteamId,
    if_match: Option<&str>,
    body: &Value,
) -> Result<SubteamRow, ScimError> {
    logged(
        scope,
        conn,
        &attempt(Operation::Update, Some(id), None),
        |conn| {
            let ops = patch::parse_patch_request(body)?;
            patch::check_own_id(&ops, id.as_str())?;
            let (changes, attribute_ops) = split_ops(&ops)?;
            write_transaction(conn, |conn| {
                let current = locked(scope.tenant, conn, id, if_match)?;
                if attribute_ops.is_empty() {
                    subteams::touch(scope.tenant, conn, &current)?;
                } else {
                    let stored: Value = serde_json::from_str(&current.scim_resource)
                        .map_err(ScimError::internal)?;
                    let patched = patch::apply(KIND, &stored, &attribute_ops)?;
                    let (write, _) =
                        split_members(scope.policy, resource::normalize(KIND, patched)?)?;
                    subteams::update(scope.tenant, conn, &current, &write)
                        .map_err(map_unique(&write.display_name))?;
                }
                let mut delta = MembershipDelta::default();
                for change in &changes {
                    apply_membership(scope.tenant, conn, id, change, &mut delta)?;
                }
                delta.count(scope.tenant, conn, id)?;
                let after = subteams::find(scope.tenant, conn, id)?.ok_or_else(|| not_found(id))?;
                let change = group_change(
                    scope.tenant,
                    conn,
                    (Operation::Update, id, &after.display_name),
                    (&current.resource(), &after.resource()),
                    &delta,
                )?;
                record(scope, conn, KIND, 200, &change)?;
                Ok(after)
            })
        },
    )
}

pub fn delete(
    scope: &Scope<'_>,
    conn: &mut DbConnection,
    id: &SubteamId,
    if_match: Option<&str>,
) -> Result<(), ScimError> {
    logged(
        scope,
        conn,
        &attempt(Operation::Delete, Some(id), None),
        |conn| {
            write_transaction(conn, |conn| {
                let current = locked(scope.tenant, conn, id, if_match)?;
                subteams::delete(scope.tenant, conn, id)?;
                let change = Change {
                    operation: Operation::Delete,
                    resource_id: current.id,
                    resource_name: Some(current.display_name),
                    fields_changed: Vec::new(),
                    detail: None,
                };
                record(scope, conn, KIND, 204, &change)
            })
        },
    )
}

fn mentions_members(filter: &Filter) -> bool {
    match filter {
        Filter::And(a, b) | Filter::Or(a, b) => mentions_members(a) || mentions_members(b),
        Filter::Not(inner) => mentions_members(inner),
        Filter::Present(path) | Filter::Compare(path, ..) | Filter::ValuePath(path, _) => {
            is_members_path(path)
        }
    }
}

pub struct Listed {
    pub total: usize,
    pub groups: Vec<StoredGroup>,
    pub next: Option<Cursor>,
    pub previous: Option<Cursor>,
}

/// Subteams as the listing algorithm sees them.
struct SubteamRows<'a> {
    tenant: &'a TenantId,
    conn: &'a mut DbConnection,
    base_url: &'a str,
    /// Only a filter or sort about members needs them loaded.
    needs_members: bool,
}

impl Rows for SubteamRows<'_> {
    type Row = SubteamRow;

    fn seq(row: &SubteamRow) -> i64 {
        row.seq
    }

    fn count(&mut self, condition: Option<&Condition>) -> Result<usize, ScimError> {
        Ok(subteams::count(self.tenant, self.conn, condition)?)
    }

    fn page(
        &mut self,
        condition: Option<&Condition>,
        order: Option<(Column, bool)>,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<SubteamRow>, ScimError> {
        Ok(subteams::page(
            self.tenant,
            self.conn,
            condition,
            order,
            offset,
            limit,
        )?)
    }

    fn window(
        &mut self,
        condition: Option<&Condition>,
        after: Option<i64>,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<SubteamRow>, ScimError> {
        Ok(subteams::window(
            self.tenant,
            self.conn,
            condition,
            after,
            before,
            limit,
        )?)
    }

    fn resource(&mut self, row: &SubteamRow) -> Result<Value, ScimError> {
        let members = self
            .needs_members
            .then(|| load_members(self.tenant, self.conn, &row.subteam_id()))
            .transpose()?;
        Ok(StoredGroup {
            row: row.clone(),
            members,
        }
        .into_scim(self.base_url))
    }
}

pub fn list(
    tenant: &TenantId,
    conn: &mut DbConnection,
    filter: Option<&Filter>,
    request: &ListRequest,
    with_members: bool,
    base_url: &str,
) -> Result<Listed, ScimError> {
    let sorts_by_members = request
        .sort
        .as_ref()
        .is_some_and(|s| s.by.attr.name == "members");
    let paged = listing::list(
        KIND,
        &mut SubteamRows {
            tenant,
            conn,
            base_url,
            needs_members: filter.is_some_and(mentions_members) || sorts_by_members,
        },
        filter,
        request,
    )?;
    let groups = paged
        .rows
        .into_iter()
        .map(|row| {
            let members = with_members
                .then(|| load_members(tenant, conn, &row.subteam_id()))
                .transpose()?;
            Ok(StoredGroup { row, members })
        })
        .collect::<Result<_, ScimError>>()?;
    Ok(Listed {
        total: paged.total,
        groups,
        next: paged.next,
        previous: paged.previous,
    })
}

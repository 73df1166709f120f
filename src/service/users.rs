//! SCIM User operations over members and their cards.

use scim_filter_parser::Filter;
use serde_json::Value;

use crate::scim::ScimError;
use crate::scim::card;
use crate::scim::ids::{MemberId, TenantId};
use crate::scim::list::{Cursor, ListRequest};
use crate::scim::patch::{self, PatchOp};
use crate::scim::query::{Column, Condition};
use crate::scim::resource::{self, Incoming};
use crate::scim::schema::ResourceKind;
use crate::scim::token;
use crate::service::listing::{self, Rows};
use crate::service::{ServerAttrs, etag, with_server_attrs};
use crate::store::db::{DbConnection, write_transaction};
use crate::store::members::{self, MemberRow, MemberWrite};
use crate::store::subteams::{self, GroupRef};

const KIND: ResourceKind = ResourceKind::User;

/// A member as the SCIM API shows it.
pub struct StoredUser {
    pub row: MemberRow,
    pub groups: Vec<GroupRef>,
}

impl StoredUser {
    pub fn etag(&self) -> String {
        etag(self.row.version)
    }

    /// The full resource: the client's attributes, `id`, `meta` and the
    /// read-only `groups`.
    pub fn to_scim(&self, base_url: &str) -> Value {
        let mut resource = with_server_attrs(
            KIND,
            self.row.scim_resource.as_deref().unwrap_or("{}"),
            &ServerAttrs {
                id: &self.row.id,
                created: &self.row.created_at,
                last_modified: &self.row.updated_at,
                version: self.row.version,
            },
            base_url,
        );
        if !self.groups.is_empty() {
            resource["groups"] =
                Value::Array(self.groups.iter().map(|g| g.to_scim(base_url)).collect());
        }
        resource
    }
}

fn member_write(incoming: Incoming) -> Result<MemberWrite, ScimError> {
    let resource = incoming.resource;
    let text_of = |name: &str| {
        resource
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let user_name = text_of("userName")
        .ok_or_else(|| ScimError::InvalidValue("userName is required".into()))?;
    Ok(MemberWrite {
        external_id: text_of("externalId"),
        display_name: text_of("displayName"),
        active: resource
            .get("active")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        password_hash: incoming
            .password
            .as_deref()
            .map(token::hash_secret)
            .transpose()?,
        emails: card::email_values(&resource),
        card: card::card_from_user(&resource),
        scim_resource: resource.to_string(),
        user_name,
    })
}

fn uniqueness(user_name: &str) -> ScimError {
    ScimError::Uniqueness(format!(
        "userName {user_name:?} is already taken in this team"
    ))
}

fn require_version(current: &MemberRow, if_match: Option<&str>) -> Result<(), ScimError> {
    match if_match {
        Some(expected) if expected.trim() != "*" && expected.trim() != etag(current.version) => {
            Err(ScimError::PreconditionFailed)
        }
        _ => Ok(()),
    }
}

fn not_found(id: &MemberId) -> ScimError {
    ScimError::NotFound(format!("User {id} not found"))
}

fn load(
    tenant: &TenantId,
    conn: &mut DbConnection,
    row: MemberRow,
) -> Result<StoredUser, ScimError> {
    let groups = subteams::groups_of_member(tenant, conn, &row.member_id())?;
    Ok(StoredUser { row, groups })
}

pub fn get(
    tenant: &TenantId,
    conn: &mut DbConnection,
    id: &MemberId,
) -> Result<StoredUser, ScimError> {
    let row = members::find(tenant, conn, id)?.ok_or_else(|| not_found(id))?;
    load(tenant, conn, row)
}

pub fn create(
    tenant: &TenantId,
    conn: &mut DbConnection,
    incoming: Incoming,
) -> Result<StoredUser, ScimError> {
    // argon2 runs before the transaction so the write lock is held briefly.
    let write = member_write(incoming)?;
    let id = MemberId::random();
    let row = write_transaction(conn, |conn| {
        members::insert(tenant, conn, &id, &write).map_err(|e| {
            if e.is_unique_violation() {
                uniqueness(&write.user_name)
            } else {
                e.into()
            }
        })
    })?;
    Ok(StoredUser {
        row,
        groups: Vec::new(),
    })
}

fn replace_with(
    tenant: &TenantId,
    conn: &mut DbConnection,
    id: &MemberId,
    if_match: Option<&str>,
    build: impl FnOnce(&MemberRow) -> Result<Incoming, ScimError>,
) -> Result<StoredUser, ScimError> {
    let current = members::find(tenant, conn, id)?.ok_or_else(|| not_found(id))?;
    require_version(&current, if_match)?;
    let write = member_write(build(&current)?)?;
    let row = write_transaction(conn, |conn| {
        // Re-read inside the transaction: a concurrent write wins or we do, never both.
        let locked = members::find(tenant, conn, id)?.ok_or_else(|| not_found(id))?;
        if locked.version != current.version {
            return Err(ScimError::PreconditionFailed);
        }
        members::update(tenant, conn, &locked, &write).map_err(|e| {
            if e.is_unique_violation() {
                uniqueness(&write.user_name)
            } else {
                e.into()
            }
        })
    })?;
    load(tenant, conn, row)
}

/// PUT: the body replaces every client attribute.
pub fn replace(
    tenant: &TenantId,
    conn: &mut DbConnection,
    id: &MemberId,
    if_match: Option<&str>,
    incoming: Incoming,
) -> Result<StoredUser, ScimError> {
    replace_with(tenant, conn, id, if_match, |_| Ok(incoming))
}

/// PATCH: all operations apply, or none.
pub fn patch(
    tenant: &TenantId,
    conn: &mut DbConnection,
    id: &MemberId,
    if_match: Option<&str>,
    ops: &[PatchOp],
) -> Result<StoredUser, ScimError> {
    replace_with(tenant, conn, id, if_match, |current| {
        let stored: Value = serde_json::from_str(current.scim_resource.as_deref().unwrap_or("{}"))
            .map_err(ScimError::internal)?;
        let patched = patch::apply(KIND, &stored, ops)?;
        resource::normalize(KIND, patched)
    })
}

pub fn delete(
    tenant: &TenantId,
    conn: &mut DbConnection,
    id: &MemberId,
    if_match: Option<&str>,
) -> Result<(), ScimError> {
    let current = members::find(tenant, conn, id)?.ok_or_else(|| not_found(id))?;
    require_version(&current, if_match)?;
    write_transaction(conn, |conn| {
        if members::deprovision(tenant, conn, id)? {
            Ok(())
        } else {
            Err(not_found(id))
        }
    })
}

pub struct Listed {
    pub total: usize,
    pub users: Vec<StoredUser>,
    pub next: Option<Cursor>,
    pub previous: Option<Cursor>,
}

/// Members as the listing algorithm sees them.
struct MemberRows<'a> {
    tenant: &'a TenantId,
    conn: &'a mut DbConnection,
    base_url: &'a str,
}

impl Rows for MemberRows<'_> {
    type Row = MemberRow;

    fn seq(row: &MemberRow) -> i64 {
        row.seq
    }

    fn count(&mut self, condition: Option<&Condition>) -> Result<usize, ScimError> {
        Ok(members::count(self.tenant, self.conn, condition)?)
    }

    fn page(
        &mut self,
        condition: Option<&Condition>,
        order: Option<(Column, bool)>,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<MemberRow>, ScimError> {
        Ok(members::page(
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
    ) -> Result<Vec<MemberRow>, ScimError> {
        Ok(members::window(
            self.tenant,
            self.conn,
            condition,
            after,
            before,
            limit,
        )?)
    }

    fn resource(&mut self, row: &MemberRow) -> Result<Value, ScimError> {
        let groups = subteams::groups_of_member(self.tenant, self.conn, &row.member_id())?;
        Ok(StoredUser {
            row: row.clone(),
            groups,
        }
        .to_scim(self.base_url))
    }
}

/// Filtered, sorted, paged list (see `service::listing`).
pub fn list(
    tenant: &TenantId,
    conn: &mut DbConnection,
    filter: Option<&Filter>,
    request: &ListRequest,
    with_groups: bool,
    base_url: &str,
) -> Result<Listed, ScimError> {
    let paged = listing::list(
        KIND,
        &mut MemberRows {
            tenant,
            conn,
            base_url,
        },
        filter,
        request,
    )?;
    let mut groups = if with_groups {
        let ids: Vec<String> = paged.rows.iter().map(|r| r.id.clone()).collect();
        subteams::groups_of_members(tenant, conn, &ids)?
    } else {
        Default::default()
    };
    let users = paged
        .rows
        .into_iter()
        .map(|row| StoredUser {
            groups: groups.remove(&row.id).unwrap_or_default(),
            row,
        })
        .collect();
    Ok(Listed {
        total: paged.total,
        users,
        next: paged.next,
        previous: paged.previous,
    })
}

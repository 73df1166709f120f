//! SCIM User operations over members and their cards.

use scim_filter_parser::Filter;
use serde_json::Value;

use crate::scim::ScimError;
use crate::scim::activity::{Change, Operation, changed_attributes};
use crate::scim::card::{self, CardFields};
use crate::scim::ids::{MemberId, TenantId};
use crate::scim::list::{Cursor, ListRequest};
use crate::scim::patch;
use crate::scim::policy::{CardWrite, Deprovisioning, Policy};
use crate::scim::query::{Column, Condition};
use crate::scim::resource::{self, Incoming};
use crate::scim::schema::ResourceKind;
use crate::scim::token;
use crate::service::listing::{self, Rows};
use crate::service::{Attempt, Scope, ServerAttrs, etag, logged, record, with_server_attrs};
use crate::store::StoreError;
use crate::store::db::{DbConnection, write_transaction};
use crate::store::members::{self, LockFor, MemberRow, MemberWrite};
use crate::store::outbox::{self, NewEmail};
use crate::store::subteams::{self, GroupRef};
use crate::store::tenants;

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

fn member_write(policy: &Policy, incoming: Incoming) -> Result<MemberWrite, ScimError> {
    let resource = incoming.resource;
    policy.check_names(&resource)?;
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
        admin: policy.admin_flags(&resource),
        scim_resource: resource.to_string(),
        user_name,
    })
}

fn uniqueness(user_name: &str) -> ScimError {
    ScimError::Uniqueness(format!(
        "userName {user_name:?} is already taken in this team"
    ))
}

fn map_unique(user_name: &str) -> impl Fn(StoreError) -> ScimError + '_ {
    move |e| {
        if e.is_unique_violation() {
            uniqueness(user_name)
        } else {
            e.into()
        }
    }
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

/// The member, locked for the caller's write transaction and checked
/// against `If-Match`: a concurrent write to it waits, then builds on what
/// this one commits, so no update is lost.
fn locked(
    scope: &Scope<'_>,
    conn: &mut DbConnection,
    id: &MemberId,
    if_match: Option<&str>,
) -> Result<MemberRow, ScimError> {
    if !members::lock(scope.tenant, conn, id, LockFor::Write)? {
        return Err(not_found(id));
    }
    let current = members::find(scope.tenant, conn, id)?.ok_or_else(|| not_found(id))?;
    require_version(&current, if_match)?;
    Ok(current)
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

fn stored_resource(row: &MemberRow) -> Value {
    row.scim_resource
        .as_deref()
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or(Value::Null)
}

/// Queues the invite to claim a new member's card, in the member's transaction.
fn queue_invite(
    scope: &Scope<'_>,
    conn: &mut DbConnection,
    member: &MemberId,
    recipient: &str,
    name: Option<&str>,
) -> Result<(), ScimError> {
    let team =
        tenants::find(conn, scope.tenant)?.map_or_else(|| "your team".to_owned(), |t| t.name);
    let greeting = name.map_or_else(|| "Hello".to_owned(), |n| format!("Hello {n}"));
    outbox::enqueue(
        scope.tenant,
        conn,
        &NewEmail {
            kind: "invite",
            dedupe_key: format!("invite:{member}"),
            member_id: Some(member),
            recipient,
            subject: format!("Your {team} business card is ready"),
            body: format!(
                "{greeting},\r\n\r\n{team} has created your digital business card. \
                 Sign in with {recipient} to claim it and see how it looks.\r\n"
            ),
        },
    )?;
    Ok(())
}

/// The member a create brings back instead of making a new one: the
/// member deactivated by an earlier SCIM DELETE with this `userName`, else
/// a member made outside SCIM with this primary email. It is locked, so of
/// two concurrent creates only one takes it over.
fn returning_member(
    scope: &Scope<'_>,
    conn: &mut DbConnection,
    user_name: &str,
    email: Option<&str>,
) -> Result<Option<(MemberRow, Operation)>, ScimError> {
    if let Some(row) = members::find_deprovisioned_by_user_name(scope.tenant, conn, user_name)?
        && members::lock(scope.tenant, conn, &row.member_id(), LockFor::Reprovision)?
    {
        return Ok(Some((row, Operation::Reactivate)));
    }
    if let Some(email) = email
        && let Some(row) = members::find_unprovisioned_by_email(scope.tenant, conn, email)?
        && members::lock(scope.tenant, conn, &row.member_id(), LockFor::Adoption)?
    {
        return Ok(Some((row, Operation::Adopt)));
    }
    Ok(None)
}

/// What a user write did, for the activity log.
fn user_change(
    operation: Operation,
    before: &Value,
    row: &MemberRow,
    new_password: bool,
) -> Change {
    let mut fields_changed = changed_attributes(before, &stored_resource(row));
    if new_password {
        fields_changed.push("password".into());
    }
    Change {
        operation,
        resource_id: row.id.clone(),
        resource_name: row.user_name.clone(),
        fields_changed,
        detail: None,
    }
}

/// POST: a new member; or, rather than a second member for one person, the
/// one deprovisioned with this `userName` or made outside SCIM with this
/// primary email, taken over (201 either way, with that member's id).
pub fn create(
    scope: &Scope<'_>,
    conn: &mut DbConnection,
    body: Value,
) -> Result<StoredUser, ScimError> {
    let user_name = resource::text_attribute(&body, "userName");
    let attempt = Attempt {
        kind: KIND,
        operation: Operation::Create,
        resource_id: None,
        resource_name: user_name.as_deref(),
    };
    logged(scope, conn, &attempt, |conn| {
        // argon2 runs before the transaction so the write lock is held briefly.
        let mut write = member_write(scope.policy, resource::normalize(KIND, body)?)?;
        let from_idp = write.card.clone();
        let new_password = write.password_hash.is_some();
        let (row, operation) = write_transaction(conn, |conn| {
            let (row, operation) =
                match returning_member(scope, conn, &write.user_name, from_idp.email.as_deref())? {
                    Some((existing, operation)) => {
                        let card_now =
                            members::current_card(scope.tenant, conn, &existing.member_id())?;
                        write.card =
                            scope
                                .policy
                                .merge_card(CardWrite::Create, &card_now, &from_idp);
                        let row = members::update(scope.tenant, conn, &existing, &write)
                            .map_err(map_unique(&write.user_name))?;
                        (row, operation)
                    }
                    None => {
                        write.card = scope.policy.merge_card(
                            CardWrite::Create,
                            &CardFields::default(),
                            &from_idp,
                        );
                        let id = MemberId::random();
                        let row = members::insert(scope.tenant, conn, &id, &write)
                            .map_err(map_unique(&write.user_name))?;
                        if scope.policy.invites
                            && let Some(email) = &from_idp.email
                        {
                            queue_invite(
                                scope,
                                conn,
                                &id,
                                email,
                                from_idp.display_name.as_deref(),
                            )?;
                        }
                        (row, Operation::Create)
                    }
                };
            let change = user_change(operation, &Value::Null, &row, new_password);
            record(scope, conn, KIND, 201, &change)?;
            Ok::<_, ScimError>((row, operation))
        })?;
        // Only a member taken over can already be in subteams.
        if operation == Operation::Create {
            Ok(StoredUser {
                row,
                groups: Vec::new(),
            })
        } else {
            load(scope.tenant, conn, row)
        }
    })
}

fn replace_with(
    scope: &Scope<'_>,
    conn: &mut DbConnection,
    id: &MemberId,
    if_match: Option<&str>,
    build: impl FnOnce(&MemberRow) -> Result<Incoming, ScimError>,
) -> Result<StoredUser, ScimError> {
    let attempt = Attempt {
        kind: KIND,
        operation: Operation::Update,
        resource_id: Some(id.as_str()),
        resource_name: None,
    };
    logged(scope, conn, &attempt, |conn| {
        let row = write_transaction(conn, |conn| {
            let current = locked(scope, conn, id, if_match)?;
            let mut write = member_write(scope.policy, build(&current)?)?;
            let card_now = members::current_card(scope.tenant, conn, id)?;
            write.card = scope
                .policy
                .merge_card(CardWrite::Update, &card_now, &write.card);
            let row = members::update(scope.tenant, conn, &current, &write)
                .map_err(map_unique(&write.user_name))?;
            let change = user_change(
                Operation::of_update(current.active, row.active),
                &stored_resource(&current),
                &row,
                write.password_hash.is_some(),
            );
            record(scope, conn, KIND, 200, &change)?;
            Ok::<_, ScimError>(row)
        })?;
        load(scope.tenant, conn, row)
    })
}

/// PUT: the body replaces every client attribute.
pub fn replace(
    scope: &Scope<'_>,
    conn: &mut DbConnection,
    id: &MemberId,
    if_match: Option<&str>,
    body: Value,
) -> Result<StoredUser, ScimError> {
    replace_with(scope, conn, id, if_match, |_| {
        resource::normalize(KIND, body)
    })
}

/// PATCH: all operations apply, or none.
pub fn patch(
    scope: &Scope<'_>,
    conn: &mut DbConnection,
    id: &MemberId,
    if_match: Option<&str>,
    body: &Value,
) -> Result<StoredUser, ScimError> {
    replace_with(scope, conn, id, if_match, |current| {
        let ops = patch::parse_patch_request(body)?;
        // A stored resource that does not parse is our fault: refuse, never patch over it.
        let stored: Value = serde_json::from_str(current.scim_resource.as_deref().unwrap_or("{}"))
            .map_err(ScimError::internal)?;
        let patched = patch::apply(KIND, &stored, &ops)?;
        resource::normalize(KIND, patched)
    })
}

/// DELETE: deactivates or purges the member, as the team's policy says.
pub fn delete(
    scope: &Scope<'_>,
    conn: &mut DbConnection,
    id: &MemberId,
    if_match: Option<&str>,
) -> Result<(), ScimError> {
    let operation = match scope.policy.deprovisioning {
        Deprovisioning::Deactivate => Operation::Deactivate,
        Deprovisioning::Delete => Operation::Delete,
    };
    let attempt = Attempt {
        kind: KIND,
        operation,
        resource_id: Some(id.as_str()),
        resource_name: None,
    };
    logged(scope, conn, &attempt, |conn| {
        write_transaction(conn, |conn| {
            let current = locked(scope, conn, id, if_match)?;
            match scope.policy.deprovisioning {
                Deprovisioning::Deactivate => members::deprovision(scope.tenant, conn, id)?,
                Deprovisioning::Delete => {
                    outbox::cancel_for_member(scope.tenant, conn, id)?;
                    members::purge(scope.tenant, conn, id)?;
                }
            }
            let change = Change {
                operation,
                resource_id: current.id,
                resource_name: current.user_name,
                fields_changed: Vec::new(),
                detail: None,
            };
            record(scope, conn, KIND, 204, &change)
        })
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

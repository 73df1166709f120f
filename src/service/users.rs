//! SCIM User operations over members and their cards.

use scim_filter_parser::{CompareOp, Filter};
use serde_json::Value;

use crate::scim::ScimError;
use crate::scim::activity::{Change, NOT_IN_TEAM, Operation, changed_attributes};
use crate::scim::card::{self, CardFields};
use crate::scim::ids::{MemberId, TenantId};
use crate::scim::list::{Cursor, ListRequest};
use crate::scim::patch;
use crate::scim::policy::{CardWrite, Deprovisioning, Policy, Standing};
use crate::scim::query::{self, Column, Condition, SqlValue};
use crate::scim::resource::{self, AttributeSelection, Incoming};
use crate::scim::schema::ResourceKind;
use crate::scim::token;
use crate::service::guard::{self, Removal};
use crate::service::listing::{self, Rows};
use crate::service::{
    Attempt, Scope, ServerAttrs, etag, logged, record, stored_with_server_attrs, with_server_attrs,
};
use crate::store::StoreError;
use crate::store::db::{DbConnection, write_transaction};
use crate::store::holds::HeldKind;
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

    fn server_attrs(&self) -> ServerAttrs<'_> {
        ServerAttrs {
            id: &self.row.id,
            created: &self.row.created_at,
            last_modified: &self.row.updated_at,
            version: self.row.version,
        }
    }

    /// The full resource as JSON text, served from the stored text as it
    /// is (see `stored_with_server_attrs`).
    pub fn to_json_text(&self, base_url: &str) -> String {
        let groups = (!self.groups.is_empty()).then(|| {
            let groups: Vec<Value> = self.groups.iter().map(|g| g.to_scim(base_url)).collect();
            ("groups", Value::Array(groups).to_string())
        });
        stored_with_server_attrs(
            KIND,
            self.row.scim_resource.as_deref().unwrap_or("{}"),
            &self.server_attrs(),
            base_url,
            groups.as_slice(),
        )
        .unwrap_or_else(|| self.to_scim(base_url).to_string())
    }

    /// The resource as JSON text with the attributes `selection` asks for:
    /// served as stored unless attributes are selected.
    pub fn to_selected_text(&self, selection: &AttributeSelection, base_url: &str) -> String {
        if selection.is_default() {
            self.to_json_text(base_url)
        } else {
            selection.project(KIND, self.to_scim(base_url)).to_string()
        }
    }

    /// The full resource: the client's attributes, `id`, `meta` and the
    /// read-only `groups`.
    pub fn to_scim(&self, base_url: &str) -> Value {
        let mut resource = with_server_attrs(
            KIND,
            self.row.scim_resource.as_deref().unwrap_or("{}"),
            &self.server_attrs(),
            base_url,
        );
        // `active` has no default in RFC 7643, but clients read it back (Okta's
        // spec test fails without it): the IdP's value, `true` when never
        // sent, exactly what filters and sorts on `active` answer from.
        resource["active"] = Value::Bool(self.row.active);
        if !self.groups.is_empty() {
            resource["groups"] =
                Value::Array(self.groups.iter().map(|g| g.to_scim(base_url)).collect());
        }
        resource
    }
}

/// A user write as the policy sorts it. `write.card` is left `None` for
/// the caller, who knows which field rules apply.
struct UserWrite {
    write: MemberWrite,
    /// The card the IdP's values make.
    from_idp: CardFields,
    standing: Standing,
}

/// A User create or replacement worked out before it reaches the database:
/// the normalised resource, the card the IdP's values make, its standing
/// under the policy and its password's hash. This is pure work, and argon2,
/// done on the request's own thread rather than while the write lock (on
/// SQLite, the one writer) is held.
pub struct Prepared {
    /// The body's `userName`, for the activity log should the write fail.
    user_name: Option<String>,
    write: Result<UserWrite, ScimError>,
}

/// Prepares a POST or PUT body. Hashes a password if the body has one: run
/// it off the HTTP workers then (`resource::carries_password`).
pub fn prepare(policy: &Policy, body: Value) -> Prepared {
    Prepared {
        user_name: resource::text_attribute(&body, "userName"),
        write: resource::normalize(KIND, body).and_then(|incoming| member_write(policy, incoming)),
    }
}

fn member_write(policy: &Policy, incoming: Incoming) -> Result<UserWrite, ScimError> {
    let resource = incoming.resource;
    policy.check_names(&resource)?;
    let standing = policy.standing(&resource);
    let text_of = |name: &str| {
        resource
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let user_name = text_of("userName")
        .ok_or_else(|| ScimError::InvalidValue("userName is required".into()))?;
    let write = MemberWrite {
        external_id: text_of("externalId"),
        display_name: text_of("displayName"),
        active: resource
            .get("active")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        in_team: standing.in_team,
        password_hash: incoming
            .password
            .as_deref()
            .map(token::hash_secret)
            .transpose()?,
        emails: card::email_values(&resource),
        card: None,
        admin: policy.admin_flags(&resource),
        scim_resource: resource.to_string(),
        user_name,
    };
    Ok(UserWrite {
        write,
        from_idp: card::card_from_user(&resource),
        standing,
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

/// The id of the user holding `user_name`: what a refused create
/// collided with, for the log line (which never shows the name).
pub fn id_of_user_name(
    tenant: &TenantId,
    conn: &mut DbConnection,
    user_name: &str,
) -> Result<Option<MemberId>, ScimError> {
    Ok(
        members::find_by_user_name(tenant, conn, &user_name.to_lowercase())?
            .map(|row| row.member_id()),
    )
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

/// Queues the invite to claim a new (or adopted) member's card, in the
/// member's transaction, when the team sends invites and the IdP gave an
/// email. At most one per member, however often it joins the team.
fn queue_invite(
    scope: &Scope<'_>,
    conn: &mut DbConnection,
    member: &MemberId,
    from_idp: &CardFields,
) -> Result<(), ScimError> {
    let (true, Some(recipient)) = (scope.policy.invites, from_idp.email.as_deref()) else {
        return Ok(());
    };
    let name = from_idp.display_name.as_deref();
    let team =
        tenants::find(conn, scope.tenant)?.map_or_else(|| "your team".to_owned(), |t| t.name);
    let greeting = name.map_or_else(|| "Hello".to_owned(), |n| format!("Hello {n}"));
    outbox::enqueue_once(
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

/// Says in the log when a create, reactivation, deactivation or delete
/// moved nobody into or out of the team, so digests do not count it.
fn note_team_unchanged(change: &mut Change, listed: bool, (was_in, is_in): (bool, bool)) {
    let moves_people = matches!(
        change.operation,
        Operation::Create | Operation::Reactivate | Operation::Deactivate | Operation::Delete
    );
    if moves_people && was_in == is_in {
        let why = if listed {
            "inactive"
        } else {
            "outside the user allowlist"
        };
        change.detail = Some(format!("{NOT_IN_TEAM}: {why}"));
    }
}

/// POST: a new member; or, rather than a second member for one person, the
/// one deprovisioned with this `userName` or made outside SCIM with this
/// primary email, taken over (201 either way, with that member's id). A
/// user outside the user allowlist is stored for the IdP alone: no card, no
/// invite, no adoption.
pub fn create(
    scope: &Scope<'_>,
    conn: &mut DbConnection,
    prepared: Prepared,
) -> Result<StoredUser, ScimError> {
    let Prepared { user_name, write } = prepared;
    let attempt = Attempt {
        kind: KIND,
        operation: Operation::Create,
        resource_id: None,
        resource_name: user_name.as_deref(),
    };
    logged(scope, conn, &attempt, |conn| {
        let UserWrite {
            mut write,
            from_idp,
            standing,
        } = write?;
        let new_password = write.password_hash.is_some();
        // Only a listed user adopts a member made outside SCIM.
        let adoption_email = from_idp.email.as_deref().filter(|_| standing.listed);
        let (row, operation) = write_transaction(conn, |conn| {
            let mut hold_cancelled = false;
            let (row, operation) =
                match returning_member(scope, conn, &write.user_name, adoption_email)? {
                    Some((existing, operation)) => {
                        let id = existing.member_id();
                        // A member brought back gets the invite only if it
                        // never was in the team (it had no card); an
                        // adopted one gets it as a new member would.
                        let invite = standing.listed
                            && scope.policy.invites
                            && (operation == Operation::Adopt
                                || !members::has_card(scope.tenant, conn, &id)?);
                        if standing.listed {
                            let card_now = members::current_card(scope.tenant, conn, &id)?;
                            write.card = Some(scope.policy.merge_card(
                                CardWrite::Create,
                                &card_now,
                                &from_idp,
                            ));
                        }
                        let row = members::update(scope.tenant, conn, &existing, &write)
                            .map_err(map_unique(&write.user_name))?;
                        if invite {
                            queue_invite(scope, conn, &id, &from_idp)?;
                        }
                        // Created again after a DELETE the guard held (or an
                        // admin turned down): the member, in the team all
                        // along, is back in the member lists of the groups it
                        // kept (a DELETE that went through left none).
                        if operation == Operation::Reactivate && existing.in_team {
                            guard::cancel_open(scope, conn, &id)?;
                            subteams::shift_member_everywhere(scope.tenant, conn, &id, 1)?;
                            hold_cancelled = true;
                        }
                        (row, operation)
                    }
                    None => {
                        if standing.listed {
                            write.card = Some(scope.policy.merge_card(
                                CardWrite::Create,
                                &CardFields::default(),
                                &from_idp,
                            ));
                        }
                        let id = MemberId::generate();
                        let row = members::insert(scope.tenant, conn, &id, &write)
                            .map_err(map_unique(&write.user_name))?;
                        if standing.listed {
                            queue_invite(scope, conn, &id, &from_idp)?;
                        }
                        (row, Operation::Create)
                    }
                };
            let mut change = user_change(operation, &Value::Null, &row, new_password);
            note_team_unchanged(&mut change, standing.listed, (false, row.in_team));
            if hold_cancelled {
                change.detail = Some(guard::cancelled_detail());
            }
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

/// How a provisioned user became a member when the user allowlist let it in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Joined {
    /// It took over a member made outside SCIM with its primary email.
    Adopted,
    /// Its first card.
    New,
    /// It had been a member before (its card was kept).
    Again,
}

/// A provisioned user the user allowlist now lets in becomes a member, in
/// the caller's transaction: if it never had a card, it adopts the member
/// made outside SCIM with its primary email (that member's card and links
/// become its own); its card takes the IdP's values by the *sync* rules, as
/// on a create; and it gets the invite a new member gets.
fn join_team(
    scope: &Scope<'_>,
    conn: &mut DbConnection,
    member: &MemberId,
    from_idp: &CardFields,
) -> Result<Joined, ScimError> {
    let mut joined = Joined::New;
    if members::has_card(scope.tenant, conn, member)? {
        joined = Joined::Again;
    } else if let Some(email) = from_idp.email.as_deref()
        && let Some(outside) = members::find_unprovisioned_by_email(scope.tenant, conn, email)?
        && members::lock(scope.tenant, conn, &outside.member_id(), LockFor::Adoption)?
    {
        members::absorb_unprovisioned(scope.tenant, conn, &outside.member_id(), member)?;
        joined = Joined::Adopted;
    }
    let card_now = members::current_card(scope.tenant, conn, member)?;
    let card = scope
        .policy
        .merge_card(CardWrite::Create, &card_now, from_idp);
    members::set_card(scope.tenant, conn, member, &card)?;
    queue_invite(scope, conn, member, from_idp)?;
    Ok(joined)
}

/// The user allowlist changed from `previous` to the scope's policy: every
/// user it now lets in joins the team (`join_team`), every user it now
/// keeps out leaves it as a deactivation would (card kept, subteams
/// dormant). Runs in the caller's write transaction; each move is logged as
/// the scope's actor. The SCIM side (resource, `active`, ETag) stays as the
/// IdP left it.
pub fn sort_users_again(
    scope: &Scope<'_>,
    conn: &mut DbConnection,
    previous: &Policy,
) -> Result<(), ScimError> {
    for candidate in members::all_visible(scope.tenant, conn)? {
        let id = candidate.member_id();
        let moves = |row: &MemberRow| {
            let resource = stored_resource(row);
            previous.allows_user(&resource) != scope.policy.allows_user(&resource)
        };
        if !moves(&candidate) {
            continue;
        }
        // Re-read under the row lock: a SCIM write may have just changed it.
        if !members::lock(scope.tenant, conn, &id, LockFor::Write)? {
            continue;
        }
        let Some(row) = members::find(scope.tenant, conn, &id)? else {
            continue;
        };
        if !moves(&row) {
            continue;
        }
        let resource = stored_resource(&row);
        let standing = scope.policy.standing(&resource);
        let operation = if standing.listed {
            let joined = join_team(scope, conn, &id, &card::card_from_user(&resource))?;
            match (joined, standing.in_team) {
                (Joined::Adopted, _) => Operation::Adopt,
                (_, false) => Operation::Update,
                (Joined::New, true) => Operation::Create,
                (Joined::Again, true) => Operation::Reactivate,
            }
        } else if row.in_team {
            Operation::Deactivate
        } else {
            Operation::Update
        };
        members::set_in_team(scope.tenant, conn, &id, standing.in_team)?;
        let change = Change {
            operation,
            resource_id: row.id,
            resource_name: row.user_name,
            fields_changed: Vec::new(),
            detail: Some("the team's user allowlist changed".into()),
        };
        record(scope, conn, KIND, 200, &change)?;
    }
    Ok(())
}

/// What the removal guard made of an update.
enum Guarded {
    Unchanged,
    /// Newly held; the detail for the log.
    Held(String),
    /// The IdP took back a held removal.
    Cancelled,
}

/// An update that deactivates a member in the team goes past the removal
/// guard: held, the member stays in the team (`write.in_team`) while the
/// SCIM side shows `active: false`. A member already held stays held, or is
/// let off when the IdP says it is active again.
fn guard_deactivation(
    scope: &Scope<'_>,
    conn: &mut DbConnection,
    current: &MemberRow,
    standing: &Standing,
    write: &mut MemberWrite,
) -> Result<Guarded, ScimError> {
    // In the team though the IdP said inactive: only the guard leaves a
    // member so, with the removal held or turned down by an admin.
    if current.in_team && !current.active {
        if standing.in_team && guard::cancel_open(scope, conn, &current.member_id())?.is_some() {
            return Ok(Guarded::Cancelled);
        }
        // Still inactive: the same removal again (Okta's PUTs repeat the
        // whole user), which stays held, or stays turned down.
        if !standing.in_team {
            write.in_team = true;
        }
        return Ok(Guarded::Unchanged);
    }
    let deactivates = current.in_team && standing.listed && !standing.in_team;
    if !deactivates {
        return Ok(Guarded::Unchanged);
    }
    match guard::check(scope, conn)? {
        Removal::Apply => Ok(Guarded::Unchanged),
        Removal::Hold { run_started_at } => {
            write.in_team = true;
            let detail = guard::hold(
                scope,
                conn,
                (&current.member_id(), current.user_name.as_deref()),
                HeldKind::Deactivate,
                &run_started_at,
            )?;
            Ok(Guarded::Held(detail))
        }
    }
}

fn replace_with(
    scope: &Scope<'_>,
    conn: &mut DbConnection,
    id: &MemberId,
    if_match: Option<&str>,
    build: impl FnOnce(&MemberRow) -> Result<UserWrite, ScimError>,
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
            let UserWrite {
                mut write,
                from_idp,
                standing,
            } = build(&current)?;
            // A new userName or email can put the user on the allowlist, or off it.
            let was_listed = scope.policy.allows_user(&stored_resource(&current));
            if standing.listed && was_listed {
                let card_now = members::current_card(scope.tenant, conn, id)?;
                write.card = Some(
                    scope
                        .policy
                        .merge_card(CardWrite::Update, &card_now, &from_idp),
                );
            }
            let guarded = guard_deactivation(scope, conn, &current, &standing, &mut write)?;
            let row = members::update(scope.tenant, conn, &current, &write)
                .map_err(map_unique(&write.user_name))?;
            let joined = (standing.listed && !was_listed)
                .then(|| join_team(scope, conn, id, &from_idp))
                .transpose()?;
            let operation = match (joined, &guarded) {
                (Some(Joined::Adopted), _) => Operation::Adopt,
                (_, Guarded::Held(_)) => Operation::Held,
                _ => Operation::of_update(current.active, row.active),
            };
            let mut change = user_change(
                operation,
                &stored_resource(&current),
                &row,
                write.password_hash.is_some(),
            );
            note_team_unchanged(&mut change, standing.listed, (current.in_team, row.in_team));
            match guarded {
                Guarded::Held(detail) => change.detail = Some(detail),
                Guarded::Cancelled => {
                    change.detail = Some(guard::cancelled_detail());
                }
                Guarded::Unchanged => {}
            }
            record(scope, conn, KIND, 200, &change)?;
            Ok::<_, ScimError>(row)
        })?;
        load(scope.tenant, conn, row)
    })
}

/// PUT: the (prepared) body replaces every client attribute.
pub fn replace(
    scope: &Scope<'_>,
    conn: &mut DbConnection,
    id: &MemberId,
    if_match: Option<&str>,
    prepared: Prepared,
) -> Result<StoredUser, ScimError> {
    replace_with(scope, conn, id, if_match, |_| prepared.write)
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
        patch::check_own_id(&ops, id.as_str())?;
        // A stored resource that does not parse is our fault: refuse, never patch over it.
        let stored: Value = serde_json::from_str(current.scim_resource.as_deref().unwrap_or("{}"))
            .map_err(ScimError::internal)?;
        let patched = patch::apply(KIND, &stored, &ops)?;
        // Only a PATCH that sets a password hashes here, on the write path:
        // IdPs set passwords on create and PUT.
        member_write(scope.policy, resource::normalize(KIND, patched)?)
    })
}

/// A DELETE of a member in the team, past the removal guard: when held, the
/// SCIM side goes (404, out of the groups' member lists, the `userName`
/// free) while the member keeps its team, subteams and card until an admin
/// decides. A held deactivation becomes a held delete. `None`: not held.
fn hold_delete(
    scope: &Scope<'_>,
    conn: &mut DbConnection,
    current: &MemberRow,
) -> Result<Option<Change>, ScimError> {
    let id = current.member_id();
    let run_started_at = match guard::cancel_open(scope, conn, &id)? {
        Some(held) => held.run_started_at,
        None => match guard::check(scope, conn)? {
            Removal::Apply => return Ok(None),
            Removal::Hold { run_started_at } => run_started_at,
        },
    };
    subteams::shift_member_everywhere(scope.tenant, conn, &id, -1)?;
    members::deprovision_scim_only(scope.tenant, conn, &id)?;
    let detail = guard::hold(
        scope,
        conn,
        (&id, current.user_name.as_deref()),
        HeldKind::Delete,
        &run_started_at,
    )?;
    Ok(Some(Change {
        operation: Operation::Held,
        resource_id: current.id.clone(),
        resource_name: current.user_name.clone(),
        fields_changed: Vec::new(),
        detail: Some(detail),
    }))
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
            if current.in_team
                && let Some(change) = hold_delete(scope, conn, &current)?
            {
                return record(scope, conn, KIND, 204, &change);
            }
            // The user leaves its groups in either mode (a purge would
            // cascade), and those groups' versions move.
            subteams::remove_member_everywhere(scope.tenant, conn, id)?;
            match scope.policy.deprovisioning {
                Deprovisioning::Deactivate => members::deprovision(scope.tenant, conn, id)?,
                Deprovisioning::Delete => {
                    outbox::cancel_for_member(scope.tenant, conn, id)?;
                    members::purge(scope.tenant, conn, id)?;
                }
            }
            let listed = scope.policy.allows_user(&stored_resource(&current));
            let mut change = Change {
                operation,
                resource_id: current.id,
                resource_name: current.user_name,
                fields_changed: Vec::new(),
                detail: None,
            };
            note_team_unchanged(&mut change, listed, (current.in_team, false));
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

/// The (lower-cased) userName a filter asks for, when it is exactly one
/// `userName eq` comparison.
fn exact_user_name(filter: &Filter) -> Option<String> {
    match query::plan(KIND, filter) {
        query::Plan {
            condition: Some(Condition::Compare(Column::Name, CompareOp::Eq, SqlValue::Text(value))),
            exact: true,
        } => Some(value),
        _ => None,
    }
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
    // `userName eq "…"`, which every IdP sends before it creates a user:
    // one index lookup on a statement prepared once, no count.
    if let Some(user_name) = filter.and_then(exact_user_name)
        && request.sort.is_none()
        && request.cursor.is_none()
    {
        let found = members::find_by_user_name(tenant, conn, &user_name)?;
        let total = usize::from(found.is_some());
        let page = request.page;
        let users = match found {
            Some(row) if page.offset() == 0 && page.count > 0 => vec![if with_groups {
                load(tenant, conn, row)?
            } else {
                StoredUser {
                    row,
                    groups: Vec::new(),
                }
            }],
            _ => Vec::new(),
        };
        return Ok(Listed {
            total,
            users,
            next: None,
            previous: None,
        });
    }
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

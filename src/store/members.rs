//! Members (SCIM Users), their cards, card links and the email index. A SCIM
//! write changes all of them in the caller's one transaction.

use diesel::prelude::*;

use crate::scim::card::CardFields;
use crate::scim::ids::{MemberId, TenantId};
use crate::scim::policy::AdminFlags;
use crate::scim::query::{Column, Condition};
use crate::scim::time;
use crate::store::Db;
use crate::store::StoreError;
use crate::store::db::{DbConnection, on_concrete_connection};
use crate::store::filter::member_condition;
use crate::store::positions;
use crate::store::schema::{card_links, cards, member_emails, members};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = members)]
pub struct MemberRow {
    pub seq: i64,
    pub id: String,
    pub tenant_id: String,
    pub user_name: Option<String>,
    pub user_name_lower: Option<String>,
    pub external_id: Option<String>,
    pub display_name: Option<String>,
    pub active: bool,
    pub scim_resource: Option<String>,
    pub password_hash: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub version: i64,
    pub deprovisioned_at: Option<String>,
    pub team_admin: bool,
    pub subteam_admin: bool,
    /// The member side: shown in the team (see `scim::policy::Standing`);
    /// `active` stays what the IdP set.
    pub in_team: bool,
}

impl MemberRow {
    pub fn member_id(&self) -> MemberId {
        MemberId::from_string(self.id.clone())
    }
}

/// What one SCIM create or replace sets.
#[derive(Debug, Clone)]
pub struct MemberWrite {
    pub user_name: String,
    pub external_id: Option<String>,
    pub display_name: Option<String>,
    /// The IdP's `active` (`true` when it never sent one).
    pub active: bool,
    /// Decided by the tenant's policy (`scim::policy::Policy::standing`).
    pub in_team: bool,
    /// The canonical SCIM resource as the client sent it (JSON text).
    pub scim_resource: String,
    /// `None` keeps the stored hash (a PUT without `password`).
    pub password_hash: Option<String>,
    pub emails: Vec<String>,
    /// The card to store (the service has applied the tenant's field rules);
    /// `None` leaves the card as it is (a user outside the user allowlist).
    pub card: Option<CardFields>,
    /// `None` leaves the member's team roles as they are.
    pub admin: Option<AdminFlags>,
}

/// Members the SCIM API can see: provisioned and not deleted through SCIM.
fn visible(tenant: &TenantId) -> members::BoxedQuery<'_, Db> {
    members::table
        .filter(members::tenant_id.eq(tenant.as_str()))
        .filter(members::deprovisioned_at.is_null())
        .filter(members::scim_resource.is_not_null())
        .into_boxed()
}

/// `visible` as a query of fixed shape: its SQL text never changes, so each
/// connection prepares it once (diesel caches no boxed query).
#[diesel::dsl::auto_type]
fn visible_fixed<'a>(tenant: &'a str) -> _ {
    members::table
        .filter(members::tenant_id.eq(tenant))
        .filter(members::deprovisioned_at.is_null())
        .filter(members::scim_resource.is_not_null())
}

pub fn find(
    tenant: &TenantId,
    conn: &mut DbConnection,
    id: &MemberId,
) -> Result<Option<MemberRow>, StoreError> {
    Ok(visible_fixed(tenant.as_str())
        .filter(members::id.eq(id.as_str()))
        .select(MemberRow::as_select())
        .first(conn)
        .optional()?)
}

/// The visible member with this `userName` (ignoring case): the lookup
/// every IdP makes before it creates a user, on a statement prepared once.
pub fn find_by_user_name(
    tenant: &TenantId,
    conn: &mut DbConnection,
    user_name_lower: &str,
) -> Result<Option<MemberRow>, StoreError> {
    Ok(visible_fixed(tenant.as_str())
        .filter(members::user_name_lower.eq(user_name_lower))
        .select(MemberRow::as_select())
        .first(conn)
        .optional()?)
}

/// Which members `lock` may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockFor {
    /// A member the SCIM API sees, about to be written.
    Write,
    /// A member made outside SCIM, about to be adopted.
    Adoption,
    /// A member deactivated by a SCIM DELETE, about to be provisioned again.
    Reprovision,
}

/// Takes the member's row lock for the caller's transaction (a no-op
/// update: PostgreSQL makes concurrent writers wait, then they see what this
/// one committed; SQLite's write transaction is exclusive anyway). `false`
/// if there is no such member, e.g. another request took it over first.
pub fn lock(
    tenant: &TenantId,
    conn: &mut DbConnection,
    id: &MemberId,
    purpose: LockFor,
) -> Result<bool, StoreError> {
    let locked = diesel::update(
        members::table
            .filter(members::tenant_id.eq(tenant.as_str()))
            .filter(members::id.eq(id.as_str()))
            .filter(
                members::deprovisioned_at
                    .is_null()
                    .eq(purpose != LockFor::Reprovision),
            )
            .filter(
                members::scim_resource
                    .is_null()
                    .eq(purpose == LockFor::Adoption),
            ),
    )
    .set(members::version.eq(members::version))
    .execute(conn)?;
    Ok(locked == 1)
}

/// The member most recently deactivated by a SCIM DELETE with this
/// `userName` (case-insensitive).
pub fn find_deprovisioned_by_user_name(
    tenant: &TenantId,
    conn: &mut DbConnection,
    user_name: &str,
) -> Result<Option<MemberRow>, StoreError> {
    Ok(members::table
        .filter(members::tenant_id.eq(tenant.as_str()))
        .filter(members::user_name_lower.eq(user_name.to_lowercase()))
        .filter(members::deprovisioned_at.is_not_null())
        .filter(members::scim_resource.is_not_null())
        .order(members::seq.desc())
        .select(MemberRow::as_select())
        .first(conn)
        .optional()?)
}

/// Which of `ids` are visible members of the tenant (for group membership checks).
pub fn existing_ids(
    tenant: &TenantId,
    conn: &mut DbConnection,
    ids: &[String],
) -> Result<Vec<String>, StoreError> {
    let mut found = Vec::with_capacity(ids.len());
    // Bounded IN lists keep every statement under SQLite's variable limit.
    for chunk in ids.chunks(500) {
        found.extend(
            visible(tenant)
                .filter(members::id.eq_any(chunk))
                .select(members::id)
                .load::<String>(conn)?,
        );
    }
    Ok(found)
}

/// A new member: one statement per table (member, emails, card, links)
/// and nothing read back, the row it returns is the one it wrote.
pub fn insert(
    tenant: &TenantId,
    conn: &mut DbConnection,
    id: &MemberId,
    write: &MemberWrite,
) -> Result<MemberRow, StoreError> {
    let now = time::now();
    let admin = write.admin.unwrap_or_default();
    let mut row = MemberRow {
        seq: 0,
        id: id.to_string(),
        tenant_id: tenant.to_string(),
        user_name: Some(write.user_name.clone()),
        user_name_lower: Some(write.user_name.to_lowercase()),
        external_id: write.external_id.clone(),
        display_name: write.display_name.clone(),
        active: write.active,
        scim_resource: Some(write.scim_resource.clone()),
        password_hash: write.password_hash.clone(),
        created_at: now.clone(),
        updated_at: now.clone(),
        version: 1,
        deprovisioned_at: None,
        team_admin: admin.team_admin,
        subteam_admin: admin.subteam_admin,
        in_team: write.in_team,
    };
    let insert = diesel::insert_into(members::table).values((
        members::id.eq(&row.id),
        members::tenant_id.eq(&row.tenant_id),
        members::user_name.eq(&row.user_name),
        members::user_name_lower.eq(&row.user_name_lower),
        members::external_id.eq(&row.external_id),
        members::display_name.eq(&row.display_name),
        members::active.eq(row.active),
        members::in_team.eq(row.in_team),
        members::scim_resource.eq(&row.scim_resource),
        members::password_hash.eq(&row.password_hash),
        members::created_at.eq(&now),
        members::updated_at.eq(&now),
        members::version.eq(row.version),
        members::team_admin.eq(row.team_admin),
        members::subteam_admin.eq(row.subteam_admin),
    ));
    // The sequence number comes back with the insert itself.
    row.seq = on_concrete_connection!(conn, |c| insert.returning(members::seq).get_result(c))?;
    insert_emails(tenant, conn, id, &write.emails)?;
    if let Some(card) = &write.card {
        insert_card(tenant, conn, id, card, &now)?;
    }
    Ok(row)
}

/// A new member's card and the links its email and phone make, in one
/// statement each (nothing is there yet to update).
fn insert_card(
    tenant: &TenantId,
    conn: &mut DbConnection,
    id: &MemberId,
    card: &CardFields,
    now: &str,
) -> Result<(), StoreError> {
    diesel::insert_into(cards::table)
        .values((
            cards::member_id.eq(id.as_str()),
            cards::tenant_id.eq(tenant.as_str()),
            cards::display_name.eq(&card.display_name),
            cards::email.eq(&card.email),
            cards::job_title.eq(&card.job_title),
            cards::company.eq(&card.company),
            cards::department.eq(&card.department),
            cards::phone.eq(&card.phone),
            cards::location.eq(&card.location),
            cards::photo_url.eq(&card.photo_url),
            cards::updated_at.eq(now),
        ))
        .execute(conn)?;
    let links: Vec<_> = [
        (LinkedField::Email, card.email.as_deref()),
        (LinkedField::Phone, card.phone.as_deref()),
    ]
    .into_iter()
    .filter_map(|(field, value)| Some((field.kind(), value?)))
    .enumerate()
    .map(|(position, (kind, value))| {
        (
            card_links::member_id.eq(id.as_str()),
            card_links::tenant_id.eq(tenant.as_str()),
            card_links::kind.eq(kind),
            card_links::value.eq(value),
            card_links::position.eq(i32::try_from(position).unwrap_or(i32::MAX)),
            card_links::from_template.eq(false),
        )
    })
    .collect();
    if !links.is_empty() {
        let insert = diesel::insert_into(card_links::table).values(links);
        on_concrete_connection!(conn, |c| insert.execute(c))?;
    }
    Ok(())
}

/// Replaces the member's SCIM view and projection; bumps the version. Also
/// takes over a member made outside SCIM or deprovisioned (`current`).
pub fn update(
    tenant: &TenantId,
    conn: &mut DbConnection,
    current: &MemberRow,
    write: &MemberWrite,
) -> Result<MemberRow, StoreError> {
    let id = current.member_id();
    let now = time::now();
    let password_hash = write
        .password_hash
        .as_ref()
        .or(current.password_hash.as_ref());
    diesel::update(
        members::table
            .filter(members::tenant_id.eq(tenant.as_str()))
            .filter(members::id.eq(id.as_str())),
    )
    .set((
        members::user_name.eq(&write.user_name),
        members::user_name_lower.eq(write.user_name.to_lowercase()),
        members::external_id.eq(&write.external_id),
        members::display_name.eq(&write.display_name),
        members::active.eq(write.active),
        members::in_team.eq(write.in_team),
        members::scim_resource.eq(&write.scim_resource),
        members::password_hash.eq(password_hash),
        members::updated_at.eq(&now),
        members::version.eq(current.version + 1),
        // A deprovisioned member provisioned again is back in the team.
        members::deprovisioned_at.eq(None::<String>),
    ))
    .execute(conn)?;
    if let Some(admin) = write.admin {
        diesel::update(members::table.filter(members::id.eq(id.as_str())))
            .set((
                members::team_admin.eq(admin.team_admin),
                members::subteam_admin.eq(admin.subteam_admin),
            ))
            .execute(conn)?;
    }
    replace_emails(tenant, conn, &id, &write.emails)?;
    if let Some(card) = &write.card {
        write_card(tenant, conn, &id, card, &now)?;
    }
    // Group memberships stay whatever `active` says: they are the IdP's
    // (`subteams::remove_member_everywhere` is for a SCIM DELETE).
    find(tenant, conn, &id)?.ok_or(StoreError::Query(diesel::result::Error::NotFound))
}

/// SCIM DELETE in the default (deactivate) mode: the member leaves the team,
/// its data stays, its `userName` is free again. The caller has taken it
/// out of its groups (`subteams::remove_member_everywhere`).
pub fn deprovision(
    tenant: &TenantId,
    conn: &mut DbConnection,
    id: &MemberId,
) -> Result<(), StoreError> {
    let now = time::now();
    diesel::update(
        members::table
            .filter(members::tenant_id.eq(tenant.as_str()))
            .filter(members::id.eq(id.as_str()))
            .filter(members::deprovisioned_at.is_null()),
    )
    .set((
        members::active.eq(false),
        members::in_team.eq(false),
        members::deprovisioned_at.eq(&now),
        members::updated_at.eq(&now),
    ))
    .execute(conn)?;
    Ok(())
}

/// SCIM DELETE in the `delete` mode: member, card, links, email index and
/// memberships go for good (the foreign keys cascade).
pub fn purge(tenant: &TenantId, conn: &mut DbConnection, id: &MemberId) -> Result<(), StoreError> {
    diesel::delete(
        members::table
            .filter(members::tenant_id.eq(tenant.as_str()))
            .filter(members::id.eq(id.as_str())),
    )
    .execute(conn)?;
    Ok(())
}

/// A member made outside SCIM (dashboard, import): no SCIM resource yet.
pub struct UnprovisionedMember<'a> {
    pub email: &'a str,
    pub display_name: Option<&'a str>,
    /// `(kind, value)` links a card template put there.
    pub template_links: &'a [(String, String)],
}

pub fn insert_unprovisioned(
    tenant: &TenantId,
    conn: &mut DbConnection,
    id: &MemberId,
    member: &UnprovisionedMember<'_>,
) -> Result<(), StoreError> {
    let now = time::now();
    diesel::insert_into(members::table)
        .values((
            members::id.eq(id.as_str()),
            members::tenant_id.eq(tenant.as_str()),
            members::display_name.eq(member.display_name),
            members::active.eq(true),
            members::in_team.eq(true),
            members::created_at.eq(&now),
            members::updated_at.eq(&now),
            members::version.eq(1_i64),
        ))
        .execute(conn)?;
    replace_emails(tenant, conn, id, &[member.email.to_owned()])?;
    for (position, (kind, value)) in member.template_links.iter().enumerate() {
        diesel::insert_into(card_links::table)
            .values((
                card_links::member_id.eq(id.as_str()),
                card_links::tenant_id.eq(tenant.as_str()),
                card_links::kind.eq(kind),
                card_links::value.eq(value),
                card_links::position.eq(i32::try_from(position).unwrap_or(i32::MAX)),
                card_links::from_template.eq(true),
            ))
            .execute(conn)?;
    }
    let card = CardFields {
        display_name: member.display_name.map(str::to_owned),
        email: Some(member.email.to_owned()),
        ..CardFields::default()
    };
    // The template's links stay as they are; only the card row is written.
    write_card_row(tenant, conn, id, &card, &now)
}

/// The member made outside SCIM, in the team, whose email is `email`
/// (case-insensitive): the one a SCIM create adopts instead of duplicating.
pub fn find_unprovisioned_by_email(
    tenant: &TenantId,
    conn: &mut DbConnection,
    email: &str,
) -> Result<Option<MemberRow>, StoreError> {
    // Two index lookups (the email index, then members by id): a single
    // query ordered by seq let SQLite walk the whole team in seq order.
    let with_email: Vec<String> = member_emails::table
        .filter(member_emails::tenant_id.eq(tenant.as_str()))
        .filter(member_emails::value_lower.eq(email.to_lowercase()))
        .select(member_emails::member_id)
        .load(conn)?;
    if with_email.is_empty() {
        return Ok(None);
    }
    let candidates: Vec<MemberRow> = members::table
        .filter(members::tenant_id.eq(tenant.as_str()))
        .filter(members::id.eq_any(&with_email))
        .filter(members::scim_resource.is_null())
        .filter(members::deprovisioned_at.is_null())
        .select(MemberRow::as_select())
        .load(conn)?;
    Ok(candidates.into_iter().min_by_key(|row| row.seq))
}

fn replace_emails(
    tenant: &TenantId,
    conn: &mut DbConnection,
    id: &MemberId,
    emails: &[String],
) -> Result<(), StoreError> {
    diesel::delete(member_emails::table.filter(member_emails::member_id.eq(id.as_str())))
        .execute(conn)?;
    insert_emails(tenant, conn, id, emails)
}

/// The email index rows of a member that has none, in one statement.
fn insert_emails(
    tenant: &TenantId,
    conn: &mut DbConnection,
    id: &MemberId,
    emails: &[String],
) -> Result<(), StoreError> {
    let row = |email: &String| {
        (
            member_emails::member_id.eq(id.as_str()),
            member_emails::tenant_id.eq(tenant.as_str()),
            member_emails::value_lower.eq(email.to_lowercase()),
        )
    };
    match emails {
        [] => {}
        // The usual case, on a statement prepared once per connection.
        [email] => {
            diesel::insert_into(member_emails::table)
                .values(row(email))
                .execute(conn)?;
        }
        several => {
            let rows: Vec<_> = several.iter().map(row).collect();
            let insert = diesel::insert_into(member_emails::table).values(rows);
            on_concrete_connection!(conn, |c| insert.execute(c))?;
        }
    }
    Ok(())
}

/// Every member the SCIM API sees, in creation order (the user allowlist
/// changed and each is sorted again).
pub fn all_visible(
    tenant: &TenantId,
    conn: &mut DbConnection,
) -> Result<Vec<MemberRow>, StoreError> {
    Ok(visible(tenant)
        .order(members::seq.asc())
        .select(MemberRow::as_select())
        .load(conn)?)
}

/// Sets the member side alone: the SCIM resource, `active` and the version
/// (the ETag) stay as the IdP left them.
pub fn set_in_team(
    tenant: &TenantId,
    conn: &mut DbConnection,
    id: &MemberId,
    in_team: bool,
) -> Result<(), StoreError> {
    diesel::update(
        members::table
            .filter(members::tenant_id.eq(tenant.as_str()))
            .filter(members::id.eq(id.as_str())),
    )
    .set(members::in_team.eq(in_team))
    .execute(conn)?;
    Ok(())
}

/// Writes the member's card (and its email and phone links) alone.
pub fn set_card(
    tenant: &TenantId,
    conn: &mut DbConnection,
    id: &MemberId,
    card: &CardFields,
) -> Result<(), StoreError> {
    write_card(tenant, conn, id, card, &time::now())
}

pub fn has_card(
    tenant: &TenantId,
    conn: &mut DbConnection,
    id: &MemberId,
) -> Result<bool, StoreError> {
    let found: i64 = cards::table
        .filter(cards::tenant_id.eq(tenant.as_str()))
        .filter(cards::member_id.eq(id.as_str()))
        .count()
        .get_result(conn)?;
    Ok(found > 0)
}

/// Adoption by a SCIM user that already has its own row (it became a
/// member only now, when the user allowlist let it in): the card and links
/// of the member made outside SCIM move to the user, whose id the IdP
/// knows, and the outside member's row goes (its email index with it).
pub fn absorb_unprovisioned(
    tenant: &TenantId,
    conn: &mut DbConnection,
    from: &MemberId,
    into: &MemberId,
) -> Result<(), StoreError> {
    diesel::delete(
        card_links::table
            .filter(card_links::tenant_id.eq(tenant.as_str()))
            .filter(card_links::member_id.eq(into.as_str())),
    )
    .execute(conn)?;
    diesel::delete(
        cards::table
            .filter(cards::tenant_id.eq(tenant.as_str()))
            .filter(cards::member_id.eq(into.as_str())),
    )
    .execute(conn)?;
    diesel::update(
        cards::table
            .filter(cards::tenant_id.eq(tenant.as_str()))
            .filter(cards::member_id.eq(from.as_str())),
    )
    .set(cards::member_id.eq(into.as_str()))
    .execute(conn)?;
    diesel::update(
        card_links::table
            .filter(card_links::tenant_id.eq(tenant.as_str()))
            .filter(card_links::member_id.eq(from.as_str())),
    )
    .set(card_links::member_id.eq(into.as_str()))
    .execute(conn)?;
    diesel::delete(
        members::table
            .filter(members::tenant_id.eq(tenant.as_str()))
            .filter(members::id.eq(from.as_str()))
            .filter(members::scim_resource.is_null()),
    )
    .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, Default, Queryable, Selectable, PartialEq, Eq)]
#[diesel(table_name = cards)]
pub struct CardRow {
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub job_title: Option<String>,
    pub company: Option<String>,
    pub department: Option<String>,
    pub phone: Option<String>,
    pub location: Option<String>,
    pub photo_url: Option<String>,
}

impl From<CardRow> for CardFields {
    fn from(row: CardRow) -> Self {
        CardFields {
            display_name: row.display_name,
            email: row.email,
            job_title: row.job_title,
            company: row.company,
            department: row.department,
            phone: row.phone,
            location: row.location,
            photo_url: row.photo_url,
        }
    }
}

/// The member's card as it is now (empty for a member without one).
pub fn current_card(
    tenant: &TenantId,
    conn: &mut DbConnection,
    id: &MemberId,
) -> Result<CardFields, StoreError> {
    Ok(cards::table
        .filter(cards::tenant_id.eq(tenant.as_str()))
        .filter(cards::member_id.eq(id.as_str()))
        .select(CardRow::as_select())
        .first(conn)
        .optional()?
        .map(CardFields::from)
        .unwrap_or_default())
}

#[derive(Debug, Clone, Queryable, Selectable, PartialEq, Eq)]
#[diesel(table_name = card_links)]
pub struct CardLinkRow {
    pub kind: String,
    /// Empty for a template link whose value the IdP removed: it keeps its
    /// place for the next value and is not shown on the card meanwhile.
    pub value: String,
    pub position: i32,
    pub from_template: bool,
}

impl CardLinkRow {
    /// Whether the card shows this link (a cleared template link it does not).
    pub fn is_shown(&self) -> bool {
        !self.value.is_empty()
    }
}

/// The card fields that each have a link of their own kind on the card.
#[derive(Debug, Clone, Copy)]
enum LinkedField {
    Email,
    Phone,
}

impl LinkedField {
    fn kind(self) -> &'static str {
        match self {
            LinkedField::Email => "email",
            LinkedField::Phone => "phone",
        }
    }
}

fn write_card(
    tenant: &TenantId,
    conn: &mut DbConnection,
    id: &MemberId,
    card: &CardFields,
    now: &str,
) -> Result<(), StoreError> {
    // Links before the card row: telling a removal apart reads the row's
    // previous value.
    sync_link(tenant, conn, id, LinkedField::Email, card.email.as_deref())?;
    sync_link(tenant, conn, id, LinkedField::Phone, card.phone.as_deref())?;
    write_card_row(tenant, conn, id, card, now)
}

fn write_card_row(
    tenant: &TenantId,
    conn: &mut DbConnection,
    id: &MemberId,
    card: &CardFields,
    now: &str,
) -> Result<(), StoreError> {
    let fields = (
        cards::display_name.eq(&card.display_name),
        cards::email.eq(&card.email),
        cards::job_title.eq(&card.job_title),
        cards::company.eq(&card.company),
        cards::department.eq(&card.department),
        cards::phone.eq(&card.phone),
        cards::location.eq(&card.location),
        cards::photo_url.eq(&card.photo_url),
        cards::updated_at.eq(now),
    );
    // Update-then-insert: portable across both backends (no ON CONFLICT here).
    let updated = diesel::update(cards::table.filter(cards::member_id.eq(id.as_str())))
        .set(fields)
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(cards::table)
            .values((
                cards::member_id.eq(id.as_str()),
                cards::tenant_id.eq(tenant.as_str()),
                fields,
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The field's value on the card as stored (before this write replaces it).
fn stored_field(
    tenant: &TenantId,
    conn: &mut DbConnection,
    id: &MemberId,
    field: LinkedField,
) -> Result<Option<String>, StoreError> {
    let card = cards::table
        .filter(cards::tenant_id.eq(tenant.as_str()))
        .filter(cards::member_id.eq(id.as_str()));
    let value: Option<Option<String>> = match field {
        LinkedField::Email => card.select(cards::email).first(conn).optional()?,
        LinkedField::Phone => card.select(cards::phone).first(conn).optional()?,
    };
    Ok(value.flatten())
}

/// Makes the card's link of the field's kind follow the field. A value goes
/// into the first link of that kind (e.g. one a template put there) rather
/// than a duplicate, or into a new link at the end. Without a value, a link
/// the sync appended goes; a template link keeps its place, emptied, but
/// only when the IdP removed the value: a template's own value on a field
/// the IdP never filled stays.
fn sync_link(
    tenant: &TenantId,
    conn: &mut DbConnection,
    id: &MemberId,
    field: LinkedField,
    value: Option<&str>,
) -> Result<(), StoreError> {
    let kind = field.kind();
    let existing: Option<(i64, String, bool)> = card_links::table
        .filter(card_links::tenant_id.eq(tenant.as_str()))
        .filter(card_links::member_id.eq(id.as_str()))
        .filter(card_links::kind.eq(kind))
        .order(card_links::position.asc())
        .select((
            card_links::seq,
            card_links::value,
            card_links::from_template,
        ))
        .first(conn)
        .optional()?;
    let set_value = |conn: &mut DbConnection, seq: i64, value: &str| {
        diesel::update(card_links::table.filter(card_links::seq.eq(seq)))
            .set(card_links::value.eq(value))
            .execute(conn)
    };
    match (value, existing) {
        (Some(value), Some((seq, current, _))) => {
            if current != value {
                set_value(conn, seq, value)?;
            }
        }
        (Some(value), None) => {
            let last: Option<i32> = card_links::table
                .filter(card_links::tenant_id.eq(tenant.as_str()))
                .filter(card_links::member_id.eq(id.as_str()))
                .select(diesel::dsl::max(card_links::position))
                .first(conn)?;
            diesel::insert_into(card_links::table)
                .values((
                    card_links::member_id.eq(id.as_str()),
                    card_links::tenant_id.eq(tenant.as_str()),
                    card_links::kind.eq(kind),
                    card_links::value.eq(value),
                    card_links::position.eq(last.map_or(0, |p| p + 1)),
                    card_links::from_template.eq(false),
                ))
                .execute(conn)?;
        }
        (None, None) => {}
        (None, Some((seq, _, false))) => {
            diesel::delete(card_links::table.filter(card_links::seq.eq(seq))).execute(conn)?;
        }
        (None, Some((seq, current, true))) => {
            if !current.is_empty() && stored_field(tenant, conn, id, field)?.is_some() {
                set_value(conn, seq, "")?;
            }
        }
    }
    Ok(())
}

/// The member's card and all its links in card order, for the CLI and
/// tests; a link that is not `is_shown` is a cleared template slot.
pub fn card(
    tenant: &TenantId,
    conn: &mut DbConnection,
    id: &MemberId,
) -> Result<Option<(CardRow, Vec<CardLinkRow>)>, StoreError> {
    let card = cards::table
        .filter(cards::tenant_id.eq(tenant.as_str()))
        .filter(cards::member_id.eq(id.as_str()))
        .select(CardRow::as_select())
        .first(conn)
        .optional()?;
    let Some(card) = card else {
        return Ok(None);
    };
    let links = card_links::table
        .filter(card_links::member_id.eq(id.as_str()))
        .order(card_links::position.asc())
        .select(CardLinkRow::as_select())
        .load(conn)?;
    Ok(Some((card, links)))
}

fn filtered<'a>(
    tenant: &'a TenantId,
    condition: Option<&Condition>,
) -> members::BoxedQuery<'a, Db> {
    let query = visible(tenant);
    match condition {
        Some(c) => query.filter(member_condition(tenant, c)),
        None => query,
    }
}

pub fn count(
    tenant: &TenantId,
    conn: &mut DbConnection,
    condition: Option<&Condition>,
) -> Result<usize, StoreError> {
    let counted = |conn: &mut DbConnection| {
        let total: i64 = filtered(tenant, condition)
            .select(diesel::dsl::count_star())
            .first(conn)?;
        Ok(usize::try_from(total).unwrap_or(0))
    };
    match condition {
        // The whole team: counted once per data version (`positions`).
        None => positions::total(tenant, conn, counted),
        Some(_) => counted(conn),
    }
}

/// Applies a sort column (absent values last, ties in creation order).
macro_rules! sort_by {
    ($query:expr, $column:expr, $descending:expr, $seq:expr) => {
        if $descending {
            $query.order(($column.is_null().asc(), $column.desc(), $seq.asc()))
        } else {
            $query.order(($column.is_null().asc(), $column.asc(), $seq.asc()))
        }
    };
}
pub(crate) use sort_by;

/// Members in creation order (or by an indexed column), so paging an
/// unchanging set never skips or repeats.
pub fn page(
    tenant: &TenantId,
    conn: &mut DbConnection,
    condition: Option<&Condition>,
    order: Option<(Column, bool)>,
    offset: usize,
    limit: usize,
) -> Result<Vec<MemberRow>, StoreError> {
    let creation_order = matches!(order, None | Some((Column::Created, false)));
    let mut offset = offset;
    let mut query = filtered(tenant, condition);
    if condition.is_none() && creation_order {
        // Deep into the team: start at the nearest anchor, not at the front.
        let all_seqs = |conn: &mut DbConnection| {
            Ok(visible_fixed(tenant.as_str())
                .order(members::seq.asc())
                .select(members::seq)
                .load(conn)?)
        };
        if let Some((after, skip)) = positions::anchor(tenant, conn, offset, all_seqs)? {
            query = query.filter(members::seq.gt(after));
            offset = skip;
        }
    }
    let query = match order {
        None | Some((Column::Created | Column::MultiValue, false)) => {
            query.order(members::seq.asc())
        }
        Some((Column::Created | Column::MultiValue, true)) => query.order(members::seq.desc()),
        Some((Column::Id, descending)) => sort_by!(query, members::id, descending, members::seq),
        Some((Column::ExternalId, descending)) => {
            sort_by!(query, members::external_id, descending, members::seq)
        }
        Some((Column::Name, descending)) => {
            sort_by!(query, members::user_name_lower, descending, members::seq)
        }
        Some((Column::LastModified, descending)) => {
            sort_by!(query, members::updated_at, descending, members::seq)
        }
        Some((Column::Active, descending)) => {
            sort_by!(query, members::active, descending, members::seq)
        }
    };
    Ok(query
        .offset(i64::try_from(offset).unwrap_or(i64::MAX))
        .limit(i64::try_from(limit).unwrap_or(i64::MAX))
        .select(MemberRow::as_select())
        .load(conn)?)
}

/// A keyset window in creation order (RFC 9865 cursors): `limit` rows
/// after `after`, or the last `limit` rows before `before`, ascending.
/// Costs the same on the 1,000th page as on the first.
pub fn window(
    tenant: &TenantId,
    conn: &mut DbConnection,
    condition: Option<&Condition>,
    after: Option<i64>,
    before: Option<i64>,
    limit: usize,
) -> Result<Vec<MemberRow>, StoreError> {
    let mut query = filtered(tenant, condition);
    if let Some(after) = after {
        query = query.filter(members::seq.gt(after));
    }
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut rows = match before {
        Some(before) => query
            .filter(members::seq.lt(before))
            .order(members::seq.desc())
            .limit(limit)
            .select(MemberRow::as_select())
            .load(conn)?,
        None => query
            .order(members::seq.asc())
            .limit(limit)
            .select(MemberRow::as_select())
            .load(conn)?,
    };
    if before.is_some() {
        rows.reverse();
    }
    Ok(rows)
}

/// The card emails of the team's admins who are still in the team: they
/// receive the team's admin emails.
pub fn team_admin_emails(
    tenant: &TenantId,
    conn: &mut DbConnection,
) -> Result<Vec<String>, StoreError> {
    Ok(members::table
        .inner_join(cards::table.on(cards::member_id.eq(members::id)))
        .filter(members::tenant_id.eq(tenant.as_str()))
        .filter(members::team_admin.eq(true))
        .filter(members::in_team.eq(true))
        .filter(cards::email.is_not_null())
        .order(members::seq.asc())
        .select(cards::email.assume_not_null())
        .load(conn)?)
}

/// The `userName`s of the tenant's members among `ids` (for log details).
pub fn user_names(
    tenant: &TenantId,
    conn: &mut DbConnection,
    ids: &[String],
) -> Result<std::collections::HashMap<String, Option<String>>, StoreError> {
    Ok(members::table
        .filter(members::tenant_id.eq(tenant.as_str()))
        .filter(members::id.eq_any(ids))
        .select((members::id, members::user_name))
        .load::<(String, Option<String>)>(conn)?
        .into_iter()
        .collect())
}

/// Members of any state with this id, `userName` or email (case-insensitive),
/// for the CLI: the id wins, then the userName, then every email match.
pub fn find_by_reference(
    tenant: &TenantId,
    conn: &mut DbConnection,
    reference: &str,
) -> Result<Vec<MemberRow>, StoreError> {
    let of_tenant = || members::table.filter(members::tenant_id.eq(tenant.as_str()));
    let by_id: Vec<MemberRow> = of_tenant()
        .filter(members::id.eq(reference))
        .select(MemberRow::as_select())
        .load(conn)?;
    if !by_id.is_empty() {
        return Ok(by_id);
    }
    let lower = reference.to_lowercase();
    let by_user_name: Vec<MemberRow> = of_tenant()
        .filter(members::user_name_lower.eq(&lower))
        .order(members::seq.asc())
        .select(MemberRow::as_select())
        .load(conn)?;
    if !by_user_name.is_empty() {
        return Ok(by_user_name);
    }
    let with_email: Vec<String> = member_emails::table
        .filter(member_emails::tenant_id.eq(tenant.as_str()))
        .filter(member_emails::value_lower.eq(&lower))
        .select(member_emails::member_id)
        .load(conn)?;
    Ok(of_tenant()
        .filter(members::id.eq_any(&with_email))
        .order(members::seq.asc())
        .select(MemberRow::as_select())
        .load(conn)?)
}

/// What `member list` narrows to.
#[derive(Debug, Clone, Copy, Default)]
pub enum MemberFilter<'a> {
    #[default]
    All,
    /// Members with this email (case-insensitive).
    Email(&'a str),
    /// Members with this `userName` (case-insensitive).
    UserName(&'a str),
}

/// One page of the tenant's members (any state) in creation order, each
/// with its card's email.
pub fn list_page(
    tenant: &TenantId,
    conn: &mut DbConnection,
    filter: MemberFilter<'_>,
    offset: usize,
    limit: usize,
) -> Result<Vec<(MemberRow, Option<String>)>, StoreError> {
    let mut query = members::table
        .left_join(cards::table.on(cards::member_id.eq(members::id)))
        .filter(members::tenant_id.eq(tenant.as_str()))
        .into_boxed();
    match filter {
        MemberFilter::All => {}
        MemberFilter::UserName(user_name) => {
            query = query.filter(members::user_name_lower.eq(user_name.to_lowercase()));
        }
        MemberFilter::Email(email) => {
            query = query.filter(
                members::id.eq_any(
                    member_emails::table
                        .filter(member_emails::tenant_id.eq(tenant.as_str()))
                        .filter(member_emails::value_lower.eq(email.to_lowercase()))
                        .select(member_emails::member_id),
                ),
            );
        }
    }
    Ok(query
        .order(members::seq.asc())
        .offset(i64::try_from(offset).unwrap_or(i64::MAX))
        .limit(i64::try_from(limit).unwrap_or(i64::MAX))
        .select((MemberRow::as_select(), cards::email.nullable()))
        .load(conn)?)
}

/// The ids of the tenant's members (not deprovisioned) with this email.
pub fn ids_with_email(
    tenant: &TenantId,
    conn: &mut DbConnection,
    email: &str,
) -> Result<Vec<String>, StoreError> {
    Ok(member_emails::table
        .inner_join(members::table.on(members::id.eq(member_emails::member_id)))
        .filter(member_emails::tenant_id.eq(tenant.as_str()))
        .filter(member_emails::value_lower.eq(email.to_lowercase()))
        .filter(members::deprovisioned_at.is_null())
        .select(members::id)
        .load(conn)?)
}

/// Emails (lower-cased) that more than one member of the tenant (not
/// deprovisioned) has, each with those members' ids.
pub fn shared_emails(
    tenant: &TenantId,
    conn: &mut DbConnection,
) -> Result<Vec<(String, Vec<String>)>, StoreError> {
    let current = || {
        member_emails::table
            .inner_join(members::table.on(members::id.eq(member_emails::member_id)))
            .filter(member_emails::tenant_id.eq(tenant.as_str()))
            .filter(members::deprovisioned_at.is_null())
    };
    let emails: Vec<String> = current()
        .group_by(member_emails::value_lower)
        .having(diesel::dsl::count_star().gt(1))
        .select(member_emails::value_lower)
        .load(conn)?;
    let mut rows: Vec<(String, String)> = Vec::new();
    for chunk in emails.chunks(500) {
        rows.extend(
            current()
                .filter(member_emails::value_lower.eq_any(chunk))
                .order((member_emails::value_lower.asc(), members::seq.asc()))
                .select((member_emails::value_lower, members::id))
                .load::<(String, String)>(conn)?,
        );
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    let mut shared: Vec<(String, Vec<String>)> = Vec::new();
    for (email, id) in rows {
        match shared.last_mut() {
            Some((last, ids)) if *last == email => ids.push(id),
            _ => shared.push((email, vec![id])),
        }
    }
    Ok(shared)
}

/// How many members are in the team (the member side).
pub fn in_team_count(tenant: &TenantId, conn: &mut DbConnection) -> Result<i64, StoreError> {
    Ok(members::table
        .filter(members::tenant_id.eq(tenant.as_str()))
        .filter(members::in_team.eq(true))
        .count()
        .get_result(conn)?)
}

/// A DELETE the removal guard held: the SCIM view goes (404, the
/// `userName` is free again) while the member stays in the team.
pub fn deprovision_scim_only(
    tenant: &TenantId,
    conn: &mut DbConnection,
    id: &MemberId,
) -> Result<(), StoreError> {
    let now = time::now();
    diesel::update(
        members::table
            .filter(members::tenant_id.eq(tenant.as_str()))
            .filter(members::id.eq(id.as_str()))
            .filter(members::deprovisioned_at.is_null()),
    )
    .set((
        members::active.eq(false),
        members::deprovisioned_at.eq(&now),
        members::updated_at.eq(&now),
    ))
    .execute(conn)?;
    Ok(())
}

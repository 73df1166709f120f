//! A tenant's provisioning policy: the sync settings an admin sets once and
//! every SCIM write follows. Pure rules over the SCIM resource and the card;
//! stored as one JSON document per tenant.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::scim::ScimError;
use crate::scim::card::{self, CardFields};

/// The card fields an admin can set sync rules for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardField {
    Name,
    Email,
    JobTitle,
    Company,
    Department,
    Phone,
    Location,
    Photo,
}

impl CardField {
    pub const ALL: [CardField; 8] = [
        CardField::Name,
        CardField::Email,
        CardField::JobTitle,
        CardField::Company,
        CardField::Department,
        CardField::Phone,
        CardField::Location,
        CardField::Photo,
    ];

    pub fn name(self) -> &'static str {
        match self {
            CardField::Name => "name",
            CardField::Email => "email",
            CardField::JobTitle => "job_title",
            CardField::Company => "company",
            CardField::Department => "department",
            CardField::Phone => "phone",
            CardField::Location => "location",
            CardField::Photo => "photo",
        }
    }

    fn slot(self, card: &mut CardFields) -> &mut Option<String> {
        match self {
            CardField::Name => &mut card.display_name,
            CardField::Email => &mut card.email,
            CardField::JobTitle => &mut card.job_title,
            CardField::Company => &mut card.company,
            CardField::Department => &mut card.department,
            CardField::Phone => &mut card.phone,
            CardField::Location => &mut card.location,
            CardField::Photo => &mut card.photo_url,
        }
    }
}

impl FromStr for CardField {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let wanted = text.trim().to_ascii_lowercase().replace('-', "_");
        CardField::ALL
            .into_iter()
            .find(|f| f.name() == wanted)
            .ok_or_else(|| {
                format!(
                    "unknown card field {text:?} (one of: {})",
                    CardField::ALL.map(CardField::name).join(", ")
                )
            })
    }
}

/// Whether the IdP's value reaches the card when a member is created
/// (`sync`) and when an existing member is updated (`overwrite`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldRule {
    pub sync: bool,
    pub overwrite: bool,
}

impl Default for FieldRule {
    fn default() -> Self {
        FieldRule {
            sync: true,
            overwrite: true,
        }
    }
}

/// What `DELETE /Users/{id}` does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Deprovisioning {
    /// Out of the team and its subteams, data kept, can be re-provisioned.
    #[default]
    Deactivate,
    /// Member, card, links and memberships purged for good.
    Delete,
}

impl FromStr for Deprovisioning {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "deactivate" => Ok(Deprovisioning::Deactivate),
            "delete" => Ok(Deprovisioning::Delete),
            other => Err(format!(
                "deprovisioning is deactivate or delete, not {other:?}"
            )),
        }
    }
}

/// A team role a SCIM `roles` value can grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TeamRole {
    TeamAdmin,
    SubteamAdmin,
}

impl FromStr for TeamRole {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "team_admin" => Ok(TeamRole::TeamAdmin),
            "subteam_admin" => Ok(TeamRole::SubteamAdmin),
            other => Err(format!(
                "a team role is team_admin or subteam_admin, not {other:?}"
            )),
        }
    }
}

/// The admin flags derived from a member's SCIM `roles`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AdminFlags {
    pub team_admin: bool,
    pub subteam_admin: bool,
}

fn default_role_map() -> BTreeMap<String, TeamRole> {
    BTreeMap::from([
        ("Global Administrator".to_owned(), TeamRole::TeamAdmin),
        ("Groups Administrator".to_owned(), TeamRole::SubteamAdmin),
    ])
}

/// The whole policy; every setting has the default an unconfigured team gets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// Rules per card field; a field not listed syncs and overwrites.
    pub fields: BTreeMap<CardField, FieldRule>,
    pub deprovisioning: Deprovisioning,
    /// A newly created member gets an invite email.
    pub invites: bool,
    /// SCIM `roles` values grant team roles.
    pub admin_roles: bool,
    /// SCIM role value (matched case-insensitively) → team role.
    pub role_map: BTreeMap<String, TeamRole>,
    /// Refuse a User without both `name.givenName` and `name.familyName`.
    pub require_names: bool,
    /// Group display names or external ids that become subteams; empty: all.
    pub group_allowlist: Vec<String>,
    /// Emails (matched against `userName` and the primary email) of the
    /// users who become members; empty: all.
    pub user_allowlist: Vec<String>,
    /// Who gets admin emails besides the team's own admins.
    pub admin_contacts: Vec<String>,
    /// Send the digest of additions and removals (to the contacts and the team admins).
    pub digests: bool,
    /// Seconds without SCIM writes after which a burst counts as settled.
    pub digest_quiet_secs: u64,
    /// Holds removals beyond this many in one sync run; `None`: off.
    pub removal_guard: Option<RemovalGuard>,
    /// Minutes without SCIM writes that end a sync run (the removal guard
    /// counts per run, as `scimd activity --summary runs` groups them).
    pub run_gap_mins: u64,
}

/// The mass-deprovisioning guard: how many removals one sync run may make
/// before the rest are held for an admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemovalGuard {
    /// At most this many members.
    Count(u64),
    /// At most this percentage of the members in the team when the run began.
    Percent(u8),
}

impl RemovalGuard {
    /// The removals a run may make when the team had `baseline` members.
    pub fn limit(self, baseline: u64) -> u64 {
        match self {
            RemovalGuard::Count(count) => count,
            RemovalGuard::Percent(percent) => baseline * u64::from(percent) / 100,
        }
    }
}

impl fmt::Display for RemovalGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RemovalGuard::Count(count) => write!(f, "{count} members"),
            RemovalGuard::Percent(percent) => write!(f, "{percent}% of the team"),
        }
    }
}

/// `N`, `P%` or `off`, as `--removal-guard` takes it.
pub fn parse_removal_guard(text: &str) -> Result<Option<RemovalGuard>, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let bad =
        || format!("a removal guard is a number (50), a percentage (10%) or off, not {text:?}");
    match text.strip_suffix('%') {
        Some(percent) => match percent.trim().parse::<u8>() {
            Ok(p) if (1..=100).contains(&p) => Ok(Some(RemovalGuard::Percent(p))),
            _ => Err(bad()),
        },
        None => text
            .parse::<u64>()
            .map(|n| Some(RemovalGuard::Count(n)))
            .map_err(|_| bad()),
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            fields: BTreeMap::new(),
            deprovisioning: Deprovisioning::default(),
            invites: false,
            admin_roles: false,
            role_map: default_role_map(),
            require_names: false,
            group_allowlist: Vec::new(),
            user_allowlist: Vec::new(),
            admin_contacts: Vec::new(),
            digests: true,
            digest_quiet_secs: 900,
            removal_guard: None,
            run_gap_mins: 10,
        }
    }
}

/// Where a provisioned SCIM user stands with the team, as the policy decides.
/// The SCIM side (the resource, `active`) is what the IdP set, whatever this says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    /// On the user allowlist (or the list is empty): the user has a card,
    /// gets the invite, may adopt a member made outside SCIM.
    pub listed: bool,
    /// Shown in the team: listed and active as the IdP last said. Its
    /// subteam memberships are dormant while this is false.
    pub in_team: bool,
}

/// When a card is written: a member's first provisioning, or a later update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardWrite {
    Create,
    Update,
}

/// The policy as an operator reads it: every field rule with its effective
/// value, not only the ones that were set.
impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = serde_json::to_string_pretty(&self.effective()).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

impl Policy {
    pub fn from_json(text: &str) -> Result<Policy, String> {
        serde_json::from_str(text).map_err(|e| format!("invalid policy document: {e}"))
    }

    /// The same policy with every field rule written out, so two policies
    /// that act alike compare equal.
    pub fn effective(&self) -> Policy {
        let mut shown = self.clone();
        for field in CardField::ALL {
            shown.fields.insert(field, self.rule(field));
        }
        shown
    }

    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }

    pub fn rule(&self, field: CardField) -> FieldRule {
        self.fields.get(&field).copied().unwrap_or_default()
    }

    /// The card to store: the IdP's value where the rule for this kind of
    /// write lets it through, the card as it is everywhere else.
    pub fn merge_card(
        &self,
        write: CardWrite,
        existing: &CardFields,
        from_idp: &CardFields,
    ) -> CardFields {
        let mut merged = existing.clone();
        let mut incoming = from_idp.clone();
        for field in CardField::ALL {
            let rule = self.rule(field);
            let applies = match write {
                CardWrite::Create => rule.sync,
                CardWrite::Update => rule.overwrite,
            };
            if applies {
                *field.slot(&mut merged) = field.slot(&mut incoming).take();
            }
        }
        merged
    }

    /// Pingboard's rule: both names present, or a message naming what is missing.
    pub fn check_names(&self, user: &Value) -> Result<(), ScimError> {
        if !self.require_names {
            return Ok(());
        }
        let name = user.get("name");
        let missing: Vec<&str> = ["givenName", "familyName"]
            .into_iter()
            .filter(|part| {
                name.and_then(|n| n.get(*part))
                    .and_then(Value::as_str)
                    .is_none_or(|s| s.trim().is_empty())
            })
            .map(|part| match part {
                "givenName" => "name.givenName",
                _ => "name.familyName",
            })
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(ScimError::InvalidValue(format!(
                "this team requires a given and a family name; missing: {}",
                missing.join(" and ")
            )))
        }
    }

    /// `None` while the setting is off: the member's roles stay as they are.
    pub fn admin_flags(&self, user: &Value) -> Option<AdminFlags> {
        if !self.admin_roles {
            return None;
        }
        let mut flags = AdminFlags::default();
        let values = user
            .get("roles")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .filter_map(|role| match role {
                Value::String(s) => Some(s.as_str()),
                other => other.get("value").and_then(Value::as_str),
            });
        for value in values {
            let role = self
                .role_map
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(value.trim()))
                .map(|(_, role)| *role);
            match role {
                Some(TeamRole::TeamAdmin) => flags.team_admin = true,
                Some(TeamRole::SubteamAdmin) => flags.subteam_admin = true,
                None => {}
            }
        }
        Some(flags)
    }

    /// Who gets an admin email: the configured contacts, then the team
    /// admins' addresses, each address once (compared case-insensitively).
    pub fn admin_recipients(&self, team_admins: Vec<String>) -> Vec<String> {
        let mut recipients: Vec<String> = Vec::new();
        for address in self.admin_contacts.iter().cloned().chain(team_admins) {
            let address = address.trim().to_owned();
            if !address.is_empty() && !recipients.iter().any(|r| r.eq_ignore_ascii_case(&address)) {
                recipients.push(address);
            }
        }
        recipients
    }

    /// Whether a SCIM user may become a member: the list is empty, or its
    /// `userName` or primary email is on it (case-insensitive).
    pub fn allows_user(&self, user: &Value) -> bool {
        if self.user_allowlist.is_empty() {
            return true;
        }
        let user_name = user.get("userName").and_then(Value::as_str);
        let email = card::primary_email(user);
        let names = [user_name, email.as_deref()];
        self.user_allowlist.iter().any(|allowed| {
            names
                .iter()
                .flatten()
                .any(|name| name.trim().eq_ignore_ascii_case(allowed.trim()))
        })
    }

    /// The member side of a provisioned user that no SCIM DELETE has
    /// removed: listed, and in the team while the IdP says it is active
    /// (`true` when it never said).
    pub fn standing(&self, user: &Value) -> Standing {
        let listed = self.allows_user(user);
        let active = user.get("active").and_then(Value::as_bool).unwrap_or(true);
        Standing {
            listed,
            in_team: listed && active,
        }
    }

    /// Whether a group with this name and external id becomes a subteam.
    pub fn allows_group(&self, display_name: &str, external_id: Option<&str>) -> bool {
        self.group_allowlist.is_empty()
            || self.group_allowlist.iter().any(|allowed| {
                allowed.eq_ignore_ascii_case(display_name) || Some(allowed.as_str()) == external_id
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn card(title: &str, email: &str) -> CardFields {
        CardFields {
            job_title: Some(title.into()),
            email: Some(email.into()),
            ..CardFields::default()
        }
    }

    #[test]
    fn default_policy_round_trips_and_reads_empty_document() {
        let policy = Policy::default();
        assert_eq!(Policy::from_json(&policy.to_json()), Ok(policy.clone()));
        assert_eq!(Policy::from_json("{}"), Ok(policy));
        assert!(Policy::from_json(r#"{"invitez": true}"#).is_err());
    }

    #[test]
    fn field_rules_pick_per_kind_of_write() {
        let mut policy = Policy::default();
        policy.fields.insert(
            CardField::JobTitle,
            FieldRule {
                sync: true,
                overwrite: false,
            },
        );
        policy.fields.insert(
            CardField::Email,
            FieldRule {
                sync: false,
                overwrite: true,
            },
        );
        let team = card("Team title", "team@x");
        let idp = card("IdP title", "idp@x");
        let created = policy.merge_card(CardWrite::Create, &team, &idp);
        assert_eq!(created.job_title.as_deref(), Some("IdP title"));
        assert_eq!(created.email.as_deref(), Some("team@x"));
        let updated = policy.merge_card(CardWrite::Update, &team, &idp);
        assert_eq!(updated.job_title.as_deref(), Some("Team title"));
        assert_eq!(updated.email.as_deref(), Some("idp@x"));
        // An absent IdP value clears the field when the rule applies.
        let cleared = policy.merge_card(CardWrite::Update, &team, &CardFields::default());
        assert_eq!(cleared.email, None);
        assert_eq!(cleared.job_title.as_deref(), Some("Team title"));
    }

    #[test]
    fn required_names_say_what_is_missing() {
        let policy = Policy {
            require_names: true,
            ..Policy::default()
        };
        assert!(
            policy
                .check_names(&json!({"name": {"givenName": "A", "familyName": "B"}}))
                .is_ok()
        );
        let err = policy
            .check_names(&json!({"name": {"givenName": "A", "familyName": " "}}))
            .unwrap_err();
        assert!(err.to_string().contains("name.familyName"), "{err}");
        assert!(!err.to_string().contains("name.givenName"), "{err}");
        let err = policy.check_names(&json!({"userName": "x"})).unwrap_err();
        assert!(
            err.to_string()
                .contains("name.givenName and name.familyName"),
            "{err}"
        );
        assert!(Policy::default().check_names(&json!({})).is_ok());
    }

    #[test]
    fn roles_map_case_insensitively_only_when_on() {
        let user = json!({"roles": [
            {"value": "global administrator", "primary": true},
            "Groups Administrator",
            {"value": "Reader"}
        ]});
        assert_eq!(Policy::default().admin_flags(&user), None);
        let policy = Policy {
            admin_roles: true,
            ..Policy::default()
        };
        assert_eq!(
            policy.admin_flags(&user),
            Some(AdminFlags {
                team_admin: true,
                subteam_admin: true
            })
        );
        assert_eq!(policy.admin_flags(&json!({})), Some(AdminFlags::default()));
    }

    #[test]
    fn allowlist_matches_name_or_external_id() {
        assert!(Policy::default().allows_group("Anything", None));
        let policy = Policy {
            group_allowlist: vec!["Sales".into(), "ext-42".into()],
            ..Policy::default()
        };
        assert!(policy.allows_group("sales", None));
        assert!(policy.allows_group("Renamed", Some("ext-42")));
        assert!(!policy.allows_group("Engineering", Some("ext-7")));
    }

    #[test]
    fn admin_recipients_are_contacts_then_admins_without_repeats() {
        let policy = Policy {
            admin_contacts: vec!["IT@acme.example".into(), "ops@acme.example".into()],
            ..Policy::default()
        };
        let recipients = policy.admin_recipients(vec![
            "dana@acme.example".into(),
            "it@acme.example".into(),
            " ".into(),
            "Dana@Acme.example".into(),
        ]);
        assert_eq!(
            recipients,
            ["IT@acme.example", "ops@acme.example", "dana@acme.example"]
        );
    }

    #[test]
    fn user_allowlist_matches_user_name_or_primary_email() {
        let ann = json!({"userName": "ann@corp.example", "active": true});
        let bo = json!({"userName": "bo-upn", "emails": [
            {"value": "bo@home.example", "type": "home"},
            {"value": "Bo@Corp.example", "type": "work", "primary": true}]});
        let cy = json!({"userName": "cy@corp.example", "active": false,
            "emails": [{"value": "cy.other@corp.example", "primary": true}]});
        let everyone = Policy::default();
        assert!(everyone.allows_user(&ann) && everyone.allows_user(&bo));
        assert_eq!(
            everyone.standing(&cy),
            Standing {
                listed: true,
                in_team: false
            }
        );
        let pilot = Policy {
            user_allowlist: vec!["ANN@corp.example".into(), "bo@corp.example".into()],
            ..Policy::default()
        };
        assert!(pilot.allows_user(&ann), "userName, any case");
        assert!(pilot.allows_user(&bo), "primary email");
        let home_only = Policy {
            user_allowlist: vec!["bo@home.example".into()],
            ..Policy::default()
        };
        assert!(
            !home_only.allows_user(&bo),
            "a secondary email does not count"
        );
        assert_eq!(
            pilot.standing(&cy),
            Standing {
                listed: false,
                in_team: false
            }
        );
        assert_eq!(
            pilot.standing(&json!({"userName": "ann@corp.example"})),
            Standing {
                listed: true,
                in_team: true
            },
            "active never sent counts as active"
        );
    }

    #[test]
    fn removal_guards_parse_and_limit() {
        assert_eq!(parse_removal_guard("50"), Ok(Some(RemovalGuard::Count(50))));
        assert_eq!(
            parse_removal_guard(" 10% "),
            Ok(Some(RemovalGuard::Percent(10)))
        );
        assert_eq!(parse_removal_guard("OFF"), Ok(None));
        for bad in ["0%", "101%", "-3", "ten", "5.5%"] {
            assert!(parse_removal_guard(bad).is_err(), "{bad}");
        }
        assert_eq!(RemovalGuard::Count(3).limit(1000), 3);
        assert_eq!(RemovalGuard::Percent(10).limit(1000), 100);
        assert_eq!(RemovalGuard::Percent(10).limit(19), 1);
    }

    #[test]
    fn names_parse_from_cli_words() {
        assert_eq!("job-title".parse(), Ok(CardField::JobTitle));
        assert!("salary".parse::<CardField>().is_err());
        assert_eq!("Delete".parse(), Ok(Deprovisioning::Delete));
        assert_eq!("subteam-admin".parse(), Ok(TeamRole::SubteamAdmin));
    }
}

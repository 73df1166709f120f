//! The activity log's domain: who wrote (client, token), what the write was
//! in the product's words, which attributes it changed, and summaries that
//! answer "what did last night's sync do?".

use chrono::{DateTime, Duration, DurationRound, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::scim::time;

/// The IdP behind a request, told by its `User-Agent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Client {
    Okta,
    Entra,
    Other,
    /// A change made by someone signed in to the console.
    Console,
}

impl Client {
    pub fn from_user_agent(user_agent: Option<&str>) -> Client {
        let agent = user_agent.unwrap_or_default().to_ascii_lowercase();
        if agent.contains("okta") {
            Client::Okta
        } else if agent.contains("azure") || agent.contains("entra") || agent.contains("microsoft")
        {
            Client::Entra
        } else {
            Client::Other
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Client::Okta => "okta",
            Client::Entra => "entra",
            Client::Other => "other",
            Client::Console => "console",
        }
    }
}

/// A SCIM write as the team sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Create,
    /// A POST that took over a member made outside SCIM (matched by email).
    Adopt,
    Update,
    Deactivate,
    Reactivate,
    Delete,
    /// A removal the team's guard kept from the member side (the SCIM side
    /// shows the IdP's change).
    Held,
    /// A held removal an admin let through.
    Approved,
    /// A held removal an admin turned down: the member stays.
    Rejected,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Adopt => "adopt",
            Operation::Update => "update",
            Operation::Deactivate => "deactivate",
            Operation::Reactivate => "reactivate",
            Operation::Delete => "delete",
            Operation::Held => "held",
            Operation::Approved => "approved",
            Operation::Rejected => "rejected",
        }
    }

    /// An update that flips `active` is a deactivation or a reactivation.
    pub fn of_update(was_active: bool, is_active: bool) -> Operation {
        match (was_active, is_active) {
            (true, false) => Operation::Deactivate,
            (false, true) => Operation::Reactivate,
            _ => Operation::Update,
        }
    }
}

/// Top-level attributes whose values differ; inside an extension object,
/// its changed sub-attributes as `urn:…:name`.
pub fn changed_attributes(old: &Value, new: &Value) -> Vec<String> {
    let empty = serde_json::Map::new();
    let old = old.as_object().unwrap_or(&empty);
    let new = new.as_object().unwrap_or(&empty);
    let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut changed = Vec::new();
    for key in keys {
        let (before, after) = (old.get(key), new.get(key));
        if before == after || key == "schemas" {
            continue;
        }
        let is_extension = key.starts_with("urn:")
            && [before, after]
                .iter()
                .all(|v| v.is_none_or(Value::is_object));
        if is_extension {
            let missing = Value::Null;
            let sub = changed_attributes(before.unwrap_or(&missing), after.unwrap_or(&missing));
            changed.extend(sub.into_iter().map(|name| format!("{key}:{name}")));
        } else {
            changed.push(key.clone());
        }
    }
    changed
}

/// Who made a write: the token's label and the client behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub token_label: String,
    pub client: Client,
}

/// What a successful write did, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub operation: Operation,
    pub resource_id: String,
    /// `userName` or `displayName`.
    pub resource_name: Option<String>,
    pub fields_changed: Vec<String>,
    /// Said beyond the columns, e.g. who a group write added and removed.
    pub detail: Option<String>,
}

/// How the detail of a user write starts when it moved nobody into or out
/// of the team (the user is outside the user allowlist, or inactive): such
/// a write is not an addition or a removal for digests.
pub const NOT_IN_TEAM: &str = "not in the team";

/// How the detail of a user write starts when the member's place in the
/// team stayed as it was for another reason (the IdP took back a removal
/// the guard held): not an addition or a removal either.
pub const TEAM_UNCHANGED: &str = "team unchanged";

/// The operations by which a member joins the team, unless the detail
/// starts with `NOT_IN_TEAM` or `TEAM_UNCHANGED`.
pub const ADDITIONS: [&str; 3] = ["create", "adopt", "reactivate"];

/// How many members a membership detail names before it only counts.
pub const NAMED_MEMBERS: usize = 5;

/// A member a group write added or removed: id and `userName`.
pub type MemberName = (String, Option<String>);

/// "added 2: <id> (ann@x), <id> (bo@x); removed 1: <id> (cy@x)", naming the
/// first few of each list (`named`) and counting the rest; `None` when
/// nobody was added or removed.
pub fn membership_detail(
    (added_total, added): (usize, &[MemberName]),
    (removed_total, removed): (usize, &[MemberName]),
) -> Option<String> {
    let part = |verb: &str, total: usize, named: &[MemberName]| {
        (total > 0).then(|| {
            let shown: Vec<String> = named
                .iter()
                .take(NAMED_MEMBERS)
                .map(|(id, name)| match name {
                    Some(name) => format!("{id} ({name})"),
                    None => id.clone(),
                })
                .collect();
            let more = total.saturating_sub(shown.len());
            let more = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            format!("{verb} {total}: {}{more}", shown.join(", "))
        })
    };
    let parts: Vec<String> = [
        part("added", added_total, added),
        part("removed", removed_total, removed),
    ]
    .into_iter()
    .flatten()
    .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// One SCIM write to log: its change, or the error status it ended with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent<'a> {
    pub actor: &'a Actor,
    pub operation: Operation,
    pub resource_type: &'static str,
    pub resource_id: Option<&'a str>,
    pub resource_name: Option<&'a str>,
    pub fields_changed: &'a [String],
    pub status: u16,
    pub scim_type: Option<&'a str>,
    /// A failure: the detail its client got; a success: its change's detail.
    pub detail: Option<&'a str>,
}

/// One logged SCIM write, as read back for reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoggedEvent {
    pub occurred_at: String,
    pub token_label: Option<String>,
    pub client: String,
    pub operation: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub resource_name: Option<String>,
    pub fields_changed: Vec<String>,
    pub status: i32,
    pub scim_type: Option<String>,
    pub detail: Option<String>,
}

impl LoggedEvent {
    /// Column names, in the order of `values` (the CLI's table and CSV).
    pub const COLUMNS: [&'static str; 11] = [
        "time",
        "token",
        "client",
        "operation",
        "type",
        "id",
        "name",
        "fields",
        "status",
        "scimType",
        "detail",
    ];

    pub fn values(&self) -> Vec<String> {
        let optional = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        vec![
            self.occurred_at.clone(),
            optional(&self.token_label),
            self.client.clone(),
            self.operation.clone(),
            self.resource_type.clone(),
            optional(&self.resource_id),
            optional(&self.resource_name),
            self.fields_changed.join(" "),
            self.status.to_string(),
            optional(&self.scim_type),
            optional(&self.detail),
        ]
    }

    pub fn succeeded(&self) -> bool {
        self.status < 400
    }

    fn at(&self) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(&self.occurred_at)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    fn moved_team(&self) -> bool {
        self.succeeded()
            && self.resource_type == "User"
            && !self
                .detail
                .as_deref()
                .is_some_and(|d| d.starts_with(NOT_IN_TEAM) || d.starts_with(TEAM_UNCHANGED))
    }

    /// A member who joined the team (created, adopted or back).
    pub fn is_addition(&self) -> bool {
        self.moved_team() && ADDITIONS.contains(&self.operation.as_str())
    }

    /// A member who left the team (deactivated, deleted, or a held removal approved).
    pub fn is_removal(&self) -> bool {
        self.moved_team()
            && matches!(
                self.operation.as_str(),
                "deactivate" | "delete" | "approved"
            )
    }
}

/// Rows (of `LoggedEvent::values`, or `SyncSummary::values`) as CSV under
/// a header line: what `scimd activity --format csv` prints and the
/// console's per-run download serves, byte for byte.
pub fn write_csv<W: std::io::Write>(
    columns: &[&str],
    rows: impl IntoIterator<Item = Vec<String>>,
    out: W,
) -> csv::Result<()> {
    let mut out = csv::Writer::from_writer(out);
    out.write_record(columns)?;
    for row in rows {
        out.write_record(row)?;
    }
    out.flush()?;
    Ok(())
}

/// How events are grouped into syncs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    /// Per clock hour (UTC).
    Hourly,
    /// Per run of consecutive requests: a gap longer than this starts a new run.
    Runs(Duration),
}

/// One sync (a run, or a clock hour): what it did, users and groups counted
/// apart, adoptions apart from creations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncSummary {
    /// A run: its first write; an hour: the hour's start.
    pub start: String,
    /// A run: its last write; an hour: the next hour's start.
    pub end: String,
    /// The clients that wrote, in order of first appearance.
    pub clients: Vec<String>,
    pub users_created: usize,
    pub users_adopted: usize,
    pub users_updated: usize,
    pub users_deactivated: usize,
    pub users_reactivated: usize,
    pub users_deleted: usize,
    /// Removals the team's guard held.
    pub users_held: usize,
    pub groups_created: usize,
    pub groups_updated: usize,
    pub groups_deleted: usize,
    pub failed: usize,
}

impl SyncSummary {
    /// Column names, in the order of `values`.
    pub const COLUMNS: [&'static str; 14] = [
        "start",
        "end",
        "clients",
        "users created",
        "users adopted",
        "users updated",
        "users deactivated",
        "users reactivated",
        "users deleted",
        "users held",
        "groups created",
        "groups updated",
        "groups deleted",
        "failed",
    ];

    pub fn values(&self) -> Vec<String> {
        let mut values = vec![self.start.clone(), self.end.clone(), self.clients.join(" ")];
        values.extend(
            [
                self.users_created,
                self.users_adopted,
                self.users_updated,
                self.users_deactivated,
                self.users_reactivated,
                self.users_deleted,
                self.users_held,
                self.groups_created,
                self.groups_updated,
                self.groups_deleted,
                self.failed,
            ]
            .map(|n| n.to_string()),
        );
        values
    }

    fn count(&mut self, event: &LoggedEvent) {
        if !self.clients.contains(&event.client) {
            self.clients.push(event.client.clone());
        }
        if !event.succeeded() {
            self.failed += 1;
            return;
        }
        let counter = match (event.resource_type.as_str(), event.operation.as_str()) {
            ("Group", "create") => &mut self.groups_created,
            ("Group", "delete") => &mut self.groups_deleted,
            ("Group", _) => &mut self.groups_updated,
            (_, "create") => &mut self.users_created,
            (_, "adopt") => &mut self.users_adopted,
            (_, "deactivate" | "approved") => &mut self.users_deactivated,
            (_, "held") => &mut self.users_held,
            (_, "reactivate") => &mut self.users_reactivated,
            (_, "delete") => &mut self.users_deleted,
            _ => &mut self.users_updated,
        };
        *counter += 1;
    }
}

/// Summaries of `events` (in time order), one per clock hour or per run.
pub fn summarize(events: &[LoggedEvent], grouping: Grouping) -> Vec<SyncSummary> {
    let mut summaries: Vec<SyncSummary> = Vec::new();
    let mut current_hour: Option<DateTime<Utc>> = None;
    let mut last_at: Option<DateTime<Utc>> = None;
    // Changes made outside SCIM (a policy, a token) are logged beside the
    // IdP's writes but are not part of a sync.
    let provisioning = events
        .iter()
        .filter(|e| matches!(e.resource_type.as_str(), "User" | "Group"));
    for event in provisioning {
        let Some(at) = event.at() else { continue };
        let started = match grouping {
            Grouping::Hourly => {
                let hour = at.duration_trunc(Duration::hours(1)).unwrap_or(at);
                (current_hour != Some(hour)).then(|| {
                    current_hour = Some(hour);
                    (time::format(hour), time::format(hour + Duration::hours(1)))
                })
            }
            Grouping::Runs(gap) => last_at
                .is_none_or(|last| at - last > gap)
                .then(|| (event.occurred_at.clone(), event.occurred_at.clone())),
        };
        last_at = Some(at);
        if let Some((start, end)) = started {
            summaries.push(SyncSummary {
                start,
                end,
                ..SyncSummary::default()
            });
        }
        if let Some(summary) = summaries.last_mut() {
            if let Grouping::Runs(_) = grouping {
                summary.end.clone_from(&event.occurred_at);
            }
            summary.count(event);
        }
    }
    summaries
}

/// The admin digest of a settled burst: who joined and who left the team.
/// `None` when the burst added and removed nobody.
pub fn digest(team: &str, events: &[LoggedEvent]) -> Option<(String, String)> {
    let line = |e: &LoggedEvent| {
        format!(
            "  - {} ({})\r\n",
            e.resource_name.as_deref().unwrap_or("unnamed"),
            e.operation
        )
    };
    let added: Vec<String> = events
        .iter()
        .filter(|e| e.is_addition())
        .map(line)
        .collect();
    let removed: Vec<String> = events.iter().filter(|e| e.is_removal()).map(line).collect();
    if added.is_empty() && removed.is_empty() {
        return None;
    }
    let subject = format!(
        "{team}: {} added, {} removed by provisioning",
        added.len(),
        removed.len()
    );
    let mut body = format!("Your identity provider changed who is in {team}.\r\n");
    for (title, lines) in [("Added", &added), ("Removed", &removed)] {
        if !lines.is_empty() {
            body.push_str(&format!("\r\n{title}:\r\n"));
            body.extend(lines.iter().map(String::as_str));
        }
    }
    Some((subject, body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(at: &str, operation: &str, status: i32) -> LoggedEvent {
        LoggedEvent {
            occurred_at: at.into(),
            token_label: Some("okta".into()),
            client: "okta".into(),
            operation: operation.into(),
            resource_type: "User".into(),
            resource_id: None,
            resource_name: None,
            fields_changed: Vec::new(),
            status,
            scim_type: None,
            detail: None,
        }
    }

    #[test]
    fn clients_by_user_agent() {
        assert_eq!(
            Client::from_user_agent(Some("Okta SCIM Client 1.0.0")),
            Client::Okta
        );
        assert_eq!(
            Client::from_user_agent(Some("Azure Active Directory SCIM Client")),
            Client::Entra
        );
        assert_eq!(Client::from_user_agent(Some("curl/8.5")), Client::Other);
        assert_eq!(Client::from_user_agent(None), Client::Other);
    }

    #[test]
    fn changed_attributes_name_extension_sub_attributes() {
        let ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        let old = json!({"schemas": ["a"], "userName": "a", "title": "x", ent: {"department": "R&D", "organization": "Acme"}});
        let new = json!({"schemas": ["b"], "userName": "a", "displayName": "A", ent: {"department": "Sales", "organization": "Acme"}});
        assert_eq!(
            changed_attributes(&old, &new),
            vec![
                "displayName".to_owned(),
                "title".to_owned(),
                format!("{ent}:department")
            ]
        );
        assert!(changed_attributes(&old, &old).is_empty());
    }

    #[test]
    fn operations_of_updates() {
        assert_eq!(Operation::of_update(true, false), Operation::Deactivate);
        assert_eq!(Operation::of_update(false, true), Operation::Reactivate);
        assert_eq!(Operation::of_update(true, true), Operation::Update);
    }

    #[test]
    fn digest_lists_additions_and_removals_only() {
        let mut added = event("2026-11-24T01:50:00.000000Z", "create", 201);
        added.resource_name = Some("ann@example.com".into());
        let mut removed = event("2026-11-24T01:51:00.000000Z", "delete", 204);
        removed.resource_name = Some("bo@example.com".into());
        let updated = event("2026-11-24T01:52:00.000000Z", "update", 200);
        let failed = event("2026-11-24T01:53:00.000000Z", "create", 409);
        let (subject, body) = digest("Acme", &[added, removed, updated.clone(), failed]).unwrap();
        assert_eq!(subject, "Acme: 1 added, 1 removed by provisioning");
        assert!(
            body.contains("Added:\r\n  - ann@example.com (create)"),
            "{body}"
        );
        assert!(
            body.contains("Removed:\r\n  - bo@example.com (delete)"),
            "{body}"
        );
        assert_eq!(digest("Acme", &[updated]), None);
        // Outside the team before and after: neither an addition nor a removal.
        let mut unlisted = event("2026-11-24T01:54:00.000000Z", "create", 201);
        unlisted.detail = Some(format!("{NOT_IN_TEAM}: outside the user allowlist"));
        assert!(!unlisted.is_addition());
        let mut inactive = event("2026-11-24T01:55:00.000000Z", "delete", 204);
        inactive.detail = Some(format!("{NOT_IN_TEAM}: inactive"));
        assert!(!inactive.is_removal());
        assert_eq!(digest("Acme", &[unlisted, inactive]), None);
    }

    #[test]
    fn summaries_by_run_and_by_clock_hour_count_users_and_groups_apart() {
        let mut group_created = event("2026-11-24T01:56:00.000000Z", "create", 201);
        group_created.resource_type = "Group".into();
        let mut entra = event("2026-11-24T02:03:00.000000Z", "adopt", 201);
        entra.client = "entra".into();
        let events = [
            event("2026-11-24T01:50:00.000000Z", "create", 201),
            event("2026-11-24T01:55:00.000000Z", "update", 200),
            group_created,
            event("2026-11-24T02:01:00.000000Z", "deactivate", 200),
            event("2026-11-24T02:02:00.000000Z", "create", 409),
            entra,
            event("2026-11-24T05:00:00.000000Z", "delete", 204),
        ];
        let runs = summarize(&events, Grouping::Runs(Duration::minutes(10)));
        assert_eq!(runs.len(), 2);
        let first = &runs[0];
        assert_eq!(
            (
                first.users_created,
                first.users_adopted,
                first.users_updated,
                first.users_deactivated,
                first.groups_created,
                first.failed
            ),
            (1, 1, 1, 1, 1, 1)
        );
        assert_eq!(first.clients, ["okta", "entra"]);
        let mut token_issued = event("2026-11-24T01:57:00.000000Z", "create", 200);
        token_issued.resource_type = "Token".into();
        token_issued.client = "console".into();
        let mut with_token = events.to_vec();
        with_token.insert(3, token_issued);
        assert_eq!(
            summarize(&with_token, Grouping::Runs(Duration::minutes(10))),
            runs,
            "a token issued in the console is no sync's"
        );
        assert_eq!(first.start, "2026-11-24T01:50:00.000000Z");
        assert_eq!(first.end, "2026-11-24T02:03:00.000000Z");
        assert_eq!(runs[1].users_deleted, 1);

        let hours = summarize(&events, Grouping::Hourly);
        assert_eq!(hours.len(), 3);
        assert_eq!(
            (hours[0].start.as_str(), hours[0].end.as_str()),
            ("2026-11-24T01:00:00.000000Z", "2026-11-24T02:00:00.000000Z"),
            "an hour's row spans the clock hour, not its first and last write"
        );
        assert_eq!((hours[0].users_created, hours[0].users_updated), (1, 1));
        assert_eq!(hours[0].groups_created, 1);
        assert_eq!((hours[1].users_deactivated, hours[1].failed), (1, 1));
        assert_eq!(hours[2].start, "2026-11-24T05:00:00.000000Z");
        assert_eq!(SyncSummary::COLUMNS.len(), hours[0].values().len());
    }

    #[test]
    fn membership_detail_names_a_few_and_counts_the_rest() {
        let named: Vec<MemberName> = (1..=7)
            .map(|i| (format!("id{i}"), (i != 2).then(|| format!("u{i}@x"))))
            .collect();
        assert_eq!(
            membership_detail((7, &named), (1, &named[..1])).unwrap(),
            "added 7: id1 (u1@x), id2, id3 (u3@x), id4 (u4@x), id5 (u5@x) and 2 more; \
             removed 1: id1 (u1@x)"
        );
        assert_eq!(
            membership_detail((0, &[]), (2, &named[..2])).unwrap(),
            "removed 2: id1 (u1@x), id2"
        );
        assert_eq!(membership_detail((0, &[]), (0, &[])), None);
    }
}

//! The activity log's domain: who wrote (client, token), what the write was
//! in the product's words, which attributes it changed, and summaries that
//! answer "what did last night's sync do?".

use chrono::{DateTime, Duration, DurationRound, Utc};
use serde::Serialize;
use serde_json::Value;

/// The IdP behind a request, told by its `User-Agent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Client {
    Okta,
    Entra,
    Other,
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
}

impl LoggedEvent {
    pub fn succeeded(&self) -> bool {
        self.status < 400
    }

    fn at(&self) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(&self.occurred_at)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    /// A member who joined the team (created or adopted).
    pub fn is_addition(&self) -> bool {
        self.succeeded()
            && self.resource_type == "User"
            && matches!(self.operation.as_str(), "create" | "adopt" | "reactivate")
    }

    /// A member who left the team (deactivated or deleted).
    pub fn is_removal(&self) -> bool {
        self.succeeded()
            && self.resource_type == "User"
            && matches!(self.operation.as_str(), "deactivate" | "delete")
    }
}

/// How events are grouped into syncs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    /// Per clock hour (UTC).
    Hourly,
    /// Per run of consecutive requests: a gap longer than this starts a new run.
    Runs(Duration),
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncSummary {
    pub start: String,
    pub end: String,
    pub created: usize,
    pub updated: usize,
    pub deactivated: usize,
    pub deleted: usize,
    pub failed: usize,
}

impl SyncSummary {
    fn count(&mut self, event: &LoggedEvent) {
        if !event.succeeded() {
            self.failed += 1;
            return;
        }
        match event.operation.as_str() {
            "create" | "adopt" => self.created += 1,
            "deactivate" => self.deactivated += 1,
            "delete" => self.deleted += 1,
            _ => self.updated += 1,
        }
    }
}

/// Summaries of `events` (in time order), one per hour or per run.
pub fn summarize(events: &[LoggedEvent], grouping: Grouping) -> Vec<SyncSummary> {
    let mut summaries: Vec<SyncSummary> = Vec::new();
    let mut current_key: Option<DateTime<Utc>> = None;
    let mut last_at: Option<DateTime<Utc>> = None;
    for event in events {
        let Some(at) = event.at() else { continue };
        let starts_new = match grouping {
            Grouping::Hourly => {
                let hour = at.duration_trunc(Duration::hours(1)).unwrap_or(at);
                let new = current_key != Some(hour);
                current_key = Some(hour);
                new
            }
            Grouping::Runs(gap) => last_at.is_none_or(|last| at - last > gap),
        };
        last_at = Some(at);
        if starts_new {
            summaries.push(SyncSummary {
                start: event.occurred_at.clone(),
                ..SyncSummary::default()
            });
        }
        if let Some(summary) = summaries.last_mut() {
            summary.end.clone_from(&event.occurred_at);
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
    }

    #[test]
    fn summaries_by_run_and_by_hour() {
        let events = [
            event("2026-11-24T01:50:00.000000Z", "create", 201),
            event("2026-11-24T01:55:00.000000Z", "update", 200),
            event("2026-11-24T02:01:00.000000Z", "deactivate", 200),
            event("2026-11-24T02:02:00.000000Z", "create", 409),
            event("2026-11-24T05:00:00.000000Z", "delete", 204),
        ];
        let runs = summarize(&events, Grouping::Runs(Duration::minutes(10)));
        assert_eq!(runs.len(), 2);
        assert_eq!(
            (
                runs[0].created,
                runs[0].updated,
                runs[0].deactivated,
                runs[0].failed
            ),
            (1, 1, 1, 1)
        );
        assert_eq!(runs[0].start, "2026-11-24T01:50:00.000000Z");
        assert_eq!(runs[0].end, "2026-11-24T02:02:00.000000Z");
        assert_eq!(runs[1].deleted, 1);
        let hours = summarize(&events, Grouping::Hourly);
        assert_eq!(hours.len(), 3);
        assert_eq!((hours[0].created, hours[0].updated), (1, 1));
        assert_eq!((hours[1].deactivated, hours[1].failed), (1, 1));
    }
}

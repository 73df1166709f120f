//! Timestamps are stored as UTC text in one fixed-width format so that text
//! order equals time order on every backend.

use chrono::{DateTime, SecondsFormat, Utc};

pub fn now() -> String {
    format(Utc::now())
}

pub fn format(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// A stored (or any RFC 3339) time as an instant.
pub fn parse(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Parses any RFC 3339 instant (with any offset) into the stored format.
pub fn normalize(rfc3339: &str) -> Option<String> {
    DateTime::parse_from_rfc3339(rfc3339)
        .ok()
        .map(|t| format(t.with_timezone(&Utc)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_format_orders_like_time() {
        let a = normalize("2026-01-02T03:04:05+02:00").expect("valid");
        let b = normalize("2026-01-02T02:04:05.5Z").expect("valid");
        assert_eq!(a, "2026-01-02T01:04:05.000000Z");
        assert!(a < b);
        assert_eq!(normalize("yesterday"), None);
    }
}

//! List parameters shared by `GET /Users`, `GET /Groups` and `.search`
//! (RFC 7644 §3.4.2.4): 1-based `startIndex`, `count` clamped to the
//! advertised maximum.

use scim_filter_parser::{Filter, parse_filter};

use crate::scim::ScimError;
use crate::scim::filter_eval;
use crate::scim::schema::ResourceKind;

pub const DEFAULT_COUNT: usize = 100;
/// Advertised as `filter.maxResults` in ServiceProviderConfig.
pub const MAX_RESULTS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub start_index: usize,
    pub count: usize,
}

impl Page {
    /// Values below 1 mean 1 (startIndex) and 0 (count), per the RFC.
    pub fn new(start_index: Option<i64>, count: Option<i64>) -> Page {
        let start_index = start_index.map_or(1, |s| usize::try_from(s.max(1)).unwrap_or(1));
        let count = count.map_or(DEFAULT_COUNT, |c| {
            usize::try_from(c.max(0)).unwrap_or(0).min(MAX_RESULTS)
        });
        Page { start_index, count }
    }

    pub fn offset(&self) -> usize {
        self.start_index - 1
    }
}

/// Parses and validates a filter against the resource type's schema.
pub fn parse(kind: ResourceKind, filter: Option<&str>) -> Result<Option<Filter>, ScimError> {
    let Some(text) = filter.filter(|f| !f.trim().is_empty()) else {
        return Ok(None);
    };
    let parsed =
        parse_filter(text).map_err(|e| ScimError::InvalidFilter(format!("invalid filter: {e}")))?;
    filter_eval::validate(kind, &parsed)?;
    Ok(Some(parsed))
}

/// Integer query parameters as RFC 7644 spells them; junk is the client's mistake.
pub fn parse_integer(name: &str, value: Option<&str>) -> Result<Option<i64>, ScimError> {
    value
        .map(|v| {
            v.trim().parse::<i64>().map_err(|_| {
                ScimError::InvalidValue(format!("{name} must be an integer, got {v:?}"))
            })
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_parameters_are_clamped_per_rfc() {
        assert_eq!(
            Page::new(None, None),
            Page {
                start_index: 1,
                count: DEFAULT_COUNT
            }
        );
        assert_eq!(
            Page::new(Some(0), Some(-5)),
            Page {
                start_index: 1,
                count: 0
            }
        );
        assert_eq!(
            Page::new(Some(7), Some(100_000)),
            Page {
                start_index: 7,
                count: MAX_RESULTS
            }
        );
        assert_eq!(Page::new(Some(3), Some(2)).offset(), 2);
    }

    #[test]
    fn bad_integers_are_invalid_values() {
        assert_eq!(parse_integer("count", Some(" 5 ")).unwrap(), Some(5));
        assert!(matches!(
            parse_integer("count", Some("five")),
            Err(ScimError::InvalidValue(_))
        ));
    }
}

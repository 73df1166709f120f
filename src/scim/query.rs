//! Query planning: which part of a (validated) SCIM filter the database can
//! answer through its indexed columns. Whatever cannot be translated
//! exactly is over-approximated (the database returns a superset) and the
//! plan says so, so the caller re-checks the full filter in memory. Correct
//! for every filter; index-backed for the common ones.

use scim_filter_parser::{AttrPath, CompValue, CompareOp, Filter};

use crate::scim::list::Sort;
use crate::scim::schema::ResourceKind;
use crate::scim::time;

/// Columns of the members table a User filter can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Id,
    ExternalId,
    Created,
    LastModified,
    /// `userName` (User) or `displayName` (Group), stored lower-cased.
    Name,
    /// `active` (User only).
    Active,
    /// `emails.value` (User) or `members.value` (Group): a side table.
    MultiValue,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    Text(String),
    Bool(bool),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    And(Box<Condition>, Box<Condition>),
    Or(Box<Condition>, Box<Condition>),
    Compare(Column, CompareOp, SqlValue),
    Present(Column),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// `None`: every row of the tenant is a candidate.
    pub condition: Option<Condition>,
    /// `false`: candidates must be re-checked against the full filter.
    pub exact: bool,
}

impl Plan {
    fn approximate() -> Plan {
        Plan {
            condition: None,
            exact: false,
        }
    }
}

pub fn plan(kind: ResourceKind, filter: &Filter) -> Plan {
    match filter {
        Filter::And(a, b) => {
            let (a, b) = (plan(kind, a), plan(kind, b));
            let condition = match (a.condition, b.condition) {
                (Some(x), Some(y)) => Some(Condition::And(Box::new(x), Box::new(y))),
                (x, y) => x.or(y),
            };
            Plan {
                condition,
                exact: a.exact && b.exact,
            }
        }
        Filter::Or(a, b) => match (plan(kind, a), plan(kind, b)) {
            (
                Plan {
                    condition: Some(x),
                    exact: ex,
                },
                Plan {
                    condition: Some(y),
                    exact: ey,
                },
            ) => Plan {
                condition: Some(Condition::Or(Box::new(x), Box::new(y))),
                exact: ex && ey,
            },
            _ => Plan::approximate(),
        },
        // SQL's three-valued NOT disagrees with SCIM on absent attributes.
        Filter::Not(_) => Plan::approximate(),
        Filter::Present(path) => match column(kind, path) {
            Some(c) if c != Column::MultiValue => exact(Condition::Present(c)),
            _ => Plan::approximate(),
        },
        Filter::Compare(path, op, value) => column(kind, path)
            .and_then(|c| compare(c, *op, value))
            .map_or_else(Plan::approximate, exact),
        Filter::ValuePath(path, inner) => match inner.as_ref() {
            Filter::Compare(sub, op, value)
                if is_multi_value_attr(kind, path)
                    && sub.urn.is_none()
                    && sub.sub_attr.is_none()
                    && sub.name.eq_ignore_ascii_case("value") =>
            {
                compare(Column::MultiValue, *op, value).map_or_else(Plan::approximate, exact)
            }
            _ => Plan::approximate(),
        },
    }
}

/// The indexed column a sort can use, if any (others sort in memory).
pub fn sort_column(kind: ResourceKind, sort: &Sort) -> Option<Column> {
    if sort.by.extension.is_some() {
        return None;
    }
    let name = sort.by.attr.name.as_str();
    let sub = sort.by.sub.map(|s| s.name.as_str());
    Some(match (kind, name, sub) {
        (_, "id", None) => Column::Id,
        (_, "externalId", None) => Column::ExternalId,
        (_, "meta", Some("created")) => Column::Created,
        (_, "meta", Some("lastModified")) => Column::LastModified,
        (ResourceKind::User, "userName", None) | (ResourceKind::Group, "displayName", None) => {
            Column::Name
        }
        (ResourceKind::User, "active", None) => Column::Active,
        _ => return None,
    })
}

fn exact(condition: Condition) -> Plan {
    Plan {
        condition: Some(condition),
        exact: true,
    }
}

fn core_or_unqualified(kind: ResourceKind, path: &AttrPath) -> bool {
    path.urn
        .as_deref()
        .is_none_or(|urn| urn.eq_ignore_ascii_case(kind.core_urn()))
}

fn is_multi_value_attr(kind: ResourceKind, path: &AttrPath) -> bool {
    let name = match kind {
        ResourceKind::User => "emails",
        ResourceKind::Group => "members",
    };
    core_or_unqualified(kind, path)
        && path.sub_attr.is_none()
        && path.name.eq_ignore_ascii_case(name)
}

fn column(kind: ResourceKind, path: &AttrPath) -> Option<Column> {
    if !core_or_unqualified(kind, path) {
        return None;
    }
    let name = path.name.to_ascii_lowercase();
    let sub = path.sub_attr.as_deref().map(str::to_ascii_lowercase);
    Some(match (kind, name.as_str(), sub.as_deref()) {
        (_, "id", None) => Column::Id,
        (_, "externalid", None) => Column::ExternalId,
        (_, "meta", Some("created")) => Column::Created,
        (_, "meta", Some("lastmodified")) => Column::LastModified,
        (ResourceKind::User, "username", None) | (ResourceKind::Group, "displayname", None) => {
            Column::Name
        }
        (ResourceKind::User, "active", None) => Column::Active,
        (ResourceKind::User, "emails", Some("value"))
        | (ResourceKind::Group, "members", Some("value")) => Column::MultiValue,
        _ => return None,
    })
}

/// The bound value for a comparison the column can answer exactly, or `None`.
fn compare(column: Column, op: CompareOp, value: &CompValue) -> Option<Condition> {
    let sql_value = match (column, value) {
        (Column::Active, CompValue::Bool(b)) if matches!(op, CompareOp::Eq) => SqlValue::Bool(*b),
        (Column::Active, _) => return None,
        (Column::Created | Column::LastModified, CompValue::Str(s)) => {
            if !matches!(
                op,
                CompareOp::Eq | CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le
            ) {
                return None;
            }
            SqlValue::Text(time::normalize(s)?)
        }
        // Case-insensitive attributes are stored lower-cased.
        (Column::Name | Column::MultiValue, CompValue::Str(s)) => SqlValue::Text(s.to_lowercase()),
        (Column::Id | Column::ExternalId, CompValue::Str(s)) => SqlValue::Text(s.clone()),
        _ => return None,
    };
    // `ne` must match rows where a nullable attribute is absent, which the
    // in-memory check gets right and a plain SQL `<>` does not.
    if op == CompareOp::Ne && !matches!(column, Column::Id | Column::Name) {
        return None;
    }
    // A user's `emails` may hold several values; `ne` would need "none equal".
    if op == CompareOp::Ne && column == Column::MultiValue {
        return None;
    }
    Some(Condition::Compare(column, op, sql_value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use scim_filter_parser::parse_filter;

    fn user_plan(filter: &str) -> Plan {
        plan(
            ResourceKind::User,
            &parse_filter(filter).expect("test filters parse"),
        )
    }

    #[test]
    fn common_lookups_are_exact_index_conditions() {
        for filter in [
            r#"userName eq "Jane@X.com""#,
            r#"externalId eq "abc""#,
            r#"id eq "123""#,
            r#"emails.value eq "a@b.c""#,
            r#"emails[value eq "a@b.c"]"#,
            "active eq true",
            r#"meta.lastModified gt "2026-01-01T00:00:00Z""#,
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "j""#,
        ] {
            let plan = user_plan(filter);
            assert!(plan.exact, "{filter}");
            assert!(plan.condition.is_some(), "{filter}");
        }
        assert_eq!(
            user_plan(r#"userName eq "Jane@X.com""#).condition,
            Some(Condition::Compare(
                Column::Name,
                CompareOp::Eq,
                SqlValue::Text("jane@x.com".into())
            ))
        );
    }

    #[test]
    fn untranslatable_parts_make_the_plan_approximate() {
        let plan = user_plan(r#"userName eq "a" and title eq "CEO""#);
        assert!(!plan.exact);
        assert!(matches!(
            plan.condition,
            Some(Condition::Compare(Column::Name, ..))
        ));
        let plan = user_plan(r#"userName eq "a" or title eq "CEO""#);
        assert_eq!(plan, Plan::approximate());
        assert_eq!(user_plan(r#"not (userName eq "a")"#), Plan::approximate());
        assert_eq!(user_plan(r#"externalId ne "a""#), Plan::approximate());
        assert_eq!(
            user_plan(r#"emails[type eq "work" and value eq "x"]"#),
            Plan::approximate()
        );
        assert_eq!(
            user_plan(r#"meta.lastModified gt "not a date""#),
            Plan::approximate()
        );
    }
}

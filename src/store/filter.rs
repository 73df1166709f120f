//! A planned `Condition` as a diesel expression with bound values: user
//! text never becomes SQL text.

use diesel::dsl::exists;
use diesel::expression::BoxableExpression;
use diesel::prelude::*;
use diesel::sql_types::Bool;
use scim_filter_parser::CompareOp;

use crate::scim::ids::TenantId;
use crate::scim::query::{Column, Condition, SqlValue};
use crate::store::Db;
use crate::store::schema::{member_emails, members, subteam_members, subteams};

pub type MemberCondition = Box<dyn BoxableExpression<members::table, Db, SqlType = Bool>>;
pub type SubteamCondition = Box<dyn BoxableExpression<subteams::table, Db, SqlType = Bool>>;

/// `co`/`sw`/`ew` as a LIKE pattern with the wildcards in the value escaped.
fn like_pattern(op: CompareOp, value: &str) -> String {
    let escaped = value
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    match op {
        CompareOp::Co => format!("%{escaped}%"),
        CompareOp::Sw => format!("{escaped}%"),
        _ => format!("%{escaped}"),
    }
}

/// Expands to the boxed comparison of a text column with a text value.
macro_rules! text_compare {
    ($column:expr, $op:expr, $value:expr) => {{
        let column = $column;
        let value: String = $value;
        match *$op {
            CompareOp::Eq => Box::new(column.eq(value)) as _,
            CompareOp::Ne => Box::new(column.ne(value)) as _,
            CompareOp::Gt => Box::new(column.gt(value)) as _,
            CompareOp::Ge => Box::new(column.ge(value)) as _,
            CompareOp::Lt => Box::new(column.lt(value)) as _,
            CompareOp::Le => Box::new(column.le(value)) as _,
            op @ (CompareOp::Co | CompareOp::Sw | CompareOp::Ew) => {
                Box::new(column.like(like_pattern(op, &value)).escape('\\')) as _
            }
        }
    }};
}

/// `outer_id IN (SELECT owner FROM side WHERE scope AND column <op> value)`.
/// Expanded per operator because `MultiConnection` cannot render a boxed
/// expression inside a subquery.
macro_rules! in_side_table {
    ($outer_id:expr, $side:expr, $scope:expr, $column:expr, $owner:expr, $op:expr, $value:expr) => {{
        let value: String = $value;
        macro_rules! subquery {
            ($condition:expr) => {
                Box::new($outer_id.eq_any($side.filter($scope).filter($condition).select($owner)))
                    as _
            };
        }
        match *$op {
            CompareOp::Eq => subquery!($column.eq(value)),
            CompareOp::Ne => subquery!($column.ne(value)),
            CompareOp::Gt => subquery!($column.gt(value)),
            CompareOp::Ge => subquery!($column.ge(value)),
            CompareOp::Lt => subquery!($column.lt(value)),
            CompareOp::Le => subquery!($column.le(value)),
            op @ (CompareOp::Co | CompareOp::Sw | CompareOp::Ew) => {
                subquery!($column.like(like_pattern(op, &value)).escape('\\'))
            }
        }
    }};
}

fn text(value: &SqlValue) -> String {
    match value {
        SqlValue::Text(s) => s.clone(),
        SqlValue::Bool(b) => b.to_string(),
    }
}

pub fn member_condition(tenant: &TenantId, condition: &Condition) -> MemberCondition {
    match condition {
        Condition::And(a, b) => {
            Box::new(member_condition(tenant, a).and(member_condition(tenant, b)))
        }
        Condition::Or(a, b) => {
            Box::new(member_condition(tenant, a).or(member_condition(tenant, b)))
        }
        Condition::Present(column) => match column {
            Column::Id | Column::Created | Column::LastModified | Column::Active => {
                Box::new(members::id.is_not_null())
            }
            Column::Name => Box::new(members::user_name_lower.is_not_null()),
            Column::ExternalId => Box::new(
                members::external_id
                    .is_not_null()
                    .and(members::external_id.assume_not_null().ne("")),
            ),
            Column::MultiValue => Box::new(exists(
                member_emails::table.filter(member_emails::member_id.eq(members::id)),
            )),
        },
        Condition::Compare(column, op, value) => match (column, value) {
            (Column::Active, SqlValue::Bool(b)) => Box::new(members::active.eq(*b)),
            (Column::Id, v) => text_compare!(members::id, op, text(v)),
            (Column::ExternalId, v) => {
                text_compare!(members::external_id.assume_not_null(), op, text(v))
            }
            (Column::Name, v) => {
                text_compare!(members::user_name_lower.assume_not_null(), op, text(v))
            }
            (Column::Created, v) => text_compare!(members::created_at, op, text(v)),
            (Column::LastModified, v) => text_compare!(members::updated_at, op, text(v)),
            // The planner only gives `active` a boolean.
            (Column::Active, SqlValue::Text(_)) => Box::new(members::id.is_null()),
            (Column::MultiValue, v) => {
                let tenant = tenant.to_string();
                in_side_table!(
                    members::id,
                    member_emails::table,
                    member_emails::tenant_id.eq(tenant),
                    member_emails::value_lower,
                    member_emails::member_id,
                    op,
                    text(v)
                )
            }
        },
    }
}

pub fn subteam_condition(tenant: &TenantId, condition: &Condition) -> SubteamCondition {
    match condition {
        Condition::And(a, b) => {
            Box::new(subteam_condition(tenant, a).and(subteam_condition(tenant, b)))
        }
        Condition::Or(a, b) => {
            Box::new(subteam_condition(tenant, a).or(subteam_condition(tenant, b)))
        }
        Condition::Present(column) => match column {
            Column::ExternalId => Box::new(
                subteams::external_id
                    .is_not_null()
                    .and(subteams::external_id.assume_not_null().ne("")),
            ),
            Column::MultiValue => Box::new(exists(
                subteam_members::table.filter(subteam_members::subteam_id.eq(subteams::id)),
            )),
            _ => Box::new(subteams::id.is_not_null()),
        },
        Condition::Compare(column, op, value) => match column {
            Column::Id => text_compare!(subteams::id, op, text(value)),
            Column::ExternalId => {
                text_compare!(subteams::external_id.assume_not_null(), op, text(value))
            }
            Column::Name => text_compare!(subteams::display_name_lower, op, text(value)),
            Column::Created => text_compare!(subteams::created_at, op, text(value)),
            Column::LastModified => text_compare!(subteams::updated_at, op, text(value)),
            // The planner never gives Groups an `active` column.
            Column::Active => Box::new(subteams::id.is_null()),
            Column::MultiValue => {
                let tenant = tenant.to_string();
                in_side_table!(
                    subteams::id,
                    subteam_members::table,
                    subteam_members::tenant_id.eq(tenant),
                    subteam_members::member_id,
                    subteam_members::subteam_id,
                    op,
                    text(value)
                )
            }
        },
    }
}

//! The one listing algorithm behind `GET /Users`, `GET /Groups` and
//! `.search`: filter, sort, and page by index or by cursor.
//!
//! When the planned condition is exact and the sort (if any) has an indexed
//! column, the database counts, orders and pages. Otherwise candidates are
//! read in creation order, re-checked and sorted in memory: always correct,
//! fast for the common filters.

use scim_filter_parser::Filter;
use serde_json::Value;

use crate::scim::ScimError;
use crate::scim::filter_eval;
use crate::scim::list::{self, Cursor, ListRequest, SortKey};
use crate::scim::query::{self, Column, Condition};
use crate::scim::schema::ResourceKind;

/// What the algorithm needs from one resource type's store.
pub trait Rows {
    type Row;
    fn seq(row: &Self::Row) -> i64;
    fn count(&mut self, condition: Option<&Condition>) -> Result<usize, ScimError>;
    fn page(
        &mut self,
        condition: Option<&Condition>,
        order: Option<(Column, bool)>,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<Self::Row>, ScimError>;
    fn window(
        &mut self,
        condition: Option<&Condition>,
        after: Option<i64>,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<Self::Row>, ScimError>;
    /// The full SCIM resource, for in-memory filtering and sorting.
    fn resource(&mut self, row: &Self::Row) -> Result<Value, ScimError>;
}

pub struct Paged<R> {
    pub total: usize,
    pub rows: Vec<R>,
    pub next: Option<Cursor>,
    pub previous: Option<Cursor>,
}

pub fn list<S: Rows>(
    kind: ResourceKind,
    store: &mut S,
    filter: Option<&Filter>,
    request: &ListRequest,
) -> Result<Paged<S::Row>, ScimError> {
    if request.cursor.is_some() && request.sort.is_some() {
        return Err(ScimError::InvalidValue(
            "cursor pages follow creation order and cannot be combined with sortBy".into(),
        ));
    }
    let plan = filter.map(|f| query::plan(kind, f));
    let condition = plan.as_ref().and_then(|p| p.condition.as_ref());
    let exact = plan.as_ref().is_none_or(|p| p.exact);
    let order = match &request.sort {
        None => Some(None),
        Some(sort) => query::sort_column(kind, sort).map(|c| Some((c, sort.descending))),
    };
    match (exact, order) {
        (true, Some(order)) => in_database(store, condition, order, request),
        _ => in_memory(kind, store, filter, condition, exact, request),
    }
}

fn in_database<S: Rows>(
    store: &mut S,
    condition: Option<&Condition>,
    order: Option<(Column, bool)>,
    request: &ListRequest,
) -> Result<Paged<S::Row>, ScimError> {
    let total = store.count(condition)?;
    let page = request.page;
    let Some(cursor) = request.cursor else {
        let rows = store.page(condition, order, page.offset(), page.count)?;
        return Ok(Paged {
            total,
            rows,
            next: None,
            previous: None,
        });
    };
    let (after, before) = match cursor {
        Cursor::Start => (None, None),
        Cursor::After(seq) => (Some(seq), None),
        Cursor::Before(seq) => (None, Some(seq)),
    };
    let rows = store.window(condition, after, before, page.count)?;
    // One-row probes on each side: cheap, and right even as the set changes.
    let previous = match rows.first() {
        Some(first)
            if !store
                .window(condition, None, Some(S::seq(first)), 1)?
                .is_empty() =>
        {
            Some(Cursor::Before(S::seq(first)))
        }
        _ => None,
    };
    let next = match rows.last() {
        Some(last)
            if !store
                .window(condition, Some(S::seq(last)), None, 1)?
                .is_empty() =>
        {
            Some(Cursor::After(S::seq(last)))
        }
        _ => None,
    };
    Ok(Paged {
        total,
        rows,
        next,
        previous,
    })
}

fn in_memory<S: Rows>(
    kind: ResourceKind,
    store: &mut S,
    filter: Option<&Filter>,
    condition: Option<&Condition>,
    exact: bool,
    request: &ListRequest,
) -> Result<Paged<S::Row>, ScimError> {
    let mut candidates: Vec<(S::Row, Option<SortKey>)> = Vec::new();
    for row in store.page(condition, None, 0, usize::MAX)? {
        let needs_resource = !exact || request.sort.is_some();
        if !needs_resource {
            candidates.push((row, None));
            continue;
        }
        let resource = store.resource(&row)?;
        if let Some(filter) = filter.filter(|_| !exact)
            && !filter_eval::matches(kind, filter, &resource)
        {
            continue;
        }
        let key = request
            .sort
            .as_ref()
            .and_then(|s| list::sort_key(s, &resource));
        candidates.push((row, key));
    }
    if let Some(sort) = &request.sort {
        // Stable: ties keep creation order.
        candidates.sort_by(|a, b| list::compare_keys(a.1.as_ref(), b.1.as_ref(), sort.descending));
    }
    let total = candidates.len();
    let page = request.page;
    let (start, next, previous) = match request.cursor {
        None => (page.offset().min(total), None, None),
        Some(cursor) => {
            let position = |seq: i64| {
                candidates
                    .iter()
                    .position(|(row, _)| S::seq(row) >= seq)
                    .unwrap_or(total)
            };
            let start = match cursor {
                Cursor::Start => 0,
                Cursor::After(seq) => position(seq.saturating_add(1)),
                Cursor::Before(seq) => position(seq).saturating_sub(page.count),
            };
            let end = match cursor {
                Cursor::Before(seq) => position(seq),
                _ => (start + page.count).min(total),
            };
            let next =
                (end < total && end > start).then(|| Cursor::After(S::seq(&candidates[end - 1].0)));
            let previous =
                (start > 0 && start < total).then(|| Cursor::Before(S::seq(&candidates[start].0)));
            let rows = candidates.drain(start..end).map(|(row, _)| row).collect();
            return Ok(Paged {
                total,
                rows,
                next,
                previous,
            });
        }
    };
    let rows = candidates
        .into_iter()
        .skip(start)
        .take(page.count)
        .map(|(row, _)| row)
        .collect();
    Ok(Paged {
        total,
        rows,
        next,
        previous,
    })
}

//! Where a team's visible members stand in creation order: how many there
//! are, and where every `ANCHOR_EVERY`-th one is. An unfiltered list (an
//! IdP's import, paging by `startIndex` or by cursor) would otherwise count
//! the whole team for `totalResults` on every page, and skip through every
//! member before its offset: both in proportion to the team, page after page.
//!
//! The figures are kept with a SQLite read connection and trusted while its
//! `PRAGMA data_version` is unchanged, that is, until anyone commits. The
//! HTTP layer hands each worker's connection its cache for the span of one
//! piece of read work (`with_cache`); elsewhere (PostgreSQL, the CLI, the
//! writer) nothing is cached and every call counts afresh.

use std::cell::RefCell;
use std::collections::HashMap;

use diesel::prelude::*;
use diesel::sql_types::BigInt;

use crate::scim::ids::TenantId;
use crate::store::StoreError;
use crate::store::db::DbConnection;

/// Members between two anchors: the most an offset ever skips.
pub const ANCHOR_EVERY: usize = 1000;

/// One team's figures as of one data version.
struct Positions {
    version: i64,
    total: usize,
    /// `anchors[i]` is the seq of the member at position `i * ANCHOR_EVERY`;
    /// filled the first time an offset needs it.
    anchors: Option<Vec<i64>>,
}

/// The figures of the teams one connection has listed.
#[derive(Default)]
pub struct PositionCache {
    by_tenant: HashMap<String, Positions>,
}

thread_local! {
    /// The cache of the connection this thread is reading on, if any.
    static ACTIVE: RefCell<Option<PositionCache>> = const { RefCell::new(None) };
}

/// Runs `work` with `cache` in use by the counting and paging below; `cache`
/// must belong to the one connection `work` reads on.
pub fn with_cache<T>(cache: &mut PositionCache, work: impl FnOnce() -> T) -> T {
    ACTIVE.with(|active| *active.borrow_mut() = Some(std::mem::take(cache)));
    let outcome = work();
    if let Some(used) = ACTIVE.with(|active| active.borrow_mut().take()) {
        *cache = used;
    }
    outcome
}

#[derive(QueryableByName)]
struct DataVersion {
    #[diesel(sql_type = BigInt)]
    data_version: i64,
}

/// This connection's data version, when a cache is in use (SQLite only).
fn version(conn: &mut DbConnection) -> Result<Option<i64>, StoreError> {
    let in_use = ACTIVE.with(|active| active.borrow().is_some());
    if !in_use || !matches!(conn, DbConnection::Sqlite(_)) {
        return Ok(None);
    }
    let row: DataVersion = diesel::sql_query("PRAGMA data_version").get_result(conn)?;
    Ok(Some(row.data_version))
}

/// The team's number of visible members: cached, or `count()`ed.
pub fn total(
    tenant: &TenantId,
    conn: &mut DbConnection,
    count: impl FnOnce(&mut DbConnection) -> Result<usize, StoreError>,
) -> Result<usize, StoreError> {
    let Some(version) = version(conn)? else {
        return count(conn);
    };
    let cached = ACTIVE.with(|active| {
        active.borrow().as_ref().and_then(|cache| {
            cache
                .by_tenant
                .get(tenant.as_str())
                .filter(|p| p.version == version)
                .map(|p| p.total)
        })
    });
    if let Some(total) = cached {
        return Ok(total);
    }
    let total = count(conn)?;
    ACTIVE.with(|active| {
        if let Some(cache) = active.borrow_mut().as_mut() {
            cache.by_tenant.insert(
                tenant.to_string(),
                Positions {
                    version,
                    total,
                    anchors: None,
                },
            );
        }
    });
    Ok(total)
}

/// Where to start reading for `offset`: the seq of the anchor at or before
/// it (read members after it, exclusive) and how many to skip past it.
/// `None` when nothing is cached, or the offset is short anyway.
pub fn anchor(
    tenant: &TenantId,
    conn: &mut DbConnection,
    offset: usize,
    seqs: impl FnOnce(&mut DbConnection) -> Result<Vec<i64>, StoreError>,
) -> Result<Option<(i64, usize)>, StoreError> {
    if offset < ANCHOR_EVERY {
        return Ok(None);
    }
    let Some(version) = version(conn)? else {
        return Ok(None);
    };
    let known = ACTIVE.with(|active| {
        active.borrow().as_ref().and_then(|cache| {
            let positions = cache.by_tenant.get(tenant.as_str())?;
            (positions.version == version).then(|| positions.anchors.clone())
        })
    });
    let anchors = match known {
        Some(Some(anchors)) => anchors,
        // Counted as of this version already: add the anchors.
        Some(None) | None => {
            let all = seqs(conn)?;
            let anchors: Vec<i64> = all.iter().step_by(ANCHOR_EVERY).copied().collect();
            let total = all.len();
            ACTIVE.with(|active| {
                if let Some(cache) = active.borrow_mut().as_mut() {
                    cache.by_tenant.insert(
                        tenant.to_string(),
                        Positions {
                            version,
                            total,
                            anchors: Some(anchors.clone()),
                        },
                    );
                }
            });
            anchors
        }
    };
    let index = offset / ANCHOR_EVERY;
    Ok(anchors.get(index).map(|&seq| {
        // Start reading at the anchor itself: everything from seq - 1 on.
        (seq - 1, offset - index * ANCHOR_EVERY)
    }))
}

//! Log lines that can come many times a second (every request while the
//! database is down or its disk is full): the first of a kind in each
//! interval is logged, carrying how many like it were left out before it.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

/// How often one kind of repeated line is logged at most.
pub const INTERVAL: Duration = Duration::from_secs(5);

/// Kinds remembered at most; past it, stale kinds are forgotten, and if
/// none is stale every line is logged (never a line lost for want of room).
const KINDS: usize = 1024;

pub struct Repeats {
    interval: Duration,
    seen: Mutex<HashMap<String, Seen>>,
}

struct Seen {
    logged_at: Instant,
    left_out: u64,
}

impl Repeats {
    pub fn new(interval: Duration) -> Repeats {
        Repeats {
            interval,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// `Some(n)`: log this line, noting the `n` lines of its kind left out
    /// since the last one logged; `None`: leave it out (it is counted).
    pub fn admit(&self, kind: &str, now: Instant) -> Option<u64> {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = seen.get_mut(kind) {
            if now.duration_since(entry.logged_at) < self.interval {
                entry.left_out += 1;
                return None;
            }
            let left_out = entry.left_out;
            *entry = Seen {
                logged_at: now,
                left_out: 0,
            };
            return Some(left_out);
        }
        if seen.len() >= KINDS {
            let interval = self.interval;
            seen.retain(|_, entry| now.duration_since(entry.logged_at) < interval);
        }
        if seen.len() < KINDS {
            seen.insert(
                kind.to_owned(),
                Seen {
                    logged_at: now,
                    left_out: 0,
                },
            );
        }
        Some(0)
    }
}

/// The process's repeated database and request failures.
pub static REPEATS: LazyLock<Repeats> = LazyLock::new(|| Repeats::new(INTERVAL));

/// `REPEATS.admit(kind)` now.
pub fn admit(kind: &str) -> Option<u64> {
    REPEATS.admit(kind, Instant::now())
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::Repeats;

    #[test]
    fn one_line_per_interval_carries_the_count_left_out() {
        let repeats = Repeats::new(Duration::from_secs(5));
        let start = Instant::now();
        assert_eq!(repeats.admit("db down", start), Some(0));
        for ms in 1..=999 {
            assert_eq!(
                repeats.admit("db down", start + Duration::from_millis(ms)),
                None
            );
        }
        assert_eq!(repeats.admit("disk full", start), Some(0), "kinds apart");
        assert_eq!(
            repeats.admit("db down", start + Duration::from_secs(5)),
            Some(999)
        );
        assert_eq!(
            repeats.admit("db down", start + Duration::from_secs(10)),
            Some(0)
        );
    }

    #[test]
    fn a_full_table_forgets_stale_kinds_and_never_drops_a_new_one() {
        let repeats = Repeats::new(Duration::from_secs(5));
        let start = Instant::now();
        for kind in 0..super::KINDS {
            assert_eq!(repeats.admit(&kind.to_string(), start), Some(0));
        }
        assert_eq!(repeats.admit("new", start), Some(0));
        assert_eq!(repeats.admit("new", start), Some(0), "not remembered");
        let later = start + Duration::from_secs(6);
        assert_eq!(repeats.admit("newer", later), Some(0));
        assert_eq!(repeats.admit("newer", later), None, "room made");
    }
}

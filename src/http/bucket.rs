//! A token bucket: up to `capacity` units, refilled steadily at `per_second`.
//! The per-team rate limit and the failed-authentication throttle each
//! keep one per key.

use std::time::Instant;

pub struct Bucket {
    left: f64,
    refilled_at: Instant,
}

impl Bucket {
    pub fn full(capacity: f64, now: Instant) -> Bucket {
        Bucket {
            left: capacity,
            refilled_at: now,
        }
    }

    /// Adds what has refilled since the last look; whether it is full.
    pub fn refill(&mut self, now: Instant, capacity: f64, per_second: f64) -> bool {
        let elapsed = now
            .saturating_duration_since(self.refilled_at)
            .as_secs_f64();
        self.left = (self.left + elapsed * per_second).min(capacity);
        self.refilled_at = now;
        self.left >= capacity
    }

    /// Takes one unit, or says how many whole seconds (at least one, as
    /// `Retry-After` takes them) until one is back.
    pub fn take(&mut self, now: Instant, capacity: f64, per_second: f64) -> Result<(), u64> {
        self.refill(now, capacity, per_second);
        if self.left >= 1.0 {
            self.left -= 1.0;
            return Ok(());
        }
        let wait = (1.0 - self.left) / per_second;
        Err(wait.ceil().max(1.0) as u64)
    }

    /// Puts back a unit taken by `take`.
    pub fn give_back(&mut self, capacity: f64) {
        self.left = (self.left + 1.0).min(capacity);
    }
}

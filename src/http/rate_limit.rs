//! Optional per-tenant request rate limit (token bucket, per process). Over
//! the limit a request gets 429 with `Retry-After`, which Entra and Okta
//! honour by backing off instead of failing the sync.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::scim::ScimError;
use crate::scim::ids::TenantId;

struct Bucket {
    tokens: f64,
    refilled_at: Instant,
}

pub struct RateLimiter {
    /// Requests per second per tenant; the bucket holds one second's worth.
    per_second: f64,
    buckets: Mutex<HashMap<TenantId, Bucket>>,
}

impl RateLimiter {
    pub fn new(per_second: u32) -> RateLimiter {
        RateLimiter {
            per_second: f64::from(per_second),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request's token, or says how many seconds until one is due.
    pub fn admit(&self, tenant: &TenantId) -> Result<(), ScimError> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let bucket = buckets.entry(tenant.clone()).or_insert(Bucket {
            tokens: self.per_second,
            refilled_at: now,
        });
        let elapsed = now.duration_since(bucket.refilled_at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.per_second);
        bucket.refilled_at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        let wait = (1.0 - bucket.tokens) / self.per_second;
        // Whole seconds, at least one, as Retry-After takes.
        Err(ScimError::TooManyRequests(wait.ceil().max(1.0) as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_a_seconds_worth_then_refuses_with_a_wait() {
        let limiter = RateLimiter::new(3);
        let acme = TenantId::generate();
        let globex = TenantId::generate();
        for _ in 0..3 {
            assert!(limiter.admit(&acme).is_ok());
        }
        match limiter.admit(&acme) {
            Err(ScimError::TooManyRequests(seconds)) => assert_eq!(seconds, 1),
            other => panic!("{other:?}"),
        }
        assert!(
            limiter.admit(&globex).is_ok(),
            "tenants have their own buckets"
        );
    }
}

//! Optional per-tenant request rate limit (token bucket, per process). Over
//! the limit a request gets 429 with `Retry-After`, which Entra and Okta
//! honour by backing off instead of failing the sync.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::http::bucket::Bucket;
use crate::scim::ScimError;
use crate::scim::ids::TenantId;

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
        buckets
            .entry(tenant.clone())
            .or_insert_with(|| Bucket::full(self.per_second, now))
            .take(now, self.per_second, self.per_second)
            .map_err(ScimError::TooManyRequests)
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

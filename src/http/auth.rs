//! Bearer-token authentication. argon2 is deliberately slow, so a verified
//! token is cached (keyed by its SHA-256, never the token itself); the cache
//! re-reads the token's row every `recheck` interval so a revocation made by
//! another process (the `scimd token revoke` CLI) takes effect within it.
//! A token not in the cache costs a row read and argon2, so each client
//! address may fail only so often (`throttle.rs`); a cached token is never
//! throttled, since serving it costs nothing.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use crate::http::request_log;
use crate::http::state::{AppState, Db};
use crate::http::throttle::{FailureLimit, FailureThrottle, TrustedProxies};
use crate::scim::ScimError;
use crate::scim::ids::{TenantId, TokenId};
use crate::scim::token;
use crate::store;
use tokio::sync::OnceCell;

/// What a request is allowed to see: exactly one tenant.
#[derive(Debug, Clone)]
pub struct AuthTenant {
    pub tenant_id: TenantId,
    pub token_label: String,
}

#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// How long a revoked token may keep working in another process.
    pub recheck: Duration,
    /// After this, argon2 runs again for the token.
    pub ttl: Duration,
    pub max_entries: usize,
    /// Failed authentications each client address may make.
    pub failures: FailureLimit,
    /// Proxies whose `X-Forwarded-For` names the client address.
    pub trusted_proxies: TrustedProxies,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            recheck: Duration::from_secs(2),
            ttl: Duration::from_secs(600),
            max_entries: 10_000,
            failures: FailureLimit::default(),
            trusted_proxies: TrustedProxies::default(),
        }
    }
}

struct CacheEntry {
    token_id: TokenId,
    tenant: AuthTenant,
    verified_at: Instant,
    checked_at: Instant,
}

pub struct Authenticator {
    db: Db,
    settings: AuthSettings,
    cache: Mutex<HashMap<[u8; 32], CacheEntry>>,
    in_flight: Mutex<HashMap<[u8; 32], Arc<Flight>>>,
    throttle: FailureThrottle,
}

enum CacheState {
    Fresh(AuthTenant),
    NeedsRecheck(TokenId, AuthTenant),
    Miss,
}

fn unauthorized(detail: &str) -> ScimError {
    ScimError::Unauthorized(detail.to_owned())
}

impl Authenticator {
    pub fn new(db: Db, settings: AuthSettings) -> Self {
        Authenticator {
            db,
            throttle: FailureThrottle::new(settings.failures),
            settings,
            cache: Mutex::new(HashMap::new()),
            in_flight: Mutex::new(HashMap::new()),
        }
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], CacheEntry>> {
        // A panic while holding the lock cannot leave a half-written entry worth distrusting.
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn cached(&self, key: &[u8; 32], now: Instant) -> CacheState {
        let mut cache = self.cache();
        match cache.get(key) {
            Some(entry) if now.duration_since(entry.verified_at) < self.settings.ttl => {
                if now.duration_since(entry.checked_at) < self.settings.recheck {
                    CacheState::Fresh(entry.tenant.clone())
                } else {
                    CacheState::NeedsRecheck(entry.token_id.clone(), entry.tenant.clone())
                }
            }
            Some(_) => {
                cache.remove(key);
                CacheState::Miss
            }
            None => CacheState::Miss,
        }
    }

    fn remember(&self, key: [u8; 32], token_id: TokenId, tenant: AuthTenant, now: Instant) {
        let mut cache = self.cache();
        if cache.len() >= self.settings.max_entries {
            let ttl = self.settings.ttl;
            cache.retain(|_, e| now.duration_since(e.verified_at) < ttl);
            if cache.len() >= self.settings.max_entries {
                cache.clear();
            }
        }
        cache.insert(
            key,
            CacheEntry {
                token_id,
                tenant,
                verified_at: now,
                checked_at: now,
            },
        );
    }

    /// The tenant of the bearer token in `authorization`, presented with
    /// `req` (whose client address counts its failures).
    pub async fn authenticate(
        &self,
        authorization: Option<&str>,
        req: &HttpRequest,
    ) -> Result<AuthTenant, ScimError> {
        let presented = authorization
            .and_then(|value| {
                let (scheme, token) = value.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .ok_or_else(|| unauthorized("a bearer token is required"))?;
        let key = token::cache_key(presented);
        let now = Instant::now();
        match self.cached(&key, now) {
            CacheState::Fresh(tenant) => Ok(tenant),
            CacheState::NeedsRecheck(token_id, tenant) => {
                let id = token_id.clone();
                let active = self
                    .db
                    .read(move |conn| Ok(store::tokens::is_active(conn, &id)?))
                    .await?;
                if !active {
                    self.cache().remove(&key);
                    return Err(unauthorized("the token has been revoked"));
                }
                if let Some(entry) = self.cache().get_mut(&key) {
                    entry.checked_at = now;
                }
                self.record_use(token_id);
                Ok(tenant)
            }
            CacheState::Miss => {
                // Single flight: concurrent first requests with one token
                // share one argon2 verification (19 MiB and ~17 ms each),
                // so only the request that starts it is charged below.
                let (flight, started) = self.flight(key);
                let admission = if started {
                    // Before the row is read and argon2 runs: an address
                    // that has failed too often waits (429), whatever it
                    // presents.
                    // Worked out only here: a cached token needs no address.
                    let client = self.settings.trusted_proxies.client_ip(req);
                    match self.throttle.admit(client, now) {
                        Ok(admission) => Some(admission),
                        Err(throttled) => {
                            self.land(&key, &flight);
                            return Err(throttled);
                        }
                    }
                } else {
                    None
                };
                let verified = self.verify(presented, key, &flight, now).await;
                // Only a refused token spends the unit; a success, or a
                // database we could not ask, gives it back.
                if let Some(admission) = admission
                    && !matches!(verified, Err(ScimError::Unauthorized(_)))
                {
                    self.throttle.refund(admission);
                }
                verified
            }
        }
    }

    /// A token the cache does not know: its row, then argon2.
    async fn verify(
        &self,
        presented: &str,
        key: [u8; 32],
        flight: &Arc<Flight>,
        now: Instant,
    ) -> Result<AuthTenant, ScimError> {
        let parsed =
            token::parse(presented).map(|t| (t.lookup_prefix.to_owned(), t.secret.to_owned()));
        let Some(parsed) = parsed else {
            self.land(&key, flight);
            return Err(unauthorized("the token is not valid"));
        };
        let outcome = flight
            .get_or_init(|| self.verify_in_db(parsed))
            .await
            .clone();
        self.land(&key, flight);
        let (token_id, tenant) = outcome.map_err(ScimError::from)?;
        self.remember(key, token_id.clone(), tenant.clone(), now);
        self.record_use(token_id);
        Ok(tenant)
    }

    /// The verification of this token in progress, and whether this call
    /// started it (rather than joined one already under way).
    fn flight(&self, key: [u8; 32]) -> (Arc<Flight>, bool) {
        match self.in_flight().entry(key) {
            Entry::Occupied(running) => (running.get().clone(), false),
            Entry::Vacant(slot) => (slot.insert(Arc::default()).clone(), true),
        }
    }

    /// The flight is over: later misses (after a revocation, say) verify anew.
    fn land(&self, key: &[u8; 32], flight: &Arc<Flight>) {
        let mut in_flight = self.in_flight();
        if in_flight.get(key).is_some_and(|f| Arc::ptr_eq(f, flight)) {
            in_flight.remove(key);
        }
    }

    fn in_flight(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Arc<Flight>>> {
        self.in_flight
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Notes that the token was used (its `last_used_at`), off the request's
    /// path: bookkeeping never delays or fails a request.
    fn record_use(&self, token_id: TokenId) {
        let db = self.db.clone();
        actix_web::rt::spawn(async move {
            let touched = db
                .write(move |conn| Ok(store::tokens::touch(conn, &token_id)?))
                .await;
            if let Err(error) = touched {
                tracing::debug!(%error, "could not record a token's use");
            }
        });
    }

    /// The token's row (read where reads run), then argon2 on the blocking
    /// pool: never on an HTTP worker or the writer.
    async fn verify_in_db(
        &self,
        (lookup_prefix, secret): (String, String),
    ) -> Result<(TokenId, AuthTenant), Refusal> {
        let row = self
            .db
            .read(move |conn| Ok(store::tokens::find_by_lookup_prefix(conn, &lookup_prefix)?))
            .await
            .map_err(|_| Refusal::Unavailable)?
            // Unknown or revoked prefixes are refused before argon2 runs.
            .filter(|row| row.revoked_at.is_none())
            .ok_or(Refusal::NotValid)?;
        let hash = row.secret_hash.clone();
        let verified = web::block(move || token::verify_secret(&secret, &hash))
            .await
            .map_err(|_| Refusal::Unavailable)?;
        if !verified {
            return Err(Refusal::NotValid);
        }
        Ok((
            TokenId::from_string(row.id),
            AuthTenant {
                tenant_id: TenantId::from_string(row.tenant_id),
                token_label: row.label,
            },
        ))
    }
}

/// Why a verification refused a token; shared by every request in its flight.
#[derive(Debug, Clone, Copy)]
enum Refusal {
    NotValid,
    Unavailable,
}

impl From<Refusal> for ScimError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::NotValid => unauthorized("the token is not valid"),
            Refusal::Unavailable => ScimError::database_unavailable(),
        }
    }
}

/// One token's verification, awaited by every request that needs it.
type Flight = OnceCell<Result<(TokenId, AuthTenant), Refusal>>;

impl FromRequest for AuthTenant {
    type Error = ScimError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let req = req.clone();
        let authorization = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Box::pin(async move {
            let state = state.ok_or_else(|| {
                ScimError::internal(anyhow::anyhow!("application state is not configured"))
            })?;
            let tenant = state
                .auth
                .authenticate(authorization.as_deref(), &req)
                .await?;
            request_log::set_team(&req, &tenant.tenant_id);
            if let Some(limiter) = &state.rate_limit {
                limiter.admit(&tenant.tenant_id)?;
            }
            Ok(tenant)
        })
    }
}

//! Bearer-token authentication. argon2 is deliberately slow, so a verified
//! token is cached (keyed by its SHA-256, never the token itself); the cache
//! re-reads the token's row every `recheck` interval so a revocation made by
//! another process (the `scimd token revoke` CLI) takes effect within it.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use crate::http::request_log;
use crate::http::state::{AppState, Db};
use crate::scim::ScimError;
use crate::scim::ids::{TenantId, TokenId};
use crate::scim::token;
use crate::store;

/// What a request is allowed to see: exactly one tenant.
#[derive(Debug, Clone)]
pub struct AuthTenant {
    pub tenant_id: TenantId,
    pub token_label: String,
}

#[derive(Debug, Clone, Copy)]
pub struct AuthSettings {
    /// How long a revoked token may keep working in another process.
    pub recheck: Duration,
    /// After this, argon2 runs again for the token.
    pub ttl: Duration,
    pub max_entries: usize,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            recheck: Duration::from_secs(2),
            ttl: Duration::from_secs(600),
            max_entries: 10_000,
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
            settings,
            cache: Mutex::new(HashMap::new()),
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

    pub async fn authenticate(&self, authorization: Option<&str>) -> Result<AuthTenant, ScimError> {
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
                    .run(move |conn| Ok(store::tokens::check_and_touch(conn, &id)?))
                    .await?;
                if !active {
                    self.cache().remove(&key);
                    return Err(unauthorized("the token has been revoked"));
                }
                if let Some(entry) = self.cache().get_mut(&key) {
                    entry.checked_at = now;
                }
                Ok(tenant)
            }
            CacheState::Miss => {
                let parsed = token::parse(presented)
                    .map(|t| (t.lookup_prefix.to_owned(), t.secret.to_owned()))
                    .ok_or_else(|| unauthorized("the token is not valid"))?;
                let (token_id, tenant) = self.verify_in_db(parsed).await?;
                self.remember(key, token_id, tenant.clone(), now);
                Ok(tenant)
            }
        }
    }

    async fn verify_in_db(
        &self,
        (lookup_prefix, secret): (String, String),
    ) -> Result<(TokenId, AuthTenant), ScimError> {
        self.db
            .run(move |conn| {
                // Unknown or revoked prefixes are refused before argon2 runs.
                let row = store::tokens::find_by_lookup_prefix(conn, &lookup_prefix)?
                    .filter(|row| row.revoked_at.is_none())
                    .ok_or_else(|| unauthorized("the token is not valid"))?;
                if !token::verify_secret(&secret, &row.secret_hash) {
                    return Err(unauthorized("the token is not valid"));
                }
                let token_id = TokenId::from_string(row.id);
                store::tokens::check_and_touch(conn, &token_id)?;
                Ok((
                    token_id,
                    AuthTenant {
                        tenant_id: TenantId::from_string(row.tenant_id),
                        token_label: row.label,
                    },
                ))
            })
            .await
    }
}

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
            let tenant = state.auth.authenticate(authorization.as_deref()).await?;
            request_log::set_team(&req, &tenant.tenant_id);
            if let Some(limiter) = &state.rate_limit {
                limiter.admit(&tenant.tenant_id)?;
            }
            Ok(tenant)
        })
    }
}

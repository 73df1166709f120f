//! The console's session: a signed, `HttpOnly`, `SameSite=Strict` cookie
//! naming the account, the account's session epoch (a password reset or a
//! disable bumps it, ending every older session), when the session began
//! and was last used, and the CSRF token its forms carry.

use std::time::Duration;

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, CookieJar, Key, SameSite};
use rand::RngCore;

pub const COOKIE: &str = "scimd_console";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionData {
    pub account_id: String,
    pub epoch: i64,
    /// Unix seconds.
    pub issued: i64,
    pub seen: i64,
    pub csrf: String,
}

impl SessionData {
    pub fn new(account_id: String, epoch: i64, now: i64) -> SessionData {
        let mut bytes = [0u8; 24];
        rand::thread_rng().fill_bytes(&mut bytes);
        SessionData {
            account_id,
            epoch,
            issued: now,
            seen: now,
            csrf: hex::encode(bytes),
        }
    }

    fn encode(&self) -> String {
        format!(
            "{}|{}|{}|{}|{}",
            self.account_id, self.epoch, self.issued, self.seen, self.csrf
        )
    }

    fn decode(text: &str) -> Option<SessionData> {
        let mut parts = text.split('|');
        let data = SessionData {
            account_id: parts.next()?.to_owned(),
            epoch: parts.next()?.parse().ok()?,
            issued: parts.next()?.parse().ok()?,
            seen: parts.next()?.parse().ok()?,
            csrf: parts.next()?.to_owned(),
        };
        parts.next().is_none().then_some(data)
    }
}

/// Signs and checks session cookies.
pub struct Sessions {
    key: Key,
    /// A session unused this long ends.
    pub idle: Duration,
    /// A session ends this long after sign-in, used or not.
    pub lifetime: Duration,
}

impl Sessions {
    /// `secret`: at least 64 bytes, shared by every process of the deployment.
    pub fn new(secret: &[u8], idle: Duration, lifetime: Duration) -> Sessions {
        Sessions {
            key: Key::derive_from(secret),
            idle,
            lifetime,
        }
    }

    /// The cookie carrying `data`; `secure` when the browser reached us over HTTPS.
    pub fn cookie(&self, data: &SessionData, secure: bool) -> Cookie<'static> {
        let mut jar = CookieJar::new();
        let mut cookie = base_cookie(data.encode(), secure);
        cookie.set_max_age(to_cookie_age(self.lifetime));
        jar.signed_mut(&self.key).add(cookie);
        jar.get(COOKIE)
            .cloned()
            .unwrap_or_else(|| removal_cookie(secure))
    }

    /// The session the request's cookie carries, if its signature holds and
    /// neither expiry has passed at `now`.
    pub fn open(&self, req: &HttpRequest, now: i64) -> Option<SessionData> {
        let presented = req.cookie(COOKIE)?;
        let mut jar = CookieJar::new();
        jar.add_original(presented);
        let verified = jar.signed(&self.key).get(COOKIE)?;
        let data = SessionData::decode(verified.value())?;
        let age = now.saturating_sub(data.issued);
        let idle = now.saturating_sub(data.seen);
        let within = |elapsed: i64, limit: Duration| {
            u64::try_from(elapsed).is_ok_and(|e| e <= limit.as_secs())
        };
        (within(age, self.lifetime) && within(idle, self.idle)).then_some(data)
    }
}

fn base_cookie(value: String, secure: bool) -> Cookie<'static> {
    let mut cookie = Cookie::new(COOKIE, value);
    cookie.set_path("/");
    cookie.set_http_only(true);
    cookie.set_same_site(SameSite::Strict);
    cookie.set_secure(secure);
    cookie
}

fn to_cookie_age(duration: Duration) -> actix_web::cookie::time::Duration {
    actix_web::cookie::time::Duration::seconds(
        i64::try_from(duration.as_secs()).unwrap_or(i64::MAX),
    )
}

/// The cookie that ends the session in the browser.
pub fn removal_cookie(secure: bool) -> Cookie<'static> {
    let mut cookie = base_cookie(String::new(), secure);
    cookie.make_removal();
    cookie
}

/// Whether the browser reached us over HTTPS: our own TLS, or a proxy that
/// says so.
pub fn is_secure(req: &HttpRequest, served_over_tls: bool) -> bool {
    served_over_tls
        || req
            .headers()
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|proto| proto.eq_ignore_ascii_case("https"))
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Compares two secrets in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |diff, (x, y)| diff | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn sessions() -> Sessions {
        Sessions::new(
            &[7u8; 64],
            Duration::from_secs(60),
            Duration::from_secs(600),
        )
    }

    fn request_with(cookie: Cookie<'static>) -> HttpRequest {
        TestRequest::default().cookie(cookie).to_http_request()
    }

    #[test]
    fn a_signed_session_opens_until_it_expires() {
        let sessions = sessions();
        let data = SessionData::new("a1".into(), 3, 1_000);
        let cookie = sessions.cookie(&data, false);
        assert!(cookie.http_only().unwrap_or(false));
        assert_eq!(cookie.same_site(), Some(SameSite::Strict));
        let req = request_with(cookie);
        assert_eq!(sessions.open(&req, 1_030), Some(data.clone()));
        // Idle for more than a minute.
        assert_eq!(sessions.open(&req, 1_061), None);
        // Kept in use, but past its lifetime.
        let busy = SessionData {
            seen: 1_590,
            ..data
        };
        let req = request_with(sessions.cookie(&busy, false));
        assert!(sessions.open(&req, 1_600).is_some());
        assert_eq!(sessions.open(&req, 1_601), None);
    }

    #[test]
    fn a_changed_or_foreign_cookie_does_not_open() {
        let sessions = sessions();
        let data = SessionData::new("a1".into(), 0, 1_000);
        let mut cookie = sessions.cookie(&data, true);
        assert_eq!(cookie.secure(), Some(true));
        cookie.set_value(cookie.value().replace("a1|", "a2|"));
        assert_eq!(sessions.open(&request_with(cookie), 1_000), None);
        let other = Sessions::new(
            &[8u8; 64],
            Duration::from_secs(60),
            Duration::from_secs(600),
        );
        let foreign = other.cookie(&data, false);
        assert_eq!(sessions.open(&request_with(foreign), 1_000), None);
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
    }
}

//! Signing in and out, with failed sign-ins throttled per account name and
//! per client address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

use actix_web::{HttpRequest, HttpResponse, web};
use maud::html;
use serde::Deserialize;

use super::layout::{self, html_response};
use super::session::{self, SessionData};
use super::{ConsoleError, ConsoleState, Viewer, see_other};
use crate::admin;
use crate::http::bucket::Bucket;
use crate::store::accounts;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/login", web::get().to(form))
        .route("/login", web::post().to(sign_in))
        .route("/logout", web::post().to(sign_out));
}

/// Failed sign-ins allowed per account name in a burst, then one a minute.
const PER_ACCOUNT: (f64, f64) = (5.0, 1.0 / 60.0);
/// Failed sign-ins allowed per address in a burst, then one every 15 s.
const PER_ADDRESS: (f64, f64) = (20.0, 1.0 / 15.0);
/// Budgets kept before idle ones are dropped.
const MAX_KEYS: usize = 10_000;

/// Each attempt takes a unit from the account name's budget and the
/// address's; a successful one gives both back. An existing account's
/// failures are also counted in its row (`admin::sign_in_wait`), which
/// every replica shares; the per-name budget here stays so that a name
/// with no account is refused the same way as one that has one.
#[derive(Default)]
pub struct SignInThrottle {
    budgets: Mutex<HashMap<String, Bucket>>,
}

impl SignInThrottle {
    fn admit(&self, account: &str, address: Option<IpAddr>) -> Result<[String; 2], u64> {
        let now = Instant::now();
        let keys = [
            format!("account:{account}"),
            format!(
                "address:{}",
                address.map(|a| a.to_string()).unwrap_or_default()
            ),
        ];
        let mut budgets = self.budgets.lock().unwrap_or_else(|p| p.into_inner());
        if budgets.len() > MAX_KEYS {
            budgets.retain(|key, bucket| !bucket.refill(now, limit(key).0, limit(key).1));
        }
        for key in &keys {
            let (capacity, rate) = limit(key);
            let bucket = budgets
                .entry(key.clone())
                .or_insert_with(|| Bucket::full(capacity, now));
            bucket.refill(now, capacity, rate);
        }
        // Refuse before taking anything, so a refused attempt costs nothing more.
        for key in &keys {
            let (capacity, rate) = limit(key);
            if let Some(bucket) = budgets.get_mut(key)
                && let Err(wait) = bucket.take(now, capacity, rate)
            {
                for taken in keys.iter().take_while(|k| *k != key) {
                    if let Some(bucket) = budgets.get_mut(taken) {
                        bucket.give_back(limit(taken).0);
                    }
                }
                return Err(wait);
            }
        }
        Ok(keys)
    }

    fn succeeded(&self, keys: &[String; 2]) {
        let mut budgets = self.budgets.lock().unwrap_or_else(|p| p.into_inner());
        for key in keys {
            if let Some(bucket) = budgets.get_mut(key) {
                bucket.give_back(limit(key).0);
            }
        }
    }
}

fn limit(key: &str) -> (f64, f64) {
    if key.starts_with("account:") {
        PER_ACCOUNT
    } else {
        PER_ADDRESS
    }
}

fn login_page(message: Option<&str>, name: &str) -> maud::Markup {
    layout::bare(
        "Sign in",
        html! {
            h1 { "Sign in to the scimd console" }
            @if let Some(message) = message {
                p.panel.warning role="alert" { (message) }
            }
            form method="post" action="/login" {
                label for="name" { "Account" }
                input id="name" type="text" name="name" value=(name) autocomplete="username" required autofocus;
                label for="password" { "Password" }
                input id="password" type="password" name="password" autocomplete="current-password" required;
                p { button type="submit" { "Sign in" } }
            }
            p.muted { "Accounts are made on the server: " code { "scimd account create NAME --operator" } " or " code { "--tenant TEAM" } "." }
        },
    )
}

async fn form() -> HttpResponse {
    html_response(login_page(None, ""))
}

#[derive(Deserialize)]
struct Credentials {
    name: String,
    password: String,
}

async fn sign_in(
    req: HttpRequest,
    state: web::Data<ConsoleState>,
    credentials: web::Form<Credentials>,
) -> Result<HttpResponse, ConsoleError> {
    let Credentials { name, password } = credentials.into_inner();
    let key = name.trim().to_lowercase();
    let address = state.trusted_proxies.client_ip(&req);
    let keys = state
        .sign_in
        .admit(&key, address)
        .map_err(ConsoleError::Throttled)?;
    let account = state
        .db
        .read(move |conn| Ok(accounts::find_by_name(conn, &key)?))
        .await?;
    let now = chrono::Utc::now();
    if let Some(wait) = account.as_ref().and_then(|a| admin::sign_in_wait(a, now)) {
        return Err(ConsoleError::Throttled(wait));
    }
    // argon2 off the worker thread (and, on SQLite, off the one writer).
    let candidate = account.clone();
    let accepted = web::block(move || admin::password_accepted(candidate.as_ref(), &password))
        .await
        .map_err(|e| ConsoleError::Internal(e.into()))?;
    if let Some(known) = account.clone() {
        state
            .db
            .write(move |conn| Ok(admin::record_sign_in(conn, &known, accepted, now)?))
            .await?;
    }
    let Some(account) = account.clone().filter(|_| accepted) else {
        // An unknown name is not logged: it may be a password typed into
        // the wrong field.
        match &account {
            Some(known) => tracing::info!(account = %known.name, "console sign-in refused"),
            None => tracing::info!("console sign-in refused: no such account"),
        }
        let mut response = html_response(login_page(
            Some("That account name and password do not match an active account."),
            &name,
        ));
        *response.status_mut() = actix_web::http::StatusCode::UNAUTHORIZED;
        return Ok(response);
    };
    state.sign_in.succeeded(&keys);
    tracing::info!(account = %account.name, "console sign-in");
    let data = SessionData::new(
        account.id.clone(),
        account.session_epoch,
        session::unix_now(),
    );
    let secure = session::is_secure(&req, state.tls);
    let mut response = see_other("/");
    response
        .add_cookie(&state.sessions.cookie(&data, secure))
        .map_err(|e| ConsoleError::Internal(e.into()))?;
    Ok(response)
}

async fn sign_out(
    req: HttpRequest,
    state: web::Data<ConsoleState>,
    viewer: Viewer,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, ConsoleError> {
    viewer.checked(form.into_inner())?;
    let mut response = see_other("/login");
    response
        .add_cookie(&session::removal_cookie(session::is_secure(
            &req, state.tls,
        )))
        .map_err(|e| ConsoleError::Internal(e.into()))?;
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_for_an_account_then_it_waits() {
        let throttle = SignInThrottle::default();
        let address = Some(IpAddr::from([10, 0, 0, 1]));
        for _ in 0..5 {
            assert!(throttle.admit("alice", address).is_ok());
        }
        let wait = throttle.admit("alice", address).unwrap_err();
        assert!((1..=60).contains(&wait), "{wait}");
        // Another account from the same address is not held up by alice's.
        assert!(throttle.admit("bob", address).is_ok());
    }

    #[test]
    fn a_success_gives_its_attempt_back() {
        let throttle = SignInThrottle::default();
        for _ in 0..20 {
            let keys = throttle.admit("carol", None).unwrap();
            throttle.succeeded(&keys);
        }
        assert!(throttle.admit("carol", None).is_ok());
    }

    #[test]
    fn many_accounts_from_one_address_are_stopped_by_its_budget() {
        let throttle = SignInThrottle::default();
        let address = Some(IpAddr::from([10, 0, 0, 2]));
        for n in 0..20 {
            assert!(throttle.admit(&format!("user{n}"), address).is_ok());
        }
        assert!(throttle.admit("user-next", address).is_err());
    }
}

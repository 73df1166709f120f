//! Abuse limits over real TCP: failed authentications throttled per client
//! address before argon2 runs, slow clients cut by timeouts, and the bound
//! on open connections.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{Backend, TestApp, TestOptions, assert_scim_error, json};
use reqwest::Method;
use scimd::http::auth::AuthSettings;
use scimd::http::limits::ConnectionLimits;
use scimd::http::throttle::{FailureLimit, TrustedProxies, parse_trusted_proxy};

for_each_backend!(
    guessed_tokens_get_429_before_argon2_runs,
    forwarded_addresses_count_only_from_a_trusted_proxy,
);

fn throttled(failures: u32, trusted: &[&str]) -> TestOptions {
    TestOptions {
        auth: AuthSettings {
            failures: FailureLimit {
                failures,
                window: Duration::from_secs(60),
            },
            trusted_proxies: TrustedProxies::new(
                trusted
                    .iter()
                    .map(|p| parse_trusted_proxy(p).unwrap())
                    .collect(),
            ),
            ..TestOptions::default().auth
        },
        ..TestOptions::default()
    }
}

/// `token` with its secret replaced: the lookup prefix is a real token's,
/// so without the throttle argon2 would run for it.
fn wrong_secret(token: &str) -> String {
    let (prefix, secret) = token.rsplit_once('_').unwrap();
    let wrong = if secret.starts_with('A') { "B" } else { "A" };
    format!("{prefix}_{}", wrong.repeat(secret.len()))
}

/// Sends one authenticated GET as `token` with `X-Forwarded-For: xff`;
/// returns the status, `Retry-After` and how long the answer took.
async fn timed_get(
    app: &TestApp,
    token: &str,
    xff: Option<&str>,
) -> (u16, Option<String>, Duration) {
    let mut request = app
        .client
        .get(app.url("/ServiceProviderConfig"))
        .bearer_auth(token);
    if let Some(xff) = xff {
        request = request.header("x-forwarded-for", xff);
    }
    let started = Instant::now();
    let response = request.send().await.unwrap();
    let elapsed = started.elapsed();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let status = response.status().as_u16();
    if status == 429 {
        let (status, body) = json(response).await;
        assert_scim_error(status, &body, 429, None);
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .contains("failed authentications"),
            "{body}"
        );
    }
    (status, retry_after, elapsed)
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// Guesses with a real lookup prefix run argon2 until the address has spent
/// its failures; then they are answered 429 in a fraction of argon2's time
/// (no row read, no argon2). A token already verified keeps working from
/// that address; a valid token not yet verified waits like a guess.
async fn guessed_tokens_get_429_before_argon2_runs(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, throttled(5, &[])).await else {
        return;
    };
    // Verified and cached before the guessing starts.
    assert_eq!(app.get("/ServiceProviderConfig").await.status(), 200);
    let guess = wrong_secret(&app.token);
    let mut verified = Vec::new();
    for _ in 0..5 {
        let (status, _, elapsed) = timed_get(&app, &guess, None).await;
        assert_eq!(status, 401);
        verified.push(elapsed);
    }
    let mut refused = Vec::new();
    for _ in 0..40 {
        let (status, retry_after, elapsed) = timed_get(&app, &guess, None).await;
        assert_eq!(status, 429);
        // 5 failures per 60 s: one is back every 12 s.
        assert_eq!(retry_after.as_deref(), Some("12"));
        refused.push(elapsed);
    }
    let (verified, refused) = (median(verified), median(refused));
    // argon2 (19 MiB, two passes) takes milliseconds even in an optimised
    // build; a throttled answer is a hash-map lookup.
    assert!(
        verified >= Duration::from_millis(8),
        "argon2 ran for the first guesses: {verified:?}"
    );
    assert!(
        refused * 10 < verified,
        "a throttled guess costs far less than argon2: {refused:?} vs {verified:?}"
    );
    // Tokens with unknown prefixes and malformed ones are refused too.
    let unknown = format!("scimd_{}_{}", "Z".repeat(12), "Z".repeat(40));
    for token in [unknown.as_str(), "not-a-token"] {
        assert_eq!(timed_get(&app, token, None).await.0, 429);
    }
    // The cached token costs nothing to check and is never throttled.
    assert_eq!(app.get("/ServiceProviderConfig").await.status(), 200);
    // A valid token not verified yet would cost argon2: it waits too.
    let fresh = app.tenant_with_token("globex");
    let (status, retry_after, _) = timed_get(&app, &fresh, None).await;
    assert_eq!(status, 429);
    assert!(retry_after.is_some());
    // No request is answered without a token, throttled or not.
    let response = app
        .client
        .get(app.url("/ServiceProviderConfig"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

/// Behind a trusted proxy each `X-Forwarded-For` client has its own budget
/// (the proxy's own address too); from an untrusted peer the header is
/// ignored, so rotating it buys nothing.
async fn forwarded_addresses_count_only_from_a_trusted_proxy(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, throttled(3, &["127.0.0.0/8"])).await else {
        return;
    };
    let guess = wrong_secret(&app.token);
    let statuses = async |xff: Option<&str>, n: usize| {
        let mut statuses = Vec::new();
        for _ in 0..n {
            statuses.push(timed_get(&app, &guess, xff).await.0);
        }
        statuses
    };
    assert_eq!(
        statuses(Some("198.51.100.1"), 5).await,
        [401, 401, 401, 429, 429]
    );
    assert_eq!(statuses(Some("198.51.100.2"), 1).await, [401]);
    // A forged hop left of what the proxy appended changes nothing.
    assert_eq!(statuses(Some("198.51.100.2, 198.51.100.1"), 1).await, [429]);
    assert_eq!(statuses(None, 3).await, [401, 401, 401], "the proxy itself");
    assert_eq!(statuses(None, 1).await, [429]);

    let Some(app) = TestApp::spawn_with(backend, throttled(3, &["10.0.0.0/8"])).await else {
        return;
    };
    let guess = wrong_secret(&app.token);
    let mut statuses = Vec::new();
    for n in 0..5 {
        let xff = format!("198.51.100.{n}");
        statuses.push(timed_get(&app, &guess, Some(&xff)).await.0);
    }
    assert_eq!(
        statuses,
        [401, 401, 401, 429, 429],
        "the peer is not trusted"
    );
}

// The tests below never reach the database (they are about connections),
// so they run on SQLite only.

fn with_limits(limits: ConnectionLimits) -> TestOptions {
    TestOptions {
        limits,
        ..TestOptions::default()
    }
}

fn connect(app: &TestApp) -> TcpStream {
    let stream = TcpStream::connect(app.address.trim_start_matches("http://")).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    stream
}

/// Sends `bytes` one at a time, `pause` apart, while reading what the
/// server answers, until it closes the connection. Returns how many bytes
/// it took, its answer, and how long after `started` it closed.
fn trickle_until_closed(
    stream: TcpStream,
    bytes: &[u8],
    pause: Duration,
    started: Instant,
) -> (usize, String, Duration) {
    let mut reader = stream.try_clone().unwrap();
    let closed = Arc::new(AtomicBool::new(false));
    let reading = std::thread::spawn({
        let closed = closed.clone();
        move || {
            let answer = read_until_closed(&mut reader);
            closed.store(true, Ordering::SeqCst);
            (answer, started.elapsed())
        }
    });
    let mut writer = stream;
    let mut sent = 0;
    for byte in bytes {
        if closed.load(Ordering::SeqCst) || writer.write_all(std::slice::from_ref(byte)).is_err() {
            break;
        }
        sent += 1;
        std::thread::sleep(pause);
    }
    let (answer, elapsed) = reading.join().unwrap();
    (sent, answer, elapsed)
}

/// Everything the server sends until it closes the connection; fails if it
/// keeps it open past the read timeout.
fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => received.extend_from_slice(&buffer[..n]),
            // A reset after the server shut the socket is a close too.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!(
                "the connection stayed open ({e}); received {:?}",
                String::from_utf8_lossy(&received)
            ),
        }
    }
    String::from_utf8_lossy(&received).into_owned()
}

/// Reads one response head and its `Content-Length` body.
fn read_response(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut byte = [0u8; 1];
    while !received.ends_with(b"\r\n\r\n") {
        assert_eq!(stream.read(&mut byte).unwrap(), 1, "the server closed");
        received.push(byte[0]);
    }
    let head = String::from_utf8(received).unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap())
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).unwrap();
    head + &String::from_utf8(body).unwrap()
}

async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    actix_web::rt::task::spawn_blocking(work).await.unwrap()
}

/// A client that sends its headers 1 byte per second is answered 408 and
/// cut once the header timeout has passed.
#[actix_web::test]
async fn headers_sent_a_byte_a_second_get_408_at_the_header_timeout() {
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        with_limits(ConnectionLimits {
            header_timeout: Duration::from_secs(2),
            ..ConnectionLimits::default()
        }),
    )
    .await
    .unwrap();
    let stream = connect(&app);
    let (sent, answer, elapsed) = blocking(move || {
        let head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nUser-Agent: slow\r\n\r\n";
        trickle_until_closed(stream, head, Duration::from_secs(1), Instant::now())
    })
    .await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert!(sent <= 4, "cut after {sent} bytes");
    assert!(
        elapsed >= Duration::from_secs(2) && elapsed < Duration::from_secs(4),
        "cut after {elapsed:?}"
    );
}

/// actix times the head of a connection's first request only: a client that
/// sends one request and then trickles the next one's head is cut by the
/// watchdog once keep-alive plus the header timeout have passed.
#[actix_web::test]
async fn the_next_request_trickled_on_a_kept_connection_is_cut() {
    let limits = ConnectionLimits {
        header_timeout: Duration::from_secs(1),
        keep_alive: Duration::from_secs(1),
        ..ConnectionLimits::default()
    };
    let app = TestApp::spawn_with(Backend::Sqlite, with_limits(limits))
        .await
        .unwrap();
    let mut stream = connect(&app);
    let (first, sent, answer, elapsed) = blocking(move || {
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let first = read_response(&mut stream);
        let head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nUser-Agent: a-very-slow-client\r\n\r\n";
        let (sent, answer, elapsed) =
            trickle_until_closed(stream, head, Duration::from_millis(500), Instant::now());
        (first, sent, answer, elapsed)
    })
    .await;
    assert!(first.starts_with("HTTP/1.1 200"), "{first:?}");
    assert_eq!(answer, "", "no answer can be sent mid-head");
    assert!(sent < 10, "cut after {sent} bytes");
    // The allowance runs from the first answer, a moment before it was read.
    let allowance = limits.idle_allowance();
    assert!(
        elapsed + Duration::from_millis(200) >= allowance
            && elapsed < allowance + Duration::from_secs(2),
        "cut after {elapsed:?}"
    );
}

fn post_head(app: &TestApp, length: usize) -> String {
    format!(
        "POST /api/external/scim/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/scim+json\r\nContent-Length: {length}\r\n\r\n",
        app.token
    )
}

/// A body that stops half-way, or arrives a byte at a time, is answered 408
/// with a SCIM error at the body timeout, and the connection is closed.
#[actix_web::test]
async fn a_body_stopped_or_trickled_gets_408_at_the_body_timeout() {
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        with_limits(ConnectionLimits {
            body_timeout: Duration::from_secs(2),
            ..ConnectionLimits::default()
        }),
    )
    .await
    .unwrap();
    // Verified before, so the timing is the body's alone.
    assert_eq!(app.get("/ServiceProviderConfig").await.status(), 200);
    let body = common::user_body("slow@example.com").to_string();
    for pause in [None, Some(Duration::from_millis(200))] {
        let mut stream = connect(&app);
        let head = post_head(&app, body.len());
        let half = body.as_bytes()[..body.len() / 2].to_vec();
        let (_, answer, elapsed) = blocking(move || {
            let started = Instant::now();
            stream.write_all(head.as_bytes()).unwrap();
            match pause {
                None => {
                    stream.write_all(&half).unwrap();
                    trickle_until_closed(stream, &[], Duration::ZERO, started)
                }
                Some(pause) => trickle_until_closed(stream, &half, pause, started),
            }
        })
        .await;
        assert!(answer.starts_with("HTTP/1.1 408"), "{pause:?}: {answer:?}");
        assert!(
            answer.to_ascii_lowercase().contains("connection: close"),
            "{answer:?}"
        );
        let json_body = &answer[answer.find("\r\n\r\n").unwrap() + 4..];
        let json_body: serde_json::Value = serde_json::from_str(json_body).unwrap();
        assert_scim_error(408, &json_body, 408, None);
        assert!(
            elapsed >= Duration::from_secs(2) && elapsed < Duration::from_secs(5),
            "{pause:?}: answered after {elapsed:?}"
        );
    }
    // Nothing was created, and a prompt body is served as ever.
    let (status, list) = json(app.get("/Users").await).await;
    assert_eq!((status, list["totalResults"].as_u64()), (200, Some(0)));
    let (status, _) = json(
        app.request_as(
            &app.token,
            Method::POST,
            "/Users",
            Some(&common::user_body("prompt@example.com")),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201);
}

/// Beyond `max_connections` per worker, a new connection is accepted by the
/// kernel (into the backlog) but not served: it waits until a served one
/// closes, then is answered.
#[actix_web::test]
async fn connections_beyond_the_bound_wait_until_one_closes() {
    // The test server runs two workers: two connections in all.
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        with_limits(ConnectionLimits {
            max_connections: 1,
            keep_alive: Duration::from_secs(30),
            header_timeout: Duration::from_secs(30),
            ..ConnectionLimits::default()
        }),
    )
    .await
    .unwrap();
    let request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = connect(&app);
        stream.write_all(request).unwrap();
        held.push(stream);
    }
    let mut waiting = connect(&app);
    let (held, waited, answer) = blocking(move || {
        let mut held = held;
        for stream in &mut held {
            assert!(read_response(stream).starts_with("HTTP/1.1 200"));
        }
        waiting.write_all(request).unwrap();
        waiting
            .set_read_timeout(Some(Duration::from_secs(1)))
            .unwrap();
        let mut byte = [0u8; 1];
        let early = waiting.read(&mut byte);
        assert!(
            early.is_err(),
            "a third connection is served while two are open: {early:?}"
        );
        // One served connection closes: the waiting one is taken in.
        drop(held.pop());
        let started = Instant::now();
        waiting
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let answer = read_response(&mut waiting);
        (held, started.elapsed(), answer)
    })
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    assert!(waited < Duration::from_secs(2), "waited {waited:?}");
    drop(held);
}

//! The HTTP side of the load generator: one keep-alive client per server,
//! the concurrent-clients driver, and the tally of unexpected answers.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde::de::DeserializeOwned;

/// A SCIM server under test, as its clients see it.
pub struct Api {
    http: reqwest::Client,
    /// The SCIM base URL, e.g. `http://127.0.0.1:8080/api/external/scim/v2`.
    pub base: String,
    authorization: String,
    failures: AtomicU64,
    /// Kinds of failure (e.g. `PATCH /Groups → 500`), each with its count
    /// and first example.
    kinds: Mutex<Vec<(String, u64, String)>>,
}

pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
    pub latency: Duration,
    /// The status was one of those expected.
    pub ok: bool,
}

impl Reply {
    /// The body as `T`; `None` (and a recorded failure) when it is not.
    pub fn json<T: DeserializeOwned>(&self, api: &Api, what: &str) -> Option<T> {
        match serde_json::from_slice(&self.body) {
            Ok(value) => Some(value),
            Err(error) => {
                api.fail(format!("{what}: unreadable body ({error})"));
                None
            }
        }
    }
}

impl Api {
    pub fn new(base: String, token: &str, concurrency: usize) -> Api {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(concurrency.max(1))
            // Below the servers' keep-alive timeouts (5 s for actix and
            // node), so a connection idle while one client builds a group
            // is not reused just as the server closes it.
            .pool_idle_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(300))
            .build()
            .expect("an HTTP client");
        Api {
            http,
            base,
            authorization: format!("Bearer {token}"),
            failures: AtomicU64::new(0),
            kinds: Mutex::new(Vec::new()),
        }
    }

    /// Sends a request to `path` (below the SCIM base, or a full URL) and
    /// reads the whole answer. A status outside `expect`, or no answer at
    /// all, is recorded as a failure.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        expect: &[u16],
    ) -> Reply {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        };
        let mut request = self
            .http
            .request(method.clone(), &url)
            .header("Authorization", &self.authorization);
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/scim+json")
                .body(body);
        }
        let started = Instant::now();
        let answer = match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                response.bytes().await.map(|body| (status, body.to_vec()))
            }
            Err(error) => Err(error),
        };
        let latency = started.elapsed();
        match answer {
            Ok((status, body)) => {
                let ok = expect.contains(&status);
                if !ok {
                    let text = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
                    self.fail_as(
                        format!("{method} {} → {status}", resource(path)),
                        format!("{method} {path}: {status} {text}"),
                    );
                }
                Reply {
                    status,
                    body,
                    latency,
                    ok,
                }
            }
            Err(error) => {
                // The causes say what happened (refused, reset, timed out).
                let mut cause = error.to_string();
                let mut source = std::error::Error::source(&error);
                while let Some(inner) = source {
                    cause = format!("{cause}: {inner}");
                    source = inner.source();
                }
                self.fail_as(
                    format!("{method} {} → no answer", resource(path)),
                    format!("{method} {path}: {cause}"),
                );
                Reply {
                    status: 0,
                    body: Vec::new(),
                    latency,
                    ok: false,
                }
            }
        }
    }

    pub async fn get(&self, path: &str, expect: &[u16]) -> Reply {
        self.send(Method::GET, path, None, expect).await
    }

    pub async fn post(&self, path: &str, body: &serde_json::Value, expect: &[u16]) -> Reply {
        self.send(
            Method::POST,
            path,
            Some(body.to_string().into_bytes()),
            expect,
        )
        .await
    }

    pub async fn patch(&self, path: &str, body: &serde_json::Value, expect: &[u16]) -> Reply {
        self.send(
            Method::PATCH,
            path,
            Some(body.to_string().into_bytes()),
            expect,
        )
        .await
    }

    /// Records an answer that was wrong in a way the status did not show.
    pub fn fail(&self, what: String) {
        let kind = what.split(':').next().unwrap_or_default().to_owned();
        self.fail_as(kind, what);
    }

    fn fail_as(&self, kind: String, example: String) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        let mut kinds = self.kinds.lock().unwrap_or_else(|p| p.into_inner());
        match kinds.iter_mut().find(|(known, _, _)| *known == kind) {
            Some((_, count, _)) => *count += 1,
            None => kinds.push((kind, 1, example)),
        }
    }

    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    /// Each kind of failure with its count and first example.
    pub fn failure_kinds(&self) -> Vec<String> {
        self.kinds
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(kind, count, example)| format!("{kind} ×{count} (first: {example})"))
            .collect()
    }
}

/// The resource type a path names, e.g. `/Groups` for `/Groups/42?x=y`.
fn resource(path: &str) -> &str {
    let path = path.split('?').next().unwrap_or(path);
    match path.get(1..).and_then(|rest| rest.find('/')) {
        Some(end) if !path.starts_with("http") => &path[..end + 1],
        _ => path,
    }
}

/// How long a driven scenario runs.
#[derive(Clone, Copy)]
pub enum Budget {
    /// Jobs 0..n, each exactly once.
    Count(u64),
    /// Random jobs until the time is up.
    For(Duration),
}

/// Runs `job` from `concurrency` clients at once, each starting its next job
/// when the last one is answered (a closed loop, as an IdP's sync workers
/// do). A job gets its index under `Budget::Count`, a random number under
/// `Budget::For`. Returns the jobs done and the wall time.
pub async fn drive<F, Fut>(concurrency: usize, budget: Budget, job: F) -> (usize, Duration)
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let job = Arc::new(job);
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let clients: Vec<_> = (0..concurrency.max(1))
        .map(|client| {
            let job = Arc::clone(&job);
            let next = Arc::clone(&next);
            tokio::spawn(async move {
                let mut rng = StdRng::seed_from_u64(0x5C1D + client as u64);
                let mut done = 0usize;
                loop {
                    let item = match budget {
                        Budget::Count(total) => {
                            let index = next.fetch_add(1, Ordering::Relaxed);
                            if index >= total {
                                break;
                            }
                            index
                        }
                        Budget::For(duration) => {
                            if started.elapsed() >= duration {
                                break;
                            }
                            rng.r#gen::<u64>()
                        }
                    };
                    job(item).await;
                    done += 1;
                }
                done
            })
        })
        .collect();
    let mut done = 0;
    for client in clients {
        done += client.await.expect("a client task");
    }
    (done, started.elapsed())
}

/// Percent-encodes a query parameter value.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

//! Test harness: a real `scimd` over HTTP with a fresh database per test
//! (a temp SQLite file, or a fresh schema in the local PostgreSQL).
#![allow(dead_code, clippy::unwrap_used)]

pub mod process;
pub mod smtp;

use std::io::Write;
use std::sync::OnceLock;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use reqwest::{Client, Method, Response};
use scimd::admin;
use scimd::console::ConsoleSettings;
use scimd::http::auth::AuthSettings;
use scimd::http::limits::ConnectionLimits;
use scimd::jobs::JobSettings;
use scimd::startup::{Application, ServerConfig};
use scimd::store::db::{self, DbPool};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub const SCIM_PATH: &str = "/api/external/scim";

fn postgres_url() -> String {
    std::env::var("SCIMD_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://127.0.0.1:5432/test".to_owned())
}

/// PostgreSQL is required in CI (`CI=true`) and optional elsewhere, where
/// its tests are skipped with a message written past libtest's capture.
fn postgres_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        let url = postgres_url();
        match diesel::PgConnection::establish(&url) {
            Ok(_) => true,
            Err(e) => {
                let required = std::env::var("CI").is_ok_and(|v| v == "true")
                    || std::env::var("SCIMD_REQUIRE_POSTGRES").is_ok();
                assert!(
                    !required,
                    "PostgreSQL at {url} is required here but unreachable: {e}"
                );
                let _ = writeln!(
                    std::io::stderr(),
                    "\n*** PostgreSQL at {url} unreachable ({e}): PostgreSQL tests SKIPPED ***\n"
                );
                false
            }
        }
    })
}

/// Removes the test's database when the test ends.
pub enum Scratch {
    Sqlite(tempfile::TempDir),
    Postgres { schema: String },
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Scratch::Postgres { schema } = self
            && let Ok(mut conn) = diesel::PgConnection::establish(&postgres_url())
        {
            let _ = conn.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
        }
    }
}

/// A fresh, empty database for one test (a temp SQLite file, or a new schema
/// in the local PostgreSQL): its URL and the guard that removes it. `None`
/// when PostgreSQL is unavailable and not required.
pub fn scratch_database(backend: Backend) -> Option<(String, Scratch)> {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let url = dir.path().join("scimd.db").display().to_string();
            Some((url, Scratch::Sqlite(dir)))
        }
        Backend::Postgres => {
            if !postgres_available() {
                return None;
            }
            let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
            let mut conn = diesel::PgConnection::establish(&postgres_url()).unwrap();
            conn.batch_execute(&format!("CREATE SCHEMA {schema}"))
                .unwrap();
            let url = format!("{}?options=-c%20search_path%3D{schema}", postgres_url());
            Some((url, Scratch::Postgres { schema }))
        }
    }
}

pub struct TestApp {
    pub backend: Backend,
    pub address: String,
    pub client: Client,
    /// Token of tenant `acme`, the tenant most tests act as.
    pub token: String,
    pub database_url: String,
    pub pool: DbPool,
    /// The console's address, when `TestOptions::console` asked for it.
    pub console: Option<String>,
    _scratch: Scratch,
}

pub struct TestOptions {
    pub auth: AuthSettings,
    pub rate_limit: Option<u32>,
    pub jobs: JobSettings,
    pub metrics_team_label: bool,
    pub limits: ConnectionLimits,
    pub console: Option<ConsoleSettings>,
}

impl Default for TestOptions {
    fn default() -> Self {
        TestOptions {
            auth: AuthSettings {
                recheck: Duration::ZERO,
                ..AuthSettings::default()
            },
            rate_limit: None,
            jobs: JobSettings {
                poll: Duration::from_millis(100),
                ..JobSettings::default()
            },
            metrics_team_label: false,
            limits: ConnectionLimits::default(),
            console: None,
        }
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(backend, TestOptions::default()).await
    }

    /// A server whose emails go to `sink`, retried after 200 ms.
    pub async fn spawn_mailing(backend: Backend, sink: &smtp::SmtpSink) -> Option<TestApp> {
        let defaults = TestOptions::default();
        let options = TestOptions {
            jobs: JobSettings {
                smtp_url: Some(sink.url()),
                retry_base: Duration::from_millis(200),
                ..defaults.jobs
            },
            ..defaults
        };
        Self::spawn_with(backend, options).await
    }

    pub async fn spawn_with(backend: Backend, options: TestOptions) -> Option<TestApp> {
        let (database_url, scratch) = scratch_database(backend)?;
        let config = ServerConfig {
            bind: "127.0.0.1:0".into(),
            database_url: database_url.clone(),
            db: db::DbSettings {
                pool_size: 4,
                ..db::DbSettings::default()
            },
            workers: 2,
            auth: options.auth,
            rate_limit: options.rate_limit,
            jobs: options.jobs,
            access_log: false,
            metrics_team_label: options.metrics_team_label,
            limits: options.limits,
            tls: None,
            console: options.console,
        };
        let app = Application::build(&config).expect("application builds");
        let address = format!("http://127.0.0.1:{}", app.port());
        let console = app
            .console_port()
            .map(|port| format!("http://127.0.0.1:{port}"));
        actix_web::rt::spawn(app.run_until_stopped());
        let pool = db::connect(&database_url, 2).unwrap();
        let mut test_app = TestApp {
            backend,
            address,
            client: Client::new(),
            token: String::new(),
            database_url,
            pool,
            console,
            _scratch: scratch,
        };
        test_app.token = test_app.tenant_with_token("acme");
        Some(test_app)
    }

    /// Creates a tenant and returns a fresh token for it.
    pub fn tenant_with_token(&self, name: &str) -> String {
        let conn = &mut *self.pool.get().unwrap();
        let tenant = admin::create_tenant(conn, name).unwrap();
        admin::issue_token(conn, &tenant, "test").unwrap().1
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{SCIM_PATH}{path}", self.address)
    }

    pub async fn request_as(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Response {
        let mut request = self
            .client
            .request(method, self.url(path))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/scim+json")
                .body(body.to_string());
        }
        request.send().await.expect("request reaches the server")
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request_as(&self.token, Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.request_as(&self.token, Method::POST, path, Some(body))
            .await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Response {
        self.request_as(&self.token, Method::PUT, path, Some(body))
            .await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Response {
        self.request_as(&self.token, Method::PATCH, path, Some(body))
            .await
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.request_as(&self.token, Method::DELETE, path, None)
            .await
    }
}

/// Reads a response as (status, JSON body), asserting the SCIM content type
/// whenever there is a body.
pub async fn json(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = response.text().await.unwrap();
    if text.is_empty() {
        return (status, Value::Null);
    }
    assert_eq!(
        content_type.as_deref(),
        Some("application/scim+json"),
        "body: {text}"
    );
    (status, serde_json::from_str(&text).unwrap())
}

/// Asserts an RFC 7644 §3.12 error body.
pub fn assert_scim_error(status: u16, body: &Value, expected_status: u16, scim_type: Option<&str>) {
    assert_eq!(status, expected_status, "body: {body}");
    assert_eq!(
        body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error",
        "body: {body}"
    );
    assert_eq!(body["status"], expected_status.to_string(), "body: {body}");
    match scim_type {
        Some(t) => assert_eq!(body["scimType"], t, "body: {body}"),
        None => assert!(body.get("scimType").is_none(), "body: {body}"),
    }
}

/// Generates one test per backend for each named `async fn(TestApp)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[actix_web::test]
                async fn $name() {
                    let app = $crate::common::TestApp::spawn($crate::common::Backend::Sqlite)
                        .await
                        .expect("SQLite is always available");
                    super::$name(app).await;
                }
            )*
        }
        mod postgres {
            $(
                #[actix_web::test]
                async fn $name() {
                    if let Some(app) =
                        $crate::common::TestApp::spawn($crate::common::Backend::Postgres).await
                    {
                        super::$name(app).await;
                    }
                }
            )*
        }
    };
}

/// Generates one test per backend for each named `async fn(Backend)`: for
/// tests that start their servers with settings of their own.
#[macro_export]
macro_rules! for_each_backend {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[actix_web::test]
                async fn $name() {
                    super::$name($crate::common::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[actix_web::test]
                async fn $name() {
                    super::$name($crate::common::Backend::Postgres).await;
                }
            )*
        }
    };
}

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

pub fn user_body(user_name: &str) -> Value {
    serde_json::json!({
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "name": {"givenName": "Given", "familyName": "Family"},
        "emails": [{"value": user_name, "type": "work", "primary": true}],
        "active": true,
    })
}

pub fn patch_body(operations: Value) -> Value {
    serde_json::json!({"schemas": [PATCH_OP], "Operations": operations})
}

impl TestApp {
    /// Creates a user and returns its id.
    pub async fn create_user(&self, user_name: &str) -> String {
        let (status, body) = json(self.post("/Users", &user_body(user_name)).await).await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    pub async fn create_group(&self, display_name: &str, members: &[&str]) -> String {
        let members: Vec<Value> = members
            .iter()
            .map(|id| serde_json::json!({"value": id}))
            .collect();
        let body = serde_json::json!({
            "schemas": [GROUP_SCHEMA],
            "displayName": display_name,
            "members": members,
        });
        let (status, body) = json(self.post("/Groups", &body).await).await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    /// Creates users of `acme` through the service layer, skipping HTTP
    /// (for setups too large to post one by one); returns their ids.
    pub fn seed_users(&self, bodies: Vec<Value>) -> Vec<String> {
        let conn = &mut *self.pool.get().unwrap();
        let tenant = admin::find_tenant(conn, "acme").unwrap().tenant_id();
        let policy = scimd::scim::policy::Policy::default();
        let actor = scimd::scim::activity::Actor {
            token_label: "seed".into(),
            client: scimd::scim::activity::Client::Other,
        };
        let scope = scimd::service::Scope {
            tenant: &tenant,
            policy: &policy,
            actor: &actor,
            telemetry: &scimd::telemetry::DETACHED,
        };
        bodies
            .into_iter()
            .map(|body| {
                let prepared = scimd::service::users::prepare(scope.policy, body);
                scimd::service::users::create(&scope, conn, prepared)
                    .unwrap()
                    .row
                    .id
            })
            .collect()
    }

    /// Changes tenant `acme`'s policy from outside the server, as the CLI does.
    pub fn set_policy(&self, edit: impl FnOnce(&mut scimd::scim::policy::Policy)) {
        let conn = &mut *self.pool.get().unwrap();
        let tenant = admin::find_tenant(conn, "acme").unwrap();
        admin::set_policy(conn, &tenant, edit).unwrap();
    }

    pub fn acme(&self) -> scimd::scim::ids::TenantId {
        let conn = &mut *self.pool.get().unwrap();
        admin::find_tenant(conn, "acme").unwrap().tenant_id()
    }

    /// Runs the `scimd` binary against this test's database; returns stdout.
    pub fn cli(&self, args: &[&str]) -> String {
        let output = cli_output(&self.database_url, args);
        assert!(
            output.status.success(),
            "scimd {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// The card the product shows for a member, read through the store.
    pub fn card(&self, tenant: &str, member_id: &str) -> scimd::store::members::CardRow {
        let conn = &mut *self.pool.get().unwrap();
        let tenant = admin::find_tenant(conn, tenant).unwrap();
        scimd::store::members::card(
            &tenant.tenant_id(),
            conn,
            &scimd::scim::ids::MemberId::from_string(member_id.to_owned()),
        )
        .unwrap()
        .expect("member has a card")
        .0
    }
}

/// Runs the `scimd` binary with `input` on its standard input.
#[allow(dead_code)] // Only some test binaries use it.
pub fn cli_output_with_stdin(
    database_url: &str,
    args: &[&str],
    input: &str,
) -> std::process::Output {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_scimd"))
        .arg("--database-url")
        .arg(database_url)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{input}").unwrap();
    child.wait_with_output().unwrap()
}

/// Runs the `scimd` binary against a database, whatever its outcome.
pub fn cli_output(database_url: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_scimd"))
        .arg("--database-url")
        .arg(database_url)
        .args(args)
        .output()
        .unwrap()
}

/// The `Resources` of a ListResponse, after checking its envelope.
pub fn resources(body: &Value) -> &Vec<Value> {
    assert_eq!(
        body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:ListResponse",
        "{body}"
    );
    body["Resources"].as_array().unwrap()
}

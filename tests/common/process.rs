//! The real `scimd` binary as a child process, for the tests that need what
//! only a process has: its own memory (two servers on one database), a
//! `kill -9`, or its log on stderr.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use scimd::admin;
use scimd::store::db::{self, DbPool};
use serde_json::Value;

use super::{Backend, SCIM_PATH, Scratch, scratch_database};

/// A fresh database already migrated, with tenant `acme` and a token for
/// it (label `test`), for servers started on it.
pub struct Database {
    pub backend: Backend,
    pub url: String,
    /// The test's own connections, for checks below HTTP.
    pub pool: DbPool,
    pub token: String,
    _scratch: Scratch,
}

impl Database {
    /// `None` when PostgreSQL is unavailable and not required.
    pub fn new(backend: Backend) -> Option<Database> {
        let (url, scratch) = scratch_database(backend)?;
        let pool = db::connect(&url, 2).unwrap();
        let token = {
            let conn = &mut *pool.get().unwrap();
            let tenant = admin::create_tenant(conn, "acme").unwrap();
            admin::issue_token(conn, &tenant, "test").unwrap().1
        };
        Some(Database {
            backend,
            url,
            pool,
            token,
            _scratch: scratch,
        })
    }

    /// Another tenant with a token of its own.
    pub fn tenant_with_token(&self, name: &str, label: &str) -> String {
        let conn = &mut *self.pool.get().unwrap();
        let tenant = admin::create_tenant(conn, name).unwrap();
        admin::issue_token(conn, &tenant, label).unwrap().1
    }

    /// Runs a `scimd` command on this database; returns its stdout.
    pub fn cli(&self, args: &[&str]) -> String {
        let output = scimd(Path::new("."))
            .arg("--database-url")
            .arg(&self.url)
            .args(args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "scimd {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }
}

/// The binary with none of the caller's settings leaking in.
pub fn scimd(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_scimd"));
    command.current_dir(dir);
    for (name, _) in std::env::vars() {
        if name.starts_with("SCIMD_") || ["DATABASE_URL", "RUST_LOG", "NO_COLOR"].contains(&&*name)
        {
            command.env_remove(name);
        }
    }
    // Many servers run at once: the console is off unless a test asks for
    // it with --admin-bind.
    command.env("SCIMD_ADMIN_BIND", "off");
    command
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn drain(mut pipe: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}

/// A `scimd serve` child. Its stdout and stderr are pipes read to the end
/// by threads, so a chatty server never blocks on a full pipe.
pub struct Server {
    child: Child,
    pub port: u16,
    stdout: Option<JoinHandle<Vec<u8>>>,
    stderr: Option<JoinHandle<Vec<u8>>>,
}

/// What a server wrote, once it has stopped.
pub struct Output {
    pub status: std::process::ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Server {
    /// Starts `scimd serve` on `database_url` from `dir` (where a first
    /// start may write its token file) without waiting for it.
    pub fn spawn(dir: &Path, database_url: &str, args: &[&str], env: &[(&str, &str)]) -> Server {
        Server::spawn_on(dir, Some(database_url), args, env)
    }

    /// Starts `scimd serve` with no `--database-url`, on the default
    /// `scimd.db` of `dir`, as an operator's first start, and waits until
    /// it is ready.
    pub async fn start_on_default(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut server = Server::spawn_on(dir, None, args, env);
        if let Err(problem) = server.ready(Duration::from_secs(30)).await {
            panic!("{problem}");
        }
        server
    }

    fn spawn_on(
        dir: &Path,
        database_url: Option<&str>,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Server {
        let port = free_port();
        let mut command = scimd(dir);
        if let Some(url) = database_url {
            command.arg("--database-url").arg(url);
        }
        let mut child = command
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = drain(child.stdout.take().unwrap());
        let stderr = drain(child.stderr.take().unwrap());
        Server {
            child,
            port,
            stdout: Some(stdout),
            stderr: Some(stderr),
        }
    }

    /// Starts a server and waits until it is ready.
    pub async fn start(
        dir: &Path,
        database_url: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Server {
        let mut server = Server::spawn(dir, database_url, args, env);
        if let Err(problem) = server.ready(Duration::from_secs(30)).await {
            panic!("{problem}");
        }
        server
    }

    /// Waits until `/readyz` answers 200; an exit or the time-out is an
    /// error carrying the server's log.
    pub async fn ready(&mut self, within: Duration) -> Result<(), String> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                let output = self.collect(status);
                return Err(format!(
                    "scimd on port {} exited ({}) before it was ready:\n{}",
                    self.port, output.status, output.stderr
                ));
            }
            if let Ok(answer) = client.get(self.url("/readyz")).send().await
                && answer.status() == 200
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(format!(
            "scimd on port {} not ready within {within:?}",
            self.port
        ))
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The SCIM base URL.
    pub fn scim(&self) -> String {
        self.url(SCIM_PATH)
    }

    /// Sends `signal` (a name `kill` knows: `HUP`, `TERM`…) to the server.
    pub fn signal(&self, signal: &str) {
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -{signal}");
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// SIGKILL: no shutdown, no flush, nothing the process could still do.
    pub fn kill9(mut self) -> Output {
        self.child.kill().unwrap();
        let status = self.child.wait().unwrap();
        self.collect(status)
    }

    /// SIGTERM, as systemd stops it; waits for the exit.
    pub fn stop(mut self) -> Output {
        self.signal("TERM");
        let status = self.child.wait().unwrap();
        self.collect(status)
    }

    /// `stop`, and the stop was clean: exit 0, and all it wrote was UTF-8.
    pub fn stop_cleanly(self) -> Output {
        let output = self.stop();
        assert!(
            output.status.success(),
            "exit {:?}; stderr:\n{}",
            output.status,
            output.stderr
        );
        for (name, text) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
            assert!(!text.contains('\u{FFFD}'), "{name} is not UTF-8: {text}");
        }
        output
    }

    fn collect(&mut self, status: std::process::ExitStatus) -> Output {
        let bytes =
            |pipe: Option<JoinHandle<Vec<u8>>>| pipe.map(|h| h.join().unwrap()).unwrap_or_default();
        Output {
            status,
            stdout: String::from_utf8_lossy(&bytes(self.stdout.take())).into_owned(),
            stderr: String::from_utf8_lossy(&bytes(self.stderr.take())).into_owned(),
        }
    }
}

impl Drop for Server {
    /// A failed test leaves no server running.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A directory of its own for each server (a first start writes its token
/// file in the working folder).
pub fn server_dirs(count: usize) -> (tempfile::TempDir, Vec<PathBuf>) {
    let root = tempfile::tempdir().unwrap();
    let dirs = (0..count)
        .map(|i| {
            let dir = root.path().join(format!("server{i}"));
            std::fs::create_dir(&dir).unwrap();
            dir
        })
        .collect();
    (root, dirs)
}

/// Every page of a list, as id → resource.
pub async fn list_all(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    kind: &str,
) -> BTreeMap<String, Value> {
    let mut all = BTreeMap::new();
    let mut start = 1;
    loop {
        let page: Value = client
            .get(format!("{base}/{kind}?startIndex={start}&count=1000"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let resources = page["Resources"].as_array().cloned().unwrap_or_default();
        let total = page["totalResults"].as_u64().unwrap();
        for resource in &resources {
            all.insert(
                resource["id"].as_str().unwrap().to_owned(),
                resource.clone(),
            );
        }
        start += resources.len();
        if resources.is_empty() || start as u64 > total {
            assert_eq!(
                all.len() as u64,
                total,
                "a full listing has totalResults items"
            );
            return all;
        }
    }
}

//! The servers under test: started as child processes on a free loopback
//! port, waited for, measured (RSS, storage) and stopped.

pub mod peers;
pub mod scimd;

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

pub use self::scimd::Backend;

/// Where a server keeps its data.
pub enum Storage {
    Sqlite(PathBuf),
    Postgres(scimd::PostgresSchema),
    Memory,
}

pub struct Server {
    /// As printed in the tables, e.g. `scimd (SQLite)`.
    pub name: String,
    pub is_scimd: bool,
    /// The SCIM base URL.
    pub base: String,
    pub token: String,
    /// A liveness URL outside SCIM, if the server has one.
    pub health: Option<String>,
    pub storage: Storage,
    pub log: PathBuf,
    child: Child,
    /// Removed after the child is stopped (fields drop in order).
    _scratch: Option<tempfile::TempDir>,
}

/// Memory of a process, from /proc/<pid>/status, in KiB.
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    pub rss_kib: u64,
    pub peak_kib: u64,
}

impl Server {
    /// Starts `command` with its output going to `log`.
    fn spawn(command: &mut Command, log: &Path) -> anyhow::Result<Child> {
        let out = File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let err = out.try_clone()?;
        command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .with_context(|| format!("starting {:?}", command.get_program()))
    }

    /// Waits until `url` answers 200 with this server's token, or fails if
    /// the process exits or a minute passes.
    pub async fn wait_ready(&mut self, url: &str) -> anyhow::Result<()> {
        let http = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "{} exited ({status}); see {}",
                    self.name,
                    self.log.display()
                );
            }
            let answer = http.get(url).bearer_auth(&self.token).send().await;
            if answer.is_ok_and(|response| response.status() == 200) {
                return Ok(());
            }
            if started.elapsed() > Duration::from_secs(60) {
                bail!(
                    "{} did not answer {url} within a minute; see {}",
                    self.name,
                    self.log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn memory(&self) -> Option<Memory> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))?
                .split_whitespace()
                .next()?
                .parse::<u64>()
                .ok()
        };
        Some(Memory {
            rss_kib: field("VmRSS:")?,
            peak_kib: field("VmHWM:")?,
        })
    }

    /// Bytes the data takes on disk, as (key, label, bytes): the SQLite file
    /// with its WAL (and the WAL alone), or the PostgreSQL schema's tables
    /// with their indexes and TOAST.
    pub fn storage_bytes(&self) -> anyhow::Result<Vec<(&'static str, &'static str, u64)>> {
        Ok(match &self.storage {
            Storage::Sqlite(path) => {
                let size = |path: &Path| std::fs::metadata(path).map_or(0, |m| m.len());
                let file = size(path);
                let wal = size(Path::new(&format!("{}-wal", path.display())));
                vec![
                    ("storage", "database size on disk", file + wal),
                    ("storage.wal", "of which WAL", wal),
                ]
            }
            Storage::Postgres(schema) => vec![("storage", "database size on disk", schema.size()?)],
            Storage::Memory => Vec::new(),
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nobody listens on right now.
fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Runs a command to completion; its stdout on success, its output in the
/// error otherwise.
fn run(command: &mut Command) -> anyhow::Result<String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {:?}", command.get_program()))?;
    if !output.status.success() {
        bail!(
            "{:?} failed ({}):\n{}{}",
            command,
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Where the servers' logs go: kept after the run, overwritten by the next.
pub fn log_dir() -> anyhow::Result<PathBuf> {
    let dir = target_dir().join("bench-load");
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Cargo's target directory (the parent of the one it gives benches for scratch).
pub fn target_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).to_path_buf()
}

//! Command-line flags (`cargo bench --bench load -- --help`).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "load",
    about = "Load benchmark: starts scimd (and with --peers two other SCIM servers) and drives it over loopback"
)]
pub struct Args {
    /// Users the initial sync creates [default: 100000; 10000 with --peers; 200 with --smoke].
    #[arg(long = "users", short = 'n')]
    users: Option<usize>,
    /// Concurrent clients.
    #[arg(long, short = 'c', default_value_t = 16)]
    pub concurrency: usize,
    /// Seconds each read and delta scenario runs [default: 10; 2 with --smoke].
    #[arg(long)]
    duration: Option<f64>,
    /// Run scimd on PostgreSQL (a fresh schema, dropped afterwards) instead of SQLite.
    #[arg(long)]
    pub postgres: bool,
    /// With --postgres: run on SQLite as well.
    #[arg(long)]
    pub sqlite: bool,
    /// The PostgreSQL database the fresh schema goes into.
    #[arg(
        long,
        env = "SCIMD_BENCH_POSTGRES_URL",
        default_value = "postgres://127.0.0.1:5432/test"
    )]
    pub postgres_url: String,
    /// Scenarios to run, comma-separated [default: all]. The users are
    /// created (unreported) when a scenario needs them and `sync` is left out.
    #[arg(long, value_delimiter = ',')]
    only: Vec<Scenario>,
    /// Run the same scenarios against scim2-server (PyPI) and SCIMMY +
    /// scimmy-routers (npm), installed under target/bench-peers/ on first use.
    #[arg(long)]
    pub peers: bool,
    /// Write every figure as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// CI smoke run: 200 users, 2 s per scenario, 10 membership rounds, no
    /// peers; the exit status is non-zero if any request got an unexpected answer.
    #[arg(long, conflicts_with = "peers")]
    pub smoke: bool,
    /// Add/remove rounds per group in the membership scenario (fewer when
    /// they take longer than three scenario durations) [default: 200; 10 with --smoke].
    #[arg(long)]
    rounds: Option<usize>,
    /// Threads of the load generator's runtime.
    #[arg(long, default_value_t = 2)]
    pub client_threads: usize,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// The scenarios, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// Entra's first sync: per user a `userName eq` lookup (no match) then a POST.
    Sync,
    /// `userName eq` lookups of existing users.
    Lookups,
    /// `GET /Users/{id}`.
    Get,
    /// A page of 100 under load, then one client paging through every user.
    Paging,
    /// `PATCH title` and `PATCH active false`.
    Delta,
    /// Group membership: an N-member group against a 10-member one.
    Groups,
    /// `/healthz` and `/ServiceProviderConfig`: what the HTTP layer allows.
    Ceiling,
    /// scimd only: its memory after a burst of 2 MiB request bodies.
    Bodies,
}

impl Args {
    pub fn users(&self) -> usize {
        self.users.unwrap_or(if self.smoke {
            200
        } else if self.peers {
            10_000
        } else {
            100_000
        })
    }

    pub fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.duration.unwrap_or(if self.smoke { 2.0 } else { 10.0 }))
    }

    pub fn rounds(&self) -> usize {
        self.rounds.unwrap_or(if self.smoke { 10 } else { 200 })
    }

    pub fn runs(&self, scenario: Scenario) -> bool {
        self.only.is_empty() || self.only.contains(&scenario)
    }
}

//! Load benchmark (a bench binary, not a test; BENCHMARKS.md):
//!
//! ```sh
//! cargo bench --bench load                 # scimd on SQLite, 100k users
//! cargo bench --bench load -- --peers      # scimd and both peers, 10k users
//! cargo bench --bench load -- --help
//! ```
//!
//! Starts the release `scimd` binary on a fresh database (a tenant and a
//! token made with its CLI), then drives it over loopback from concurrent
//! keep-alive clients through every scenario in `scenarios`. With `--peers`
//! the same scenarios run against scim2-server and SCIMMY, so every ratio
//! comes from one run. Settings of the server under test come from its
//! environment (`SCIMD_DB_POOL_SIZE`, `SCIMD_WORKERS`, `RUST_LOG`, …).

mod cli;
mod client;
mod report;
mod scenarios;
mod servers;
mod stats;

use std::process::{Command, ExitCode};
use std::sync::Arc;

use clap::Parser;

use crate::cli::{Args, Scenario};
use crate::client::Api;
use crate::report::{Meta, ServerReport};
use crate::scenarios::Run;
use crate::servers::{Backend, Server};
use crate::stats::{Better, Figure};

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.client_threads.max(1))
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let logs = match servers::log_dir() {
        Ok(logs) => logs,
        Err(error) => {
            eprintln!("cannot create the log directory: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    let mut meta = Meta {
        date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        commit: commit(),
        machine: machine(),
        users: args.users(),
        concurrency: args.concurrency,
        duration_s: args.duration().as_secs_f64(),
        client_threads: args.client_threads,
        load_before: load_average(),
        load_after: String::new(),
    };
    println!(
        "N = {} users, {} clients, {:.0} s per timed scenario; server logs in {}",
        meta.users,
        meta.concurrency,
        meta.duration_s,
        logs.display()
    );

    let mut backends = Vec::new();
    if !args.postgres || args.sqlite {
        backends.push(Backend::Sqlite);
    }
    if args.postgres {
        backends.push(Backend::Postgres);
    }
    type Start = Box<dyn Fn() -> anyhow::Result<Server>>;
    let mut plan: Vec<(String, bool, Start)> = Vec::new();
    for backend in backends {
        let (url, logs) = (args.postgres_url.clone(), logs.clone());
        plan.push((
            format!("scimd ({})", backend.label()),
            true,
            Box::new(move || servers::scimd::start(backend, &url, &logs)),
        ));
    }
    if args.peers {
        let dir = logs.clone();
        plan.push((
            "scim2-server".into(),
            false,
            Box::new(move || servers::peers::start_scim2_server(&dir)),
        ));
        let dir = logs.clone();
        plan.push((
            "SCIMMY".into(),
            false,
            Box::new(move || servers::peers::start_scimmy(&dir)),
        ));
    }

    let mut reports = Vec::new();
    for (name, is_scimd, start) in plan {
        let outcome = start().and_then(|server| runtime.block_on(measure(&args, server)));
        reports.push(outcome.unwrap_or_else(|error| {
            println!("[{name}] NOT RUN: {error:#}");
            ServerReport {
                name,
                is_scimd,
                ran: false,
                figures: Vec::new(),
                notes: vec![format!("not run: {error:#}")],
                failures: 0,
                failure_kinds: Vec::new(),
                log: None,
            }
        }));
    }

    meta.load_after = load_average();
    let ratios = report::ratios(&reports);
    println!("\n{}", report::markdown(&meta, &reports, &ratios));
    if let Some(path) = &args.json {
        let json = serde_json::json!({"meta": meta, "servers": reports, "ratios": ratios});
        if let Err(error) = std::fs::write(path, format!("{json:#}\n")) {
            eprintln!("cannot write {}: {error}", path.display());
            return ExitCode::FAILURE;
        }
    }
    // scimd must answer every request as expected; peers are only reported.
    let broken = reports
        .iter()
        .filter(|r| r.is_scimd && (!r.ran || r.failures > 0));
    let mut status = ExitCode::SUCCESS;
    for report in broken {
        eprintln!(
            "{}: {}",
            report.name,
            if report.ran {
                format!("{} unexpected answers", report.failures)
            } else {
                "did not run".into()
            }
        );
        status = ExitCode::FAILURE;
    }
    status
}

/// Every selected scenario, in order, against one started server.
async fn measure(args: &Args, mut server: Server) -> anyhow::Result<ServerReport> {
    // scimd is waited for on /healthz, so the first SCIM requests (the sync's
    // concurrent clients) meet a cold token cache, as after a restart.
    let ready = server
        .health
        .clone()
        .unwrap_or_else(|| format!("{}/ServiceProviderConfig", server.base));
    server.wait_ready(&ready).await?;
    let idle = server.memory();
    let mut run = Run {
        server: server.name.clone(),
        api: Arc::new(Api::new(
            server.base.clone(),
            &server.token,
            args.concurrency,
        )),
        users: args.users(),
        concurrency: args.concurrency,
        duration: args.duration(),
        rounds: args.rounds(),
        figures: Vec::new(),
        notes: Vec::new(),
    };
    println!("[{}] started; log: {}", run.server, server.log.display());

    let needs_users = [
        Scenario::Lookups,
        Scenario::Get,
        Scenario::Paging,
        Scenario::Delta,
        Scenario::Groups,
    ]
    .into_iter()
    .any(|scenario| args.runs(scenario));
    let ids = if args.runs(Scenario::Sync) || needs_users {
        let ids = scenarios::sync(&mut run, args.runs(Scenario::Sync)).await;
        if let servers::Storage::Postgres(schema) = &server.storage
            && let Some(note) = schema.analyze_if_no_autovacuum()?
        {
            run.notes.push(note);
        }
        Arc::new(ids)
    } else {
        Arc::new(Vec::new())
    };
    if args.runs(Scenario::Lookups) {
        scenarios::lookups(&mut run).await;
    }
    if args.runs(Scenario::Get) {
        scenarios::get_by_id(&mut run, &ids).await;
    }
    if args.runs(Scenario::Paging) {
        scenarios::paging(&mut run).await;
    }
    if args.runs(Scenario::Delta) {
        scenarios::delta(&mut run, &ids).await;
    }
    if args.runs(Scenario::Groups) {
        scenarios::groups(&mut run, &ids).await;
    }
    if args.runs(Scenario::Ceiling) {
        scenarios::ceiling(&mut run, server.health.clone()).await;
    }
    if server.is_scimd
        && args.runs(Scenario::Bodies)
        && let Some(before) = server.memory()
    {
        scenarios::bodies(&mut run, before.rss_kib, || {
            server.memory().map(|m| m.rss_kib)
        })
        .await;
    }

    let mib = |kib: u64| kib as f64 / 1024.0;
    if let (Some(idle), Some(end)) = (idle, server.memory()) {
        for (key, label, kib) in [
            ("rss.idle", "RSS after start", idle.rss_kib),
            ("rss.end", "RSS at the end (VmRSS)", end.rss_kib),
            ("rss.peak", "RSS peak (VmHWM)", end.peak_kib),
        ] {
            run.add(Figure::number(key, label, mib(kib), "MiB", Better::Lower));
        }
    }
    for (key, label, bytes) in server.storage_bytes()? {
        let mib = bytes as f64 / (1024.0 * 1024.0);
        run.add(Figure::number(key, label, mib, "MiB", Better::Lower));
    }
    Ok(ServerReport {
        name: run.server.clone(),
        is_scimd: server.is_scimd,
        ran: true,
        failures: run.api.failures(),
        failure_kinds: run.api.failure_kinds(),
        figures: run.figures,
        notes: run.notes,
        log: Some(server.log.display().to_string()),
    })
}

/// The commit measured, marked when the work tree differs from it.
fn commit() -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .ok()
            .filter(|output| output.status.success())
            .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
    };
    let Some(head) = git(&["rev-parse", "--short", "HEAD"]) else {
        return "unknown".into();
    };
    let dirty =
        git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    if dirty {
        format!("{head} (modified)")
    } else {
        head
    }
}

/// The 1, 5 and 15 minute load averages.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".into())
}

/// Cores, CPU model and memory, from /proc.
fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|line| line.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|line| line.strip_prefix("MemTotal:"))
                .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
        })
        .map_or(String::new(), |kib| {
            format!(", {:.0} GiB", kib as f64 / 1048576.0)
        });
    format!("{cores} cores ({cpu}{memory})")
}

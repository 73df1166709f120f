//! What a run prints: a line per figure as it is measured, then a Markdown
//! table of every figure, the peer ratios, and optionally JSON.

use std::fmt::Write as _;

use serde::Serialize;

use crate::stats::{Better, Figure};

/// Everything measured on one server.
#[derive(Debug, Serialize)]
pub struct ServerReport {
    pub name: String,
    pub is_scimd: bool,
    /// False when the server could not be installed or started.
    pub ran: bool,
    pub figures: Vec<Figure>,
    pub notes: Vec<String>,
    /// Requests answered with an unexpected status, or wrongly.
    pub failures: u64,
    /// Each kind of failure with its count and first example.
    pub failure_kinds: Vec<String>,
    pub log: Option<String>,
}

/// The conditions of a run.
#[derive(Debug, Serialize)]
pub struct Meta {
    pub date: String,
    pub commit: String,
    pub machine: String,
    pub users: usize,
    pub concurrency: usize,
    pub duration_s: f64,
    pub client_threads: usize,
    /// /proc/loadavg (1, 5, 15 min) when the run started and ended: the
    /// machine may be shared.
    pub load_before: String,
    pub load_after: String,
}

/// scimd against the faster peer on one workload; `ratio` > 1 means scimd
/// is that many times faster.
#[derive(Debug, Serialize)]
pub struct Ratio {
    pub scimd: String,
    pub key: String,
    pub label: String,
    pub unit: &'static str,
    pub scimd_value: f64,
    pub peer: String,
    pub peer_value: f64,
    pub ratio: f64,
}

pub fn print_figure(server: &str, figure: &Figure) {
    let mut line = format!(
        "[{server}] {:<58} {:>14}",
        figure.label,
        value(figure.value, figure.unit)
    );
    if let Some(l) = &figure.latencies {
        let _ = write!(
            line,
            "   p50 {} p99 {} p99.9 {} ms (n={})",
            number(l.p50_ms),
            number(l.p99_ms),
            number(l.p999_ms),
            l.count
        );
    }
    println!("{line}");
}

/// A number with as many decimals as its size deserves, thousands separated.
pub fn number(value: f64) -> String {
    if !value.is_finite() {
        return "–".into();
    }
    let decimals = match value.abs() {
        v if v >= 100.0 => 0,
        v if v >= 10.0 => 1,
        v if v >= 1.0 => 2,
        _ => 3,
    };
    let text = format!("{value:.decimals$}");
    let (whole, fraction) = text
        .split_once('.')
        .map_or((text.as_str(), None), |(w, f)| (w, Some(f)));
    let (sign, digits) = whole.strip_prefix('-').map_or(("", whole), |d| ("-", d));
    let mut grouped = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    match fraction {
        Some(fraction) => format!("{sign}{grouped}.{fraction}"),
        None => format!("{sign}{grouped}"),
    }
}

fn value(value: f64, unit: &str) -> String {
    match unit {
        "×" => format!("{}×", number(value)),
        "req/s" => format!("{}/s", number(value)),
        _ => format!("{} {unit}", number(value)),
    }
}

fn find<'a>(report: &'a ServerReport, key: &str) -> Option<&'a Figure> {
    report.figures.iter().find(|figure| figure.key == key)
}

/// Every figure key, in the order the first server that has it measured it.
fn keys(reports: &[ServerReport]) -> Vec<(&str, &Figure)> {
    let mut keys: Vec<(&str, &Figure)> = Vec::new();
    for report in reports {
        for figure in &report.figures {
            if !keys.iter().any(|(key, _)| *key == figure.key) {
                keys.push((&figure.key, figure));
            }
        }
    }
    keys
}

pub fn ratios(reports: &[ServerReport]) -> Vec<Ratio> {
    let peers: Vec<&ServerReport> = reports.iter().filter(|r| !r.is_scimd && r.ran).collect();
    let mut ratios = Vec::new();
    for scimd in reports.iter().filter(|r| r.is_scimd && r.ran) {
        for figure in scimd.figures.iter().filter(|f| f.compared) {
            let faster = peers
                .iter()
                .filter_map(|peer| find(peer, &figure.key).map(|f| (peer, f.value)))
                .filter(|(_, value)| value.is_finite() && *value > 0.0)
                .reduce(|a, b| {
                    let b_faster = match figure.better {
                        Better::Higher => b.1 > a.1,
                        Better::Lower => b.1 < a.1,
                    };
                    if b_faster { b } else { a }
                });
            let Some((peer, peer_value)) = faster else {
                continue;
            };
            let ratio = match figure.better {
                Better::Higher => figure.value / peer_value,
                Better::Lower => peer_value / figure.value,
            };
            ratios.push(Ratio {
                scimd: scimd.name.clone(),
                key: figure.key.clone(),
                label: figure.label.clone(),
                unit: figure.unit,
                scimd_value: figure.value,
                peer: peer.name.clone(),
                peer_value,
                ratio,
            });
        }
    }
    ratios
}

/// The run's figures as Markdown: conditions, one table of every figure
/// with a column per server, then the ratio table when peers ran.
pub fn markdown(meta: &Meta, reports: &[ServerReport], ratios: &[Ratio]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} · commit {} · {} · load average {} before, {} after · N = {} users, {} concurrent clients, {} s per timed scenario, load generator on {} thread(s)\n",
        meta.date,
        meta.commit,
        meta.machine,
        meta.load_before,
        meta.load_after,
        number(meta.users as f64),
        meta.concurrency,
        meta.duration_s,
        meta.client_threads
    );
    let _ = write!(out, "| workload |");
    for report in reports {
        let _ = write!(out, " {} |", report.name);
    }
    let _ = write!(out, "\n|---|");
    for _ in reports {
        let _ = write!(out, "---:|");
    }
    out.push('\n');
    let cell = |report: &ServerReport, key: &str, latencies: bool| -> String {
        if !report.ran {
            return "not run".into();
        }
        match find(report, key) {
            None => "–".into(),
            Some(figure) if latencies => figure.latencies.map_or("–".into(), |l| {
                format!(
                    "{} / {} / {}",
                    number(l.p50_ms),
                    number(l.p99_ms),
                    number(l.p999_ms)
                )
            }),
            Some(figure) => value(figure.value, figure.unit),
        }
    };
    for (key, figure) in keys(reports) {
        let _ = write!(out, "| {} |", figure.label);
        for report in reports {
            let _ = write!(out, " {} |", cell(report, key, false));
        }
        out.push('\n');
        if figure.latencies.is_some() {
            let _ = write!(out, "| ↳ p50 / p99 / p99.9 ms |");
            for report in reports {
                let _ = write!(out, " {} |", cell(report, key, true));
            }
            out.push('\n');
        }
    }
    for report in reports {
        for note in &report.notes {
            let _ = writeln!(out, "\n- {}: {note}", report.name);
        }
        if report.failures > 0 {
            let _ = writeln!(
                out,
                "\n- {}: **{} unexpected answers**: {}",
                report.name,
                report.failures,
                report.failure_kinds.join("; ")
            );
        }
    }
    let mut scimds: Vec<&str> = ratios.iter().map(|r| r.scimd.as_str()).collect();
    scimds.dedup();
    for scimd in scimds {
        let _ = writeln!(
            out,
            "\n| workload | {scimd} | faster peer | scimd ÷ faster peer |\n|---|---:|---:|---:|"
        );
        for ratio in ratios.iter().filter(|r| r.scimd == scimd) {
            let _ = writeln!(
                out,
                "| {} | {} | {} ({}) | {}× |",
                ratio.label,
                value(ratio.scimd_value, ratio.unit),
                value(ratio.peer_value, ratio.unit),
                ratio.peer,
                number(ratio.ratio)
            );
        }
    }
    out
}

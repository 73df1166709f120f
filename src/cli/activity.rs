//! `scimd activity`: what the IdPs did, entry by entry or summarised.

use clap::ValueEnum;
use comfy_table::presets::UTF8_NO_BORDERS;
use comfy_table::{ContentArrangement, Table};
use scimd::scim::activity::{Grouping, LoggedEvent, SyncSummary, summarize, write_csv};
use scimd::scim::time;
use scimd::{admin, store};

use super::open;

#[derive(Clone, Copy, ValueEnum)]
enum ActivityFormat {
    Table,
    Csv,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum SummaryKind {
    /// One row per clock hour (UTC).
    Hourly,
    /// One row per run of consecutive requests.
    Runs,
}

#[derive(clap::Args)]
pub struct ActivityArgs {
    #[arg(long)]
    tenant: String,
    /// A date (2026-11-26, midnight UTC), an RFC 3339 time, or an age such
    /// as 30m, 12h, 7d.
    #[arg(long)]
    since: Option<String>,
    /// Only writes at or before this time (same forms as --since): with
    /// --since, one sync run, as the console's per-run CSV selects it.
    #[arg(long)]
    until: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    format: ActivityFormat,
    /// Summarise instead of listing each write.
    #[arg(long, value_enum)]
    summary: Option<SummaryKind>,
    /// With `--summary runs`: minutes of quiet that end a run (default: the
    /// team's policy, as the removal guard counts runs; 10 unless set).
    #[arg(long)]
    run_gap_mins: Option<i64>,
}

/// `--since` or `--until` (`flag`, named in the refusal): a date
/// (midnight UTC), an RFC 3339 time or an age (`30m`, `12h`, `7d`), in the
/// stored format.
fn moment(flag: &str, text: &str) -> anyhow::Result<String> {
    if let Some(at) = time::normalize(text) {
        return Ok(at);
    }
    if let Ok(day) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(time::format(day.and_time(chrono::NaiveTime::MIN).and_utc()));
    }
    let refused = || {
        anyhow::anyhow!(
            "{flag} {text:?}: use a date (2026-11-26, midnight UTC), an RFC 3339 time \
             (2026-11-26T18:00:00Z) or an age (30m, 12h, 7d)"
        )
    };
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let number: i64 = number.parse().map_err(|_| refused())?;
    let age = match unit {
        "m" => chrono::Duration::try_minutes(number),
        "h" => chrono::Duration::try_hours(number),
        "d" => chrono::Duration::try_days(number),
        _ => None,
    }
    .ok_or_else(refused)?;
    let at = chrono::Utc::now()
        .checked_sub_signed(age)
        .ok_or_else(refused)?;
    Ok(time::format(at))
}

pub fn run(database_url: &str, args: &ActivityArgs) -> anyhow::Result<()> {
    if args.run_gap_mins.is_some() && !matches!(args.summary, Some(SummaryKind::Runs)) {
        anyhow::bail!("--run-gap-mins only applies to --summary runs");
    }
    let pool = open(database_url)?;
    let conn = &mut *pool.get()?;
    let tenant = admin::find_tenant(conn, &args.tenant)?;
    let grouping = match args.summary {
        Some(SummaryKind::Runs) => {
            let gap = match args.run_gap_mins {
                Some(gap) => gap,
                None => i64::try_from(admin::policy(conn, &tenant)?.run_gap_mins)?,
            };
            Some(Grouping::Runs(chrono::Duration::minutes(gap)))
        }
        Some(SummaryKind::Hourly) => Some(Grouping::Hourly),
        None => None,
    };
    let since = args
        .since
        .as_deref()
        .map(|text| moment("--since", text))
        .transpose()?;
    let until = args
        .until
        .as_deref()
        .map(|text| moment("--until", text))
        .transpose()?;
    let events = store::activity::window(
        &tenant.tenant_id(),
        conn,
        since.as_deref(),
        until.as_deref(),
    )?;
    let (columns, rows): (&[&str], Vec<Vec<String>>) = match grouping {
        Some(grouping) => {
            let summaries = summarize(&events, grouping);
            if let ActivityFormat::Json = args.format {
                println!("{}", serde_json::to_string_pretty(&summaries)?);
                return Ok(());
            }
            (
                &SyncSummary::COLUMNS,
                summaries.iter().map(SyncSummary::values).collect(),
            )
        }
        None => {
            if let ActivityFormat::Json = args.format {
                println!("{}", serde_json::to_string_pretty(&events)?);
                return Ok(());
            }
            (
                &LoggedEvent::COLUMNS,
                events.iter().map(LoggedEvent::values).collect(),
            )
        }
    };
    match args.format {
        ActivityFormat::Csv => write_csv(columns, rows, std::io::stdout())?,
        ActivityFormat::Table | ActivityFormat::Json => {
            // Columns wrap to fit a terminal; piped output keeps whole lines.
            let mut table = Table::new();
            table
                .load_style(UTF8_NO_BORDERS)
                .set_content_arrangement(ContentArrangement::Dynamic)
                .set_header(columns.iter().copied())
                .add_rows(rows);
            println!("{table}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::moment;

    #[test]
    fn a_plain_date_is_midnight_utc() {
        assert_eq!(
            moment("--since", "2026-11-26").unwrap(),
            "2026-11-26T00:00:00.000000Z"
        );
        assert_eq!(
            moment("--since", "2026-11-26T18:00:00+01:00").unwrap(),
            "2026-11-26T17:00:00.000000Z"
        );
        assert!(moment("--since", "12h").unwrap() < scimd::scim::time::now());
    }

    #[test]
    fn the_refusal_names_every_accepted_form() {
        for text in ["yesterday", "2026-13-01", "12w", "99999999999999d", ""] {
            let message = moment("--since", text).unwrap_err().to_string();
            for form in ["--since", "2026-11-26", "RFC 3339", "12h"] {
                assert!(message.contains(form), "{text:?}: {message}");
            }
        }
    }
}

//! `scimd backup --to FILE`: a consistent copy of a live SQLite database,
//! taken while the server keeps writing. PostgreSQL has its own tools.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use scimd::store::{backup, db};

#[derive(clap::Args)]
pub struct BackupArgs {
    /// The new file to write (refused if it exists).
    #[arg(long, value_name = "FILE")]
    to: PathBuf,
}

pub fn run(database_url: &str, args: &BackupArgs) -> anyhow::Result<()> {
    if db::Backend::from_url(database_url) == db::Backend::Postgres {
        anyhow::bail!(
            "scimd backup copies SQLite databases; back up PostgreSQL with its own tools, \
             e.g. `pg_dump --format=custom --file=scimd.dump DATABASE_URL` (see README, Backups)"
        );
    }
    let source = db::sqlite_file(database_url)
        .with_context(|| format!("{database_url} is not a database file"))?;
    let target = std::path::absolute(&args.to).unwrap_or_else(|_| args.to.clone());
    if target.exists() {
        anyhow::bail!("{} exists already: name a new file", target.display());
    }
    // Written under a temporary name and renamed once whole and synced, so
    // a backup cut short never passes for a complete one.
    let partial = with_suffix(&target, ".partial");
    let _ = std::fs::remove_file(&partial);
    let written = copy(database_url, &partial).inspect_err(|_| {
        let _ = std::fs::remove_file(&partial);
    })?;
    std::fs::rename(&partial, &target).with_context(|| {
        format!(
            "cannot rename {} to {}",
            partial.display(),
            target.display()
        )
    })?;
    if let Some(folder) = target.parent() {
        File::open(folder).and_then(|f| f.sync_all()).ok();
    }
    println!(
        "backed up {} to {} ({written} bytes, checked)",
        source.display(),
        target.display()
    );
    Ok(())
}

/// The copy into `partial`, synced to disk and checked; its size in bytes.
fn copy(database_url: &str, partial: &Path) -> anyhow::Result<u64> {
    let path = partial
        .to_str()
        .with_context(|| format!("{} is not a UTF-8 path", partial.display()))?;
    // Owner-only, like the database's secrets deserve; VACUUM INTO takes
    // an empty file as a new one.
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(partial)
        .with_context(|| format!("cannot create {}", partial.display()))?;
    // A read: it waits on no lock but a checkpoint's brief one; no size cap.
    let mut conn = db::open_sqlite(database_url, Duration::from_secs(10), 0)
        .with_context(|| format!("cannot open {}", db::describe(database_url)))?;
    backup::vacuum_into(&mut conn, path).context("the copy failed")?;
    drop(conn);
    let file = File::open(partial)?;
    file.sync_all()
        .with_context(|| format!("cannot sync {}", partial.display()))?;
    let check = backup::quick_check(partial).map_err(anyhow::Error::msg)?;
    anyhow::ensure!(
        check == ["ok"],
        "the copy failed SQLite's check: {}",
        check.join("; ")
    );
    Ok(file.metadata()?.len())
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

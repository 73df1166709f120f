//! `scimd backup --to FILE` on a live SQLite database: taken while the real
//! server keeps acknowledging creates, the copy holds every write
//! acknowledged before the backup began, passes SQLite's check, and serves
//! again as the database of a new server.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::process::{Database, Server, list_all, server_dirs};
use common::{Backend, cli_output, user_body};
use tokio::sync::Mutex;

/// A create acknowledged with 201, and when the answer came.
type Acknowledged = Vec<(String, Instant)>;

/// Creates users on `server` until `stop`, four at a time.
fn start_writers(
    scim: String,
    token: String,
    stop: Arc<AtomicBool>,
    acknowledged: Arc<Mutex<Acknowledged>>,
) -> Vec<tokio::task::JoinHandle<u64>> {
    (0..4)
        .map(|writer| {
            let (scim, token, stop, acknowledged) = (
                scim.clone(),
                token.clone(),
                stop.clone(),
                acknowledged.clone(),
            );
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut sent = 0;
                while !stop.load(Ordering::Relaxed) {
                    let name = format!("w{writer}-{sent}@example.com");
                    sent += 1;
                    let answer = client
                        .post(format!("{scim}/Users"))
                        .bearer_auth(&token)
                        .json(&user_body(&name))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(answer.status(), 201, "{name}");
                    acknowledged.lock().await.push((name, Instant::now()));
                }
                sent
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_load_holds_every_write_acknowledged_before_it() {
    let database = Database::new(Backend::Sqlite).unwrap();
    let (_root, dirs) = server_dirs(2);
    let server = Server::start(&dirs[0], &database.url, &[], &[]).await;
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(Mutex::new(Acknowledged::new()));
    let writers = start_writers(
        server.scim(),
        database.token.clone(),
        stop.clone(),
        acknowledged.clone(),
    );
    // Enough rows that the copy takes a while, with writes landing during it.
    while acknowledged.lock().await.len() < 3000 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let copy = dirs[1].join("backup.db");
    let began = Instant::now();
    let url = database.url.clone();
    let target = copy.to_str().unwrap().to_owned();
    let output =
        tokio::task::spawn_blocking(move || cli_output(&url, &["backup", "--to", &target]))
            .await
            .unwrap();
    let ended = Instant::now();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("checked"));
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    let mut sent = 0;
    for writer in writers {
        sent += writer.await.unwrap();
    }
    let acknowledged = acknowledged.lock().await.clone();
    let before: Vec<&String> = acknowledged
        .iter()
        .filter(|(_, at)| *at < began)
        .map(|(name, _)| name)
        .collect();
    let during = acknowledged
        .iter()
        .filter(|(_, at)| (began..ended).contains(at))
        .count();
    assert!(during > 0, "no write was acknowledged while the backup ran");

    // The copy is a database a server starts on, with the same token.
    let restored_url = copy.to_str().unwrap().to_owned();
    let restored = Server::start(&dirs[1], &restored_url, &[], &[]).await;
    let names: HashSet<String> = list_all(
        &reqwest::Client::new(),
        &restored.scim(),
        &database.token,
        "Users",
    )
    .await
    .values()
    .map(|user| user["userName"].as_str().unwrap().to_owned())
    .collect();
    let missing: Vec<&&String> = before.iter().filter(|n| !names.contains(**n)).collect();
    assert!(missing.is_empty(), "lost in the backup: {missing:?}");
    let all: HashSet<&String> = acknowledged.iter().map(|(name, _)| name).collect();
    assert!(
        names.iter().all(|n| all.contains(n)),
        "the copy invented users"
    );
    assert!(
        names.len() < all.len(),
        "the copy holds writes acknowledged after it ended"
    );
    eprintln!(
        "backup: {} creates sent, {} acknowledged before it began (all {} found after restoring), \
         {during} acknowledged during its {:?}; the copy holds {}",
        sent,
        before.len(),
        before.len(),
        ended - began,
        names.len()
    );
}

#[test]
fn a_backup_is_refused_for_postgresql_and_over_an_existing_file() {
    let database = Database::new(Backend::Sqlite).unwrap();
    let existing = tempfile::NamedTempFile::new().unwrap();
    let output = cli_output(
        &database.url,
        &["backup", "--to", existing.path().to_str().unwrap()],
    );
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("exists already"));

    let output = cli_output(
        "postgres://127.0.0.1:5432/test",
        &["backup", "--to", "never-written.db"],
    );
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("pg_dump"));
    assert!(!std::path::Path::new("never-written.db").exists());
}

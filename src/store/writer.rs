//! Group commit for SQLite. SQLite has one write lock per database: pooled
//! connections racing for it sleep in its busy handler, and that makes the
//! tail latency. Instead one thread owns the write connection. Requests
//! queue their work for it; it takes whatever is queued (up to a batch),
//! runs each piece in turn inside one `BEGIN IMMEDIATE` transaction, and
//! commits the batch with one sync to disk. Each request's own
//! `write_transaction` is a savepoint inside the batch, so a failed request
//! rolls back only its own changes; a request is answered only after the
//! commit that holds it.
//!
//! Checkpoints (copying the WAL back into the database file) run on a
//! thread of their own, so the writer never stops committing to do one.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;

use diesel::SqliteConnection;
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use tokio::sync::{mpsc, oneshot};

use crate::repeats;
use crate::store::StoreError;
use crate::store::db::DbConnection;

/// Writes taken into one transaction at most: enough that a burst of
/// concurrent clients shares one commit, few enough that no request waits
/// long behind the others' work.
const MAX_BATCH: usize = 64;
/// Requests that may wait for the writer before new ones wait to queue.
const QUEUE_DEPTH: usize = 4096;

/// One request's work, waiting for the writer.
trait Queued: Send {
    /// Runs the work; what it returns hands the value over once the batch's
    /// commit outcome is known.
    fn run(self: Box<Self>, conn: &mut DbConnection) -> Box<dyn Deliver>;
    /// The work will not run: the request learns why.
    fn refuse(self: Box<Self>, error: StoreError);
}

trait Deliver: Send {
    fn deliver(self: Box<Self>, committed: Result<(), StoreError>);
}

struct Pending<F, T> {
    work: F,
    answer: oneshot::Sender<Result<T, StoreError>>,
}

struct Done<T> {
    value: T,
    answer: oneshot::Sender<Result<T, StoreError>>,
}

impl<F, T> Queued for Pending<F, T>
where
    F: FnOnce(&mut DbConnection) -> T + Send + 'static,
    T: Send + 'static,
{
    fn run(self: Box<Self>, conn: &mut DbConnection) -> Box<dyn Deliver> {
        let Pending { work, answer } = *self;
        Box::new(Done {
            value: work(conn),
            answer,
        })
    }

    fn refuse(self: Box<Self>, error: StoreError) {
        let _ = self.answer.send(Err(error));
    }
}

impl<T: Send> Deliver for Done<T> {
    fn deliver(self: Box<Self>, committed: Result<(), StoreError>) {
        let Done { value, answer } = *self;
        let _ = answer.send(committed.map(|()| value));
    }
}

/// How the writer opens (and, after a broken transaction, reopens) its connection.
pub type Connect = Box<dyn Fn() -> Result<SqliteConnection, StoreError> + Send>;

/// The handle requests queue their writes through; clones share the one
/// writer thread, which ends once every handle is dropped and the queue is
/// empty. (A server drains its requests before it stops, and each request
/// waits for its commit, so nothing is left queued at shutdown.)
#[derive(Clone)]
pub struct Writer {
    queue: mpsc::Sender<Box<dyn Queued>>,
    /// Held only to be dropped: the checkpointer stops when the last handle goes.
    _alive: Arc<()>,
}

/// How often the WAL is copied back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

fn stopped() -> StoreError {
    StoreError::Unavailable("the database writer has stopped".into())
}

impl Writer {
    /// Opens the write connection and starts the writer thread.
    pub fn start(connect: Connect) -> Result<Writer, StoreError> {
        let conn = connect()?;
        let mut checkpoints = connect()?;
        let (queue, jobs) = mpsc::channel(QUEUE_DEPTH);
        let alive = Arc::new(());
        let watched = Arc::downgrade(&alive);
        let spawn_failed =
            |e: std::io::Error| StoreError::Unavailable(format!("cannot start the writer: {e}"));
        std::thread::Builder::new()
            .name("scimd-writer".into())
            .spawn(move || run(conn, &connect, jobs))
            .map_err(spawn_failed)?;
        std::thread::Builder::new()
            .name("scimd-checkpoint".into())
            .spawn(move || {
                while watched.upgrade().is_some() {
                    std::thread::sleep(CHECKPOINT_EVERY);
                    // PASSIVE copies what no reader still needs and never
                    // blocks the writer; the writer restarts the WAL from its
                    // beginning once all of it has been copied.
                    if let Err(error) = checkpoints.batch_execute("PRAGMA wal_checkpoint(PASSIVE);")
                    {
                        let error = error.to_string();
                        if let Some(repeated) = repeats::admit(&format!("checkpoint: {error}")) {
                            tracing::warn!(%error, repeated, "checkpoint failed");
                        }
                    }
                }
            })
            .map_err(spawn_failed)?;
        Ok(Writer {
            queue,
            _alive: alive,
        })
    }

    /// Runs `work` on the write connection inside the next batch: its value
    /// once that batch is committed, or why it was not.
    pub async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut DbConnection) -> T + Send + 'static,
        T: Send + 'static,
    {
        let (answer, answered) = oneshot::channel();
        self.queue
            .send(Box::new(Pending { work, answer }))
            .await
            .map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }
}

fn run(conn: SqliteConnection, connect: &Connect, mut jobs: mpsc::Receiver<Box<dyn Queued>>) {
    let mut conn = Some(DbConnection::Sqlite(conn));
    while let Some(first) = jobs.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if conn.is_none() {
            conn = match connect() {
                Ok(c) => Some(DbConnection::Sqlite(c)),
                Err(error) => {
                    if let Some(repeated) = repeats::admit("writer: cannot reopen") {
                        tracing::warn!(%error, repeated, "writer: cannot reopen the database");
                    }
                    refuse_all(batch, &error);
                    continue;
                }
            };
        }
        if let Some(open) = conn.as_mut()
            && !commit_batch(open, batch)
        {
            // A broken transaction state: start afresh on a new connection.
            conn = None;
        }
    }
}

fn refuse_all(batch: Vec<Box<dyn Queued>>, error: &StoreError) {
    for job in batch {
        job.refuse(error.duplicate());
    }
}

fn depth(conn: &mut DbConnection) -> Option<u32> {
    let DbConnection::Sqlite(c) = conn else {
        return None;
    };
    match AnsiTransactionManager::transaction_manager_status_mut(c).transaction_depth() {
        Ok(depth) => depth.map(std::num::NonZeroU32::get),
        Err(_) => Some(u32::MAX),
    }
}

/// Whether the batch's transaction is still open. SQLite rolls a whole
/// transaction back by itself on some errors (`SQLITE_FULL` in a statement
/// without a statement journal, I/O errors), behind diesel's back. `BEGIN`
/// fails inside a transaction; if it succeeds there was none.
fn still_open(conn: &mut DbConnection) -> bool {
    let DbConnection::Sqlite(c) = conn else {
        return false;
    };
    if c.batch_execute("BEGIN").is_err() {
        return true;
    }
    let _ = c.batch_execute("ROLLBACK");
    false
}

/// Runs one batch; `false` when the connection is left in a state that is
/// not worth trusting (the caller reopens it).
fn commit_batch(conn: &mut DbConnection, batch: Vec<Box<dyn Queued>>) -> bool {
    let DbConnection::Sqlite(c) = conn else {
        refuse_all(
            batch,
            &StoreError::Unavailable("the writer serves SQLite only".into()),
        );
        return false;
    };
    if let Err(error) = AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE") {
        let error = StoreError::from(error);
        if let Some(repeated) = repeats::admit(&format!("writer: begin: {error}")) {
            tracing::warn!(%error, repeated, "writer: could not begin a batch");
        }
        refuse_all(batch, &error);
        return false;
    }
    let mut deliveries = Vec::with_capacity(batch.len());
    let mut jobs = batch.into_iter();
    while let Some(job) = jobs.next() {
        match catch_unwind(AssertUnwindSafe(|| job.run(conn))) {
            // Work that failed rolled back its own savepoint; work that left
            // one open is a bug that would swallow the next request's.
            Ok(deliver) if depth(conn) == Some(1) && still_open(conn) => deliveries.push(deliver),
            outcome => {
                if outcome.is_ok() && depth(conn) == Some(1) {
                    if let Some(repeated) = repeats::admit("writer: batch rolled back by SQLite") {
                        tracing::warn!(
                            repeated,
                            "writer: SQLite rolled the batch back itself (a full disk or an I/O \
                             error); its writes are refused"
                        );
                    }
                } else {
                    tracing::error!(
                        panicked = outcome.is_err(),
                        "writer: a request's work broke the batch; it is rolled back"
                    );
                }
                let error = StoreError::Unavailable(
                    "the write was rolled back with its batch; retry".into(),
                );
                // This request's write went with the batch too.
                if let Ok(deliver) = outcome {
                    deliveries.push(deliver);
                }
                for deliver in deliveries {
                    deliver.deliver(Err(StoreError::Unavailable(error.to_string())));
                }
                refuse_all(jobs.collect(), &error);
                if let DbConnection::Sqlite(c) = conn {
                    let _ = c.batch_execute("ROLLBACK");
                }
                return false;
            }
        }
    }
    let DbConnection::Sqlite(c) = conn else {
        return false;
    };
    let committed = AnsiTransactionManager::commit_transaction(c).map_err(StoreError::from);
    let healthy = match &committed {
        Ok(()) => true,
        Err(error) => {
            if let Some(repeated) = repeats::admit(&format!("writer: commit: {error}")) {
                tracing::warn!(%error, writes = deliveries.len(), repeated, "writer: a batch did not commit");
            }
            let _ = c.batch_execute("ROLLBACK");
            false
        }
    };
    for deliver in deliveries {
        deliver.deliver(match &committed {
            Ok(()) => Ok(()),
            Err(error) => Err(error.duplicate()),
        });
    }
    healthy
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use diesel::connection::SimpleConnection;

    use super::Writer;
    use crate::store::StoreError;
    use crate::store::db::{self, DbConnection};

    fn sqlite_conn(conn: &mut DbConnection) -> &mut diesel::SqliteConnection {
        match conn {
            DbConnection::Sqlite(c) => c,
            DbConnection::Postgres(_) => unreachable!("a SQLite writer"),
        }
    }

    /// SQLite may roll a whole transaction back by itself (a full disk, an
    /// I/O error): the request whose statement did it is refused, not told
    /// its write committed, and the next batch starts afresh.
    #[test]
    fn a_batch_sqlite_rolled_back_itself_is_refused_and_the_next_one_commits() {
        let dir = tempfile::tempdir().unwrap();
        let url = dir.path().join("w.db").display().to_string();
        db::connect(&url, 1).unwrap();
        let writer = Writer::start(Box::new(move || {
            db::open_sqlite(&url, Duration::from_secs(1), 0)
                .map_err(|e| StoreError::Unavailable(e.to_string()))
        }))
        .unwrap();
        let write = |sql: &'static str| {
            futures::executor::block_on(
                writer.write(move |conn| sqlite_conn(conn).batch_execute(sql)),
            )
        };
        assert!(matches!(write("CREATE TABLE t (x INTEGER)"), Ok(Ok(()))));
        // The first write holds the writer while the other two queue, so
        // they share the next batch: one ends SQLite's transaction, and the
        // one after it must not run outside a transaction.
        let (started, running) = std::sync::mpsc::channel();
        let first = writer.clone();
        let slow = std::thread::spawn(move || {
            futures::executor::block_on(first.write(move |conn| {
                started.send(()).unwrap();
                std::thread::sleep(Duration::from_millis(200));
                sqlite_conn(conn).batch_execute("INSERT INTO t VALUES (1)")
            }))
        });
        running.recv().unwrap();
        let vanishing = writer.write(|conn| sqlite_conn(conn).batch_execute("ROLLBACK"));
        let after =
            writer.write(|conn| sqlite_conn(conn).batch_execute("INSERT INTO t VALUES (2)"));
        let (vanishing, after) =
            futures::executor::block_on(futures::future::join(vanishing, after));
        let slow = slow.join().unwrap();
        assert!(matches!(slow, Ok(Ok(()))), "{slow:?}");
        for refused in [vanishing, after] {
            assert!(
                matches!(&refused, Err(StoreError::Unavailable(reason)) if reason.contains("rolled back")),
                "{refused:?}"
            );
        }
        let rows = futures::executor::block_on(writer.write(|conn| {
            use diesel::prelude::*;
            diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
                "(SELECT count(*) FROM t)",
            ))
            .get_result::<i64>(conn)
        }));
        assert!(matches!(rows, Ok(Ok(1))), "only the first write: {rows:?}");
    }
}

//! Store layer: diesel over SQLite or PostgreSQL. Every function takes the
//! tenant first; nothing here knows HTTP.

pub mod accounts;
pub mod activity;
pub mod backup;
pub mod db;
pub mod failed_reads;
pub mod filter;
pub mod holds;
pub mod members;
pub mod outbox;
pub mod policies;
pub mod positions;
pub mod schema;
pub mod subteams;
pub mod tenants;
pub mod tokens;
pub mod writer;

use thiserror::Error;

use crate::repeats;
use crate::scim::ScimError;

/// The diesel backend behind `DbConnection` (SQLite or PostgreSQL at run time).
pub type Db = <db::DbConnection as diesel::Connection>::Backend;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error(
        "the database's schema ({database}) is newer than this scimd's ({binary}): a newer \
         scimd migrated it. Run that version, or pass --allow-newer-schema \
         (SCIMD_ALLOW_NEWER_SCHEMA=true) to start anyway"
    )]
    NewerSchema { database: String, binary: String },
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
    /// What a failed statement said of the database, kept when one failure
    /// answers many requests (the group-commit writer's batch).
    #[error("database outage: {0:?}")]
    Outage(Outage),
}

impl StoreError {
    /// The same failure, for another request of the same batch.
    pub fn duplicate(&self) -> StoreError {
        match self {
            StoreError::Query(err) => match Outage::of(err) {
                Some(outage) => StoreError::Outage(outage),
                None => StoreError::Unavailable(err.to_string()),
            },
            StoreError::Outage(outage) => StoreError::Outage(*outage),
            other => StoreError::Unavailable(other.to_string()),
        }
    }

    pub fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            StoreError::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _
            ))
        )
    }
}

/// A database failure that is the database's state rather than a bug: the
/// client is told to retry (or that the disk is full), and the log gets one
/// line without a backtrace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outage {
    /// The connection was lost or could not be made.
    Unavailable,
    /// A statement ran past `statement_timeout` (PostgreSQL), or waited
    /// past `busy_timeout` for another connection's lock (SQLite).
    Timeout,
    /// The disk is full (SQLite's `SQLITE_FULL`, also past `max_page_count`;
    /// PostgreSQL's `53100 disk_full`).
    DiskFull,
}

impl Outage {
    /// What `err` says about the database, if it is an outage. diesel keeps
    /// neither PostgreSQL's SQLSTATE nor SQLite's result code, only the kind
    /// it knows and the message.
    pub fn of(err: &diesel::result::Error) -> Option<Outage> {
        use diesel::result::{DatabaseErrorKind, Error};
        match err {
            Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                _,
            ) => Some(Outage::Unavailable),
            Error::DatabaseError(_, info) => {
                let message = info.message();
                if message.contains("statement timeout") || message == "database is locked" {
                    Some(Outage::Timeout)
                } else if message == "database or disk is full"
                    || message.contains("No space left on device")
                {
                    Some(Outage::DiskFull)
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    fn answer(self) -> ScimError {
        match self {
            Outage::Unavailable => ScimError::database_unavailable(),
            Outage::Timeout => ScimError::ServiceUnavailable(
                "the database did not answer in time (statement timeout); retry later".into(),
            ),
            Outage::DiskFull => ScimError::InsufficientStorage(
                "the database's disk is full: the write was not made (reads still work)".into(),
            ),
        }
    }
}

impl From<StoreError> for ScimError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(reason) => {
                if let Some(repeated) = repeats::admit(&reason) {
                    tracing::warn!(%reason, repeated, "database unavailable");
                }
                ScimError::database_unavailable()
            }
            StoreError::Query(err) => err.into(),
            StoreError::Outage(outage) => outage.answer(),
            other => ScimError::internal(other),
        }
    }
}

impl From<diesel::result::Error> for ScimError {
    fn from(err: diesel::result::Error) -> Self {
        match Outage::of(&err) {
            Some(outage) => {
                let error = err.to_string();
                if let Some(repeated) = repeats::admit(&error) {
                    tracing::warn!(%error, ?outage, repeated, "database outage");
                }
                outage.answer()
            }
            None => ScimError::internal(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use diesel::result::{DatabaseErrorKind, Error};

    use super::Outage;
    use crate::scim::ScimError;

    fn database_error(kind: DatabaseErrorKind, message: &str) -> Error {
        Error::DatabaseError(kind, Box::new(message.to_owned()))
    }

    #[test]
    fn outages_are_told_from_bugs_by_kind_and_message() {
        let unknown = DatabaseErrorKind::Unknown;
        for (error, outage) in [
            (
                database_error(
                    DatabaseErrorKind::ClosedConnection,
                    "server closed the connection",
                ),
                Some(Outage::Unavailable),
            ),
            (
                database_error(unknown, "canceling statement due to statement timeout"),
                Some(Outage::Timeout),
            ),
            (
                database_error(unknown, "database is locked"),
                Some(Outage::Timeout),
            ),
            (
                database_error(unknown, "database or disk is full"),
                Some(Outage::DiskFull),
            ),
            (
                database_error(
                    unknown,
                    "could not extend file \"base/16384/16397\": No space left on device",
                ),
                Some(Outage::DiskFull),
            ),
            (
                database_error(unknown, "syntax error at or near \"x\""),
                None,
            ),
            (
                database_error(DatabaseErrorKind::UniqueViolation, "duplicate key value"),
                None,
            ),
            (Error::NotFound, None),
        ] {
            assert_eq!(Outage::of(&error), outage, "{error}");
        }
    }

    #[test]
    fn outages_answer_503_or_507_and_bugs_500() {
        let status = |message: &str| {
            ScimError::from(database_error(DatabaseErrorKind::Unknown, message)).status()
        };
        assert_eq!(status("canceling statement due to statement timeout"), 503);
        assert_eq!(status("database or disk is full"), 507);
        assert_eq!(status("relation \"x\" does not exist"), 500);
    }
}

//! Store layer: diesel over SQLite or PostgreSQL. Every function takes the
//! tenant first; nothing here knows HTTP.

pub mod activity;
pub mod backup;
pub mod db;
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
}

impl StoreError {
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

impl From<StoreError> for ScimError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(_) => ScimError::ServiceUnavailable,
            other => ScimError::internal(other),
        }
    }
}

impl From<diesel::result::Error> for ScimError {
    fn from(err: diesel::result::Error) -> Self {
        ScimError::internal(err)
    }
}

//! The consumer runtime's one error type, shared with the read models it runs: what can stop a
//! projector, and what a read-model query can answer instead of rows.

use std::time::Duration;

use application::{EventFailure, EventLogError, ReactionError};

#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    /// An event the projector cannot apply (it does not decode, or contradicts the read model).
    /// The projection stops at it and never skips it.
    #[error(transparent)]
    Event(#[from] EventFailure),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    EventLog(#[from] EventLogError),
    /// A read-model row that does not read back (a defect or a hand edit): answer 500.
    #[error("read-model row is invalid: {0}")]
    Corrupt(String),
    /// The read models had not processed `position` when `timeout` ran out: the API answers
    /// 503 `stale_read`.
    #[error("the read models have not reached position {position} within {timeout:?}")]
    Stale { position: i64, timeout: Duration },
    /// No committed event has `position` (it is from another database, or in the future).
    #[error("no event has position {0}")]
    UnknownPosition(i64),
    #[error("no projection is named `{0}`")]
    UnknownProjection(String),
    /// A policy or saga writes no read model; replaying it would send its commands again.
    #[error("`{0}` is a policy, not a read model: it has no tables to rebuild")]
    NotRebuildable(String),
    /// Another rebuild of the projection runs (in this process or another).
    #[error("a rebuild of `{0}` is already running")]
    RebuildRunning(String),
    /// The in-memory database a replay runs in could not be opened.
    #[error("scratch database: {0}")]
    Scratch(#[from] crate::StoreError),
    /// A read-model table is missing or has a column type rebuilds cannot carry yet.
    #[error("table `{table}`: {reason}")]
    TableShape { table: String, reason: String },
}

impl From<ReactionError> for ProjectionError {
    fn from(error: ReactionError) -> Self {
        match error {
            ReactionError::Event(failure) => ProjectionError::Event(failure),
            ReactionError::EventLog(error) => ProjectionError::EventLog(error),
        }
    }
}

impl ProjectionError {
    /// The position of the event the error is about, when it is about one.
    pub fn position(&self) -> Option<i64> {
        match self {
            ProjectionError::Event(failure) => Some(failure.position),
            _ => None,
        }
    }

    /// Worth retrying as is: the database was unreachable or asked for a retry. Anything else
    /// (a bad event, a constraint the SQL breaks) would fail the same way again.
    pub fn is_transient(&self) -> bool {
        match self {
            ProjectionError::Database(error) => is_transient_sqlx(error),
            ProjectionError::EventLog(EventLogError::Storage(_)) => true,
            _ => false,
        }
    }
}

fn is_transient_sqlx(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                // SQLite reports extended codes; the primary one is the low byte: BUSY (5) and
                // LOCKED (6) in all their variants.
                code.parse::<i32>()
                    .is_ok_and(|code| matches!(code & 0xff, 5 | 6))
            } else {
                // Postgres SQLSTATE classes: connection exception (08), transaction rollback such
                // as serialization failures and deadlocks (40), operator intervention (57).
                ["08", "40", "57"]
                    .iter()
                    .any(|class| code.starts_with(class))
            }
        }
        _ => false,
    }
}

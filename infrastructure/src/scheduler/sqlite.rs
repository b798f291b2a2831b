//! Claiming timers on SQLite. Writes go through the store's single writer connection, one
//! statement each, so a claim is atomic without an explicit transaction (and without Postgres's
//! `SKIP LOCKED`) and never holds the writer across an await. Leases run on this process's wall
//! clock (SQLite serves one process).

use std::time::Duration;

use application::scheduler::SchedulerError;
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqlitePool;

use super::{storage_error, TIMER_COLUMNS};
use crate::portable::{self, Pool, Row};

/// Claims up to `limit` timers due at `now` for `lease`; the rows hold the timer columns.
pub(super) async fn claim_due(
    writer: &SqlitePool,
    now: DateTime<Utc>,
    limit: u32,
    lease: Duration,
) -> Result<Vec<Row>, SchedulerError> {
    let wall = Utc::now();
    let lease = chrono::Duration::from_std(lease)
        .map_err(|_| SchedulerError::Storage(format!("lease {lease:?} is out of range")))?;
    let sql = format!(
        "UPDATE timers SET claimed_until = $1
          WHERE id IN (SELECT id FROM timers
                        WHERE fired_at IS NULL AND due_at <= $2
                          AND (claimed_until IS NULL OR claimed_until <= $3)
                        ORDER BY due_at, id
                        LIMIT $4)
         RETURNING {TIMER_COLUMNS}"
    );
    portable::query(&sql)
        .bind(wall + lease)
        .bind(now)
        .bind(wall)
        .bind(i64::from(limit))
        .fetch_all(Pool::Sqlite(writer.clone()))
        .await
        .map_err(storage_error)
}

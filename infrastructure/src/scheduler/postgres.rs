//! Claiming timers on Postgres. Claims take the due rows with `FOR UPDATE SKIP LOCKED` and stamp
//! their lease in the same statement: a row another claimer has locked is skipped, and one it has
//! already claimed fails the lease condition when Postgres re-checks the row after the lock.
//! Leases run on the database's clock, the one clock every replica shares.

use std::time::Duration;

use application::scheduler::SchedulerError;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgPool;

use super::storage_error;
use crate::portable::Row;

/// Claims up to `limit` timers due at `now` for `lease`; the rows hold the timer columns.
pub(super) async fn claim_due(
    pool: &PgPool,
    now: DateTime<Utc>,
    limit: u32,
    lease: Duration,
) -> Result<Vec<Row>, SchedulerError> {
    let rows = sqlx::query(
        "WITH due AS (
             SELECT id FROM timers
              WHERE fired_at IS NULL AND due_at <= $1
                AND (claimed_until IS NULL OR claimed_until <= clock_timestamp())
              ORDER BY due_at, id
              LIMIT $2
                FOR UPDATE SKIP LOCKED
         )
         UPDATE timers t
            SET claimed_until = clock_timestamp() + make_interval(secs => $3)
           FROM due
          WHERE t.id = due.id
         RETURNING t.id, t.kind, t.aggregate_id, t.due_at, t.dedupe_key",
    )
    .bind(now)
    .bind(i64::from(limit))
    .bind(lease.as_secs_f64())
    .fetch_all(pool)
    .await
    .map_err(storage_error)?;
    Ok(rows.into_iter().map(Row::Postgres).collect())
}

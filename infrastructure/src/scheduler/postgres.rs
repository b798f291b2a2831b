//! Timers on Postgres. Claims take the due rows with `FOR UPDATE SKIP LOCKED` and stamp their
//! lease in the same statement: a row another claimer has locked is skipped, and one it has
//! already claimed fails the lease condition when Postgres re-checks the row after the lock.
//! Leases run on the database's clock, the one clock every replica shares.

use std::time::Duration;

use application::scheduler::{NewTimer, SchedulerError, Timer};
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgPool, PgRow};
use sqlx::Row;
use uuid::Uuid;

use super::{parse_kind, storage_error, TimerBacklog, BACKLOG_SQL, TIMER_COLUMNS};

pub(super) async fn schedule(pool: &PgPool, timer: NewTimer) -> Result<Timer, SchedulerError> {
    let inserted = sqlx::query(&format!(
        "INSERT INTO timers (id, kind, aggregate_id, due_at, dedupe_key)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (dedupe_key) DO NOTHING
         RETURNING {TIMER_COLUMNS}"
    ))
    .bind(Uuid::new_v4())
    .bind(timer.kind.as_str())
    .bind(&timer.aggregate_id)
    .bind(timer.due_at)
    .bind(&timer.dedupe_key)
    .fetch_optional(pool)
    .await
    .map_err(storage_error)?;
    let row = match inserted {
        Some(row) => row,
        // The key was scheduled before: the first scheduling stands.
        None => sqlx::query(&format!(
            "SELECT {TIMER_COLUMNS} FROM timers WHERE dedupe_key = $1"
        ))
        .bind(&timer.dedupe_key)
        .fetch_one(pool)
        .await
        .map_err(storage_error)?,
    };
    timer_from(&row)
}

pub(super) async fn claim_due(
    pool: &PgPool,
    now: DateTime<Utc>,
    limit: u32,
    lease: Duration,
) -> Result<Vec<Timer>, SchedulerError> {
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
    rows.iter().map(timer_from).collect()
}

pub(super) async fn complete(pool: &PgPool, id: Uuid) -> Result<(), SchedulerError> {
    sqlx::query(
        "UPDATE timers SET fired_at = clock_timestamp(), claimed_until = NULL
          WHERE id = $1 AND fired_at IS NULL",
    )
    .bind(id)
    .execute(pool)
    .await
    .map_err(storage_error)?;
    Ok(())
}

pub(super) async fn cancel(pool: &PgPool, aggregate_id: &str) -> Result<u64, SchedulerError> {
    let done = sqlx::query(
        "UPDATE timers SET fired_at = clock_timestamp(), claimed_until = NULL
          WHERE aggregate_id = $1 AND fired_at IS NULL",
    )
    .bind(aggregate_id)
    .execute(pool)
    .await
    .map_err(storage_error)?;
    Ok(done.rows_affected())
}

pub(super) async fn next_due(pool: &PgPool) -> Result<Option<DateTime<Utc>>, SchedulerError> {
    sqlx::query_scalar("SELECT min(due_at) FROM timers WHERE fired_at IS NULL")
        .fetch_one(pool)
        .await
        .map_err(storage_error)
}

pub(super) async fn backlog(
    pool: &PgPool,
    now: DateTime<Utc>,
    overdue_cutoff: DateTime<Utc>,
) -> Result<TimerBacklog, SchedulerError> {
    let row = sqlx::query(BACKLOG_SQL)
        .bind(now)
        .bind(overdue_cutoff)
        .fetch_one(pool)
        .await
        .map_err(storage_error)?;
    Ok(TimerBacklog {
        due: row.get("due"),
        overdue: row.get("overdue"),
    })
}

fn timer_from(row: &PgRow) -> Result<Timer, SchedulerError> {
    Ok(Timer {
        id: row.get("id"),
        kind: parse_kind(row.get("kind"))?,
        aggregate_id: row.get("aggregate_id"),
        due_at: row.get("due_at"),
        dedupe_key: row.get("dedupe_key"),
    })
}

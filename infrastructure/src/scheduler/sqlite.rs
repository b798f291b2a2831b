//! Timers on SQLite. Writes go through the store's single writer connection, one statement
//! each, so a claim is atomic without an explicit transaction and never holds the writer across
//! an await. Times are stored as fixed-width RFC 3339 text (six fractional digits, `Z`), whose
//! text order is time order; leases run on this process's wall clock (SQLite serves one process).

use std::time::Duration;

use application::scheduler::{NewTimer, SchedulerError, Timer};
use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::Row;
use uuid::Uuid;

use super::{parse_kind, storage_error, TimerBacklog, BACKLOG_SQL, TIMER_COLUMNS};

pub(super) async fn schedule(
    writer: &SqlitePool,
    timer: NewTimer,
) -> Result<Timer, SchedulerError> {
    let inserted = sqlx::query(&format!(
        "INSERT INTO timers (id, kind, aggregate_id, due_at, dedupe_key, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (dedupe_key) DO NOTHING
         RETURNING {TIMER_COLUMNS}"
    ))
    .bind(Uuid::new_v4().to_string())
    .bind(timer.kind.as_str())
    .bind(&timer.aggregate_id)
    .bind(text(timer.due_at))
    .bind(&timer.dedupe_key)
    .bind(text(Utc::now()))
    .fetch_optional(writer)
    .await
    .map_err(storage_error)?;
    let row = match inserted {
        Some(row) => row,
        // The key was scheduled before: the first scheduling stands.
        None => sqlx::query(&format!(
            "SELECT {TIMER_COLUMNS} FROM timers WHERE dedupe_key = $1"
        ))
        .bind(&timer.dedupe_key)
        .fetch_one(writer)
        .await
        .map_err(storage_error)?,
    };
    timer_from(&row)
}

pub(super) async fn claim_due(
    writer: &SqlitePool,
    now: DateTime<Utc>,
    limit: u32,
    lease: Duration,
) -> Result<Vec<Timer>, SchedulerError> {
    let wall = Utc::now();
    let lease = chrono::Duration::from_std(lease)
        .map_err(|_| SchedulerError::Storage(format!("lease {lease:?} is out of range")))?;
    let rows = sqlx::query(&format!(
        "UPDATE timers SET claimed_until = $1
          WHERE id IN (SELECT id FROM timers
                        WHERE fired_at IS NULL AND due_at <= $2
                          AND (claimed_until IS NULL OR claimed_until <= $3)
                        ORDER BY due_at, id
                        LIMIT $4)
         RETURNING {TIMER_COLUMNS}"
    ))
    .bind(text(wall + lease))
    .bind(text(now))
    .bind(text(wall))
    .bind(i64::from(limit))
    .fetch_all(writer)
    .await
    .map_err(storage_error)?;
    rows.iter().map(timer_from).collect()
}

pub(super) async fn complete(writer: &SqlitePool, id: Uuid) -> Result<(), SchedulerError> {
    sqlx::query(
        "UPDATE timers SET fired_at = $1, claimed_until = NULL
          WHERE id = $2 AND fired_at IS NULL",
    )
    .bind(text(Utc::now()))
    .bind(id.to_string())
    .execute(writer)
    .await
    .map_err(storage_error)?;
    Ok(())
}

pub(super) async fn cancel(writer: &SqlitePool, aggregate_id: &str) -> Result<u64, SchedulerError> {
    let done = sqlx::query(
        "UPDATE timers SET fired_at = $1, claimed_until = NULL
          WHERE aggregate_id = $2 AND fired_at IS NULL",
    )
    .bind(text(Utc::now()))
    .bind(aggregate_id)
    .execute(writer)
    .await
    .map_err(storage_error)?;
    Ok(done.rows_affected())
}

pub(super) async fn next_due(
    readers: &SqlitePool,
) -> Result<Option<DateTime<Utc>>, SchedulerError> {
    let earliest: Option<String> =
        sqlx::query_scalar("SELECT min(due_at) FROM timers WHERE fired_at IS NULL")
            .fetch_one(readers)
            .await
            .map_err(storage_error)?;
    earliest.as_deref().map(parse_time).transpose()
}

pub(super) async fn backlog(
    readers: &SqlitePool,
    now: DateTime<Utc>,
    overdue_cutoff: DateTime<Utc>,
) -> Result<TimerBacklog, SchedulerError> {
    let row = sqlx::query(BACKLOG_SQL)
        .bind(text(now))
        .bind(text(overdue_cutoff))
        .fetch_one(readers)
        .await
        .map_err(storage_error)?;
    Ok(TimerBacklog {
        due: row.get("due"),
        overdue: row.get("overdue"),
    })
}

/// The stored form: fixed width, so comparing text compares times.
fn text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn parse_time(raw: &str) -> Result<DateTime<Utc>, SchedulerError> {
    DateTime::parse_from_rfc3339(raw)
        .map(|at| at.to_utc())
        .map_err(|e| SchedulerError::Corrupt(format!("time `{raw}`: {e}")))
}

fn timer_from(row: &SqliteRow) -> Result<Timer, SchedulerError> {
    let id: String = row.get("id");
    Ok(Timer {
        id: Uuid::parse_str(&id).map_err(|e| SchedulerError::Corrupt(format!("id `{id}`: {e}")))?,
        kind: parse_kind(row.get("kind"))?,
        aggregate_id: row.get("aggregate_id"),
        due_at: parse_time(row.get("due_at"))?,
        dedupe_key: row.get("dedupe_key"),
    })
}

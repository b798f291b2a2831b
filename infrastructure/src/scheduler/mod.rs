//! The scheduler port on the configured store: the `timers` table on Postgres or SQLite (see
//! migration `0004_timers.sql`). Every operation is one statement, so no transaction is ever held
//! across an await (on SQLite the store has a single writer connection). Only claiming
//! (`postgres`, `sqlite`) and the clock that stamps a write ([`Stamp`]) differ between the
//! backends; the rest is written once.

use std::time::Duration;

use application::scheduler::{NewTimer, Scheduler, SchedulerError, Timer, TimerKind};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::portable::{self, Pool, Row, Value};
use crate::store::Store;

mod postgres;
mod sqlite;

/// Unfired timers that are due, for the operations gauges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimerBacklog {
    /// Due at or before now and not fired yet.
    pub due: i64,
    /// Of those, due at or before the overdue cutoff: the firing worker is behind or stuck.
    pub overdue: i64,
}

impl Store {
    /// How many unfired timers are due at `now`, and how many were already due at
    /// `overdue_cutoff` (earlier than `now`).
    pub async fn timer_backlog(
        &self,
        now: DateTime<Utc>,
        overdue_cutoff: DateTime<Utc>,
    ) -> Result<TimerBacklog, SchedulerError> {
        let row = portable::query(
            "SELECT count(*) AS due,
                    coalesce(sum(CASE WHEN due_at <= $2 THEN 1 ELSE 0 END), 0) AS overdue
               FROM timers WHERE fired_at IS NULL AND due_at <= $1",
        )
        .bind(now)
        .bind(overdue_cutoff)
        .fetch_one(self.reader())
        .await
        .map_err(storage_error)?;
        Ok(TimerBacklog {
            due: row.get("due"),
            overdue: row.get("overdue"),
        })
    }
}

/// The columns every query returns, in the order [`Timer`] is built from.
const TIMER_COLUMNS: &str = "id, kind, aggregate_id, due_at, dedupe_key";

impl Scheduler for Store {
    async fn schedule(&self, timer: NewTimer) -> Result<Timer, SchedulerError> {
        let created = Stamp::new(&self.writer(), 6);
        let sql = format!(
            "INSERT INTO timers (id, kind, aggregate_id, due_at, dedupe_key, created_at)
             VALUES ($1, $2, $3, $4, $5, {created})
             ON CONFLICT (dedupe_key) DO NOTHING
             RETURNING {TIMER_COLUMNS}"
        );
        let insert = portable::query(&sql)
            .bind(Uuid::new_v4())
            .bind(timer.kind.as_str())
            .bind(&timer.aggregate_id)
            .bind(ceil_to_micros(timer.due_at))
            .bind(&timer.dedupe_key);
        let inserted = created
            .bind(insert)
            .fetch_optional(self.writer())
            .await
            .map_err(storage_error)?;
        let row = match inserted {
            Some(row) => row,
            // The key was scheduled before: the first scheduling stands.
            None => {
                let sql = format!("SELECT {TIMER_COLUMNS} FROM timers WHERE dedupe_key = $1");
                portable::query(&sql)
                    .bind(&timer.dedupe_key)
                    .fetch_one(self.writer())
                    .await
                    .map_err(storage_error)?
            }
        };
        timer_from(&row)
    }

    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<Timer>, SchedulerError> {
        let rows = match self {
            Store::Postgres(log) => postgres::claim_due(log.pool(), now, limit, lease).await,
            Store::Sqlite(log) => sqlite::claim_due(log.writer(), now, limit, lease).await,
        }?;
        let mut claimed = rows.iter().map(timer_from).collect::<Result<Vec<_>, _>>()?;
        // `UPDATE … RETURNING` does not keep the order of the rows it picked.
        claimed.sort_by_key(|timer| (timer.due_at, timer.id));
        Ok(claimed)
    }

    async fn complete(&self, id: Uuid) -> Result<(), SchedulerError> {
        self.fire("id", id.into()).await.map(|_| ())
    }

    async fn cancel(&self, aggregate_id: &str) -> Result<u64, SchedulerError> {
        self.fire("aggregate_id", aggregate_id.into()).await
    }

    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, SchedulerError> {
        portable::query("SELECT min(due_at) AS earliest FROM timers WHERE fired_at IS NULL")
            .fetch_one(self.reader())
            .await
            .map_err(storage_error)?
            .optional_time("earliest")
            .map_err(SchedulerError::Corrupt)
    }
}

impl Store {
    /// Marks the unfired timers whose `column` equals `value` fired (completed or cancelled),
    /// and answers how many there were.
    async fn fire(&self, column: &str, value: Value<'_>) -> Result<u64, SchedulerError> {
        let fired = Stamp::new(&self.writer(), 2);
        let sql = format!(
            "UPDATE timers SET fired_at = {fired}, claimed_until = NULL
              WHERE {column} = $1 AND fired_at IS NULL"
        );
        fired
            .bind(portable::query(&sql).bind(value))
            .execute(self.writer())
            .await
            .map_err(storage_error)
    }
}

/// The clock that stamps a timer write, as SQL: on Postgres the database's, the one clock every
/// replica shares; on SQLite, which one process serves, this process's, bound as `$n`.
struct Stamp {
    sql: String,
    at: Option<DateTime<Utc>>,
}

impl Stamp {
    /// `n`: the placeholder the SQLite time takes, after the statement's other values.
    fn new(pool: &Pool, n: usize) -> Self {
        match pool {
            Pool::Postgres(_) => Stamp {
                sql: "clock_timestamp()".to_owned(),
                at: None,
            },
            Pool::Sqlite(_) => Stamp {
                sql: format!("${n}"),
                at: Some(Utc::now()),
            },
        }
    }

    /// `query` with the stamp's value, if it binds one, as its last.
    fn bind<'q>(&self, query: portable::Query<'q>) -> portable::Query<'q> {
        match self.at {
            Some(at) => query.bind(at),
            None => query,
        }
    }
}

impl std::fmt::Display for Stamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.sql)
    }
}

/// Both backends keep microseconds. Rounding down would let a timer fire up to a microsecond
/// before the instant it was scheduled for, and the aggregate would refuse it as too early.
fn ceil_to_micros(at: DateTime<Utc>) -> DateTime<Utc> {
    let below_micro = i64::from(at.timestamp_subsec_nanos() % 1_000);
    if below_micro == 0 {
        at
    } else {
        at + chrono::Duration::nanoseconds(1_000 - below_micro)
    }
}

fn storage_error(error: sqlx::Error) -> SchedulerError {
    SchedulerError::Storage(error.to_string())
}

fn timer_from(row: &Row) -> Result<Timer, SchedulerError> {
    let kind: String = row.get("kind");
    Ok(Timer {
        id: row.uuid("id").map_err(SchedulerError::Corrupt)?,
        kind: TimerKind::parse(&kind)
            .ok_or_else(|| SchedulerError::Corrupt(format!("unknown kind `{kind}`")))?,
        aggregate_id: row.get("aggregate_id"),
        due_at: row.time("due_at").map_err(SchedulerError::Corrupt)?,
        dedupe_key: row.get("dedupe_key"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_times_round_up_to_the_microsecond() {
        let at = DateTime::parse_from_rfc3339("2026-03-01T00:00:00.000001001Z")
            .unwrap()
            .to_utc();
        assert_eq!(
            ceil_to_micros(at).to_rfc3339(),
            "2026-03-01T00:00:00.000002+00:00"
        );
        let exact = DateTime::parse_from_rfc3339("2026-03-01T00:00:00.000001Z")
            .unwrap()
            .to_utc();
        assert_eq!(ceil_to_micros(exact), exact);
    }
}

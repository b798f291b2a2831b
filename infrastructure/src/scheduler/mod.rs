//! The scheduler port on the configured store: the `timers` table on Postgres or SQLite (see
//! migration `0004_timers.sql`). Every operation is one statement, so no transaction is ever held
//! across an await (on SQLite the store has a single writer connection).

use std::time::Duration;

use application::scheduler::{NewTimer, Scheduler, SchedulerError, Timer, TimerKind};
use chrono::{DateTime, Utc};
use uuid::Uuid;

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
        match self {
            Store::Postgres(log) => postgres::backlog(log.pool(), now, overdue_cutoff).await,
            Store::Sqlite(log) => sqlite::backlog(log.readers(), now, overdue_cutoff).await,
        }
    }
}

/// Counts the due timers (`$1`: now) and the overdue ones (`$2`: the cutoff), on both backends.
const BACKLOG_SQL: &str = "SELECT count(*) AS due,
        coalesce(sum(CASE WHEN due_at <= $2 THEN 1 ELSE 0 END), 0) AS overdue
   FROM timers WHERE fired_at IS NULL AND due_at <= $1";

/// The columns every query returns, in the order [`Timer`] is built from.
const TIMER_COLUMNS: &str = "id, kind, aggregate_id, due_at, dedupe_key";

impl Scheduler for Store {
    async fn schedule(&self, timer: NewTimer) -> Result<Timer, SchedulerError> {
        let timer = NewTimer {
            due_at: ceil_to_micros(timer.due_at),
            ..timer
        };
        match self {
            Store::Postgres(log) => postgres::schedule(log.pool(), timer).await,
            Store::Sqlite(log) => sqlite::schedule(log.writer(), timer).await,
        }
    }

    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<Timer>, SchedulerError> {
        let mut claimed = match self {
            Store::Postgres(log) => postgres::claim_due(log.pool(), now, limit, lease).await,
            Store::Sqlite(log) => sqlite::claim_due(log.writer(), now, limit, lease).await,
        }?;
        // `UPDATE … RETURNING` does not keep the order of the rows it picked.
        claimed.sort_by_key(|timer| (timer.due_at, timer.id));
        Ok(claimed)
    }

    async fn complete(&self, id: Uuid) -> Result<(), SchedulerError> {
        match self {
            Store::Postgres(log) => postgres::complete(log.pool(), id).await,
            Store::Sqlite(log) => sqlite::complete(log.writer(), id).await,
        }
    }

    async fn cancel(&self, aggregate_id: &str) -> Result<u64, SchedulerError> {
        match self {
            Store::Postgres(log) => postgres::cancel(log.pool(), aggregate_id).await,
            Store::Sqlite(log) => sqlite::cancel(log.writer(), aggregate_id).await,
        }
    }

    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, SchedulerError> {
        match self {
            Store::Postgres(log) => postgres::next_due(log.pool()).await,
            Store::Sqlite(log) => sqlite::next_due(log.readers()).await,
        }
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

fn parse_kind(name: &str) -> Result<TimerKind, SchedulerError> {
    TimerKind::parse(name).ok_or_else(|| SchedulerError::Corrupt(format!("unknown kind `{name}`")))
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

//! What the scheduler tests share: a fixed billing time and timers made from a key.

use std::time::Duration;

use application::scheduler::{NewTimer, Scheduler, Timer, TimerKind};
use chrono::{DateTime, Utc};
use infrastructure::Store;

/// A claim that outlives every test.
pub const LONG_LEASE: Duration = Duration::from_secs(600);

pub fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z")
        .expect("a valid time")
        .to_utc()
}

pub fn minutes(n: i64) -> chrono::Duration {
    chrono::Duration::minutes(n)
}

pub fn renewal(key: &str, due_at: DateTime<Utc>) -> NewTimer {
    NewTimer {
        kind: TimerKind::RenewPeriod,
        aggregate_id: format!("sub-{key}"),
        due_at,
        dedupe_key: key.to_owned(),
    }
}

pub async fn schedule(store: &Store, key: &str, due_at: DateTime<Utc>) -> Timer {
    store
        .schedule(renewal(key, due_at))
        .await
        .expect("schedule a timer")
}

pub fn keys(timers: &[Timer]) -> Vec<&str> {
    timers.iter().map(|t| t.dedupe_key.as_str()).collect()
}

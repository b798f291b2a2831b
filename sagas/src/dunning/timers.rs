//! The timers of a dunning case, each named by a dedupe key that says what it is for: a retry at a
//! time, the window expiring at a time, the cancellation. Scheduling one twice is a no-op.

use application::scheduler::{NewTimer, TimerKind};
use chrono::{DateTime, SecondsFormat, Utc};
use uuid::Uuid;

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn timer(kind: TimerKind, case_id: Uuid, due_at: DateTime<Utc>, dedupe_key: String) -> NewTimer {
    NewTimer {
        kind,
        aggregate_id: case_id.to_string(),
        due_at,
        dedupe_key,
    }
}

/// A scheduled retry of the case's invoice.
pub fn retry(case_id: Uuid, at: DateTime<Utc>) -> NewTimer {
    let key = format!("dunning_retry:{case_id}:{}", stamp(at));
    timer(TimerKind::DunningRetry, case_id, at, key)
}

/// A retry at once, because a new payment method was attached (`cause`: that event).
pub fn immediate_retry(case_id: Uuid, cause: Uuid, at: DateTime<Utc>) -> NewTimer {
    let key = format!("dunning_retry:{case_id}:payment_method:{cause}");
    timer(TimerKind::DunningRetry, case_id, at, key)
}

/// The end of the window: access is suspended. A new one for each extension of the window.
pub fn window_expiry(case_id: Uuid, at: DateTime<Utc>) -> NewTimer {
    let key = format!("dunning_window:{case_id}:{}", stamp(at));
    timer(TimerKind::DunningWindowExpiry, case_id, at, key)
}

/// The deadline: the subscription is cancelled. One per case.
pub fn cancellation(case_id: Uuid, at: DateTime<Utc>) -> NewTimer {
    let key = format!("dunning_cancel:{case_id}");
    timer(TimerKind::DunningCancellation, case_id, at, key)
}

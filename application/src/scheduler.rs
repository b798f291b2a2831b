//! The scheduler port: durable timers (a due time, a kind, the aggregate it acts on and a dedupe
//! key), claimed by one worker at a time even when several service replicas share the database.
//! The adapters (Postgres, SQLite) live in `infrastructure`; its contract suite holds both to
//! every promise written here.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// What a timer does when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimerKind {
    /// `ExpireTrial` on the subscription `aggregate_id`, at its trial end.
    ExpireTrial,
    /// `RenewPeriod` on the subscription `aggregate_id`, at its period end.
    RenewPeriod,
    /// `WarnTrialEnding` on the subscription `aggregate_id`, three days before its trial end.
    TrialWillEnd,
    /// A scheduled payment retry of the dunning case `aggregate_id`.
    DunningRetry,
    /// The end of the dunning case's grace window: entitlements are suspended.
    DunningWindowExpiry,
    /// The dunning case's deadline: the subscription is cancelled.
    DunningCancellation,
}

impl TimerKind {
    pub const ALL: [TimerKind; 6] = [
        TimerKind::ExpireTrial,
        TimerKind::RenewPeriod,
        TimerKind::TrialWillEnd,
        TimerKind::DunningRetry,
        TimerKind::DunningWindowExpiry,
        TimerKind::DunningCancellation,
    ];

    /// The stable name stored in the `timers` table.
    pub fn as_str(self) -> &'static str {
        match self {
            TimerKind::ExpireTrial => "expire_trial",
            TimerKind::RenewPeriod => "renew_period",
            TimerKind::TrialWillEnd => "trial_will_end",
            TimerKind::DunningRetry => "dunning_retry",
            TimerKind::DunningWindowExpiry => "dunning_window_expiry",
            TimerKind::DunningCancellation => "dunning_cancellation",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

impl fmt::Display for TimerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A timer to schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTimer {
    pub kind: TimerKind,
    /// The subscription id (trial and renewal kinds) or the dunning case id (dunning kinds).
    pub aggregate_id: String,
    pub due_at: DateTime<Utc>,
    /// Identifies the timer's purpose, e.g. `renew:<subscription>:<period end>`: scheduling the
    /// same key again is a no-op. It also derives the id of the command the timer sends, so it
    /// must name everything that makes two timers different.
    pub dedupe_key: String,
}

/// A stored timer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timer {
    pub id: Uuid,
    pub kind: TimerKind,
    pub aggregate_id: String,
    /// Stored to the microsecond, rounded up: a timer never fires before the instant it was
    /// scheduled for (a renewal a nanosecond early would be refused as "period not ended").
    pub due_at: DateTime<Utc>,
    pub dedupe_key: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    /// The store is unreachable or failed; retry later.
    #[error("scheduler storage failure: {0}")]
    Storage(String),
    /// A stored row does not read back (an unknown kind, a malformed time): a defect.
    #[error("a stored timer is invalid: {0}")]
    Corrupt(String),
}

/// Durable timers.
///
/// Contract, for every implementation:
/// - `schedule` MUST be idempotent by `dedupe_key`: scheduling a key that is already stored
///   (fired or not) changes nothing and returns the stored timer, so a policy re-run after a
///   crash adds nothing.
/// - `claim_due` MUST return only unfired timers with `due_at <= now`, in `due_at` order (then
///   id), and MUST NOT return a timer another claim holds: concurrent claimers, in this process or
///   in another replica, never receive the same timer while its claim lasts. A claim lasts
///   `lease`, measured on the store's wall clock (not `now`, which is billing time and stands
///   still under a test clock), so the timers of a worker that crashed are claimed again once
///   its lease has run out.
/// - `complete` MUST mark the timer fired; a fired timer is never claimed again. Completing a
///   timer twice is harmless.
/// - `cancel` MUST mark every unfired timer of `aggregate_id` fired without firing it, and return
///   how many it marked; a cancelled timer is never claimed again. A timer whose claim is held
///   may still fire once, which its command id makes harmless.
/// - Timers are durable: they survive a restart of the process, and timers that fell due while
///   no process ran are simply due.
///
/// Firing is at least once (a worker can die between executing a timer's command and completing
/// it); callers make it effectively once by executing the command under an id derived from the
/// dedupe key.
pub trait Scheduler: Send + Sync + 'static {
    fn schedule(
        &self,
        timer: NewTimer,
    ) -> impl Future<Output = Result<Timer, SchedulerError>> + Send;

    /// Claims up to `limit` due timers for `lease`.
    fn claim_due(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        lease: Duration,
    ) -> impl Future<Output = Result<Vec<Timer>, SchedulerError>> + Send;

    fn complete(&self, id: Uuid) -> impl Future<Output = Result<(), SchedulerError>> + Send;

    /// Withdraws every unfired timer of `aggregate_id` (a dunning case that closed).
    fn cancel(
        &self,
        aggregate_id: &str,
    ) -> impl Future<Output = Result<u64, SchedulerError>> + Send;

    /// The earliest `due_at` of the unfired timers, claimed or not.
    fn next_due(
        &self,
    ) -> impl Future<Output = Result<Option<DateTime<Utc>>, SchedulerError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_from_its_stored_name() {
        for kind in TimerKind::ALL {
            assert_eq!(TimerKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(TimerKind::parse("ExpireTrial"), None);
    }
}

//! The log-consumer contract for policies and process managers (SPEC 1): a name, the aggregate
//! types listened to, and `react`, which answers events of the global log with commands. The
//! runtime that follows the log (checkpoints, leases, wake-ups) runs it; which one is not its
//! business, so a policy can be tested against an in-memory log.

use std::future::Future;

use crate::event_log::StoredEvent;
use crate::scheduler::SchedulerError;
use crate::EventLogError;

/// A log consumer whose effects are commands, not rows.
///
/// Contract:
/// - `react` receives only events whose `aggregate_type` is in `listens_to`, in global log order,
///   in batches of any size.
/// - Every command it sends MUST carry an id derived from its causing event: after a crash the
///   batch is reacted to again, and a repeated command id appends nothing.
/// - It MUST return an error, never skip, when it cannot react to an event: a
///   [`ReactionError::Event`] ([`ReactionError::at`]) stops the consumer at that event, a storage failure
///   ([`ReactionError::EventLog`] with `Storage`) is retried.
pub trait Policy: Send + Sync + 'static {
    /// Stable: it keys the consumer's checkpoint, its status row and its lease.
    fn name(&self) -> &'static str;

    /// The aggregate types whose events this policy reacts to.
    fn listens_to(&self) -> &'static [&'static str];

    /// Sends the commands `events` call for, each under an id derived from its cause.
    fn react(
        &self,
        events: &[StoredEvent],
    ) -> impl Future<Output = Result<(), ReactionError>> + Send;
}

/// An event a log consumer cannot take (it does not decode, or contradicts what the consumer
/// knows): the consumer stops at it and never skips it. Read models fail the same way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event at position {position} ({aggregate_type} {event_type}): {reason}")]
pub struct EventFailure {
    pub position: i64,
    pub aggregate_type: String,
    pub event_type: String,
    pub reason: String,
}

impl EventFailure {
    pub fn at(event: &StoredEvent, reason: impl Into<String>) -> Self {
        Self {
            position: event.position,
            aggregate_type: event.aggregate_type.clone(),
            event_type: event.event_type.clone(),
            reason: reason.into(),
        }
    }
}

/// Why a policy could not react to a batch.
#[derive(Debug, thiserror::Error)]
pub enum ReactionError {
    #[error(transparent)]
    Event(#[from] EventFailure),
    /// The log or a port failed; `EventLogError::Storage` is worth retrying.
    #[error(transparent)]
    EventLog(#[from] EventLogError),
}

impl ReactionError {
    /// The error that stops the policy at `cause`.
    pub fn at(cause: &StoredEvent, reason: impl Into<String>) -> Self {
        EventFailure::at(cause, reason).into()
    }

    /// A scheduler that failed while reacting to `cause`: a storage failure is retried, a
    /// corrupt timers table stops the policy at the event, like any event it cannot act on.
    pub fn scheduling(cause: &StoredEvent, error: SchedulerError) -> Self {
        match error {
            SchedulerError::Storage(reason) => EventLogError::Storage(reason).into(),
            SchedulerError::Corrupt(reason) => Self::at(cause, reason),
        }
    }
}

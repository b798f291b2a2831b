//! The business rules that can refuse a dunning-case command (409 `rule_violation`), each with a
//! stable code and a message in billing words.

use chrono::{DateTime, SecondsFormat, Utc};

use crate::dunning::DunningStatus;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DunningRule {
    #[error("the dunning case has already been started")]
    AlreadyStarted,
    #[error("the dunning case is {status}: only an open case can be worked")]
    CaseClosed { status: DunningStatus },
    #[error("a retry cannot be scheduled in the past (now is {})", rfc3339(.now))]
    RetryInThePast { now: DateTime<Utc> },
    #[error("a retry must come before the case is cancelled at {}", rfc3339(.cancel_at))]
    RetryAfterCancellation { cancel_at: DateTime<Utc> },
    #[error("no suspension before the dunning window expires at {}", rfc3339(.window_expires_at))]
    WindowNotExpired { window_expires_at: DateTime<Utc> },
    #[error("the case cannot be cancelled as exhausted before {}", rfc3339(.cancel_at))]
    CancellationNotDue { cancel_at: DateTime<Utc> },
    #[error("the dunning window can only be extended: the new end must be after {}", rfc3339(.current))]
    WindowNotExtended { current: DateTime<Utc> },
    #[error("the dunning window must end in the future (now is {})", rfc3339(.now))]
    WindowEndInThePast { now: DateTime<Utc> },
    #[error("the dunning window cannot run past the cancellation at {}", rfc3339(.cancel_at))]
    WindowBeyondCancellation { cancel_at: DateTime<Utc> },
    #[error("access is already suspended: the dunning window can no longer be extended")]
    AlreadySuspended,
}

impl DunningRule {
    /// A stable snake_case name for the rule, for clients to match on.
    pub fn code(&self) -> &'static str {
        match self {
            DunningRule::AlreadyStarted => "already_started",
            DunningRule::CaseClosed { .. } => "case_closed",
            DunningRule::RetryInThePast { .. } => "retry_in_the_past",
            DunningRule::RetryAfterCancellation { .. } => "retry_after_cancellation",
            DunningRule::WindowNotExpired { .. } => "window_not_expired",
            DunningRule::CancellationNotDue { .. } => "cancellation_not_due",
            DunningRule::WindowNotExtended { .. } => "window_not_extended",
            DunningRule::WindowEndInThePast { .. } => "window_end_in_the_past",
            DunningRule::WindowBeyondCancellation { .. } => "window_beyond_cancellation",
            DunningRule::AlreadySuspended => "already_suspended",
        }
    }
}

/// Times in messages as on the wire: RFC 3339, UTC, `Z`.
fn rfc3339(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

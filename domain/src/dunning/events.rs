//! What happened in a dunning case. Each event carries the business time `at` and what a
//! projection (the work queue, the timeline) needs to render it without loading the case.

use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::dunning::{CaseClosure, NotificationKind};
use crate::money::Money;
use crate::values::AccountId;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DunningEvent {
    DunningStarted {
        case_id: Uuid,
        account_id: AccountId,
        subscription_id: Option<Uuid>,
        invoice_id: Uuid,
        amount_due: Money,
        failure_reason: String,
        /// The decline code of the failure that opened the case.
        failure_code: String,
        started_at: DateTime<Utc>,
        window_expires_at: DateTime<Utc>,
        cancel_at: DateTime<Utc>,
        /// In time order; empty after a hard decline (the card must not be retried).
        retry_schedule: Vec<DateTime<Utc>>,
    },
    RetryScheduled {
        retry_at: DateTime<Utc>,
        at: DateTime<Utc>,
    },
    RetryOutcomeRecorded {
        attempt: u32,
        succeeded: bool,
        failure_reason: Option<String>,
        at: DateTime<Utc>,
    },
    NotificationRecorded {
        kind: NotificationKind,
        dedupe_key: String,
        at: DateTime<Utc>,
    },
    DunningEscalated {
        /// `hard_decline: <code>`, `retries_exhausted`, or a support agent's reason.
        reason: String,
        at: DateTime<Utc>,
    },
    DunningSuspended {
        at: DateTime<Utc>,
    },
    DunningRecovered {
        at: DateTime<Utc>,
    },
    DunningCancelled {
        /// Always `dunning_exhausted`: the reason the subscription is cancelled with.
        reason: String,
        at: DateTime<Utc>,
    },
    DunningCaseAssigned {
        agent: String,
        at: DateTime<Utc>,
    },
    DunningNoteAdded {
        text: String,
        author: Option<String>,
        at: DateTime<Utc>,
    },
    DunningWindowExtended {
        window_expires_at: DateTime<Utc>,
        previous: DateTime<Utc>,
        at: DateTime<Utc>,
    },
    DunningResolved {
        resolution: String,
        at: DateTime<Utc>,
    },
    /// The system closed the case without recovery (its subscription was cancelled).
    DunningClosed {
        reason: CaseClosure,
        at: DateTime<Utc>,
    },
}

impl DomainEvent for DunningEvent {
    fn event_type(&self) -> String {
        match self {
            DunningEvent::DunningStarted { .. } => "DunningStarted",
            DunningEvent::RetryScheduled { .. } => "RetryScheduled",
            DunningEvent::RetryOutcomeRecorded { .. } => "RetryOutcomeRecorded",
            DunningEvent::NotificationRecorded { .. } => "NotificationRecorded",
            DunningEvent::DunningEscalated { .. } => "DunningEscalated",
            DunningEvent::DunningSuspended { .. } => "DunningSuspended",
            DunningEvent::DunningRecovered { .. } => "DunningRecovered",
            DunningEvent::DunningCancelled { .. } => "DunningCancelled",
            DunningEvent::DunningCaseAssigned { .. } => "DunningCaseAssigned",
            DunningEvent::DunningNoteAdded { .. } => "DunningNoteAdded",
            DunningEvent::DunningWindowExtended { .. } => "DunningWindowExtended",
            DunningEvent::DunningResolved { .. } => "DunningResolved",
            DunningEvent::DunningClosed { .. } => "DunningClosed",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        crate::EVENT_VERSION_1.to_owned()
    }
}

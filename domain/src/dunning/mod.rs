//! The DunningCase aggregate (SPEC 3.5): the collection effort for one unpaid invoice, from the
//! first failed payment to recovery, cancellation or a support agent's resolution.
//!
//! Its deadlines (retries, the window after which access is suspended, the cancellation date)
//! come from the [`DunningPolicy`] and are counted from the start of the case. The case only
//! records; the Dunning process manager acts on its events. "At most one open case per account"
//! spans aggregates, so the application enforces it before sending `StartDunning`.

mod commands;
mod events;
pub mod policy;
mod rules;
#[cfg(test)]
mod tests;

use std::fmt;

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::DomainError;
use crate::money::Money;
use crate::services::BillingServices;
use crate::values::AccountId;

pub use commands::DunningCommand;
pub use events::DunningEvent;
pub use policy::DunningPolicy;
pub use rules::DunningRule;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DunningStatus {
    Open,
    /// The invoice was paid.
    Recovered,
    /// The cancellation deadline passed unpaid.
    Cancelled,
    /// Closed by a support agent.
    Resolved,
    /// Closed by the system without recovery: see [`CaseClosure`].
    Closed,
}

/// Why the system closed a case that was neither recovered nor exhausted. Only the system
/// closes a case this way; a support agent resolves it instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseClosure {
    /// The subscription was cancelled (by the customer or the product) during dunning: there is
    /// nothing left to collect for, and nothing to suspend or cancel.
    SubscriptionCancelled,
}

impl CaseClosure {
    pub fn as_str(self) -> &'static str {
        match self {
            CaseClosure::SubscriptionCancelled => "subscription_cancelled",
        }
    }
}

impl fmt::Display for DunningStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DunningStatus::Open => "open",
            DunningStatus::Recovered => "recovered",
            DunningStatus::Cancelled => "cancelled",
            DunningStatus::Resolved => "resolved",
            DunningStatus::Closed => "closed",
        })
    }
}

/// Where an open case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DunningStage {
    /// Automatic retries are running.
    Retrying,
    /// Needs support: a hard decline, retries exhausted, or escalated by hand.
    Escalated,
    /// The dunning window expired and the account's entitlements are suspended.
    Suspended,
}

/// What the customer was told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    PaymentFailed,
    RetryFailed,
    /// Access will be suspended when the window expires.
    SuspensionWarning,
    AccessSuspended,
    PaymentRecovered,
    SubscriptionCancelled,
}

/// The outcome of one retry of the invoice's payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryAttempt {
    /// 1-based, in the order the outcomes were recorded.
    pub attempt: u32,
    pub succeeded: bool,
    pub failure_reason: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentNotification {
    pub kind: NotificationKind,
    pub dedupe_key: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseNote {
    pub text: String,
    pub author: Option<String>,
    pub at: DateTime<Utc>,
}

/// The DunningCase aggregate. `Default` is the case before `DunningStarted`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DunningCase {
    case: Option<StartedCase>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct StartedCase {
    case_id: Uuid,
    account_id: AccountId,
    subscription_id: Option<Uuid>,
    invoice_id: Uuid,
    amount_due: Money,
    started_at: DateTime<Utc>,
    window_expires_at: DateTime<Utc>,
    cancel_at: DateTime<Utc>,
    /// In time order.
    retry_schedule: Vec<DateTime<Utc>>,
    attempts: Vec<RetryAttempt>,
    last_failure_reason: String,
    notifications: Vec<SentNotification>,
    assigned_agent: Option<String>,
    notes: Vec<CaseNote>,
    resolution: Option<String>,
    status: DunningStatus,
    stage: DunningStage,
}

impl StartedCase {
    /// Every scheduled retry has run and failed (no retry is left to wait for).
    fn retries_exhausted(&self) -> bool {
        self.attempts.len() >= self.retry_schedule.len()
            && self.attempts.last().is_none_or(|a| !a.succeeded)
    }

    fn apply(&mut self, event: DunningEvent) {
        match event {
            DunningEvent::DunningStarted { .. } => {}
            DunningEvent::RetryScheduled { retry_at, .. } => {
                self.retry_schedule.push(retry_at);
                self.retry_schedule.sort();
            }
            DunningEvent::RetryOutcomeRecorded {
                attempt,
                succeeded,
                failure_reason,
                at,
            } => {
                if let Some(reason) = &failure_reason {
                    self.last_failure_reason.clone_from(reason);
                }
                self.attempts.push(RetryAttempt {
                    attempt,
                    succeeded,
                    failure_reason,
                    at,
                });
            }
            DunningEvent::NotificationRecorded {
                kind,
                dedupe_key,
                at,
            } => self.notifications.push(SentNotification {
                kind,
                dedupe_key,
                at,
            }),
            DunningEvent::DunningEscalated { .. } => self.stage = DunningStage::Escalated,
            DunningEvent::DunningSuspended { .. } => self.stage = DunningStage::Suspended,
            DunningEvent::DunningRecovered { .. } => self.status = DunningStatus::Recovered,
            DunningEvent::DunningCancelled { .. } => self.status = DunningStatus::Cancelled,
            DunningEvent::DunningCaseAssigned { agent, .. } => self.assigned_agent = Some(agent),
            DunningEvent::DunningNoteAdded { text, author, at } => {
                self.notes.push(CaseNote { text, author, at })
            }
            DunningEvent::DunningWindowExtended {
                window_expires_at, ..
            } => self.window_expires_at = window_expires_at,
            DunningEvent::DunningResolved { resolution, .. } => {
                self.resolution = Some(resolution);
                self.status = DunningStatus::Resolved;
            }
            DunningEvent::DunningClosed { .. } => self.status = DunningStatus::Closed,
        }
    }
}

impl Aggregate for DunningCase {
    const TYPE: &'static str = "dunning_case";
    type Command = DunningCommand;
    type Event = DunningEvent;
    type Error = DomainError;
    type Services = BillingServices;

    async fn handle(
        &mut self,
        command: DunningCommand,
        services: &BillingServices,
        sink: &EventSink<Self>,
    ) -> Result<(), DomainError> {
        let decided = self.decide(command, services.clock.now(), &services.dunning);
        crate::decided::write(self, sink, decided).await
    }

    fn apply(&mut self, event: DunningEvent) {
        match (&mut self.case, event) {
            (
                slot,
                DunningEvent::DunningStarted {
                    case_id,
                    account_id,
                    subscription_id,
                    invoice_id,
                    amount_due,
                    failure_reason,
                    started_at,
                    window_expires_at,
                    cancel_at,
                    retry_schedule,
                    ..
                },
            ) => {
                *slot = Some(StartedCase {
                    case_id,
                    account_id,
                    subscription_id,
                    invoice_id,
                    amount_due,
                    started_at,
                    window_expires_at,
                    cancel_at,
                    retry_schedule,
                    attempts: Vec::new(),
                    last_failure_reason: failure_reason,
                    notifications: Vec::new(),
                    assigned_agent: None,
                    notes: Vec::new(),
                    resolution: None,
                    status: DunningStatus::Open,
                    stage: DunningStage::Retrying,
                })
            }
            (Some(case), event) => case.apply(event),
            // Every stream starts with DunningStarted; anything before it has nothing to change.
            (None, _) => {}
        }
    }
}

/// Read accessors. Each answers `None` (or `false`, or empty) for a case never started.
impl DunningCase {
    pub fn exists(&self) -> bool {
        self.case.is_some()
    }

    pub fn case_id(&self) -> Option<Uuid> {
        self.case.as_ref().map(|c| c.case_id)
    }

    pub fn status(&self) -> Option<DunningStatus> {
        self.case.as_ref().map(|c| c.status)
    }

    pub fn is_open(&self) -> bool {
        self.status() == Some(DunningStatus::Open)
    }

    /// The stage of an open case; `None` once the case is closed.
    pub fn stage(&self) -> Option<DunningStage> {
        self.case
            .as_ref()
            .filter(|c| c.status == DunningStatus::Open)
            .map(|c| c.stage)
    }

    pub fn account_id(&self) -> Option<&AccountId> {
        self.case.as_ref().map(|c| &c.account_id)
    }

    pub fn subscription_id(&self) -> Option<Uuid> {
        self.case.as_ref().and_then(|c| c.subscription_id)
    }

    pub fn invoice_id(&self) -> Option<Uuid> {
        self.case.as_ref().map(|c| c.invoice_id)
    }

    pub fn amount_due(&self) -> Option<&Money> {
        self.case.as_ref().map(|c| &c.amount_due)
    }

    pub fn started_at(&self) -> Option<DateTime<Utc>> {
        self.case.as_ref().map(|c| c.started_at)
    }

    /// From this instant on, entitlements may be suspended.
    pub fn window_expires_at(&self) -> Option<DateTime<Utc>> {
        self.case.as_ref().map(|c| c.window_expires_at)
    }

    /// From this instant on, the case may be cancelled as exhausted.
    pub fn cancel_at(&self) -> Option<DateTime<Utc>> {
        self.case.as_ref().map(|c| c.cancel_at)
    }

    /// Every retry scheduled so far, in time order (run or not).
    pub fn retry_schedule(&self) -> &[DateTime<Utc>] {
        self.case.as_ref().map_or(&[], |c| &c.retry_schedule)
    }

    /// The first scheduled retry not yet made (each recorded outcome uses one, as
    /// [`Self::retries_exhausted`] counts them) at or after `now`, while the case is open.
    pub fn next_retry_at(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.case
            .as_ref()
            .filter(|c| c.status == DunningStatus::Open)
            .and_then(|c| {
                c.retry_schedule
                    .iter()
                    .skip(c.attempts.len())
                    .find(|at| **at >= now)
                    .copied()
            })
    }

    pub fn attempts(&self) -> &[RetryAttempt] {
        self.case.as_ref().map_or(&[], |c| &c.attempts)
    }

    /// Every scheduled retry has run and failed.
    pub fn retries_exhausted(&self) -> bool {
        self.case
            .as_ref()
            .is_some_and(StartedCase::retries_exhausted)
    }

    pub fn last_failure_reason(&self) -> Option<&str> {
        self.case.as_ref().map(|c| c.last_failure_reason.as_str())
    }

    pub fn notifications(&self) -> &[SentNotification] {
        self.case.as_ref().map_or(&[], |c| &c.notifications)
    }

    pub fn has_notified(&self, kind: NotificationKind) -> bool {
        self.notifications().iter().any(|n| n.kind == kind)
    }

    pub fn assigned_agent(&self) -> Option<&str> {
        self.case.as_ref().and_then(|c| c.assigned_agent.as_deref())
    }

    pub fn notes(&self) -> &[CaseNote] {
        self.case.as_ref().map_or(&[], |c| &c.notes)
    }

    pub fn resolution(&self) -> Option<&str> {
        self.case.as_ref().and_then(|c| c.resolution.as_deref())
    }
}

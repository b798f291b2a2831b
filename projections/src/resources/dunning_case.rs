//! SPEC 6's "Dunning case", as it is at an instant.

use chrono::{DateTime, Utc};
use domain::dunning::{CaseNote, DunningCase, RetryAttempt};
use serde::Serialize;
use uuid::Uuid;

/// SPEC 6's "Dunning case". Amounts are minor units of `currency`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DunningCaseView {
    id: Uuid,
    account_id: String,
    subscription_id: Option<Uuid>,
    invoice_id: Uuid,
    /// `open`, `recovered`, `cancelled`, `resolved`, or `closed` (its subscription was cancelled).
    status: String,
    /// `retrying`, `escalated` or `suspended` while open; `null` once closed.
    stage: Option<String>,
    amount_due: i64,
    currency: String,
    started_at: DateTime<Utc>,
    window_expires_at: DateTime<Utc>,
    cancel_at: DateTime<Utc>,
    retry_schedule: Vec<DateTime<Utc>>,
    /// The case's payment retries and their outcomes, in order. The invoice's `attempts` counts
    /// more: every payment attempt on it, the charge that opened the case included.
    #[schema(value_type = Vec<Object>)]
    retries: Vec<RetryAttempt>,
    next_retry_at: Option<DateTime<Utc>>,
    last_failure_reason: Option<String>,
    assigned_agent: Option<String>,
    #[schema(value_type = Vec<Object>)]
    notes: Vec<CaseNote>,
    resolution: Option<String>,
}

impl DunningCaseView {
    /// `case` as it is at `now` (which decides `next_retry_at`); `None` before it started.
    pub fn of(case: &DunningCase, now: DateTime<Utc>) -> Option<Self> {
        let amount_due = case.amount_due()?;
        let name = |value: serde_json::Value| value.as_str().map(str::to_owned);
        Some(Self {
            id: case.case_id()?,
            account_id: case.account_id()?.to_string(),
            subscription_id: case.subscription_id(),
            invoice_id: case.invoice_id()?,
            status: case.status()?.to_string(),
            stage: case
                .stage()
                .and_then(|stage| serde_json::to_value(stage).ok())
                .and_then(name),
            amount_due: amount_due.amount,
            currency: amount_due.currency.to_string(),
            started_at: case.started_at()?,
            window_expires_at: case.window_expires_at()?,
            cancel_at: case.cancel_at()?,
            retry_schedule: case.retry_schedule().to_vec(),
            retries: case.attempts().to_vec(),
            next_retry_at: case.next_retry_at(now),
            last_failure_reason: case.last_failure_reason().map(str::to_owned),
            assigned_agent: case.assigned_agent().map(str::to_owned),
            notes: case.notes().to_vec(),
            resolution: case.resolution().map(str::to_owned),
        })
    }
}

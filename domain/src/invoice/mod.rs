//! The Invoice aggregate (SPEC 3.4): what an account owes for one bill, and every payment
//! attempt, payment, failure and refund recorded against it.
//!
//! How a charge happens exactly once: `AttemptPayment` only records `PaymentAttempted` with a
//! deterministic `payment_ref` (`{invoice_id}:attempt:{n}`); it charges nothing. The application
//! calls the PaymentGateway port after that event has committed, passing `payment_ref` as the
//! gateway's idempotency key, and reports the result with `RecordPayment` or
//! `RecordPaymentFailure` carrying the same `payment_ref`. A crash between the charge and the
//! record re-sends the same `payment_ref`: the gateway answers with the first result instead of
//! charging again, and the invoice ignores an outcome it has already recorded. While an attempt
//! has no recorded outcome, no new attempt starts and the invoice cannot be closed, so a charge
//! in flight can always be recorded.

mod collection;
mod commands;
mod credit_note;
mod events;
pub mod line;
mod rules;
#[cfg(test)]
mod tests;
mod usage_line;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::DomainError;
use crate::money::{Currency, Money, MoneyError};
use crate::services::BillingServices;
use crate::values::AccountId;

pub use collection::CollectionMethod;
pub use commands::{InvoiceCommand, OverpaymentRefundOutcome};
pub use credit_note::{CreditNote, CreditNoteOutcome};
pub use events::{InvoiceEvent, INVOICE_ISSUED_VERSION, PAYMENT_FAILED_VERSION};
pub use line::{InvoiceLine, LineKind};
pub use rules::InvoiceRule;
pub use usage_line::UsageDetail;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    /// Awaiting payment; no attempt has failed yet.
    Issued,
    /// Awaiting payment after at least one failed attempt.
    PastDue,
    /// Fully paid (possibly partly refunded since).
    Paid,
    /// Written off: no further collection.
    Uncollectible,
    /// Cancelled before any payment: it was never owed.
    Void,
    /// Paid, then refunded in full.
    Refunded,
}

impl InvoiceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceStatus::Issued => "issued",
            InvoiceStatus::PastDue => "past_due",
            InvoiceStatus::Paid => "paid",
            InvoiceStatus::Uncollectible => "uncollectible",
            InvoiceStatus::Void => "void",
            InvoiceStatus::Refunded => "refunded",
        }
    }

    /// Still collectable: issued or past due.
    pub fn is_open(self) -> bool {
        matches!(self, InvoiceStatus::Issued | InvoiceStatus::PastDue)
    }
}

impl fmt::Display for InvoiceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One charge through the payment gateway, identified by its idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentAttempt {
    /// 1-based; failures reported from outside the gateway take a number too.
    pub attempt: u32,
    pub payment_ref: String,
}

/// Money a gateway attempt took that the invoice did not owe, and whether it went back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overpayment {
    pub amount: Money,
    pub refund: OverpaymentRefund,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OverpaymentRefund {
    /// The refund through the gateway is still to be made.
    Pending,
    Refunded,
    /// The gateway refused it: support must return the money another way.
    Failed,
}

/// The Invoice aggregate. `Default` is the invoice before `InvoiceIssued`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoice {
    issued: Option<IssuedInvoice>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct IssuedInvoice {
    invoice_id: Uuid,
    account_id: AccountId,
    subscription_id: Option<Uuid>,
    currency: Currency,
    lines: Vec<InvoiceLine>,
    total: Money,
    issued_at: DateTime<Utc>,
    due_at: DateTime<Utc>,
    status: InvoiceStatus,
    attempts: u32,
    amount_paid: Money,
    amount_refunded: Money,
    /// Every payment_ref with a recorded outcome, success or failure: the idempotency record.
    recorded_refs: BTreeSet<String>,
    last_attempt: Option<PaymentAttempt>,
    /// By the `payment_ref` of the attempt that overpaid. Absent from snapshots taken before
    /// overpayments existed, which had none.
    #[serde(default)]
    overpayments: BTreeMap<String, Overpayment>,
    /// The processor's ids of the disputes opened on it. Absent from older snapshots (none).
    #[serde(default)]
    disputes: BTreeSet<String>,
    /// The ids of its credit notes, and what they add up to. Absent from older snapshots (none).
    #[serde(default)]
    credit_notes: BTreeSet<Uuid>,
    #[serde(default)]
    credited: credit_note::Credited,
}

impl IssuedInvoice {
    fn amount_due(&self) -> Result<Money, MoneyError> {
        self.total.checked_sub(&self.amount_paid)
    }

    /// The last gateway attempt when its outcome has not been recorded yet.
    fn attempt_in_flight(&self) -> Option<&PaymentAttempt> {
        self.last_attempt
            .as_ref()
            .filter(|attempt| !self.recorded_refs.contains(&attempt.payment_ref))
    }

    fn apply(&mut self, event: InvoiceEvent) {
        match event {
            InvoiceEvent::InvoiceIssued { .. } => {}
            InvoiceEvent::PaymentAttempted {
                attempt,
                payment_ref,
                ..
            } => {
                self.attempts = attempt;
                self.last_attempt = Some(PaymentAttempt {
                    attempt,
                    payment_ref,
                });
            }
            InvoiceEvent::PaymentRecorded {
                payment_ref,
                amount_paid,
                ..
            } => {
                self.amount_paid = amount_paid;
                self.recorded_refs.insert(payment_ref);
            }
            InvoiceEvent::PaymentFailed {
                attempt,
                payment_ref,
                ..
            } => {
                self.attempts = self.attempts.max(attempt);
                self.status = InvoiceStatus::PastDue;
                if let Some(payment_ref) = payment_ref {
                    self.recorded_refs.insert(payment_ref);
                }
            }
            InvoiceEvent::InvoicePaid { amount_paid, .. } => {
                self.amount_paid = amount_paid;
                self.status = InvoiceStatus::Paid;
            }
            InvoiceEvent::InvoiceRefunded {
                amount_refunded,
                fully_refunded,
                ..
            } => {
                self.amount_refunded = amount_refunded;
                if fully_refunded {
                    self.status = InvoiceStatus::Refunded;
                }
            }
            InvoiceEvent::CreditNoteIssued {
                credit_note_id,
                amount,
                outcome,
                ..
            } => self.record_credit_note(credit_note_id, &amount, outcome),
            InvoiceEvent::InvoiceVoided { .. } => self.status = InvoiceStatus::Void,
            InvoiceEvent::InvoiceMarkedUncollectible { .. } => {
                self.status = InvoiceStatus::Uncollectible
            }
            InvoiceEvent::OverpaymentReceived {
                payment_ref,
                amount,
                ..
            } => {
                self.recorded_refs.insert(payment_ref.clone());
                let refund = OverpaymentRefund::Pending;
                self.overpayments
                    .insert(payment_ref, Overpayment { amount, refund });
            }
            InvoiceEvent::OverpaymentRefunded { payment_ref, .. } => {
                self.settle_overpayment(&payment_ref, OverpaymentRefund::Refunded)
            }
            InvoiceEvent::OverpaymentRefundFailed { payment_ref, .. } => {
                self.settle_overpayment(&payment_ref, OverpaymentRefund::Failed)
            }
            InvoiceEvent::DisputeOpened { dispute_id, .. } => {
                self.disputes.insert(dispute_id);
            }
        }
    }

    fn settle_overpayment(&mut self, payment_ref: &str, refund: OverpaymentRefund) {
        if let Some(overpayment) = self.overpayments.get_mut(payment_ref) {
            overpayment.refund = refund;
        }
    }
}

impl Aggregate for Invoice {
    const TYPE: &'static str = "invoice";
    type Command = InvoiceCommand;
    type Event = InvoiceEvent;
    type Error = DomainError;
    type Services = BillingServices;

    async fn handle(
        &mut self,
        command: InvoiceCommand,
        services: &BillingServices,
        sink: &EventSink<Self>,
    ) -> Result<(), DomainError> {
        let decided = self.decide(command, services.clock.now());
        crate::decided::write(self, sink, decided).await
    }

    fn apply(&mut self, event: InvoiceEvent) {
        match (&mut self.issued, event) {
            (
                slot,
                InvoiceEvent::InvoiceIssued {
                    invoice_id,
                    account_id,
                    subscription_id,
                    currency,
                    lines,
                    total,
                    issued_at,
                    due_at,
                    ..
                },
            ) => {
                *slot = Some(IssuedInvoice {
                    invoice_id,
                    account_id,
                    subscription_id,
                    amount_paid: Money::zero(currency.clone()),
                    amount_refunded: Money::zero(currency.clone()),
                    currency,
                    lines,
                    total,
                    issued_at,
                    due_at,
                    status: InvoiceStatus::Issued,
                    attempts: 0,
                    recorded_refs: BTreeSet::new(),
                    disputes: BTreeSet::new(),
                    last_attempt: None,
                    overpayments: BTreeMap::new(),
                    credit_notes: BTreeSet::new(),
                    credited: Default::default(),
                });
            }
            (Some(invoice), event) => invoice.apply(event),
            // Every stream starts with InvoiceIssued; anything before it has nothing to change.
            (None, _) => {}
        }
    }
}

/// Read accessors. Each answers `None` (or `false`) for an invoice that was never issued.
impl Invoice {
    pub fn exists(&self) -> bool {
        self.issued.is_some()
    }

    pub fn invoice_id(&self) -> Option<Uuid> {
        self.issued.as_ref().map(|i| i.invoice_id)
    }

    pub fn status(&self) -> Option<InvoiceStatus> {
        self.issued.as_ref().map(|i| i.status)
    }

    /// Issued or past due: payments may still be collected.
    pub fn is_open(&self) -> bool {
        self.status().is_some_and(InvoiceStatus::is_open)
    }

    pub fn account_id(&self) -> Option<&AccountId> {
        self.issued.as_ref().map(|i| &i.account_id)
    }

    pub fn subscription_id(&self) -> Option<Uuid> {
        self.issued.as_ref().and_then(|i| i.subscription_id)
    }

    pub fn currency(&self) -> Option<&Currency> {
        self.issued.as_ref().map(|i| &i.currency)
    }

    pub fn lines(&self) -> &[InvoiceLine] {
        self.issued.as_ref().map_or(&[], |i| &i.lines)
    }

    pub fn total(&self) -> Option<&Money> {
        self.issued.as_ref().map(|i| &i.total)
    }

    /// What a refund may still give back, in minor units: paid, less refunded, less what credit
    /// notes gave to the account's balance.
    pub fn refundable(&self) -> i64 {
        self.issued.as_ref().map_or(0, IssuedInvoice::refundable)
    }

    pub fn amount_paid(&self) -> Option<&Money> {
        self.issued.as_ref().map(|i| &i.amount_paid)
    }

    pub fn amount_refunded(&self) -> Option<&Money> {
        self.issued.as_ref().map(|i| &i.amount_refunded)
    }

    /// `total − amount_paid`: what is still to be collected (refunds do not reopen it).
    pub fn amount_due(&self) -> Option<Money> {
        self.issued.as_ref().and_then(|i| i.amount_due().ok())
    }

    /// Payment attempts so far: gateway attempts plus failures reported from outside.
    pub fn attempts(&self) -> u32 {
        self.issued.as_ref().map_or(0, |i| i.attempts)
    }

    pub fn issued_at(&self) -> Option<DateTime<Utc>> {
        self.issued.as_ref().map(|i| i.issued_at)
    }

    pub fn due_at(&self) -> Option<DateTime<Utc>> {
        self.issued.as_ref().map(|i| i.due_at)
    }

    pub fn last_attempt(&self) -> Option<&PaymentAttempt> {
        self.issued.as_ref().and_then(|i| i.last_attempt.as_ref())
    }

    /// The gateway attempt whose outcome is not recorded yet, if any: after a crash, the
    /// application re-charges with its `payment_ref` (the gateway deduplicates) and records it.
    pub fn attempt_in_flight(&self) -> Option<&PaymentAttempt> {
        self.issued
            .as_ref()
            .and_then(IssuedInvoice::attempt_in_flight)
    }

    /// The overpayment the attempt `payment_ref` made, if it made one.
    pub fn overpayment(&self, payment_ref: &str) -> Option<&Overpayment> {
        self.issued
            .as_ref()
            .and_then(|i| i.overpayments.get(payment_ref))
    }

    /// Whether an outcome has been recorded for `payment_ref`.
    pub fn has_recorded(&self, payment_ref: &str) -> bool {
        self.issued
            .as_ref()
            .is_some_and(|i| i.recorded_refs.contains(payment_ref))
    }
}

//! What happened to an invoice. Each event carries the totals after the change and the business
//! time `at`, so a projection renders it without loading the invoice.

use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::invoice::{CollectionMethod, CreditNoteOutcome, InvoiceLine};
use crate::money::{Currency, Money};
use crate::values::{AccountId, PaymentMethodToken};

/// `PaymentFailed` 2.0 names the decline code `decline_code` (1.0: `code`, which read as one of
/// our own error codes).
pub const PAYMENT_FAILED_VERSION: &str = "2.0";

/// `InvoiceIssued` 2.0 says how the invoice is collected (1.0 left it to who issued it).
pub const INVOICE_ISSUED_VERSION: &str = "2.0";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum InvoiceEvent {
    InvoiceIssued {
        invoice_id: Uuid,
        account_id: AccountId,
        subscription_id: Option<Uuid>,
        currency: Currency,
        lines: Vec<InvoiceLine>,
        total: Money,
        issued_at: DateTime<Utc>,
        due_at: DateTime<Utc>,
        collection: CollectionMethod,
    },
    /// A charge of `amount` is to be made with `payment_ref` as the gateway's idempotency key.
    PaymentAttempted {
        attempt: u32,
        payment_ref: String,
        amount: Money,
        payment_method: PaymentMethodToken,
        at: DateTime<Utc>,
    },
    PaymentRecorded {
        amount: Money,
        payment_ref: String,
        /// Everything paid on the invoice so far, this payment included.
        amount_paid: Money,
        at: DateTime<Utc>,
    },
    PaymentFailed {
        attempt: u32,
        /// The processor's message, for people.
        reason: String,
        /// The processor's machine-readable decline code, e.g. `card_declined`. Version 1 called
        /// it `code`; see [`crate::upcasting`].
        decline_code: String,
        payment_ref: Option<String>,
        /// The card must not be retried (lost, stolen): dunning escalates at once.
        hard_decline: bool,
        amount_due: Money,
        at: DateTime<Utc>,
    },
    InvoicePaid {
        amount_paid: Money,
        at: DateTime<Utc>,
    },
    InvoiceRefunded {
        amount: Money,
        /// Everything refunded so far, this refund included.
        amount_refunded: Money,
        fully_refunded: bool,
        reason: String,
        at: DateTime<Utc>,
    },
    /// A credit note on the paid invoice (SPEC 11.4): money refunded, or given to the account's
    /// balance, which the billing policy credits.
    CreditNoteIssued {
        credit_note_id: Uuid,
        account_id: AccountId,
        amount: Money,
        reason: String,
        outcome: CreditNoteOutcome,
        at: DateTime<Utc>,
    },
    InvoiceVoided {
        at: DateTime<Utc>,
    },
    InvoiceMarkedUncollectible {
        /// The amount written off.
        amount_due: Money,
        at: DateTime<Utc>,
    },
    /// The gateway took `amount` for attempt `payment_ref`, but the invoice no longer owed it
    /// (it was paid, voided or written off meanwhile, or owes less). The money is not the
    /// invoice's: it is to be refunded.
    OverpaymentReceived {
        payment_ref: String,
        amount: Money,
        at: DateTime<Utc>,
    },
    /// The overpayment of `payment_ref` went back to the customer through the gateway.
    OverpaymentRefunded {
        payment_ref: String,
        amount: Money,
        /// The gateway's id of the refund.
        refund_ref: String,
        at: DateTime<Utc>,
    },
    /// The gateway refused to refund the overpayment of `payment_ref`: support must return it.
    OverpaymentRefundFailed {
        payment_ref: String,
        amount: Money,
        reason: String,
        at: DateTime<Utc>,
    },
    /// The customer's bank disputes `amount` of a payment (a chargeback), `dispute_id` being
    /// the processor's id for it. The money is held until the dispute is decided.
    DisputeOpened {
        dispute_id: String,
        amount: Money,
        reason: String,
        at: DateTime<Utc>,
    },
}

impl DomainEvent for InvoiceEvent {
    fn event_type(&self) -> String {
        match self {
            InvoiceEvent::InvoiceIssued { .. } => "InvoiceIssued",
            InvoiceEvent::PaymentAttempted { .. } => "PaymentAttempted",
            InvoiceEvent::PaymentRecorded { .. } => "PaymentRecorded",
            InvoiceEvent::PaymentFailed { .. } => "PaymentFailed",
            InvoiceEvent::InvoicePaid { .. } => "InvoicePaid",
            InvoiceEvent::InvoiceRefunded { .. } => "InvoiceRefunded",
            InvoiceEvent::CreditNoteIssued { .. } => "CreditNoteIssued",
            InvoiceEvent::InvoiceVoided { .. } => "InvoiceVoided",
            InvoiceEvent::InvoiceMarkedUncollectible { .. } => "InvoiceMarkedUncollectible",
            InvoiceEvent::OverpaymentReceived { .. } => "OverpaymentReceived",
            InvoiceEvent::OverpaymentRefunded { .. } => "OverpaymentRefunded",
            InvoiceEvent::OverpaymentRefundFailed { .. } => "OverpaymentRefundFailed",
            InvoiceEvent::DisputeOpened { .. } => "DisputeOpened",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        match self {
            InvoiceEvent::PaymentFailed { .. } => PAYMENT_FAILED_VERSION,
            InvoiceEvent::InvoiceIssued { .. } => INVOICE_ISSUED_VERSION,
            _ => crate::EVENT_VERSION_1,
        }
        .to_owned()
    }
}

//! The business rules that can refuse an invoice command (409 `rule_violation`), each with a
//! stable code and a message in billing words.

use crate::invoice::{CreditNoteOutcome, InvoiceStatus};
use crate::money::Money;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvoiceRule {
    #[error("the invoice has already been issued")]
    AlreadyIssued,
    #[error("the invoice is {status}: only an issued or past-due invoice with an amount due takes payments")]
    InvoiceNotPayable { status: InvoiceStatus },
    #[error("payment attempt {payment_ref} is in flight: its outcome must be recorded first; retry once it is")]
    PaymentInFlight { payment_ref: String },
    #[error("a payment of {amount} exceeds the {amount_due} still due")]
    Overpayment { amount_due: Money, amount: Money },
    #[error("the invoice is {status}: only a paid invoice can be refunded")]
    InvoiceNotRefundable { status: InvoiceStatus },
    #[error("a refund cannot exceed what was paid and not yet refunded ({refundable})")]
    RefundExceedsRefundable { refundable: Money },
    #[error("a paid invoice cannot be voided; refund it")]
    PaidInvoiceCannotBeVoided,
    #[error("an invoice with payments ({amount_paid}) cannot be voided; collect the rest or mark it uncollectible")]
    PartiallyPaidInvoiceCannotBeVoided { amount_paid: Money },
    #[error("the invoice is already {status}: only an issued or past-due invoice can be voided or marked uncollectible")]
    InvoiceAlreadyClosed { status: InvoiceStatus },
    #[error("the invoice is {status}: only a paid invoice takes credit notes")]
    InvoiceNotCreditable { status: InvoiceStatus },
    #[error("a credit note with outcome {outcome:?} cannot exceed {creditable} on this invoice")]
    CreditNoteExceedsCreditable {
        outcome: CreditNoteOutcome,
        creditable: Money,
    },
    #[error("no overpayment was received with payment {payment_ref}")]
    NoSuchOverpayment { payment_ref: String },
}

impl InvoiceRule {
    /// A stable snake_case name for the rule, for clients to match on.
    pub fn code(&self) -> &'static str {
        match self {
            InvoiceRule::AlreadyIssued => "already_issued",
            InvoiceRule::InvoiceNotPayable { .. } => "invoice_not_payable",
            InvoiceRule::PaymentInFlight { .. } => "payment_in_flight",
            InvoiceRule::Overpayment { .. } => "overpayment",
            InvoiceRule::InvoiceNotRefundable { .. } => "invoice_not_refundable",
            InvoiceRule::RefundExceedsRefundable { .. } => "refund_exceeds_refundable",
            InvoiceRule::PaidInvoiceCannotBeVoided => "paid_invoice_cannot_be_voided",
            InvoiceRule::PartiallyPaidInvoiceCannotBeVoided { .. } => {
                "partially_paid_invoice_cannot_be_voided"
            }
            InvoiceRule::InvoiceAlreadyClosed { .. } => "invoice_already_closed",
            InvoiceRule::NoSuchOverpayment { .. } => "no_such_overpayment",
            InvoiceRule::InvoiceNotCreditable { .. } => "invoice_not_creditable",
            InvoiceRule::CreditNoteExceedsCreditable { .. } => "credit_note_exceeds_creditable",
        }
    }
}

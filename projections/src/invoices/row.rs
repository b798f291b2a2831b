//! One invoice's row and how each event changes it. The fold mirrors what the Invoice
//! aggregate's `apply` does to the same fields, in column form.

use domain::invoice::{InvoiceEvent, InvoiceStatus};

use crate::columns::timestamp;

use super::view::InvoiceLineView;

/// The `account_invoices` row of one invoice.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct InvoiceRow {
    pub invoice_id: String,
    /// From `InvoiceIssued`, the only invoice event that names the account.
    pub account_id: String,
    pub subscription_id: Option<String>,
    pub status: String,
    pub currency: String,
    pub total: i64,
    pub amount_paid: i64,
    pub amount_refunded: i64,
    pub attempts: i64,
    pub issued_at: String,
    pub due_at: String,
    /// JSON array of [`InvoiceLineView`]s.
    pub lines: String,
    /// The position of `InvoiceIssued`: orders an account's invoices and keys the page cursor.
    pub issued_position: i64,
    /// From `InvoiceNumberAssigned`, which follows the issue: `None` until then.
    pub number: Option<String>,
}

impl InvoiceRow {
    /// The row `InvoiceIssued` at `position` creates; `None` for any other event.
    pub fn issued(
        invoice_id: &str,
        position: i64,
        event: &InvoiceEvent,
    ) -> Result<Option<Self>, String> {
        let InvoiceEvent::InvoiceIssued {
            account_id,
            subscription_id,
            currency,
            lines,
            total,
            issued_at,
            due_at,
            ..
        } = event
        else {
            return Ok(None);
        };
        let lines: Vec<InvoiceLineView> = lines.iter().map(InvoiceLineView::from).collect();
        let lines = serde_json::to_string(&lines).map_err(|e| e.to_string())?;
        Ok(Some(Self {
            invoice_id: invoice_id.to_owned(),
            account_id: account_id.to_string(),
            subscription_id: subscription_id.map(|id| id.to_string()),
            status: InvoiceStatus::Issued.as_str().to_owned(),
            currency: currency.to_string(),
            total: total.amount,
            amount_paid: 0,
            amount_refunded: 0,
            attempts: 0,
            issued_at: timestamp(*issued_at),
            due_at: timestamp(*due_at),
            lines,
            issued_position: position,
            number: None,
        }))
    }

    /// Applies an event that follows `InvoiceIssued`.
    pub fn apply(&mut self, event: &InvoiceEvent) {
        use InvoiceEvent as E;
        match event {
            E::InvoiceIssued { .. } => {}
            E::PaymentAttempted { attempt, .. } => self.attempts = i64::from(*attempt),
            E::PaymentRecorded { amount_paid, .. } => self.amount_paid = amount_paid.amount,
            E::PaymentFailed { attempt, .. } => {
                self.attempts = self.attempts.max(i64::from(*attempt));
                self.set_status(InvoiceStatus::PastDue);
            }
            E::InvoicePaid { amount_paid, .. } => {
                self.amount_paid = amount_paid.amount;
                self.set_status(InvoiceStatus::Paid);
            }
            E::InvoiceRefunded {
                amount_refunded,
                fully_refunded,
                ..
            } => {
                self.amount_refunded = amount_refunded.amount;
                if *fully_refunded {
                    self.set_status(InvoiceStatus::Refunded);
                }
            }
            E::InvoiceVoided { .. } => self.set_status(InvoiceStatus::Void),
            E::InvoiceMarkedUncollectible { .. } => self.set_status(InvoiceStatus::Uncollectible),
            // An overpayment is money the invoice did not owe: its amounts stay as they were.
            E::OverpaymentReceived { .. }
            | E::OverpaymentRefunded { .. }
            | E::OverpaymentRefundFailed { .. } => {}
            // The money is held, not returned: the amounts change when a refund is recorded.
            E::DisputeOpened { .. } => {}
            // A credit note on a paid invoice moves money already paid (refunded, or to the
            // balance): the refund has its own event, the balance its own stream.
            E::CreditNoteIssued { .. } => {}
        }
    }

    fn set_status(&mut self, status: InvoiceStatus) {
        self.status = status.as_str().to_owned();
    }
}

//! Use case: a credit note on a paid invoice (`POST /v1/invoices/{id}/credit-notes`, SPEC 11.4).
//! With outcome `refund` the gateway gives the money back first, through the refund use case
//! and under its idempotency rules; the note is recorded after, backed by that refund. With
//! outcome `credit_balance` the note is recorded, and the billing policy credits the account's
//! balance from its event, once, so no crash between the two can lose the credit.

use domain::invoice::{CreditNote, CreditNoteOutcome, Invoice, InvoiceCommand};
use domain::BillingServices;
use uuid::Uuid;

use crate::event_log::EventLog;
use crate::payments::PaymentGateway;
use crate::refund_invoice::{refund_invoice, RefundInvoiceError};
use crate::{CommandBus, CommandContext, Executed};

/// Issues `note` on invoice `invoice_id`, refunding first when its outcome is `refund`.
pub async fn issue_credit_note<L: EventLog>(
    bus: &CommandBus<L>,
    gateway: &dyn PaymentGateway,
    services: &BillingServices,
    invoice_id: Uuid,
    note: CreditNote,
    context: &CommandContext,
) -> Result<Executed, RefundInvoiceError> {
    if note.outcome == CreditNoteOutcome::Refund {
        let refund = context.step("credit_note_refund");
        let (amount, reason) = (note.amount.clone(), note.reason.clone());
        refund_invoice(bus, gateway, services, invoice_id, amount, reason, &refund).await?;
    }
    let command = InvoiceCommand::IssueCreditNote { note };
    let id = invoice_id.to_string();
    Ok(bus
        .execute::<Invoice>(&id, command, services, context)
        .await?)
}

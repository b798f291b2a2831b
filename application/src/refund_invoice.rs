//! Use case: refund (part of) a paid invoice (SPEC 3.4, 10.1). When a gateway attempt collected
//! the invoice, the gateway gives the money back first, under its own idempotency key, and only
//! then is `InvoiceRefunded` recorded; money paid outside (`record-payment`) goes back outside
//! and the refund is only recorded.
//!
//! The refund's key is `{invoice_id}:refund:{command_id}` when the request has an
//! `Idempotency-Key` (a retry asks the gateway again with the same key and replays), else
//! `{invoice_id}:refund:{n}` with n the number of refunds recorded so far plus one, recorded
//! under the command id `invoice_refund:<key>`: a crash between the gateway and the record is
//! resumed by the next refund of the same amount, which the gateway answers from its record.

use domain::invoice::{Invoice, InvoiceCommand, InvoiceEvent, InvoiceStatus};
use domain::{BillingServices, DomainError, Money};
use uuid::Uuid;

use crate::event_log::{CommandKey, EventLog};
use crate::payments::{GatewayError, PaymentGateway, RefundOutcome, RefundRequest};
use crate::{CommandBus, CommandContext, DispatchError, Executed};

#[derive(Debug, thiserror::Error)]
pub enum RefundInvoiceError {
    /// The invoice refused the refund, or the store failed.
    #[error(transparent)]
    Dispatch(#[from] DispatchError<DomainError>),
    /// The gateway's answer is unknown; retrying asks again with the same key.
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    /// The gateway refused to give the money back; nothing was recorded.
    #[error("the payment gateway refused the refund: {0}")]
    Refused(String),
}

/// What the invoice's history says about its refunds.
struct History {
    /// The payment_ref of the gateway attempt that paid the invoice, if one did.
    gateway_payment: Option<String>,
    refunds_recorded: usize,
}

/// Refunds `amount` of invoice `invoice_id` for `reason`, through the gateway when a gateway
/// attempt collected it.
pub async fn refund_invoice<L: EventLog>(
    bus: &CommandBus<L>,
    gateway: &dyn PaymentGateway,
    services: &BillingServices,
    invoice_id: Uuid,
    amount: Money,
    reason: String,
    context: &CommandContext,
) -> Result<Executed, RefundInvoiceError> {
    let id = invoice_id.to_string();
    let invoice = bus.load::<Invoice>(&id).await?.aggregate;
    let command = InvoiceCommand::RefundInvoice {
        amount: amount.clone(),
        reason,
    };
    let history = history(bus, &id).await?;
    let (Some(payment_ref), Some(account_id), true) = (
        history.gateway_payment,
        invoice.account_id().cloned(),
        refundable(&invoice, &amount),
    ) else {
        // Nothing for the gateway to give back, or a refund the invoice refuses: the invoice
        // decides, with its own error when it refuses.
        return Ok(bus
            .execute::<Invoice>(&id, command, services, context)
            .await?);
    };
    let (refund_ref, context) = match &context.key {
        Some(key) => (format!("{id}:refund:{}", key.command_id), context.clone()),
        None => {
            let refund_ref = format!("{id}:refund:{}", history.refunds_recorded + 1);
            let key = CommandKey {
                command_id: format!("invoice_refund:{refund_ref}"),
                fingerprint: format!("invoice_refund:{}", amount.amount),
            };
            let context = CommandContext {
                key: Some(key),
                ..context.clone()
            };
            (refund_ref, context)
        }
    };
    let request = RefundRequest {
        refund_ref,
        payment_ref,
        amount,
        account_id,
    };
    match gateway.refund(request).await? {
        RefundOutcome::Refunded { gateway_ref } => {
            tracing::info!(invoice_id = %id, %gateway_ref, "the gateway refunded");
        }
        RefundOutcome::Refused { reason } => return Err(RefundInvoiceError::Refused(reason)),
    }
    Ok(bus
        .execute::<Invoice>(&id, command, services, &context)
        .await?)
}

/// Whether the invoice would take the refund now: paid, and `amount` within what is left.
fn refundable(invoice: &Invoice, amount: &Money) -> bool {
    matches!(
        invoice.status(),
        Some(InvoiceStatus::Paid | InvoiceStatus::Refunded)
    ) && amount.amount > 0
        && amount.amount <= invoice.refundable()
}

async fn history<L: EventLog>(
    bus: &CommandBus<L>,
    id: &str,
) -> Result<History, DispatchError<DomainError>> {
    const PAGE: u32 = 500;
    let attempt_prefix = format!("{id}:attempt:");
    let mut history = History {
        gateway_payment: None,
        refunds_recorded: 0,
    };
    let mut after = 0;
    loop {
        let page = bus.read_events::<Invoice>(id, after, PAGE).await?;
        let Some((last, _)) = page.last() else {
            return Ok(history);
        };
        after = last.sequence;
        for (_, event) in page {
            match event {
                InvoiceEvent::PaymentRecorded { payment_ref, .. }
                    if payment_ref.starts_with(&attempt_prefix) =>
                {
                    history.gateway_payment = Some(payment_ref);
                }
                InvoiceEvent::InvoiceRefunded { .. } => history.refunds_recorded += 1,
                _ => {}
            }
        }
    }
}

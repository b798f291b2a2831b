//! Use case: give back money a gateway attempt took that its invoice no longer owed
//! (`OverpaymentReceived`), exactly once however often it runs and wherever it stops.
//!
//! 1. The gateway refunds the attempt's charge under the idempotency key `<payment_ref>:refund`.
//! 2. `RecordOverpaymentRefund` records the answer under the command id
//!    `overpayment_refund:<payment_ref>`.
//!
//! A crash between 1 and 2 re-sends the same key: the gateway answers with the first refund
//! instead of refunding again. The billing policy calls it for every `OverpaymentReceived`.

use domain::invoice::{Invoice, InvoiceCommand, OverpaymentRefund, OverpaymentRefundOutcome};
use domain::{BillingServices, DomainError};
use uuid::Uuid;

use crate::event_log::{CommandKey, EventLog};
use crate::payments::{GatewayError, PaymentGateway, RefundOutcome, RefundRequest};
use crate::{CommandBus, CommandContext, DispatchError};

#[derive(Debug, thiserror::Error)]
pub enum RefundOverpaymentError {
    /// The invoice refused the command, or the store failed.
    #[error(transparent)]
    Dispatch(#[from] DispatchError<DomainError>),
    /// The refund's outcome is unknown; the next run asks again with the same key.
    #[error(transparent)]
    Gateway(#[from] GatewayError),
}

/// The gateway's idempotency key for the refund of the overpayment `payment_ref` made.
pub fn refund_ref(payment_ref: &str) -> String {
    format!("{payment_ref}:refund")
}

/// Refunds the overpayment attempt `payment_ref` made on invoice `invoice_id`, unless its refund
/// is already recorded. `context` is the caller's; the record's command id derives from the ref.
pub async fn refund_overpayment<L: EventLog>(
    bus: &CommandBus<L>,
    gateway: &dyn PaymentGateway,
    services: &BillingServices,
    invoice_id: Uuid,
    payment_ref: &str,
    context: &CommandContext,
) -> Result<(), RefundOverpaymentError> {
    let id = invoice_id.to_string();
    let invoice = bus.load::<Invoice>(&id).await?.aggregate;
    let (Some(overpayment), Some(account_id)) =
        (invoice.overpayment(payment_ref), invoice.account_id())
    else {
        return Err(DispatchError::Corrupt(format!(
            "invoice {id} has no overpayment {payment_ref} to refund"
        ))
        .into());
    };
    if overpayment.refund != OverpaymentRefund::Pending {
        return Ok(());
    }
    let request = RefundRequest {
        refund_ref: refund_ref(payment_ref),
        payment_ref: payment_ref.to_owned(),
        amount: overpayment.amount.clone(),
        account_id: account_id.clone(),
    };
    let outcome = match gateway.refund(request).await? {
        RefundOutcome::Refunded { gateway_ref } => OverpaymentRefundOutcome::Refunded {
            refund_ref: gateway_ref,
        },
        RefundOutcome::Refused { reason } => OverpaymentRefundOutcome::Failed { reason },
    };
    let command = InvoiceCommand::RecordOverpaymentRefund {
        payment_ref: payment_ref.to_owned(),
        outcome,
    };
    let context = CommandContext {
        key: Some(CommandKey {
            command_id: format!("overpayment_refund:{payment_ref}"),
            // The gateway answers one refund key with one outcome, so one fingerprint fits all.
            fingerprint: "overpayment_refund".into(),
        }),
        idempotency_key: None,
        ..context.clone()
    };
    bus.execute::<Invoice>(&id, command, services, &context)
        .await?;
    Ok(())
}

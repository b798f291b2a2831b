//! Use case: a manual invoice (`POST /v1/invoices`). A rule that spans two aggregates lives here,
//! not in the HTTP handler: an invoice that names a subscription must name one of the same
//! account, billed in the same currency, so that its card may be charged and the account's
//! balance adds up.

use domain::invoice::{CollectionMethod, Invoice, InvoiceCommand, InvoiceLine};
use domain::subscription::Subscription;
use domain::{AccountId, BillingServices, Currency, DomainError};
use uuid::Uuid;

use crate::event_log::EventLog;
use crate::{CommandBus, CommandContext, DispatchError, Executed};

/// What a client asks to invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManualInvoice {
    pub invoice_id: Uuid,
    pub account_id: AccountId,
    pub subscription_id: Option<Uuid>,
    pub currency: Currency,
    pub lines: Vec<InvoiceLine>,
}

/// Issues `invoice` once its subscription, if it names one, is checked against it.
pub async fn issue_manual_invoice<L: EventLog>(
    bus: &CommandBus<L>,
    services: &BillingServices,
    invoice: ManualInvoice,
    context: &CommandContext,
) -> Result<Executed, DispatchError<DomainError>> {
    if let Some(subscription_id) = invoice.subscription_id {
        check_subscription(bus, subscription_id, &invoice.account_id, &invoice.currency).await?;
    }
    let id = invoice.invoice_id.to_string();
    let command = InvoiceCommand::IssueInvoice {
        invoice_id: invoice.invoice_id,
        account_id: invoice.account_id,
        subscription_id: invoice.subscription_id,
        currency: invoice.currency,
        lines: invoice.lines,
        due_at: None,
        collection: CollectionMethod::Manual,
    };
    bus.execute::<Invoice>(&id, command, services, context)
        .await
}

async fn check_subscription<L: EventLog>(
    bus: &CommandBus<L>,
    id: Uuid,
    account: &AccountId,
    currency: &Currency,
) -> Result<(), DispatchError<DomainError>> {
    let subscription = bus.load::<Subscription>(&id.to_string()).await?.aggregate;
    let refused = |field: &str, reason: String| {
        Err(DispatchError::Rejected(DomainError::invalid(field, reason)))
    };
    match (subscription.account_id(), subscription.currency()) {
        (None, _) | (_, None) => refused("subscription_id", format!("no subscription {id}")),
        (Some(owner), _) if owner != account => refused(
            "subscription_id",
            format!("subscription {id} belongs to another account"),
        ),
        (_, Some(billed)) if billed != currency => {
            refused("currency", format!("subscription {id} bills in {billed}"))
        }
        _ => Ok(()),
    }
}

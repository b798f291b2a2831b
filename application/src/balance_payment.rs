//! Use case: an invoice paid from the account's credit balance before it is charged (SPEC 11.4).
//! It spans two aggregates. The balance is debited first, since it is what can run out; then the
//! invoice records what the balance paid as a payment whose reference names the balance, so the
//! amount due, the summary's balance due and the documents follow without a rule of their own.
//!
//! Each step has its own command id, derived from the caller's, so a run cut short by a crash is
//! finished by the next one, once: the debit replays, and its event tells the amount again.

use domain::customer_balance::{CustomerBalance, CustomerBalanceCommand, CustomerBalanceEvent};
use domain::invoice::{Invoice, InvoiceCommand};
use domain::{AccountId, BillingServices, DomainError, Money};
use uuid::Uuid;

use crate::event_log::EventLog;
use crate::{CommandBus, CommandContext, DispatchError};

/// The `payment_ref` of what the balance paid of `invoice_id`: one per invoice, as the balance
/// pays an invoice once.
pub fn balance_payment_ref(invoice_id: Uuid) -> String {
    format!("customer_balance:{invoice_id}")
}

/// What the balance of `account` would pay of `amount_due` now: the amount a preview shows as
/// the credit that will apply (zero for a balance in another currency, which pays nothing).
pub async fn balance_available_for<L: EventLog>(
    bus: &CommandBus<L>,
    account: &AccountId,
    amount_due: &Money,
) -> Result<Money, DispatchError<DomainError>> {
    let balance = bus
        .load::<CustomerBalance>(account.as_str())
        .await?
        .aggregate;
    let available = balance
        .balance()
        .filter(|money| money.currency == amount_due.currency)
        .map_or(0, |money| money.amount.clamp(0, amount_due.amount.max(0)));
    Ok(Money::new(available, amount_due.currency.clone()))
}

/// Pays what it can of invoice `invoice_id` of `account` from the account's balance, and answers
/// whether anything is left for the card (nothing once the invoice is paid or closed).
pub async fn pay_from_balance<L: EventLog>(
    bus: &CommandBus<L>,
    services: &BillingServices,
    account: &AccountId,
    invoice_id: Uuid,
    context: &CommandContext,
) -> Result<bool, DispatchError<DomainError>> {
    // The balance first: most accounts hold none, and then the invoice need not be read.
    let balance = bus
        .load::<CustomerBalance>(account.as_str())
        .await?
        .aggregate;
    let holds_credit = balance.balance().is_some_and(|money| money.amount > 0);
    // A debit made before a crash leaves the balance remembering the invoice.
    if !holds_credit && !balance.has_paid(invoice_id) {
        return Ok(true);
    }
    let id = invoice_id.to_string();
    let payment_ref = balance_payment_ref(invoice_id);
    let invoice = bus.load::<Invoice>(&id).await?.aggregate;
    // What is due now, not the total: a payment recorded since the issue is not paid twice.
    let amount_due = match invoice.amount_due() {
        Some(due) if invoice.is_open() && due.amount > 0 => due,
        _ => return Ok(false),
    };
    if invoice.has_recorded(&payment_ref) {
        return Ok(true);
    }
    let debit = CustomerBalanceCommand::ApplyBalanceToInvoice {
        account_id: account.clone(),
        invoice_id,
        amount_due: amount_due.clone(),
    };
    let debited = bus
        .execute::<CustomerBalance>(
            account.as_str(),
            debit,
            services,
            &context.step("balance_debit"),
        )
        .await?;
    if debited.record.position.is_none() {
        return Ok(true);
    }
    // The one event the debit appended, whether it ran now or before a crash.
    let after = debited.record.version - 1;
    let events = bus
        .read_events::<CustomerBalance>(account.as_str(), after, 1)
        .await?;
    let Some((_, CustomerBalanceEvent::BalanceApplied { amount, .. })) = events.into_iter().next()
    else {
        let reason = format!("debit of {account} for invoice {invoice_id} has no BalanceApplied");
        return Err(DispatchError::Corrupt(reason));
    };
    let paid = Money::new(-amount.amount, amount.currency);
    let payment = InvoiceCommand::RecordPayment {
        amount: paid.clone(),
        payment_ref,
    };
    bus.execute::<Invoice>(&id, payment, services, &context.step("balance_payment"))
        .await?;
    Ok(paid.amount < amount_due.amount)
}

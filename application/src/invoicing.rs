//! What a subscription event invoices (SPEC 4 and 11.1): the lines it carries, and the usage of
//! the paid period it closed. One place for the billing policy, which issues the invoice, and
//! for the previews, which show it before it exists (SPEC 11.2), so the two cannot disagree.

use domain::invoice::InvoiceLine;
use domain::subscription::{CancellationReason, SubscriptionEvent};
use domain::{AccountId, Currency, PlanCatalog};
use uuid::Uuid;

use crate::usage_billing::UsageBill;

/// The invoice a subscription event calls for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodInvoice {
    pub account_id: AccountId,
    pub currency: Currency,
    pub lines: Vec<InvoiceLine>,
}

/// The usage `event` bills on invoice `invoice_id`, if any: a renewal bills the period that
/// closed, a cancellation its last paid period, at the plan that period was on. Nothing when
/// that plan prices no usage, or when dunning gave up (the open invoices are written off; no new
/// one is issued).
pub fn usage_bill_for(
    invoice_id: Uuid,
    event: &SubscriptionEvent,
    catalog: &PlanCatalog,
) -> Option<UsageBill> {
    use SubscriptionEvent as E;
    let (account_id, closed) = match event {
        E::PeriodRenewed {
            account_id,
            closed: Some(closed),
            ..
        } => (account_id, closed),
        E::SubscriptionCancelled {
            account_id,
            reason,
            closed: Some(closed),
            ..
        } if *reason != CancellationReason::DunningExhausted => (account_id, closed),
        _ => return None,
    };
    let priced = catalog
        .get(&closed.plan_id)
        .is_some_and(|plan| !plan.usage_prices.is_empty());
    priced.then(|| UsageBill {
        account_id: account_id.clone(),
        invoice_id,
        period: closed.period,
        plan_id: closed.plan_id.clone(),
    })
}

/// The invoice `event` calls for, with the `usage` lines its bill answered, if any: an
/// activation's or a renewal's lines then the usage, a plan change's prorations, and a
/// cancellation's final invoice of usage only; then the `discount` line of the discount the
/// event carries, taken off all of them. No line, no invoice.
pub fn invoice_of(event: &SubscriptionEvent, usage: Vec<InvoiceLine>) -> Option<PeriodInvoice> {
    use SubscriptionEvent as E;
    let (account_id, lines, discount): (_, &[InvoiceLine], _) = match event {
        E::SubscriptionActivated {
            account_id,
            invoice_lines,
            discount,
            ..
        }
        | E::PeriodRenewed {
            account_id,
            invoice_lines,
            discount,
            ..
        } => (account_id, invoice_lines, discount),
        E::PlanChanged {
            account_id,
            proration_lines,
            discount,
            ..
        } => (account_id, proration_lines, discount),
        E::SubscriptionCancelled {
            account_id,
            discount,
            ..
        } => (account_id, &[], discount),
        _ => return None,
    };
    let mut lines: Vec<InvoiceLine> = lines.iter().cloned().chain(usage).collect();
    // A discount line fails only for charges beyond the amount bound, which the invoice
    // refuses at issue whatever its discount.
    let off = discount
        .as_ref()
        .and_then(|discount| discount.line_for(&lines).ok().flatten());
    lines.extend(off);
    // The lines are priced in the plan's currency.
    let currency = lines.first()?.amount.currency.clone();
    Some(PeriodInvoice {
        account_id: account_id.clone(),
        currency,
        lines,
    })
}

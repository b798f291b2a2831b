//! Use cases: previews (SPEC 11.2). Each runs, on the current state and without recording
//! anything, the decision the real command will run — the renewal (or the trial's end) at the
//! period end, a plan change now — and builds the invoice the billing policy would issue from
//! the events it would record, with `invoicing`'s functions. So a preview equals the real
//! invoice as long as nothing happens in between.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use domain::entitlements::{Entitlements, EntitlementsEvent};
use domain::invoice::InvoiceLine;
use domain::subscription::{
    Subscription, SubscriptionCommand, SubscriptionEvent, SubscriptionStatus,
};
use domain::{BillingServices, DomainError, ManualClock, Money, PlanId};
use uuid::Uuid;

use crate::event_log::EventLog;
use crate::invoicing::{invoice_of, usage_bill_for, PeriodInvoice};
use crate::plan_change::{change_plan_command, PlanChange};
use crate::usage_billing::UsageBill;
use crate::{CommandBus, DispatchError};

type Outcome<T> = Result<T, DispatchError<DomainError>>;

/// The next invoice of a subscription as it stands now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpcomingInvoice {
    pub invoice: PeriodInvoice,
    /// When it will be issued: the period end (or the trial end).
    pub issued_at: DateTime<Utc>,
}

/// What a plan change would do now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanChangePreview {
    /// The plan changes at once; `invoice` is the proration charged at once, if any.
    Now {
        plan_id: PlanId,
        invoice: Option<PeriodInvoice>,
        /// What a downgrade now credits to the account's balance.
        credit: Option<Money>,
    },
    /// A downgrade, taking effect at the period end.
    Scheduled {
        plan_id: PlanId,
        effective_at: DateTime<Utc>,
    },
    /// The subscription is on that plan already.
    Unchanged,
}

/// The invoice subscription `id` will get at its next boundary, if it will get one: the
/// renewal (usage so far included), the activation at a trial's end, or the final invoice of a
/// cancellation scheduled for the period end. `None` when none is coming (cancelled, or a trial
/// ending without a billing account).
pub async fn upcoming_invoice<L: EventLog>(
    bus: &CommandBus<L>,
    services: &BillingServices,
    id: Uuid,
) -> Outcome<Option<UpcomingInvoice>> {
    let subscription = bus.load::<Subscription>(&id.to_string()).await?.aggregate;
    let (command, issued_at) = match subscription.status() {
        SubscriptionStatus::Trialing => (
            SubscriptionCommand::ExpireTrial,
            subscription.trial_ends_at(),
        ),
        SubscriptionStatus::Active | SubscriptionStatus::PastDue => (
            SubscriptionCommand::RenewPeriod,
            subscription.current_period().map(|period| period.end),
        ),
        _ => (SubscriptionCommand::RenewPeriod, None),
    };
    let Some(issued_at) = issued_at else {
        return Ok(None);
    };
    let at_boundary = BillingServices::new(
        Arc::new(ManualClock::starting_at(issued_at)),
        services.catalog.clone(),
        services.dunning.clone(),
    );
    let events = bus
        .dry_run::<Subscription>(&id.to_string(), command, &at_boundary)
        .await?;
    for event in &events {
        let usage = match usage_bill_for(Uuid::nil(), event, &services.catalog) {
            Some(bill) => usage_so_far(bus, services, bill).await?,
            None => Vec::new(),
        };
        if let Some(invoice) = invoice_of(event, usage) {
            return Ok(Some(UpcomingInvoice { invoice, issued_at }));
        }
    }
    Ok(None)
}

/// The usage lines `bill` would get now: the usage recorded so far.
async fn usage_so_far<L: EventLog>(
    bus: &CommandBus<L>,
    services: &BillingServices,
    bill: UsageBill,
) -> Outcome<Vec<InvoiceLine>> {
    let (account, command) = bill.into_command();
    let events = bus
        .dry_run::<Entitlements>(account.as_str(), command, services)
        .await;
    let events = match events {
        Ok(events) => events,
        // No entitlements, no usage.
        Err(DispatchError::Rejected(DomainError::NotFound { .. })) => return Ok(Vec::new()),
        Err(other) => return Err(other),
    };
    Ok(events
        .into_iter()
        .flat_map(|event| match event {
            EntitlementsEvent::UsageBilled { lines, .. } => lines,
            _ => Vec::new(),
        })
        .collect())
}

/// What changing subscription `id` to `plan_id` would do now; refused as the change would be.
pub async fn plan_change_preview<L: EventLog>(
    bus: &CommandBus<L>,
    services: &BillingServices,
    id: Uuid,
    request: PlanChange,
) -> Outcome<PlanChangePreview> {
    let command = change_plan_command(bus, id, request).await?;
    let events = bus
        .dry_run::<Subscription>(&id.to_string(), command, services)
        .await?;
    Ok(events
        .iter()
        .find_map(|event| match event {
            SubscriptionEvent::PlanChanged {
                to_plan, credit, ..
            } => Some(PlanChangePreview::Now {
                plan_id: to_plan.clone(),
                invoice: invoice_of(event, Vec::new()),
                credit: credit.clone(),
            }),
            SubscriptionEvent::PlanChangeScheduled {
                to_plan,
                effective_at,
                ..
            } => Some(PlanChangePreview::Scheduled {
                plan_id: to_plan.clone(),
                effective_at: *effective_at,
            }),
            _ => None,
        })
        .unwrap_or(PlanChangePreview::Unchanged))
}

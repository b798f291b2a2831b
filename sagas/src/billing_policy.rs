//! Policy: a subscription bills itself (SPEC section 4).
//! - SubscriptionActivated, PeriodRenewed → IssueInvoice with the event's `invoice_lines`;
//!   PlanChanged with `proration_lines` → IssueInvoice for them, charged at once;
//! - InvoiceIssued collected automatically, with an amount due → a payment attempt (manual
//!   invoices are charged only when asked);
//! - SubscriptionCancelled → VoidInvoice on each open invoice of the subscription, manual ones
//!   included, or MarkUncollectible when dunning gave up (`dunning_exhausted`);
//! - OverpaymentReceived → the overpayment refunded through the gateway (the compensation for a
//!   charge the invoice no longer owed).
//!
//! Listens to: subscription and invoice events. Keeps: no state of its own (an invoice's id is
//! derived from the event that called for it; a subscription's open invoices are found through
//! the claims they hold while open). Writes: Invoice commands, payment attempts and refunds.

use domain::invoice::{CollectionMethod, InvoiceCommand, InvoiceEvent};
use domain::subscription::{CancellationReason, SubscriptionEvent};
use uuid::Uuid;

use crate::reaction::Reaction;

pub const POLICY: &str = "billing_policy";

/// Namespace of the invoice ids this policy derives (UUID v5 of the causing event id).
const INVOICE_NAMESPACE: Uuid = Uuid::from_u128(0x6c65_6467_6572_6c69_6e65_0000_0000_0001);

/// The id of the invoice that subscription event `cause` calls for: the same on every re-run.
pub fn invoice_id(cause: Uuid) -> Uuid {
    Uuid::new_v5(&INVOICE_NAMESPACE, cause.as_bytes())
}

/// The invoice subscription event `event` (id `event_id`, of subscription `subscription_id`)
/// calls for, if any.
pub fn invoice_for(
    event_id: Uuid,
    subscription_id: Uuid,
    event: &SubscriptionEvent,
) -> Option<Reaction<InvoiceCommand>> {
    use SubscriptionEvent as E;
    let (account_id, lines) = match event {
        E::SubscriptionActivated {
            account_id,
            invoice_lines,
            ..
        }
        | E::PeriodRenewed {
            account_id,
            invoice_lines,
            ..
        } => (account_id, invoice_lines),
        E::PlanChanged {
            account_id,
            proration_lines,
            ..
        } => (account_id, proration_lines),
        _ => return None,
    };
    // The lines are priced in the plan's currency; no line, nothing to bill.
    let currency = lines.first()?.amount.currency.clone();
    let command = InvoiceCommand::IssueInvoice {
        invoice_id: invoice_id(event_id),
        account_id: account_id.clone(),
        subscription_id: Some(subscription_id),
        currency,
        lines: lines.to_vec(),
        due_at: None,
        collection: CollectionMethod::Automatic,
    };
    Some(Reaction::new(
        POLICY,
        event_id,
        invoice_id(event_id).to_string(),
        command,
    ))
}

/// A payment attempt this policy makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collection {
    pub invoice_id: Uuid,
    /// `billing_policy:<InvoiceIssued event id>`: the attempt starts once.
    pub command_id: String,
}

/// The payment attempt invoice event `event` (id `event_id`) calls for: only invoices collected
/// automatically, with something to pay.
pub fn collection_for(event_id: Uuid, event: &InvoiceEvent) -> Option<Collection> {
    match event {
        InvoiceEvent::InvoiceIssued {
            invoice_id,
            total,
            collection: CollectionMethod::Automatic,
            ..
        } if total.amount > 0 => Some(Collection {
            invoice_id: *invoice_id,
            command_id: format!("{POLICY}:{event_id}"),
        }),
        _ => None,
    }
}

/// The `payment_ref` whose overpayment invoice event `event` asks to refund, if any.
pub fn overpayment_to_refund(event: &InvoiceEvent) -> Option<&str> {
    match event {
        InvoiceEvent::OverpaymentReceived { payment_ref, .. } => Some(payment_ref),
        _ => None,
    }
}

/// What a cancellation does to each open invoice of the subscription, if anything.
pub fn closing_for(event: &SubscriptionEvent) -> Option<InvoiceCommand> {
    match event {
        SubscriptionEvent::SubscriptionCancelled {
            reason: CancellationReason::DunningExhausted,
            ..
        } => Some(InvoiceCommand::MarkUncollectible),
        SubscriptionEvent::SubscriptionCancelled { .. } => Some(InvoiceCommand::VoidInvoice),
        _ => None,
    }
}

/// `closing` sent to open invoice `invoice_id` because of event `event_id`: one command id per
/// invoice, since one cancellation closes several.
pub fn close(
    event_id: Uuid,
    invoice_id: Uuid,
    closing: InvoiceCommand,
) -> Reaction<InvoiceCommand> {
    let mut reaction = Reaction::new(POLICY, event_id, invoice_id.to_string(), closing);
    reaction.command_id = format!("{POLICY}:{event_id}:{invoice_id}");
    reaction
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Duration, Utc};
    use domain::invoice::{InvoiceLine, LineKind};
    use domain::{AccountId, BillingPeriod, Currency, Money, PlanId, SeatCount};

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z")
            .unwrap()
            .to_utc()
    }

    fn usd(amount: i64) -> Money {
        Money::new(amount, Currency::parse("usd").unwrap())
    }

    fn renewal(lines: Vec<InvoiceLine>) -> SubscriptionEvent {
        SubscriptionEvent::PeriodRenewed {
            account_id: AccountId::parse("acct_1").unwrap(),
            period: BillingPeriod {
                start: t0(),
                end: t0() + Duration::days(30),
            },
            plan_id: PlanId::parse("starter").unwrap(),
            seats: SeatCount::ONE,
            invoice_lines: lines,
            at: t0(),
        }
    }

    fn base() -> InvoiceLine {
        InvoiceLine::new("Starter", LineKind::Base, 1, usd(1900)).unwrap()
    }

    #[test]
    fn a_renewal_issues_its_lines_under_an_id_derived_from_the_event() {
        let (cause, subscription) = (Uuid::new_v4(), Uuid::new_v4());
        let reaction = invoice_for(cause, subscription, &renewal(vec![base()])).expect("invoice");
        assert_eq!(reaction.aggregate_id, invoice_id(cause).to_string());
        assert_eq!(reaction.command_id, format!("billing_policy:{cause}"));
        match reaction.command {
            InvoiceCommand::IssueInvoice {
                invoice_id: id,
                subscription_id,
                currency,
                lines,
                ..
            } => {
                assert_eq!(id, invoice_id(cause));
                assert_eq!(subscription_id, Some(subscription));
                assert_eq!(currency.as_str(), "usd");
                assert_eq!(lines, vec![base()]);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_ne!(invoice_id(cause), invoice_id(Uuid::new_v4()));
    }

    #[test]
    fn nothing_to_bill_issues_nothing() {
        assert!(invoice_for(Uuid::new_v4(), Uuid::new_v4(), &renewal(vec![])).is_none());
    }

    fn issued(total: i64, collection: CollectionMethod) -> InvoiceEvent {
        InvoiceEvent::InvoiceIssued {
            invoice_id: Uuid::new_v4(),
            account_id: AccountId::parse("acct_1").unwrap(),
            subscription_id: None,
            currency: Currency::parse("usd").unwrap(),
            lines: vec![],
            total: usd(total),
            issued_at: t0(),
            due_at: t0(),
            collection,
        }
    }

    #[test]
    fn only_invoices_collected_automatically_with_an_amount_due_are_charged() {
        let cause = Uuid::new_v4();
        let automatic = CollectionMethod::Automatic;
        let collection = collection_for(cause, &issued(1900, automatic)).expect("collected");
        assert_eq!(collection.command_id, format!("billing_policy:{cause}"));
        let manual = issued(1900, CollectionMethod::Manual);
        assert!(collection_for(cause, &manual).is_none());
        assert!(collection_for(cause, &issued(0, automatic)).is_none());
    }

    fn cancelled(reason: CancellationReason, comment: Option<&str>) -> SubscriptionEvent {
        SubscriptionEvent::SubscriptionCancelled {
            account_id: AccountId::parse("acct_1").unwrap(),
            reason,
            comment: comment.map(str::to_owned),
            ended_at: t0(),
            at: t0(),
        }
    }

    #[test]
    fn a_cancellation_voids_unless_dunning_gave_up() {
        let requested = CancellationReason::Requested;
        assert_eq!(
            closing_for(&cancelled(requested, Some("customer_request"))),
            Some(InvoiceCommand::VoidInvoice)
        );
        // A client's words never make it the system's decision.
        assert_eq!(
            closing_for(&cancelled(requested, Some("dunning_exhausted"))),
            Some(InvoiceCommand::VoidInvoice)
        );
        assert_eq!(
            closing_for(&cancelled(CancellationReason::DunningExhausted, None)),
            Some(InvoiceCommand::MarkUncollectible)
        );
        assert!(closing_for(&renewal(vec![base()])).is_none());
    }

    #[test]
    fn each_closed_invoice_has_its_own_command_id() {
        let cause = Uuid::new_v4();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        assert_ne!(
            close(cause, a, InvoiceCommand::VoidInvoice).command_id,
            close(cause, b, InvoiceCommand::VoidInvoice).command_id
        );
    }
}

//! Policy: a subscription bills itself (SPEC sections 4 and 11.1).
//! - SubscriptionActivated, PeriodRenewed → IssueInvoice with the event's `invoice_lines`;
//!   PlanChanged with `proration_lines` → IssueInvoice for them, charged at once;
//! - PeriodRenewed, and SubscriptionCancelled after a paid period → the closed period's usage
//!   billed on the account's entitlements (BillUsage), its lines added to the renewal invoice or
//!   to a final invoice of their own;
//! - InvoiceIssued collected automatically, with an amount due → a payment attempt (manual
//!   invoices are charged only when asked);
//! - SubscriptionCancelled → VoidInvoice on each open invoice of the subscription, manual ones
//!   included, or MarkUncollectible when dunning gave up (`dunning_exhausted`);
//! - OverpaymentReceived → the overpayment refunded through the gateway (the compensation for a
//!   charge the invoice no longer owed).
//!
//! Listens to: subscription and invoice events. Keeps: no state of its own (an invoice's id is
//! derived from the event that called for it; a subscription's open invoices are found through
//! the claims they hold while open). Writes: Invoice commands, usage bills, payment attempts and
//! refunds.

use application::{invoicing, UsageBill};
use domain::customer_balance::{CreditSource, CustomerBalanceCommand};
use domain::invoice::{
    CollectionMethod, CreditNoteOutcome, InvoiceCommand, InvoiceEvent, InvoiceLine,
};
use domain::subscription::{CancellationReason, SubscriptionEvent};
use domain::{AccountId, PlanCatalog};
use uuid::Uuid;

use crate::reaction::Reaction;

pub const POLICY: &str = "billing_policy";

/// Namespace of the invoice ids this policy derives (UUID v5 of the causing event id).
const INVOICE_NAMESPACE: Uuid = Uuid::from_u128(0x6c65_6467_6572_6c69_6e65_0000_0000_0001);

/// The id of the invoice that subscription event `cause` calls for: the same on every re-run.
pub fn invoice_id(cause: Uuid) -> Uuid {
    Uuid::new_v5(&INVOICE_NAMESPACE, cause.as_bytes())
}

/// The usage subscription event `event` (id `event_id`) bills on the invoice it calls for, if
/// any (see [`application::invoicing::usage_bill_for`]).
pub fn usage_bill_for(
    event_id: Uuid,
    event: &SubscriptionEvent,
    catalog: &PlanCatalog,
) -> Option<UsageBill> {
    invoicing::usage_bill_for(invoice_id(event_id), event, catalog)
}

/// The command id of the usage bill event `event_id` calls for.
pub fn usage_bill_command_id(event_id: Uuid) -> String {
    format!("{POLICY}:{event_id}:usage")
}

/// The invoice subscription event `event` (id `event_id`, of subscription `subscription_id`)
/// calls for, if any, with the `usage` lines its bill answered (see
/// [`application::invoicing::invoice_of`]).
pub fn invoice_for(
    event_id: Uuid,
    subscription_id: Uuid,
    event: &SubscriptionEvent,
    usage: Vec<InvoiceLine>,
) -> Option<Reaction<InvoiceCommand>> {
    let invoice = invoicing::invoice_of(event, usage)?;
    let command = InvoiceCommand::IssueInvoice {
        invoice_id: invoice_id(event_id),
        account_id: invoice.account_id,
        subscription_id: Some(subscription_id),
        currency: invoice.currency,
        lines: invoice.lines,
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

/// The balance credit a downgrade now calls for (SPEC 11.4): the unused part of the old plan,
/// credited once, under a command id derived from the plan change.
pub fn downgrade_credit_for(
    event_id: Uuid,
    subscription_id: Uuid,
    event: &SubscriptionEvent,
) -> Option<Reaction<CustomerBalanceCommand>> {
    let SubscriptionEvent::PlanChanged {
        account_id,
        credit: Some(credit),
        ..
    } = event
    else {
        return None;
    };
    let command = CustomerBalanceCommand::CreditBalance {
        account_id: account_id.clone(),
        amount: credit.clone(),
        source: CreditSource::PlanDowngrade {
            subscription_id,
            plan_change_event: event_id,
        },
    };
    Some(Reaction {
        aggregate_id: account_id.to_string(),
        command,
        command_id: format!("{POLICY}:{event_id}:downgrade_credit"),
        caused_by: event_id,
    })
}

/// The balance credit a credit note with outcome `credit_balance` calls for (SPEC 11.4), once,
/// under a command id derived from the note's event.
pub fn credit_note_credit_for(
    event_id: Uuid,
    invoice_id: Uuid,
    event: &InvoiceEvent,
) -> Option<Reaction<CustomerBalanceCommand>> {
    let InvoiceEvent::CreditNoteIssued {
        credit_note_id,
        account_id,
        amount,
        outcome: CreditNoteOutcome::CreditBalance,
        ..
    } = event
    else {
        return None;
    };
    let command = CustomerBalanceCommand::CreditBalance {
        account_id: account_id.clone(),
        amount: amount.clone(),
        source: CreditSource::CreditNote {
            credit_note_id: *credit_note_id,
            invoice_id,
        },
    };
    Some(Reaction::new(
        POLICY,
        event_id,
        account_id.to_string(),
        command,
    ))
}

/// How this policy collects an invoice it issued: from the account's credit balance first, then
/// a payment attempt for the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collection {
    pub invoice_id: Uuid,
    pub account_id: AccountId,
    /// `billing_policy:<InvoiceIssued event id>`: the attempt starts once.
    pub command_id: String,
}

/// The collection invoice event `event` (id `event_id`) calls for: only invoices collected
/// automatically, with something to pay.
pub fn collection_for(event_id: Uuid, event: &InvoiceEvent) -> Option<Collection> {
    match event {
        InvoiceEvent::InvoiceIssued {
            invoice_id,
            account_id,
            total,
            collection: CollectionMethod::Automatic,
            ..
        } if total.amount > 0 => Some(Collection {
            invoice_id: *invoice_id,
            account_id: account_id.clone(),
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
    use domain::subscription::ClosedPeriod;
    use domain::{AccountId, BillingPeriod, Currency, Money, PlanId, SeatCount};

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z")
            .unwrap()
            .to_utc()
    }

    fn usd(amount: i64) -> Money {
        Money::new(amount, Currency::parse("usd").unwrap())
    }

    fn march() -> BillingPeriod {
        BillingPeriod {
            start: t0(),
            end: t0() + Duration::days(31),
        }
    }

    /// February, closed on `plan`.
    fn closed_on(plan: &str) -> Option<ClosedPeriod> {
        Some(ClosedPeriod {
            period: BillingPeriod {
                start: t0() - Duration::days(28),
                end: t0(),
            },
            plan_id: PlanId::parse(plan).unwrap(),
        })
    }

    fn renewal_after(lines: Vec<InvoiceLine>, closed: Option<ClosedPeriod>) -> SubscriptionEvent {
        SubscriptionEvent::PeriodRenewed {
            account_id: AccountId::parse("acct_1").unwrap(),
            period: march(),
            plan_id: PlanId::parse("starter").unwrap(),
            seats: SeatCount::ONE,
            invoice_lines: lines,
            closed,
            discount: None,
            at: t0(),
        }
    }

    fn renewal(lines: Vec<InvoiceLine>) -> SubscriptionEvent {
        renewal_after(lines, None)
    }

    fn catalog() -> PlanCatalog {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/plans.toml");
        infrastructure::load_catalog(std::path::Path::new(path)).expect("the shipped catalog")
    }

    /// A usage line, as the entitlements would answer one.
    fn usage() -> InvoiceLine {
        InvoiceLine::new("api_calls: 6000 units", LineKind::Usage, 1, usd(100)).unwrap()
    }

    fn base() -> InvoiceLine {
        InvoiceLine::new("Starter", LineKind::Base, 1, usd(1900)).unwrap()
    }

    #[test]
    fn a_renewal_issues_its_lines_under_an_id_derived_from_the_event() {
        let (cause, subscription) = (Uuid::new_v4(), Uuid::new_v4());
        let reaction =
            invoice_for(cause, subscription, &renewal(vec![base()]), vec![]).expect("invoice");
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
        assert!(invoice_for(Uuid::new_v4(), Uuid::new_v4(), &renewal(vec![]), vec![]).is_none());
        let ended = cancelled_after(CancellationReason::Requested, closed_on("starter"));
        assert!(invoice_for(Uuid::new_v4(), Uuid::new_v4(), &ended, vec![]).is_none());
    }

    #[test]
    fn usage_lines_follow_the_renewal_lines_and_make_a_final_invoice_of_their_own() {
        let (cause, subscription) = (Uuid::new_v4(), Uuid::new_v4());
        let lines_of = |event: &SubscriptionEvent| match invoice_for(
            cause,
            subscription,
            event,
            vec![usage()],
        )
        .map(|r| r.command)
        {
            Some(InvoiceCommand::IssueInvoice { lines, .. }) => lines,
            other => panic!("expected an invoice, got {other:?}"),
        };
        let renewed = renewal_after(vec![base()], closed_on("starter"));
        assert_eq!(lines_of(&renewed), vec![base(), usage()]);
        let ended = cancelled_after(CancellationReason::Requested, closed_on("starter"));
        assert_eq!(lines_of(&ended), vec![usage()]);
    }

    #[test]
    fn a_discount_is_one_line_taken_off_every_other_line_usage_included() {
        use domain::coupon::{BasisPoints, CouponId, Discount, Reduction};
        let mut renewed = renewal_after(vec![base()], closed_on("starter"));
        if let SubscriptionEvent::PeriodRenewed { discount, .. } = &mut renewed {
            *discount = Some(Discount {
                coupon_id: CouponId::parse("HALF").unwrap(),
                reduction: Reduction::PercentOff(BasisPoints::parse(5000).unwrap()),
            });
        }
        let reaction = invoice_for(Uuid::new_v4(), Uuid::new_v4(), &renewed, vec![usage()]);
        let Some(InvoiceCommand::IssueInvoice { lines, .. }) = reaction.map(|r| r.command) else {
            panic!("expected an invoice");
        };
        let kinds: Vec<LineKind> = lines.iter().map(|line| line.kind).collect();
        assert_eq!(
            kinds,
            vec![LineKind::Base, LineKind::Usage, LineKind::Discount]
        );
        // Half of 1900 + 100.
        assert_eq!(lines[2].amount, usd(-1000));
    }

    #[test]
    fn the_closed_period_is_billed_at_the_plan_it_was_on_when_that_plan_prices_usage() {
        let cause = Uuid::new_v4();
        let bill = usage_bill_for(
            cause,
            &renewal_after(vec![base()], closed_on("pro")),
            &catalog(),
        )
        .expect("pro prices api_calls");
        assert_eq!(bill.invoice_id, invoice_id(cause), "the renewal invoice's");
        assert_eq!(bill.plan_id.as_str(), "pro");
        assert_eq!(bill.period, closed_on("pro").unwrap().period);
        assert_ne!(
            usage_bill_command_id(cause),
            format!("billing_policy:{cause}")
        );
        let unpriced = renewal_after(vec![base()], closed_on("enterprise"));
        assert!(usage_bill_for(cause, &unpriced, &catalog()).is_none());
        let before_usage_prices = renewal_after(vec![base()], None);
        assert!(usage_bill_for(cause, &before_usage_prices, &catalog()).is_none());
    }

    #[test]
    fn a_cancellation_bills_its_last_paid_period_unless_dunning_gave_up() {
        let cause = Uuid::new_v4();
        let requested = cancelled_after(CancellationReason::Requested, closed_on("starter"));
        assert!(usage_bill_for(cause, &requested, &catalog()).is_some());
        let written_off = cancelled_after(CancellationReason::DunningExhausted, closed_on("pro"));
        assert!(usage_bill_for(cause, &written_off, &catalog()).is_none());
        let trial = cancelled_after(CancellationReason::TrialExpired, None);
        assert!(usage_bill_for(cause, &trial, &catalog()).is_none());
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
        assert_eq!(
            collection.account_id.as_str(),
            "acct_1",
            "whose balance pays first"
        );
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
            closed: None,
            discount: None,
            at: t0(),
        }
    }

    /// Cancelled with no comment, after `closed` (none for a trial).
    fn cancelled_after(
        reason: CancellationReason,
        closed: Option<ClosedPeriod>,
    ) -> SubscriptionEvent {
        let mut event = cancelled(reason, None);
        if let SubscriptionEvent::SubscriptionCancelled { closed: ended, .. } = &mut event {
            *ended = closed;
        }
        event
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

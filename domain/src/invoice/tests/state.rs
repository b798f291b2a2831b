//! `apply` folds events into the state the accessors report; the state survives serde
//! (snapshots) and every event names itself by its variant.

use cqrs_es::{Aggregate, DomainEvent};
use proptest::prelude::*;

use super::*;
use crate::invoice::{InvoiceStatus, PaymentAttempt};

#[test]
fn an_invoice_never_issued_reports_nothing() {
    let invoice = Invoice::default();
    assert!(!invoice.exists());
    assert_eq!(invoice.status(), None);
    assert!(!invoice.is_open());
    assert_eq!(invoice.attempts(), 0);
    assert!(invoice.lines().is_empty());
    assert_eq!(invoice.amount_due(), None);
}

#[test]
fn apply_folds_attempts_failures_and_partial_payments() {
    let invoice = folded(vec![
        issued(4900),
        attempted(1, 4900),
        failed(1, Some(gateway_ref(1)), 4900),
        recorded(1000, "wire_1", 1000),
    ]);
    assert_eq!(invoice.invoice_id(), Some(invoice_id()));
    assert_eq!(invoice.account_id(), Some(&account()));
    assert_eq!(invoice.subscription_id(), Some(subscription_id()));
    assert_eq!(invoice.currency(), Some(&usd_code()));
    assert_eq!(invoice.status(), Some(InvoiceStatus::PastDue));
    assert!(invoice.is_open());
    assert_eq!(invoice.attempts(), 1);
    assert_eq!(invoice.total(), Some(&usd(4900)));
    assert_eq!(invoice.amount_paid(), Some(&usd(1000)));
    assert_eq!(invoice.amount_due(), Some(usd(3900)));
    assert_eq!(invoice.issued_at(), Some(t0()));
    assert_eq!(invoice.due_at(), Some(t0()));
    assert_eq!(
        invoice.last_attempt(),
        Some(&PaymentAttempt {
            attempt: 1,
            payment_ref: gateway_ref(1)
        })
    );
    assert_eq!(invoice.attempt_in_flight(), None);
    assert!(invoice.has_recorded(&gateway_ref(1)));
    assert!(invoice.has_recorded("wire_1"));
}

#[test]
fn an_attempt_is_in_flight_until_its_outcome_is_recorded() {
    let in_flight = folded(vec![issued(4900), attempted(1, 4900)]);
    assert_eq!(in_flight.attempt_in_flight().map(|a| a.attempt), Some(1));
    let settled = folded(vec![
        issued(4900),
        attempted(1, 4900),
        recorded(4900, &gateway_ref(1), 4900),
        paid(4900),
    ]);
    assert_eq!(settled.attempt_in_flight(), None);
    assert_eq!(settled.status(), Some(InvoiceStatus::Paid));
    assert_eq!(settled.amount_due(), Some(usd(0)));
    assert!(!settled.is_open());
}

#[test]
fn apply_folds_refunds_into_refunded_only_when_full() {
    let mut events = vec![issued(4900), recorded(4900, "ch_1", 4900), paid(4900)];
    events.push(refunded(1000, 1000, false));
    let partly = folded(events.clone());
    assert_eq!(partly.status(), Some(InvoiceStatus::Paid));
    assert_eq!(partly.amount_refunded(), Some(&usd(1000)));
    events.push(refunded(3900, 4900, true));
    let fully = folded(events);
    assert_eq!(fully.status(), Some(InvoiceStatus::Refunded));
    assert_eq!(fully.amount_refunded(), Some(&usd(4900)));
}

#[test]
fn the_invoice_round_trips_through_serde_for_snapshots() {
    let invoice = folded(vec![
        issued(4900),
        attempted(1, 4900),
        failed(1, Some(gateway_ref(1)), 4900),
        recorded(4900, "wire_1", 4900),
        paid(4900),
        refunded(100, 100, false),
    ]);
    let json = serde_json::to_string(&invoice).unwrap();
    assert_eq!(serde_json::from_str::<Invoice>(&json).unwrap(), invoice);
    let empty = serde_json::to_string(&Invoice::default()).unwrap();
    assert_eq!(
        serde_json::from_str::<Invoice>(&empty).unwrap(),
        Invoice::default()
    );
}

#[test]
fn every_event_round_trips_and_is_tagged_with_its_event_type_and_version() {
    let events = vec![
        issued(4900),
        attempted(1, 4900),
        recorded(100, "wire_1", 100),
        failed(1, None, 4800),
        paid(4900),
        refunded(100, 100, false),
        InvoiceEvent::InvoiceVoided { at: t0() },
        InvoiceEvent::InvoiceMarkedUncollectible {
            amount_due: usd(4900),
            at: t0(),
        },
    ];
    for event in events {
        let json = serde_json::to_value(&event).unwrap();
        let tag = json.as_object().and_then(|o| o.keys().next().cloned());
        assert_eq!(tag, Some(event.event_type()));
        let version = match event {
            InvoiceEvent::PaymentFailed { .. } => crate::invoice::PAYMENT_FAILED_VERSION,
            InvoiceEvent::InvoiceIssued { .. } => crate::invoice::INVOICE_ISSUED_VERSION,
            _ => crate::EVENT_VERSION_1,
        };
        assert_eq!(event.event_version(), version);
        assert_eq!(serde_json::from_value::<InvoiceEvent>(json).unwrap(), event);
    }
}

#[test]
fn commands_round_trip_through_serde() {
    let command = issue_command(vec![line("Pro plan", 1, 4900)]);
    let json = serde_json::to_string(&command).unwrap();
    assert_eq!(
        serde_json::from_str::<InvoiceCommand>(&json).unwrap(),
        command
    );
}

#[derive(Debug, Clone)]
enum Step {
    Pay(i64, u8),
    Fail(u8),
    Refund(i64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (1i64..6000, 0u8..4).prop_map(|(amount, r)| Step::Pay(amount, r)),
        (0u8..4).prop_map(Step::Fail),
        (1i64..6000).prop_map(Step::Refund),
    ]
}

proptest! {
    /// Whatever is reported, in any order and repeated: money is never counted twice, never
    /// more is paid than billed and never more refunded than paid.
    #[test]
    fn payments_and_refunds_never_exceed_what_was_billed_and_paid(
        steps in proptest::collection::vec(step(), 1..30)
    ) {
        let mut invoice = folded(vec![issued(4900)]);
        let (mut paid_sum, mut refunded_sum) = (0i64, 0i64);
        for step in steps {
            let command = match step {
                Step::Pay(amount, r) => InvoiceCommand::RecordPayment {
                    amount: usd(amount),
                    payment_ref: format!("ref_{r}"),
                },
                Step::Fail(r) => InvoiceCommand::RecordPaymentFailure {
                    reason: "declined".into(),
                    code: "card_declined".into(),
                    payment_ref: Some(format!("ref_{r}")),
                    hard_decline: false,
                },
                Step::Refund(amount) => InvoiceCommand::RefundInvoice {
                    amount: usd(amount),
                    reason: "requested_by_customer".into(),
                },
            };
            let Ok(events) = invoice.decide(command, t0()) else { continue };
            for event in events {
                match &event {
                    InvoiceEvent::PaymentRecorded { amount, .. } => paid_sum += amount.amount,
                    InvoiceEvent::InvoiceRefunded { amount, .. } => refunded_sum += amount.amount,
                    _ => {}
                }
                invoice.apply(event);
            }
            let amount_paid = invoice.amount_paid().unwrap().amount;
            let amount_refunded = invoice.amount_refunded().unwrap().amount;
            prop_assert_eq!(amount_paid, paid_sum);
            prop_assert_eq!(amount_refunded, refunded_sum);
            prop_assert!((0..=4900).contains(&amount_paid));
            prop_assert!((0..=amount_paid).contains(&amount_refunded));
            let settled = matches!(
                invoice.status(),
                Some(InvoiceStatus::Paid | InvoiceStatus::Refunded)
            );
            prop_assert_eq!(settled, amount_paid == 4900);
            prop_assert_eq!(
                invoice.status() == Some(InvoiceStatus::Refunded),
                settled && amount_refunded == amount_paid
            );
        }
    }
}

#[test]
fn rules_have_unique_snake_case_codes_and_plain_messages() {
    use crate::invoice::InvoiceRule;
    let rules = [
        InvoiceRule::AlreadyIssued,
        InvoiceRule::InvoiceNotPayable {
            status: InvoiceStatus::Void,
        },
        InvoiceRule::PaymentInFlight {
            payment_ref: gateway_ref(1),
        },
        InvoiceRule::Overpayment {
            amount_due: usd(100),
            amount: usd(200),
        },
        InvoiceRule::InvoiceNotRefundable {
            status: InvoiceStatus::PastDue,
        },
        InvoiceRule::RefundExceedsRefundable {
            refundable: usd(3900),
        },
        InvoiceRule::PaidInvoiceCannotBeVoided,
        InvoiceRule::PartiallyPaidInvoiceCannotBeVoided {
            amount_paid: usd(100),
        },
        InvoiceRule::InvoiceAlreadyClosed {
            status: InvoiceStatus::Uncollectible,
        },
    ];
    let codes: std::collections::BTreeSet<_> = rules.iter().map(InvoiceRule::code).collect();
    assert_eq!(codes.len(), rules.len());
    assert!(codes
        .iter()
        .all(|c| c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')));
    assert_eq!(
        rules[5].to_string(),
        "a refund cannot exceed what was paid and not yet refunded (3900 usd)"
    );
    assert_eq!(
        rules[6].to_string(),
        "a paid invoice cannot be voided; refund it"
    );
    assert_eq!(
        rules[4].to_string(),
        "the invoice is past_due: only a paid invoice can be refunded"
    );
}

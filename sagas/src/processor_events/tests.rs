//! The processor-event policy's decisions, with no database: an invoice folded from its events,
//! a Stripe event as the receiver keeps it, and the commands (with their once-only ids) and the
//! effect the policy decides.

use chrono::{TimeZone, Utc};
use cqrs_es::Aggregate;
use domain::invoice::{CollectionMethod, InvoiceEvent, InvoiceLine, LineKind};
use domain::AccountId;
use serde_json::json;

use super::*;

fn invoice_id() -> Uuid {
    Uuid::from_u128(0x1d)
}

fn usd(amount: i64) -> Money {
    Money::new(amount, Currency::parse("usd").unwrap())
}

/// An invoice of 4900 usd, issued; then `later` folded in.
fn invoice(later: Vec<InvoiceEvent>) -> Invoice {
    let at = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
    let mut invoice = Invoice::default();
    invoice.apply(InvoiceEvent::InvoiceIssued {
        invoice_id: invoice_id(),
        account_id: AccountId::parse("acct_1").unwrap(),
        subscription_id: None,
        currency: Currency::parse("usd").unwrap(),
        lines: vec![InvoiceLine::new("Pro plan", LineKind::Base, 1, usd(4900)).unwrap()],
        total: usd(4900),
        issued_at: at,
        due_at: at,
        collection: CollectionMethod::Automatic,
    });
    for event in later {
        invoice.apply(event);
    }
    invoice
}

fn paid() -> Vec<InvoiceEvent> {
    let at = Utc.with_ymd_and_hms(2026, 12, 1, 0, 1, 0).unwrap();
    vec![
        InvoiceEvent::PaymentRecorded {
            amount: usd(4900),
            payment_ref: "ref_attempt_1".into(),
            amount_paid: usd(4900),
            at,
        },
        InvoiceEvent::InvoicePaid {
            amount_paid: usd(4900),
            at,
        },
    ]
}

fn received(event_type: &str, object: serde_json::Value) -> ReceivedEvent {
    ReceivedEvent {
        processor: "stripe".into(),
        event_id: "evt_1".into(),
        event_type: event_type.into(),
        object_id: object["id"].as_str().map(str::to_owned),
        object: object.to_string(),
        invoice_id: None,
    }
}

fn intent(extra: serde_json::Value) -> serde_json::Value {
    let mut object = json!({
        "id": "pi_1", "amount": 4900, "currency": "usd",
        "metadata": {"ledgerline_invoice_id": invoice_id().to_string(),
                     "ledgerline_payment_ref": "ref_attempt_1"}
    });
    for (key, value) in extra.as_object().unwrap() {
        object[key] = value.clone();
    }
    object
}

#[test]
fn the_invoice_comes_from_the_metadata_or_from_the_receiver() {
    let event = received("payment_intent.succeeded", intent(json!({})));
    assert_eq!(invoice_of(&event), Some(invoice_id()));
    let other = Uuid::from_u128(7);
    let named = ReceivedEvent {
        invoice_id: Some(other),
        ..event.clone()
    };
    assert_eq!(invoice_of(&named), Some(other));
    let bare = received("charge.dispute.created", json!({"id": "dp_1"}));
    assert_eq!(invoice_of(&bare), None);
}

#[test]
fn a_success_records_the_payment_under_the_attempts_ref_once_per_intent() {
    let event = received("payment_intent.succeeded", intent(json!({})));
    let decision = decide(&event, Some(&invoice(vec![])));
    assert_eq!(
        decision.commands,
        [(
            invoice_id(),
            InvoiceCommand::RecordPayment {
                amount: usd(4900),
                payment_ref: "ref_attempt_1".into()
            },
            "processor_events:pi_1:succeeded".to_owned()
        )]
    );
    assert_eq!(
        decision.effect,
        format!("payment_recorded on invoice {}", invoice_id())
    );
}

#[test]
fn a_success_for_a_paid_invoice_does_nothing() {
    let event = received("payment_intent.succeeded", intent(json!({})));
    let decision = decide(&event, Some(&invoice(paid())));
    assert!(decision.commands.is_empty(), "{decision:?}");
    assert_eq!(decision.effect, "ignored: the invoice is already paid");
}

#[test]
fn a_success_after_the_attempt_recorded_a_failure_uses_the_intents_own_ref() {
    let failed = InvoiceEvent::PaymentFailed {
        attempt: 1,
        reason: "declined".into(),
        decline_code: "card_declined".into(),
        payment_ref: Some("ref_attempt_1".into()),
        hard_decline: false,
        amount_due: usd(4900),
        at: Utc.with_ymd_and_hms(2026, 12, 1, 0, 1, 0).unwrap(),
    };
    let event = received("payment_intent.succeeded", intent(json!({})));
    let decision = decide(&event, Some(&invoice(vec![failed])));
    let InvoiceCommand::RecordPayment { payment_ref, .. } = &decision.commands[0].1 else {
        panic!("{decision:?}");
    };
    assert_eq!(payment_ref, "stripe:pi_1");
}

#[test]
fn a_failure_maps_its_decline_code_to_soft_or_hard() {
    for (code, hard) in [("insufficient_funds", false), ("stolen_card", true)] {
        let error = json!({"last_payment_error": {"decline_code": code, "message": "no"}});
        let event = received("payment_intent.payment_failed", intent(error));
        let decision = decide(&event, Some(&invoice(vec![])));
        assert_eq!(
            decision.commands,
            [(
                invoice_id(),
                InvoiceCommand::RecordPaymentFailure {
                    reason: "no".into(),
                    hard_decline: hard,
                    code: code.into(),
                    payment_ref: Some("ref_attempt_1".into()),
                },
                "processor_events:pi_1:payment_failed".to_owned()
            )],
            "{code}"
        );
    }
}

#[test]
fn refunds_made_in_stripe_are_recorded_once_each_and_ledgerlines_own_are_not() {
    let charge = json!({
        "id": "ch_1", "currency": "usd",
        "metadata": {"ledgerline_invoice_id": invoice_id().to_string()},
        "refunds": {"data": [
            {"id": "re_dashboard", "amount": 900, "status": "succeeded", "metadata": {}},
            {"id": "re_ours", "amount": 500, "status": "succeeded",
             "metadata": {"ledgerline_refund_ref": "refund:1"}},
            {"id": "re_pending", "amount": 100, "status": "pending", "metadata": {}}
        ]}
    });
    let decision = decide(&received("charge.refunded", charge), Some(&invoice(paid())));
    assert_eq!(
        decision.commands,
        [(
            invoice_id(),
            InvoiceCommand::RefundInvoice {
                amount: usd(900),
                reason: "refunded in Stripe (re_dashboard)".into()
            },
            "processor_events:re_dashboard:refund".to_owned()
        )]
    );
}

#[test]
fn a_dispute_is_opened_on_its_invoice_once_per_dispute() {
    let dispute = json!({"id": "dp_1", "amount": 4900, "currency": "usd", "reason": "fraudulent"});
    let event = ReceivedEvent {
        invoice_id: Some(invoice_id()),
        ..received("charge.dispute.created", dispute)
    };
    let decision = decide(&event, Some(&invoice(paid())));
    assert_eq!(
        decision.commands,
        [(
            invoice_id(),
            InvoiceCommand::RecordDispute {
                dispute_id: "dp_1".into(),
                amount: usd(4900),
                reason: "fraudulent".into()
            },
            "processor_events:dp_1:dispute".to_owned()
        )]
    );
}

#[test]
fn other_types_and_events_about_no_invoice_of_ours_are_only_recorded() {
    let other = received("customer.created", json!({"id": "cus_1"}));
    assert_eq!(
        decide(&other, Some(&invoice(vec![]))).effect,
        "ignored: not an event type Ledgerline acts on"
    );
    let stranger = received("payment_intent.succeeded", intent(json!({})));
    let decision = decide(&stranger, None);
    assert!(decision.commands.is_empty());
    assert_eq!(
        decision.effect,
        "ignored: it names no invoice of Ledgerline's"
    );
}

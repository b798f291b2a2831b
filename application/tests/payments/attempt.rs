//! The attempt-payment use case on the real stores of both backends, charging the sandbox
//! gateway: outcomes land on the invoice, and a crash anywhere between the attempt and its record
//! resumes with the same `payment_ref` and charges once.

use std::sync::atomic::{AtomicUsize, Ordering};

use application::payments::{ChargeOutcome, ChargeRequest, PaymentGateway};
use application::{AttemptPaymentError, DispatchError};
use domain::invoice::{InvoiceCommand, InvoiceEvent, InvoiceStatus};
use domain::{AccountId, DomainError, PaymentMethodToken};
use infrastructure::testing::Backend;
use uuid::Uuid;

use crate::support::{usd, Fixture, LosesFirstAnswer, ACCOUNT};

async fn a_good_card_pays_the_invoice(backend: Backend) {
    let f = Fixture::new(backend).await;
    let subscription = f.subscribe(Some("pm_card_visa")).await;
    let invoice = f.invoice(Some(subscription)).await;

    let outcome = f.attempt(f.sandbox.as_ref(), invoice, None).await.unwrap();
    assert_eq!(outcome.payment_ref, format!("{invoice}:attempt:1"));
    assert_eq!(outcome.attempt, 1);
    assert!(matches!(outcome.charge, ChargeOutcome::Succeeded { .. }));
    assert!(!outcome.replayed);
    assert_eq!(outcome.recorded.record.version, 4);
    assert!(outcome.recorded.record.position.is_some());

    let paid = f.load(invoice).await;
    assert_eq!(paid.status(), Some(InvoiceStatus::Paid));
    assert_eq!(paid.amount_paid(), Some(&usd(3800)));
    assert_eq!(paid.attempts(), 1);
    let charges = f.sandbox.charges();
    assert_eq!(charges.len(), 1);
    assert_eq!(charges[0].request.amount, usd(3800));
    assert_eq!(charges[0].request.account_id.as_str(), ACCOUNT);

    // The recorded payment names the attempt that caused it.
    let stream = f.stream(invoice).await;
    let types: Vec<&str> = stream.iter().map(|(s, _)| s.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "InvoiceIssued",
            "PaymentAttempted",
            "PaymentRecorded",
            "InvoicePaid"
        ]
    );
    assert_eq!(
        stream[2].0.metadata.causation_id,
        stream[1].0.metadata.event_id.to_string()
    );
}

async fn a_decline_leaves_the_invoice_past_due_until_a_good_card_pays(backend: Backend) {
    let f = Fixture::new(backend).await;
    let subscription = f.subscribe(Some("pm_card_chargeDeclined")).await;
    let invoice = f.invoice(Some(subscription)).await;

    let outcome = f.attempt(f.sandbox.as_ref(), invoice, None).await.unwrap();
    assert!(matches!(
        &outcome.charge,
        ChargeOutcome::Declined { code, hard_decline: false, .. } if code == "card_declined"
    ));
    let declined = f.load(invoice).await;
    assert_eq!(declined.status(), Some(InvoiceStatus::PastDue));
    assert_eq!(declined.attempts(), 1);
    assert_eq!(declined.attempt_in_flight(), None);
    let failure = f.events(invoice).await.pop().unwrap();
    assert!(matches!(
        failure,
        InvoiceEvent::PaymentFailed { attempt: 1, decline_code, hard_decline: false, payment_ref: Some(r), .. }
            if decline_code == "card_declined" && r == outcome.payment_ref
    ));

    f.attach(subscription, "pm_card_visa").await;
    let retried = f.attempt(f.sandbox.as_ref(), invoice, None).await.unwrap();
    assert_eq!(retried.payment_ref, format!("{invoice}:attempt:2"));
    assert!(matches!(retried.charge, ChargeOutcome::Succeeded { .. }));
    let paid = f.load(invoice).await;
    assert_eq!(paid.status(), Some(InvoiceStatus::Paid));
    assert_eq!(paid.attempts(), 2);
}

async fn a_lost_card_is_a_hard_decline(backend: Backend) {
    let f = Fixture::new(backend).await;
    let subscription = f.subscribe(Some("pm_card_chargeDeclinedLostCard")).await;
    let invoice = f.invoice(Some(subscription)).await;

    f.attempt(f.sandbox.as_ref(), invoice, None).await.unwrap();
    let failure = f.events(invoice).await.pop().unwrap();
    assert!(matches!(
        failure,
        InvoiceEvent::PaymentFailed { decline_code, hard_decline: true, .. } if decline_code == "lost_card"
    ));
    assert_eq!(f.load(invoice).await.status(), Some(InvoiceStatus::PastDue));
}

/// The gateway charged, and its answer never arrived: the next run charges the same ref again,
/// which the gateway answers from memory.
async fn a_lost_answer_is_resumed_with_the_same_ref_and_charged_once(backend: Backend) {
    let f = Fixture::new(backend).await;
    let subscription = f.subscribe(Some("pm_card_visa")).await;
    let invoice = f.invoice(Some(subscription)).await;
    let gateway = LosesFirstAnswer {
        sandbox: f.sandbox.clone(),
        calls: AtomicUsize::new(0),
    };

    let lost = f.attempt(&gateway, invoice, Some("first")).await;
    assert!(
        matches!(lost, Err(AttemptPaymentError::Gateway(_))),
        "{lost:?}"
    );
    let payment_ref = format!("{invoice}:attempt:1");
    let in_flight = f.load(invoice).await;
    assert_eq!(in_flight.status(), Some(InvoiceStatus::Issued));
    assert_eq!(
        in_flight
            .attempt_in_flight()
            .map(|a| a.payment_ref.as_str()),
        Some(payment_ref.as_str())
    );

    // Another caller (a retry, the dunning saga) resumes it rather than starting attempt 2.
    let resumed = f.attempt(&gateway, invoice, Some("second")).await.unwrap();
    assert_eq!(resumed.payment_ref, payment_ref);
    assert_eq!(gateway.calls.load(Ordering::SeqCst), 2);
    assert_eq!(f.sandbox.charges().len(), 1, "one charge for one ref");
    assert_eq!(f.payments_recorded(invoice).await, 1);
    let paid = f.load(invoice).await;
    assert_eq!(paid.status(), Some(InvoiceStatus::Paid));
    assert_eq!(paid.attempts(), 1);
}

/// The process died after the charge and before the record: the attempt and the charge happened
/// (done here step by step), the record did not.
async fn a_crash_between_charge_and_record_records_once(backend: Backend) {
    let f = Fixture::new(backend).await;
    let subscription = f.subscribe(Some("pm_card_visa")).await;
    let invoice = f.invoice(Some(subscription)).await;
    let attempt = InvoiceCommand::AttemptPayment {
        payment_method: PaymentMethodToken::parse("pm_card_visa").unwrap(),
    };
    f.invoice_command(invoice, attempt).await;
    let payment_ref = format!("{invoice}:attempt:1");
    let charged = f.sandbox.charge(ChargeRequest {
        payment_ref: payment_ref.clone(),
        amount: usd(3800),
        payment_method: PaymentMethodToken::parse("pm_card_visa").unwrap(),
        account_id: AccountId::parse(ACCOUNT).unwrap(),
        invoice_id: invoice,
    });
    charged.await.unwrap();

    let resumed = f.attempt(f.sandbox.as_ref(), invoice, None).await.unwrap();
    assert_eq!(resumed.payment_ref, payment_ref);
    // Run again after the record (a crash before the caller heard back): nothing new.
    let again = f.attempt(f.sandbox.as_ref(), invoice, None).await;
    assert!(
        matches!(
            again,
            Err(AttemptPaymentError::Dispatch(DispatchError::Rejected(
                DomainError::Rule(_)
            )))
        ),
        "a paid invoice takes no new attempt: {again:?}"
    );
    assert_eq!(f.sandbox.charges().len(), 1);
    assert_eq!(f.payments_recorded(invoice).await, 1);
    assert_eq!(f.load(invoice).await.status(), Some(InvoiceStatus::Paid));
}

/// The same command id run twice (a client retrying with its Idempotency-Key, a saga re-reacting):
/// the second run answers as the first and appends nothing.
async fn a_rerun_with_the_same_command_id_replays_every_step(backend: Backend) {
    let f = Fixture::new(backend).await;
    let subscription = f
        .subscribe(Some("pm_card_chargeDeclinedInsufficientFunds"))
        .await;
    let invoice = f.invoice(Some(subscription)).await;

    let first = f
        .attempt(f.sandbox.as_ref(), invoice, Some("key"))
        .await
        .unwrap();
    let events = f.events(invoice).await.len();
    let second = f
        .attempt(f.sandbox.as_ref(), invoice, Some("key"))
        .await
        .unwrap();
    assert!(!first.replayed && second.replayed);
    assert_eq!(second.payment_ref, first.payment_ref);
    assert_eq!(second.charge, first.charge);
    assert_eq!(second.recorded.record, first.recorded.record);
    assert_eq!(f.events(invoice).await.len(), events);
    assert_eq!(f.load(invoice).await.attempts(), 1);
    assert_eq!(f.sandbox.charges().len(), 1);
}

async fn without_a_payment_method_nothing_is_attempted(backend: Backend) {
    let f = Fixture::new(backend).await;
    let manual = f.invoice(None).await;
    let result = f.attempt(f.sandbox.as_ref(), manual, None).await;
    assert!(matches!(
        result,
        Err(AttemptPaymentError::NoPaymentMethod(_))
    ));

    let subscription = f.subscribe(None).await;
    let invoice = f.invoice(Some(subscription)).await;
    let result = f.attempt(f.sandbox.as_ref(), invoice, None).await;
    assert!(matches!(
        result,
        Err(AttemptPaymentError::NoPaymentMethod(_))
    ));
    assert_eq!(f.events(invoice).await.len(), 1, "only InvoiceIssued");

    let unknown = f.attempt(f.sandbox.as_ref(), Uuid::new_v4(), None).await;
    assert!(matches!(
        unknown,
        Err(AttemptPaymentError::Dispatch(DispatchError::Rejected(
            DomainError::NotFound { .. }
        )))
    ));
    assert!(f.sandbox.charges().is_empty());
}

infrastructure::on_both_backends!(
    a_good_card_pays_the_invoice,
    a_decline_leaves_the_invoice_past_due_until_a_good_card_pays,
    a_lost_card_is_a_hard_decline,
    a_lost_answer_is_resumed_with_the_same_ref_and_charged_once,
    a_crash_between_charge_and_record_records_once,
    a_rerun_with_the_same_command_id_replays_every_step,
    without_a_payment_method_nothing_is_attempted,
);

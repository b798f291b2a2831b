//! Collecting: gateway attempts, recorded payments and failures, each idempotent per payment_ref.

use super::*;
use crate::error::DomainError;
use crate::invoice::{InvoiceRule, InvoiceStatus};
use crate::money::{Money, MoneyError};

fn attempt() -> InvoiceCommand {
    InvoiceCommand::AttemptPayment {
        payment_method: visa(),
    }
}

fn record(amount: i64, payment_ref: &str) -> InvoiceCommand {
    InvoiceCommand::RecordPayment {
        amount: usd(amount),
        payment_ref: payment_ref.to_owned(),
    }
}

fn record_failure(payment_ref: Option<String>) -> InvoiceCommand {
    InvoiceCommand::RecordPaymentFailure {
        reason: "Your card was declined.".into(),
        code: "card_declined".into(),
        payment_ref,
        hard_decline: false,
    }
}

#[test]
fn a_payment_attempt_charges_the_amount_due_under_a_deterministic_payment_ref() {
    given(vec![issued(4900)])
        .when(attempt())
        .then_expect_events(vec![InvoiceEvent::PaymentAttempted {
            attempt: 1,
            payment_ref: format!("{}:attempt:1", invoice_id()),
            amount: usd(4900),
            payment_method: visa(),
            at: t0(),
        }]);
}

#[test]
fn a_retry_is_the_next_attempt_and_charges_only_what_is_still_due() {
    given(vec![
        issued(4900),
        attempted(1, 4900),
        failed(1, Some(gateway_ref(1)), 4900),
        recorded(900, "wire_77", 900),
    ])
    .when(attempt())
    .then_expect_events(vec![attempted(2, 4000)]);
}

#[test]
fn no_second_charge_while_an_attempt_is_in_flight() {
    given(vec![issued(4900), attempted(1, 4900)])
        .when(attempt())
        .then_expect_error(
            InvoiceRule::PaymentInFlight {
                payment_ref: gateway_ref(1),
            }
            .into(),
        );
}

#[test]
fn a_paid_invoice_is_not_charged_again() {
    given(vec![issued(4900), recorded(4900, "ch_1", 4900), paid(4900)])
        .when(attempt())
        .then_expect_error(
            InvoiceRule::InvoiceNotPayable {
                status: InvoiceStatus::Paid,
            }
            .into(),
        );
}

#[test]
fn a_void_invoice_is_not_charged() {
    given(vec![issued(4900), InvoiceEvent::InvoiceVoided { at: t0() }])
        .when(attempt())
        .then_expect_error(
            InvoiceRule::InvoiceNotPayable {
                status: InvoiceStatus::Void,
            }
            .into(),
        );
}

#[test]
fn a_full_payment_pays_the_invoice() {
    given(vec![issued(4900), attempted(1, 4900)])
        .when(record(4900, &gateway_ref(1)))
        .then_expect_events(vec![recorded(4900, &gateway_ref(1), 4900), paid(4900)]);
}

#[test]
fn a_partial_payment_leaves_the_rest_due() {
    given(vec![issued(4900)])
        .when(record(1000, "wire_1"))
        .then_expect_events(vec![recorded(1000, "wire_1", 1000)]);
}

#[test]
fn the_payment_that_completes_a_past_due_invoice_pays_it() {
    given(vec![
        issued(4900),
        failed(1, None, 4900),
        recorded(1000, "wire_1", 1000),
    ])
    .when(record(3900, "wire_2"))
    .then_expect_events(vec![recorded(3900, "wire_2", 4900), paid(4900)]);
}

#[test]
fn record_payment_is_idempotent_by_payment_ref() {
    // Replayed after the invoice was paid by it…
    given(vec![
        issued(4900),
        attempted(1, 4900),
        recorded(4900, &gateway_ref(1), 4900),
        paid(4900),
    ])
    .when(record(4900, &gateway_ref(1)))
    .then_expect_events(vec![]);
    // …and after a partial payment: counted once.
    given(vec![issued(4900), recorded(1000, "wire_1", 1000)])
        .when(record(1000, "wire_1"))
        .then_expect_events(vec![]);
}

#[test]
fn a_payment_never_exceeds_the_amount_due() {
    given(vec![issued(4900), recorded(1000, "wire_1", 1000)])
        .when(record(4000, "wire_2"))
        .then_expect_error(
            InvoiceRule::Overpayment {
                amount_due: usd(3900),
                amount: usd(4000),
            }
            .into(),
        );
}

#[test]
fn a_payment_is_a_positive_amount() {
    for amount in [0, -100] {
        given(vec![issued(4900)])
            .when(record(amount, "wire_1"))
            .then_expect_error(DomainError::invalid("amount", "must be greater than zero"));
    }
}

#[test]
fn a_payment_is_in_the_invoice_currency() {
    let eur = Currency::parse("eur").unwrap();
    given(vec![issued(4900)])
        .when(InvoiceCommand::RecordPayment {
            amount: Money::new(4900, eur.clone()),
            payment_ref: "ch_1".into(),
        })
        .then_expect_error(DomainError::Money(MoneyError::CurrencyMismatch {
            left: usd_code(),
            right: eur,
        }));
}

#[test]
fn a_payment_ref_is_1_to_255_characters() {
    for bad in [String::new(), "  ".into(), "x".repeat(256)] {
        given(vec![issued(4900)])
            .when(record(4900, &bad))
            .then_expect_error(DomainError::invalid(
                "payment_ref",
                "must be 1 to 255 characters and not blank",
            ));
    }
}

#[test]
fn a_closed_invoice_takes_no_new_payment() {
    given(vec![issued(4900), recorded(4900, "ch_1", 4900), paid(4900)])
        .when(record(100, "ch_2"))
        .then_expect_error(
            InvoiceRule::InvoiceNotPayable {
                status: InvoiceStatus::Paid,
            }
            .into(),
        );
    given(vec![
        issued(4900),
        InvoiceEvent::InvoiceMarkedUncollectible {
            amount_due: usd(4900),
            at: t0(),
        },
    ])
    .when(record(4900, "ch_1"))
    .then_expect_error(
        InvoiceRule::InvoiceNotPayable {
            status: InvoiceStatus::Uncollectible,
        }
        .into(),
    );
}

#[test]
fn the_failure_of_a_gateway_attempt_keeps_the_attempt_number() {
    given(vec![issued(4900), attempted(1, 4900)])
        .when(record_failure(Some(gateway_ref(1))))
        .then_expect_events(vec![failed(1, Some(gateway_ref(1)), 4900)]);
}

#[test]
fn a_failure_reported_from_outside_is_an_attempt_of_its_own() {
    given(vec![
        issued(4900),
        attempted(1, 4900),
        failed(1, Some(gateway_ref(1)), 4900),
    ])
    .when(record_failure(Some("pi_external".into())))
    .then_expect_events(vec![failed(2, Some("pi_external".into()), 4900)]);
}

#[test]
fn a_hard_decline_is_recorded_as_such_with_the_amount_due() {
    given(vec![issued(4900), recorded(900, "wire_1", 900)])
        .when(InvoiceCommand::RecordPaymentFailure {
            reason: "Your card was reported lost.".into(),
            code: "lost_card".into(),
            payment_ref: None,
            hard_decline: true,
        })
        .then_expect_events(vec![InvoiceEvent::PaymentFailed {
            attempt: 1,
            reason: "Your card was reported lost.".into(),
            decline_code: "lost_card".into(),
            payment_ref: None,
            hard_decline: true,
            amount_due: usd(4000),
            at: t0(),
        }]);
}

#[test]
fn record_payment_failure_is_idempotent_by_payment_ref() {
    given(vec![
        issued(4900),
        attempted(1, 4900),
        failed(1, Some(gateway_ref(1)), 4900),
    ])
    .when(record_failure(Some(gateway_ref(1))))
    .then_expect_events(vec![]);
}

#[test]
fn a_failure_for_a_payment_ref_already_recorded_as_paid_changes_nothing() {
    given(vec![
        issued(4900),
        attempted(1, 4900),
        recorded(4900, &gateway_ref(1), 4900),
        paid(4900),
    ])
    .when(record_failure(Some(gateway_ref(1))))
    .then_expect_events(vec![]);
}

#[test]
fn a_closed_invoice_records_no_new_failure() {
    given(vec![issued(4900), recorded(4900, "ch_1", 4900), paid(4900)])
        .when(record_failure(None))
        .then_expect_error(
            InvoiceRule::InvoiceNotPayable {
                status: InvoiceStatus::Paid,
            }
            .into(),
        );
}

#[test]
fn a_failure_needs_a_reason_and_a_decline_code() {
    let failure = |reason: &str, code: &str| InvoiceCommand::RecordPaymentFailure {
        reason: reason.into(),
        code: code.into(),
        payment_ref: None,
        hard_decline: false,
    };
    given(vec![issued(4900)])
        .when(failure(" ", "card_declined"))
        .then_expect_error(DomainError::invalid(
            "reason",
            "must be 1 to 500 characters and not blank",
        ));
    given(vec![issued(4900)])
        .when(failure("declined", ""))
        .then_expect_error(DomainError::invalid(
            "code",
            "must be 1 to 64 characters and not blank",
        ));
    given(vec![issued(4900)])
        .when(failure("declined", "card declined"))
        .then_expect_error(DomainError::invalid(
            "code",
            "must be printable ASCII without spaces",
        ));
}

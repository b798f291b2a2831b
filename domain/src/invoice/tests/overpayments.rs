//! The outcome of a gateway attempt is always recorded: a charge the invoice no longer owes is an
//! overpayment, refunded once; other payments wait while an attempt is in flight.

use super::*;
use crate::invoice::{InvoiceRule, OverpaymentRefund, OverpaymentRefundOutcome};

fn record(amount: i64, payment_ref: &str) -> InvoiceCommand {
    InvoiceCommand::RecordPayment {
        amount: usd(amount),
        payment_ref: payment_ref.to_owned(),
    }
}

fn overpaid(payment_ref: &str, amount: i64) -> InvoiceEvent {
    InvoiceEvent::OverpaymentReceived {
        payment_ref: payment_ref.to_owned(),
        amount: usd(amount),
        at: t0(),
    }
}

fn refund_recorded(payment_ref: &str, outcome: OverpaymentRefundOutcome) -> InvoiceCommand {
    InvoiceCommand::RecordOverpaymentRefund {
        payment_ref: payment_ref.to_owned(),
        outcome,
    }
}

fn refunded_to(refund_ref: &str) -> OverpaymentRefundOutcome {
    OverpaymentRefundOutcome::Refunded {
        refund_ref: refund_ref.to_owned(),
    }
}

#[test]
fn an_outside_payment_waits_while_a_gateway_attempt_is_in_flight() {
    given(vec![issued(4900), attempted(1, 4900)])
        .when(record(4900, "ext_1"))
        .then_expect_error(
            InvoiceRule::PaymentInFlight {
                payment_ref: gateway_ref(1),
            }
            .into(),
        );
}

#[test]
fn a_void_waits_while_a_gateway_attempt_is_in_flight() {
    given(vec![issued(4900), attempted(1, 4900)])
        .when(InvoiceCommand::VoidInvoice)
        .then_expect_error(
            InvoiceRule::PaymentInFlight {
                payment_ref: gateway_ref(1),
            }
            .into(),
        );
}

#[test]
fn the_attempt_in_flight_still_pays_an_open_invoice() {
    given(vec![issued(4900), attempted(1, 4900)])
        .when(record(4900, &gateway_ref(1)))
        .then_expect_events(vec![recorded(4900, &gateway_ref(1), 4900), paid(4900)]);
}

/// The race of the security probe, as a history: an outside payment paid the invoice while the
/// gateway charged it. The charge is recorded, as an overpayment, never refused.
#[test]
fn a_charge_on_an_invoice_paid_meanwhile_is_an_overpayment() {
    given(vec![
        issued(4900),
        attempted(1, 4900),
        recorded(4900, "ext_1", 4900),
        paid(4900),
    ])
    .when(record(4900, &gateway_ref(1)))
    .then_expect_events(vec![overpaid(&gateway_ref(1), 4900)]);
}

#[test]
fn a_charge_beyond_what_is_still_due_is_an_overpayment() {
    given(vec![
        issued(4900),
        attempted(1, 4900),
        recorded(1000, "ext_1", 1000),
    ])
    .when(record(4900, &gateway_ref(1)))
    .then_expect_events(vec![overpaid(&gateway_ref(1), 4900)]);
}

#[test]
fn a_charge_on_a_voided_invoice_is_an_overpayment() {
    given(vec![
        issued(4900),
        attempted(1, 4900),
        InvoiceEvent::InvoiceVoided { at: t0() },
    ])
    .when(record(4900, &gateway_ref(1)))
    .then_expect_events(vec![overpaid(&gateway_ref(1), 4900)]);
}

#[test]
fn an_overpayment_is_recorded_once() {
    given(vec![
        issued(4900),
        attempted(1, 4900),
        InvoiceEvent::InvoiceVoided { at: t0() },
        overpaid(&gateway_ref(1), 4900),
    ])
    .when(record(4900, &gateway_ref(1)))
    .then_expect_events(vec![]);
}

#[test]
fn an_overpayment_refund_is_recorded_once() {
    let history = vec![
        issued(4900),
        attempted(1, 4900),
        InvoiceEvent::InvoiceVoided { at: t0() },
        overpaid(&gateway_ref(1), 4900),
    ];
    let refunded = InvoiceEvent::OverpaymentRefunded {
        payment_ref: gateway_ref(1),
        amount: usd(4900),
        refund_ref: "re_1".into(),
        at: t0(),
    };
    given(history.clone())
        .when(refund_recorded(&gateway_ref(1), refunded_to("re_1")))
        .then_expect_events(vec![refunded.clone()]);
    let mut after = history.clone();
    after.push(refunded);
    given(after.clone())
        .when(refund_recorded(&gateway_ref(1), refunded_to("re_2")))
        .then_expect_events(vec![]);
    assert_eq!(
        folded(after).overpayment(&gateway_ref(1)).map(|o| o.refund),
        Some(OverpaymentRefund::Refunded)
    );
}

#[test]
fn a_refused_refund_is_recorded_for_support() {
    given(vec![
        issued(4900),
        attempted(1, 4900),
        InvoiceEvent::InvoiceVoided { at: t0() },
        overpaid(&gateway_ref(1), 4900),
    ])
    .when(refund_recorded(
        &gateway_ref(1),
        OverpaymentRefundOutcome::Failed {
            reason: "the charge was disputed".into(),
        },
    ))
    .then_expect_events(vec![InvoiceEvent::OverpaymentRefundFailed {
        payment_ref: gateway_ref(1),
        amount: usd(4900),
        reason: "the charge was disputed".into(),
        at: t0(),
    }]);
}

#[test]
fn only_a_received_overpayment_can_be_refunded() {
    given(vec![
        issued(4900),
        recorded(4900, "ext_1", 4900),
        paid(4900),
    ])
    .when(refund_recorded("ext_1", refunded_to("re_1")))
    .then_expect_error(
        InvoiceRule::NoSuchOverpayment {
            payment_ref: "ext_1".into(),
        }
        .into(),
    );
}

#[test]
fn an_overpayment_leaves_the_invoice_as_it_was() {
    let invoice = folded(vec![
        issued(4900),
        attempted(1, 4900),
        recorded(4900, "ext_1", 4900),
        paid(4900),
        overpaid(&gateway_ref(1), 4900),
    ]);
    assert_eq!(invoice.amount_paid(), Some(&usd(4900)));
    assert_eq!(invoice.attempt_in_flight(), None);
    assert_eq!(
        invoice.overpayment(&gateway_ref(1)).map(|o| o.refund),
        Some(OverpaymentRefund::Pending)
    );
}

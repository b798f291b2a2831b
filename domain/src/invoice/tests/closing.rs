//! Closing an unpaid invoice: void (never owed) or uncollectible (written off).

use super::*;
use crate::invoice::{InvoiceRule, InvoiceStatus};

fn voided() -> InvoiceEvent {
    InvoiceEvent::InvoiceVoided { at: t0() }
}

fn written_off(amount_due: i64) -> InvoiceEvent {
    InvoiceEvent::InvoiceMarkedUncollectible {
        amount_due: usd(amount_due),
        at: t0(),
    }
}

#[test]
fn an_open_invoice_can_be_voided() {
    given(vec![issued(4900)])
        .when(InvoiceCommand::VoidInvoice)
        .then_expect_events(vec![voided()]);
    given(vec![issued(4900), failed(1, None, 4900)])
        .when(InvoiceCommand::VoidInvoice)
        .then_expect_events(vec![voided()]);
}

#[test]
fn a_paid_invoice_cannot_be_voided_refund_it() {
    given(vec![issued(4900), recorded(4900, "ch_1", 4900), paid(4900)])
        .when(InvoiceCommand::VoidInvoice)
        .then_expect_error(InvoiceRule::PaidInvoiceCannotBeVoided.into());
    given(vec![
        issued(4900),
        recorded(4900, "ch_1", 4900),
        paid(4900),
        refunded(4900, 4900, true),
    ])
    .when(InvoiceCommand::VoidInvoice)
    .then_expect_error(InvoiceRule::PaidInvoiceCannotBeVoided.into());
}

#[test]
fn a_partly_paid_invoice_cannot_be_voided() {
    given(vec![issued(4900), recorded(1000, "wire_1", 1000)])
        .when(InvoiceCommand::VoidInvoice)
        .then_expect_error(
            InvoiceRule::PartiallyPaidInvoiceCannotBeVoided {
                amount_paid: usd(1000),
            }
            .into(),
        );
}

#[test]
fn a_void_invoice_is_not_voided_again() {
    given(vec![issued(4900), voided()])
        .when(InvoiceCommand::VoidInvoice)
        .then_expect_error(
            InvoiceRule::InvoiceAlreadyClosed {
                status: InvoiceStatus::Void,
            }
            .into(),
        );
    given(vec![issued(4900), written_off(4900)])
        .when(InvoiceCommand::VoidInvoice)
        .then_expect_error(
            InvoiceRule::InvoiceAlreadyClosed {
                status: InvoiceStatus::Uncollectible,
            }
            .into(),
        );
}

#[test]
fn an_invoice_with_a_charge_in_flight_stays_open() {
    for command in [
        InvoiceCommand::VoidInvoice,
        InvoiceCommand::MarkUncollectible,
    ] {
        given(vec![issued(4900), attempted(1, 4900)])
            .when(command)
            .then_expect_error(
                InvoiceRule::PaymentInFlight {
                    payment_ref: gateway_ref(1),
                }
                .into(),
            );
    }
}

#[test]
fn an_open_invoice_can_be_written_off_for_what_is_still_due() {
    given(vec![
        issued(4900),
        recorded(900, "wire_1", 900),
        failed(1, None, 4000),
    ])
    .when(InvoiceCommand::MarkUncollectible)
    .then_expect_events(vec![written_off(4000)]);
}

#[test]
fn only_an_open_invoice_can_be_written_off() {
    given(vec![issued(4900), recorded(4900, "ch_1", 4900), paid(4900)])
        .when(InvoiceCommand::MarkUncollectible)
        .then_expect_error(
            InvoiceRule::InvoiceAlreadyClosed {
                status: InvoiceStatus::Paid,
            }
            .into(),
        );
    given(vec![issued(4900), written_off(4900)])
        .when(InvoiceCommand::MarkUncollectible)
        .then_expect_error(
            InvoiceRule::InvoiceAlreadyClosed {
                status: InvoiceStatus::Uncollectible,
            }
            .into(),
        );
}

//! Refunds: only of a paid invoice, and never more than was paid and not yet refunded.

use super::*;
use crate::error::DomainError;
use crate::invoice::{InvoiceRule, InvoiceStatus};
use crate::money::{Money, MoneyError};

fn refund(amount: i64) -> InvoiceCommand {
    InvoiceCommand::RefundInvoice {
        amount: usd(amount),
        reason: "requested_by_customer".into(),
    }
}

fn paid_invoice() -> Vec<InvoiceEvent> {
    vec![issued(4900), recorded(4900, "ch_1", 4900), paid(4900)]
}

fn with(mut events: Vec<InvoiceEvent>, more: InvoiceEvent) -> Vec<InvoiceEvent> {
    events.push(more);
    events
}

#[test]
fn a_refund_is_never_more_than_was_paid_partial_then_full() {
    given(paid_invoice())
        .when(refund(1000))
        .then_expect_events(vec![refunded(1000, 1000, false)]);
    given(with(paid_invoice(), refunded(1000, 1000, false)))
        .when(refund(4000))
        .then_expect_error(
            InvoiceRule::RefundExceedsRefundable {
                refundable: usd(3900),
            }
            .into(),
        );
    given(with(paid_invoice(), refunded(1000, 1000, false)))
        .when(refund(3900))
        .then_expect_events(vec![refunded(3900, 4900, true)]);
    let fully_refunded = with(
        with(paid_invoice(), refunded(1000, 1000, false)),
        refunded(3900, 4900, true),
    );
    given(fully_refunded)
        .when(refund(1))
        .then_expect_error(InvoiceRule::RefundExceedsRefundable { refundable: usd(0) }.into());
}

#[test]
fn a_refund_in_one_go_refunds_the_invoice_fully() {
    given(paid_invoice())
        .when(refund(4900))
        .then_expect_events(vec![refunded(4900, 4900, true)]);
}

#[test]
fn only_a_paid_invoice_can_be_refunded() {
    given(vec![issued(4900), recorded(1000, "wire_1", 1000)])
        .when(refund(500))
        .then_expect_error(
            InvoiceRule::InvoiceNotRefundable {
                status: InvoiceStatus::Issued,
            }
            .into(),
        );
    given(vec![issued(4900), InvoiceEvent::InvoiceVoided { at: t0() }])
        .when(refund(500))
        .then_expect_error(
            InvoiceRule::InvoiceNotRefundable {
                status: InvoiceStatus::Void,
            }
            .into(),
        );
}

#[test]
fn a_refund_is_a_positive_amount_in_the_invoice_currency_with_a_reason() {
    given(paid_invoice())
        .when(refund(0))
        .then_expect_error(DomainError::invalid("amount", "must be greater than zero"));
    let eur = Currency::parse("eur").unwrap();
    given(paid_invoice())
        .when(InvoiceCommand::RefundInvoice {
            amount: Money::new(100, eur.clone()),
            reason: "duplicate".into(),
        })
        .then_expect_error(DomainError::Money(MoneyError::CurrencyMismatch {
            left: usd_code(),
            right: eur,
        }));
    given(paid_invoice())
        .when(InvoiceCommand::RefundInvoice {
            amount: usd(100),
            reason: "".into(),
        })
        .then_expect_error(DomainError::invalid(
            "reason",
            "must be 1 to 500 characters and not blank",
        ));
}

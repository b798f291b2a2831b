//! The bound on amounts (SPEC 3): every line, total, payment and refund is at most 10^15 minor
//! units, so no history the invoice accepts can overflow a read model that adds its amounts.

use super::*;
use crate::error::DomainError;
use crate::money::{Money, MAX_AMOUNT};

/// The amount of a security probe's manual invoices: two of them overflowed an `i64` balance.
const PROBE_AMOUNT: i64 = 4_611_686_018_427_387_904;

fn beyond_the_bound(field: &str, amount: i64) -> DomainError {
    usd(amount).check_bound(field).unwrap_err().into()
}

/// A line as a deserialised command carries it, unchecked.
fn raw_line(quantity: u32, unit_amount: i64, amount: i64) -> InvoiceLine {
    InvoiceLine {
        description: "Manual charge".into(),
        kind: LineKind::Manual,
        quantity,
        unit_amount: usd(unit_amount),
        amount: usd(amount),
        usage: None,
    }
}

#[test]
fn an_invoice_at_the_bound_is_issued() {
    given(vec![])
        .when(issue_command(vec![line("Pro plan", 1, MAX_AMOUNT)]))
        .then_expect_events(vec![issued(MAX_AMOUNT)]);
}

#[test]
fn a_unit_amount_beyond_the_bound_is_refused() {
    given(vec![])
        .when(issue_command(vec![raw_line(1, PROBE_AMOUNT, PROBE_AMOUNT)]))
        .then_expect_error(beyond_the_bound("unit_amount", PROBE_AMOUNT));
}

#[test]
fn a_line_amount_beyond_the_bound_is_refused() {
    let unit = MAX_AMOUNT / 2 + 1;
    given(vec![])
        .when(issue_command(vec![raw_line(2, unit, 2 * unit)]))
        .then_expect_error(DomainError::invalid(
            "amount",
            format!("quantity × unit_amount is beyond the limit of {MAX_AMOUNT} minor units"),
        ));
}

#[test]
fn a_total_beyond_the_bound_is_refused() {
    let full = line("Full", 1, MAX_AMOUNT);
    given(vec![])
        .when(issue_command(vec![full.clone(), line("One more", 1, 1)]))
        .then_expect_error(beyond_the_bound("total", MAX_AMOUNT + 1));
    given(vec![])
        .when(issue_command(vec![full.clone(), full]))
        .then_expect_error(beyond_the_bound("total", 2 * MAX_AMOUNT));
}

#[test]
fn a_payment_beyond_the_bound_is_invalid_before_it_is_an_overpayment() {
    for amount in [MAX_AMOUNT + 1, PROBE_AMOUNT, i64::MAX] {
        given(vec![issued(4900)])
            .when(InvoiceCommand::RecordPayment {
                amount: usd(amount),
                payment_ref: "wire_1".into(),
            })
            .then_expect_error(beyond_the_bound("amount", amount));
    }
}

#[test]
fn a_payment_of_the_whole_bounded_invoice_pays_it() {
    given(vec![issued(MAX_AMOUNT)])
        .when(InvoiceCommand::RecordPayment {
            amount: usd(MAX_AMOUNT),
            payment_ref: "wire_1".into(),
        })
        .then_expect_events(vec![
            recorded(MAX_AMOUNT, "wire_1", MAX_AMOUNT),
            paid(MAX_AMOUNT),
        ]);
}

#[test]
fn a_refund_beyond_the_bound_is_invalid() {
    given(vec![issued(4900), recorded(4900, "ch_1", 4900), paid(4900)])
        .when(InvoiceCommand::RefundInvoice {
            amount: Money::new(PROBE_AMOUNT, usd_code()),
            reason: "requested_by_customer".into(),
        })
        .then_expect_error(beyond_the_bound("amount", PROBE_AMOUNT));
}

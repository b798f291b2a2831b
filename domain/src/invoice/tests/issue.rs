//! Issuing: what an invoice must contain, and the zero-total invoice that is paid at once.

use chrono::Duration;

use super::*;
use crate::error::DomainError;
use crate::invoice::InvoiceRule;
use crate::money::{Money, MoneyError};

#[test]
fn an_invoice_is_issued_with_its_lines_and_total_and_is_due_at_once() {
    let lines = vec![line("Pro plan", 1, 4900), line("Extra seats", 2, 400)];
    given(vec![])
        .when(issue_command(lines.clone()))
        .then_expect_events(vec![InvoiceEvent::InvoiceIssued {
            invoice_id: invoice_id(),
            account_id: account(),
            subscription_id: Some(subscription_id()),
            currency: usd_code(),
            lines,
            total: usd(5700),
            issued_at: t0(),
            due_at: t0(),
            collection: CollectionMethod::Automatic,
        }]);
}

#[test]
fn an_invoice_sent_for_later_payment_keeps_its_due_date() {
    let due_at = t0() + Duration::days(30);
    let InvoiceEvent::InvoiceIssued { lines, total, .. } = issued(4900) else {
        unreachable!()
    };
    given(vec![])
        .when(InvoiceCommand::IssueInvoice {
            invoice_id: invoice_id(),
            account_id: account(),
            subscription_id: None,
            currency: usd_code(),
            lines: lines.clone(),
            due_at: Some(due_at),
            collection: CollectionMethod::Automatic,
        })
        .then_expect_events(vec![InvoiceEvent::InvoiceIssued {
            invoice_id: invoice_id(),
            account_id: account(),
            subscription_id: None,
            currency: usd_code(),
            lines,
            total,
            issued_at: t0(),
            due_at,
            collection: CollectionMethod::Automatic,
        }]);
}

#[test]
fn a_zero_total_invoice_is_paid_at_issue() {
    let lines = vec![line("Free month", 1, 0)];
    given(vec![])
        .when(issue_command(lines.clone()))
        .then_expect_events(vec![
            InvoiceEvent::InvoiceIssued {
                invoice_id: invoice_id(),
                account_id: account(),
                subscription_id: Some(subscription_id()),
                currency: usd_code(),
                lines,
                total: usd(0),
                issued_at: t0(),
                due_at: t0(),
                collection: CollectionMethod::Automatic,
            },
            paid(0),
        ]);
}

#[test]
fn an_invoice_needs_at_least_one_line() {
    given(vec![])
        .when(issue_command(vec![]))
        .then_expect_error(DomainError::invalid(
            "lines",
            "an invoice needs at least one line",
        ));
}

#[test]
fn every_line_is_in_the_invoice_currency() {
    let eur = Currency::parse("eur").unwrap();
    let euro_line =
        InvoiceLine::new("Pro plan", LineKind::Base, 1, Money::new(4900, eur.clone())).unwrap();
    given(vec![])
        .when(issue_command(vec![line("Seats", 1, 400), euro_line]))
        .then_expect_error(DomainError::Money(MoneyError::CurrencyMismatch {
            left: usd_code(),
            right: eur,
        }));
}

#[test]
fn no_line_has_a_negative_amount() {
    // Built field by field, as a deserialised command could be: the invoice checks again.
    let credit = InvoiceLine {
        description: "Credit".into(),
        kind: LineKind::Manual,
        quantity: 1,
        unit_amount: usd(-500),
        amount: usd(-500),
        usage: None,
    };
    given(vec![])
        .when(issue_command(vec![line("Pro plan", 1, 4900), credit]))
        .then_expect_error(DomainError::invalid("unit_amount", "must not be negative"));
}

#[test]
fn a_line_amount_is_its_quantity_times_its_unit_amount() {
    let mut tampered = line("Seats", 3, 400);
    tampered.amount = usd(1);
    given(vec![])
        .when(issue_command(vec![tampered]))
        .then_expect_error(DomainError::invalid(
            "lines[0].amount",
            "must equal quantity × unit_amount",
        ));
}

#[test]
fn an_invoice_is_not_due_before_it_is_issued() {
    given(vec![])
        .when(InvoiceCommand::IssueInvoice {
            invoice_id: invoice_id(),
            account_id: account(),
            subscription_id: None,
            currency: usd_code(),
            lines: vec![line("Pro plan", 1, 4900)],
            due_at: Some(t0() - Duration::seconds(1)),
            collection: CollectionMethod::Automatic,
        })
        .then_expect_error(DomainError::invalid(
            "due_at",
            "must not be before the issue time",
        ));
}

#[test]
fn an_invoice_is_issued_only_once() {
    given(vec![issued(4900)])
        .when(issue_command(vec![line("Pro plan", 1, 4900)]))
        .then_expect_error(InvoiceRule::AlreadyIssued.into());
}

#[test]
fn every_other_command_needs_an_issued_invoice() {
    let commands = [
        InvoiceCommand::AttemptPayment {
            payment_method: visa(),
        },
        InvoiceCommand::RecordPayment {
            amount: usd(100),
            payment_ref: "ch_1".into(),
        },
        InvoiceCommand::RecordPaymentFailure {
            reason: "declined".into(),
            code: "card_declined".into(),
            payment_ref: None,
            hard_decline: false,
        },
        InvoiceCommand::RefundInvoice {
            amount: usd(100),
            reason: "duplicate".into(),
        },
        InvoiceCommand::VoidInvoice,
        InvoiceCommand::MarkUncollectible,
    ];
    for command in commands {
        given(vec![])
            .when(command)
            .then_expect_error(DomainError::NotFound {
                aggregate: "invoice",
            });
    }
}

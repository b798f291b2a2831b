//! Given/when/then tests of the Invoice aggregate, one file per part of its life.

mod amounts;
mod closing;
mod credit_notes;
mod issue;
mod overpayments;
mod payments;
mod refunds;
mod state;

use cqrs_es::test::{AggregateTestExecutor, TestFramework};
use uuid::Uuid;

use crate::invoice::{
    CollectionMethod, Invoice, InvoiceCommand, InvoiceEvent, InvoiceLine, LineKind,
};
use crate::money::Currency;
use crate::testing::{account, services, t0, usd};
use crate::values::PaymentMethodToken;

fn invoice_id() -> Uuid {
    Uuid::from_u128(0x1a1a)
}

fn subscription_id() -> Uuid {
    Uuid::from_u128(0x5b5b)
}

fn usd_code() -> Currency {
    Currency::parse("usd").unwrap()
}

fn line(description: &str, quantity: u32, unit: i64) -> InvoiceLine {
    InvoiceLine::new(description, LineKind::Base, quantity, usd(unit)).unwrap()
}

fn visa() -> PaymentMethodToken {
    PaymentMethodToken::parse("pm_card_visa").unwrap()
}

fn issue_command(lines: Vec<InvoiceLine>) -> InvoiceCommand {
    InvoiceCommand::IssueInvoice {
        invoice_id: invoice_id(),
        account_id: account(),
        subscription_id: Some(subscription_id()),
        currency: usd_code(),
        lines,
        due_at: None,
        collection: CollectionMethod::Automatic,
    }
}

/// `InvoiceIssued` at t0 for one base line of `total` cents, charged automatically.
fn issued(total: i64) -> InvoiceEvent {
    InvoiceEvent::InvoiceIssued {
        invoice_id: invoice_id(),
        account_id: account(),
        subscription_id: Some(subscription_id()),
        currency: usd_code(),
        lines: vec![line("Pro plan", 1, total)],
        total: usd(total),
        issued_at: t0(),
        due_at: t0(),
        collection: CollectionMethod::Automatic,
    }
}

fn gateway_ref(attempt: u32) -> String {
    format!("{}:attempt:{attempt}", invoice_id())
}

fn attempted(attempt: u32, amount: i64) -> InvoiceEvent {
    InvoiceEvent::PaymentAttempted {
        attempt,
        payment_ref: gateway_ref(attempt),
        amount: usd(amount),
        payment_method: visa(),
        at: t0(),
    }
}

fn recorded(amount: i64, payment_ref: &str, amount_paid: i64) -> InvoiceEvent {
    InvoiceEvent::PaymentRecorded {
        amount: usd(amount),
        payment_ref: payment_ref.to_owned(),
        amount_paid: usd(amount_paid),
        at: t0(),
    }
}

fn paid(amount_paid: i64) -> InvoiceEvent {
    InvoiceEvent::InvoicePaid {
        amount_paid: usd(amount_paid),
        at: t0(),
    }
}

fn failed(attempt: u32, payment_ref: Option<String>, amount_due: i64) -> InvoiceEvent {
    InvoiceEvent::PaymentFailed {
        attempt,
        reason: "Your card was declined.".into(),
        decline_code: "card_declined".into(),
        payment_ref,
        hard_decline: false,
        amount_due: usd(amount_due),
        at: t0(),
    }
}

fn refunded(amount: i64, amount_refunded: i64, fully_refunded: bool) -> InvoiceEvent {
    InvoiceEvent::InvoiceRefunded {
        amount: usd(amount),
        amount_refunded: usd(amount_refunded),
        fully_refunded,
        reason: "requested_by_customer".into(),
        at: t0(),
    }
}

fn given(events: Vec<InvoiceEvent>) -> AggregateTestExecutor<Invoice> {
    TestFramework::<Invoice>::with(services()).given(events)
}

/// The invoice after `events`, folded with `apply` as a store would load it.
fn folded(events: Vec<InvoiceEvent>) -> Invoice {
    let mut invoice = Invoice::default();
    for event in events {
        cqrs_es::Aggregate::apply(&mut invoice, event);
    }
    invoice
}

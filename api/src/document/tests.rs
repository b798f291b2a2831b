//! The document's facts from an invoice and its events, and both renderings of them.

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use domain::invoice::{CollectionMethod, Invoice, InvoiceLine, LineKind};
use domain::AccountId;
use domain::{Currency, Money};
use uuid::Uuid;

use super::*;

fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339).unwrap().to_utc()
}

fn usd(amount: i64) -> Money {
    Money::new(amount, Currency::parse("usd").unwrap())
}

pub(crate) fn seller() -> Seller {
    Seller {
        name: "Acme <Billing> & Co".into(),
        address: vec!["1 Main St".into(), "Springfield".into()],
        email: Some("billing@acme.test".into()),
        tax_id: Some("EU123".into()),
    }
}

/// An invoice of `lines` × (2 × 19.00 usd) to which `events` happened, as `GET` shows it.
fn view(number: Option<&str>, lines: usize, events: &[InvoiceEvent]) -> InvoiceView {
    let line = InvoiceLine::new("Onboarding workshop", LineKind::Manual, 2, usd(1900)).unwrap();
    let mut invoice = Invoice::default();
    invoice.apply(InvoiceEvent::InvoiceIssued {
        invoice_id: Uuid::nil(),
        account_id: AccountId::parse("acct_doc").unwrap(),
        subscription_id: None,
        currency: Currency::parse("usd").unwrap(),
        lines: vec![line; lines],
        total: usd(3800 * lines as i64),
        issued_at: at("2026-03-01T10:00:00Z"),
        due_at: at("2026-03-31T10:00:00Z"),
        collection: CollectionMethod::Manual,
    });
    for event in events {
        invoice.apply(event.clone());
    }
    InvoiceView::of(&invoice)
        .expect("issued")
        .with_number(number.map(str::to_owned))
}

/// Paid 10.00 by wire, 2.50 of it refunded, then a failed card attempt (no money moved).
fn events() -> Vec<InvoiceEvent> {
    vec![
        InvoiceEvent::PaymentRecorded {
            amount: usd(1000),
            payment_ref: "wire_1".into(),
            amount_paid: usd(1000),
            at: at("2026-03-02T00:00:00Z"),
        },
        InvoiceEvent::InvoiceRefunded {
            amount: usd(250),
            amount_refunded: usd(250),
            fully_refunded: false,
            reason: "goodwill".into(),
            at: at("2026-03-03T00:00:00Z"),
        },
        InvoiceEvent::PaymentFailed {
            attempt: 1,
            reason: "Your card was declined.".into(),
            decline_code: "card_declined".into(),
            payment_ref: None,
            hard_decline: false,
            amount_due: usd(2800),
            at: at("2026-03-04T00:00:00Z"),
        },
    ]
}

#[test]
fn the_document_prints_amounts_dates_and_the_money_that_moved() {
    let document = InvoiceDocument::new(
        &view(Some("LL-000007"), 1, &events()),
        &events(),
        seller(),
        None,
    );
    assert_eq!(document.number, "LL-000007");
    assert_eq!(document.status, "past due");
    assert_eq!(
        (document.issued_on.as_str(), document.due_on.as_str()),
        ("2026-03-01", "2026-03-31")
    );
    assert_eq!(document.lines[0].unit_amount, "19.00 USD");
    assert_eq!(document.total, "38.00 USD");
    assert_eq!(document.tax, "0.00 USD");
    assert_eq!(document.amount_due, "28.00 USD");
    let moved: Vec<(&str, &str, &str)> = document
        .payments
        .iter()
        .map(|p| (p.kind, p.detail.as_str(), p.amount.as_str()))
        .collect();
    assert_eq!(
        moved,
        [
            ("Payment", "wire_1", "10.00 USD"),
            ("Refund", "goodwill", "2.50 USD")
        ]
    );
}

#[test]
fn an_invoice_not_numbered_yet_says_so() {
    let document = InvoiceDocument::new(&view(None, 1, &[]), &[], seller(), None);
    assert_eq!(document.number, NUMBER_PENDING);
    assert!(document.payments.is_empty());
}

#[test]
fn the_html_page_escapes_what_it_prints() {
    let email = Some("payer@customer.test".into());
    let document = InvoiceDocument::new(
        &view(Some("LL-000007"), 1, &events()),
        &events(),
        seller(),
        email,
    );
    let html = render_html(&document).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    for shown in [
        "LL-000007",
        "38.00 USD",
        "28.00 USD",
        "wire_1",
        "payer@customer.test",
        "EU123",
    ] {
        assert!(html.contains(shown), "{shown} missing");
    }
    assert!(html.contains("Acme &#60;Billing&#62; &#38; Co"));
    assert!(!html.contains("<Billing>"));
}

#[test]
fn a_long_invoice_is_a_pdf_of_several_pages() {
    let one = render_pdf(&InvoiceDocument::new(
        &view(Some("LL-1"), 1, &[]),
        &[],
        seller(),
        None,
    ));
    let long = render_pdf(&InvoiceDocument::new(
        &view(Some("LL-2"), 80, &[]),
        &[],
        seller(),
        None,
    ));
    for pdf in [&one, &long] {
        assert!(pdf.starts_with(b"%PDF-"));
        assert!(pdf.ends_with(b"%%EOF") || pdf.ends_with(b"%%EOF\n"));
    }
    // Every page states its own size.
    let pages = |pdf: &[u8]| String::from_utf8_lossy(pdf).matches("/MediaBox").count();
    assert_eq!(pages(&one), 1);
    assert!(
        pages(&long) > pages(&one),
        "80 lines take more than one page"
    );
}

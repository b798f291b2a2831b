//! The account invoices read model agrees with the Invoice aggregate, field for field, after every
//! kind of invoice command; lists newest first in pages; and feeds the summary's balance due.
//! A replay of the same log in batches of one builds the same rows.

use std::sync::Arc;

use domain::invoice::{Invoice, InvoiceCommand};
use domain::PaymentMethodToken;
use infrastructure::testing::{Backend, TestDatabase};
use infrastructure::Store;
use projections::invoices::{self, InvoiceRow};
use projections::summary::{self, BalanceView, SummaryRow};
use projections::{InvoiceView, PositionCursor};
use uuid::Uuid;

use crate::fixtures::*;

const ACCT: &str = "acct_invoices";

fn attempt() -> InvoiceCommand {
    InvoiceCommand::AttemptPayment {
        payment_method: PaymentMethodToken::parse("pm_card_visa").unwrap(),
    }
}

fn pay(amount: i64, payment_ref: &str) -> InvoiceCommand {
    InvoiceCommand::RecordPayment {
        amount: money(amount, "usd"),
        payment_ref: payment_ref.into(),
    }
}

fn fail(payment_ref: Option<String>) -> InvoiceCommand {
    InvoiceCommand::RecordPaymentFailure {
        reason: "the card was declined".into(),
        code: "card_declined".into(),
        payment_ref,
        hard_decline: false,
    }
}

fn refund(amount: i64) -> InvoiceCommand {
    InvoiceCommand::RefundInvoice {
        amount: money(amount, "usd"),
        reason: "goodwill".into(),
    }
}

/// Every account invoice, newest first, read page by page (`limit` per page).
async fn list(h: &Harness, account_id: &str, limit: u32) -> Vec<Vec<InvoiceView>> {
    let models = h.read_models();
    let mut pages = Vec::new();
    let mut cursor = None;
    loop {
        let page = models
            .invoices(&account(account_id), limit, cursor)
            .await
            .unwrap();
        pages.push(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(PositionCursor::parse(&next).expect("a cursor it issued")),
            None => return pages,
        }
    }
}

async fn aggregate_view(h: &Harness, id: Uuid) -> InvoiceView {
    let loaded = h.bus.load::<Invoice>(&id.to_string()).await.unwrap();
    InvoiceView::of(&loaded.aggregate).expect("issued")
}

/// Every row of the invoices read model and of the summary (with its balance).
async fn rows(store: &Store) -> (Vec<InvoiceRow>, Vec<SummaryRow>) {
    let pool = store.reader();
    let invoices = invoices::all_rows(&pool).await.unwrap();
    (invoices, summary::all_rows(&pool).await.unwrap())
}

async fn rows_match_the_aggregate_after_every_kind_of_invoice_command(backend: Backend) {
    let h = Harness::new(backend).await;
    let (subscription, _) = h.start_trial(ACCT, "starter", 1).await;
    let sub = Some(subscription);

    // Failed through the gateway, then paid, then partly refunded.
    let (refunded_partly, _) = h.issue(ACCT, sub, "usd", &[1500, 1900]).await;
    h.invoice(refunded_partly, attempt()).await;
    h.invoice(
        refunded_partly,
        fail(Some(format!("{refunded_partly}:attempt:1"))),
    )
    .await;
    h.invoice(refunded_partly, attempt()).await;
    h.invoice(
        refunded_partly,
        pay(3400, &format!("{refunded_partly}:attempt:2")),
    )
    .await;
    h.invoice(refunded_partly, refund(400)).await;
    // Partly paid from outside: 1000 still due.
    let (partly_paid, _) = h.issue(ACCT, sub, "usd", &[1900]).await;
    h.invoice(partly_paid, pay(900, "wire_1")).await;
    let (voided, _) = h.issue(ACCT, sub, "usd", &[500]).await;
    h.invoice(voided, InvoiceCommand::VoidInvoice).await;
    let (written_off, _) = h.issue(ACCT, sub, "usd", &[700]).await;
    h.invoice(written_off, InvoiceCommand::MarkUncollectible)
        .await;
    let (free, _) = h.issue(ACCT, sub, "usd", &[0]).await;
    // A failure reported from outside: past due, 1200 due.
    let (past_due, _) = h.issue(ACCT, sub, "usd", &[1200]).await;
    h.invoice(past_due, fail(None)).await;
    // Another currency: listed, left out of the usd balance.
    let (in_euros, _) = h.issue(ACCT, None, "eur", &[999]).await;
    let (refunded, _) = h.issue(ACCT, sub, "usd", &[300]).await;
    h.invoice(refunded, pay(300, "card_1")).await;
    h.invoice(refunded, refund(100)).await;
    let last = h.invoice(refunded, refund(200)).await.unwrap();
    // Another account's invoice is not listed with these.
    let (_, other_last) = h.issue("acct_other", None, "usd", &[100]).await;

    let projections = h.start(options(500));
    projections
        .wait_for(last.max(other_last), PATIENCE)
        .await
        .unwrap();
    let listed: Vec<InvoiceView> = list(&h, ACCT, 100).await.concat();
    let issued_order = [
        refunded_partly,
        partly_paid,
        voided,
        written_off,
        free,
        past_due,
        in_euros,
        refunded,
    ];
    let newest_first: Vec<Uuid> = issued_order.iter().rev().copied().collect();
    assert_eq!(
        listed.iter().map(|v| v.id).collect::<Vec<_>>(),
        newest_first
    );
    for view in &listed {
        assert_eq!(
            *view,
            aggregate_view(&h, view.id).await,
            "invoice {}",
            view.id
        );
    }
    let status = |id: Uuid| {
        let view = listed.iter().find(|v| v.id == id).unwrap();
        (
            view.status.as_str(),
            view.amount_paid,
            view.amount_refunded,
            view.attempts,
        )
    };
    assert_eq!(status(refunded_partly), ("paid", 3400, 400, 2));
    assert_eq!(status(partly_paid), ("issued", 900, 0, 0));
    assert_eq!(status(voided), ("void", 0, 0, 0));
    assert_eq!(status(written_off), ("uncollectible", 0, 0, 0));
    assert_eq!(status(free), ("paid", 0, 0, 0));
    assert_eq!(status(past_due), ("past_due", 0, 0, 1));
    assert_eq!(status(in_euros).0, "issued");
    assert_eq!(status(refunded), ("refunded", 300, 300, 0));
    let first = listed.last().unwrap();
    assert_eq!(first.lines.len(), 2);
    assert_eq!(
        (
            first.lines[1].unit_amount,
            first.lines[1].amount,
            first.total
        ),
        (1900, 1900, 3400)
    );
    let json = serde_json::to_value(first).unwrap();
    assert_eq!(json["lines"][0]["kind"], "manual");
    assert_eq!(json["subscription_id"], subscription.to_string());

    // Open usd invoices: 1000 + 1200.
    let balance = h.summary(ACCT).await.unwrap().balance_due;
    let usd = |amount| BalanceView {
        amount,
        currency: Some("usd".into()),
    };
    assert_eq!(balance, usd(2200));
    assert_eq!(h.summary("acct_other").await.unwrap().balance_due, usd(100));

    // Paying the rest moves the balance.
    let paid = h.invoice(partly_paid, pay(1000, "wire_2")).await.unwrap();
    projections.wait_for(paid, PATIENCE).await.unwrap();
    assert_eq!(h.summary(ACCT).await.unwrap().balance_due, usd(1200));
    assert_eq!(
        list(&h, ACCT, 100).await.concat()[6],
        aggregate_view(&h, partly_paid).await
    );
    projections.stop().await;

    // The same log replayed one event per batch builds the same rows.
    let count = readable_log(&h.store, 1).await.len();
    let fresh = TestDatabase::create(backend).await;
    let replayed = Arc::new(fresh.store().await);
    copy_log(&h.store, &replayed, count).await;
    let head = readable_log(&replayed, count)
        .await
        .last()
        .unwrap()
        .1
        .position;
    let replay = projections::start(replayed.clone(), h.catalog.clone(), options(1));
    replay.wait_for(head, PATIENCE).await.unwrap();
    replay.stop().await;
    assert_eq!(rows(&h.store).await, rows(&replayed).await);
}

async fn invoices_list_in_pages_newest_first(backend: Backend) {
    let h = Harness::new(backend).await;
    let mut issued = Vec::new();
    for n in 1..=7 {
        issued.push(h.issue(ACCT, None, "usd", &[n * 100]).await);
    }
    let projections = h.start(options(500));
    let last = issued.last().unwrap().1;
    projections.wait_for(last, PATIENCE).await.unwrap();

    let pages = list(&h, ACCT, 3).await;
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, [3, 3, 1]);
    let ids: Vec<Uuid> = pages.concat().iter().map(|view| view.id).collect();
    let newest_first: Vec<Uuid> = issued.iter().rev().map(|(id, _)| *id).collect();
    assert_eq!(ids, newest_first);
    // A page that ends exactly at the last invoice has no next cursor.
    let sizes: Vec<usize> = list(&h, ACCT, 7).await.iter().map(Vec::len).collect();
    assert_eq!(sizes, [7]);
    assert_eq!(list(&h, "acct_none", 3).await, [Vec::<InvoiceView>::new()]);

    // No subscription: the balance is counted in the invoices' currency.
    let balance = h.summary(ACCT).await.unwrap().balance_due;
    assert_eq!(
        balance,
        BalanceView {
            amount: 2800,
            currency: Some("usd".into())
        }
    );
    assert_eq!(PositionCursor::parse("x"), None);
    assert_eq!(PositionCursor::parse("-3"), None);
    projections.stop().await;
}

infrastructure::on_both_backends!(
    rows_match_the_aggregate_after_every_kind_of_invoice_command,
    invoices_list_in_pages_newest_first,
);

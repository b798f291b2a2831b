//! Schema evolution (SPEC 2): an invoice `PaymentFailed` in version 1.0 (its decline code in a
//! field `code`), written straight into the events table as an older build stored it, loads
//! through the command bus, decodes, and shows in the audit state as version 2.0
//! (`decline_code`), while the stored row stays as it was.

use std::sync::Arc;

use application::audit::state_as_of;
use application::event_log::AsOf;
use domain::invoice::{
    CollectionMethod, Invoice, InvoiceCommand, InvoiceEvent, InvoiceLine, InvoiceStatus, LineKind,
};
use domain::{AccountId, Currency, Money};
use infrastructure::portable;
use infrastructure::testing::Backend;
use infrastructure::Store;
use serde_json::json;

use crate::support::{bus, metadata, open, send};

fn usd(amount: i64) -> Money {
    Money::new(amount, Currency::parse("usd").unwrap())
}

/// Appends, as raw SQL, `PaymentFailed` 1.0 as sequence 2 of invoice `id`.
async fn insert_v1_failure(store: &Store, id: &str) {
    let payload = json!({"PaymentFailed": {
        "attempt": 1,
        "reason": "Your card was declined.",
        "code": "card_declined",
        "payment_ref": null,
        "hard_decline": false,
        "amount_due": {"amount": 3800, "currency": "usd"},
        "at": "2026-03-02T00:00:00Z",
    }});
    let metadata = serde_json::to_value(metadata(2)).unwrap();
    let columns =
        "aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata";
    let sql = format!(
        "INSERT INTO events ({columns}) VALUES ('invoice', $1, 2, 'PaymentFailed', '1.0', $2, $3)"
    );
    portable::query(&sql)
        .bind(id)
        .bind(&payload)
        .bind(&metadata)
        .execute(store.writer())
        .await
        .expect("the v1 row is inserted");
}

async fn a_stored_v1_payment_failure_reads_as_v2(backend: Backend) {
    let (_db, store) = open(backend).await;
    let store = Arc::new(store);
    let bus = bus(store.clone());
    let invoice_id = uuid::Uuid::new_v4();
    let id = invoice_id.to_string();
    let issue = InvoiceCommand::IssueInvoice {
        invoice_id,
        account_id: AccountId::parse("acct_v1").unwrap(),
        subscription_id: None,
        currency: Currency::parse("usd").unwrap(),
        lines: vec![InvoiceLine::new("Setup", LineKind::Manual, 2, usd(1900)).unwrap()],
        due_at: None,
        collection: CollectionMethod::Manual,
    };
    send::<Invoice, _>(&bus, &id, issue, None).await.unwrap();
    insert_v1_failure(&store, &id).await;

    let loaded = bus.load::<Invoice>(&id).await.unwrap();
    assert_eq!(loaded.version, 2);
    assert_eq!(loaded.aggregate.status(), Some(InvoiceStatus::PastDue));
    assert_eq!(loaded.aggregate.attempts(), 1);

    let read = bus.read_events::<Invoice>(&id, 1, 10).await.unwrap();
    let [(stored, decoded)] = read.as_slice() else {
        panic!("one event after the issue: {read:?}");
    };
    assert_eq!(
        stored.event_version, "1.0",
        "the stored row is never rewritten"
    );
    assert_eq!(stored.payload["PaymentFailed"]["code"], "card_declined");
    assert!(
        matches!(decoded, InvoiceEvent::PaymentFailed { attempt: 1, decline_code, amount_due, .. }
            if decline_code == "card_declined" && *amount_due == usd(3800)),
        "{decoded:?}"
    );

    let past = state_as_of(&bus, "invoice", &id, AsOf::Version(2))
        .await
        .unwrap()
        .expect("the invoice existed");
    assert_eq!(past.state, serde_json::to_value(&loaded.aggregate).unwrap());

    // The invoice goes on from the upcast state: it can still be paid.
    let pay = InvoiceCommand::RecordPayment {
        amount: usd(3800),
        payment_ref: "wire_1".into(),
    };
    send::<Invoice, _>(&bus, &id, pay, None).await.unwrap();
    let paid = bus.load::<Invoice>(&id).await.unwrap().aggregate;
    assert_eq!(paid.status(), Some(InvoiceStatus::Paid));
}

infrastructure::on_both_backends!(a_stored_v1_payment_failure_reads_as_v2);

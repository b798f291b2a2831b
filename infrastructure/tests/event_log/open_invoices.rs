//! The open invoices of a subscription, found through the claims they hold while open (issue #20,
//! M2): taken at issue, released when paid or voided; and migration 0011 gives invoices opened
//! before it the claims they would hold.

use std::sync::Arc;

use application::claims::open_invoices_claim_prefix;
use application::ClaimIndex;
use domain::invoice::{CollectionMethod, Invoice, InvoiceCommand, InvoiceLine, LineKind};
use domain::{AccountId, Currency, Money};
use infrastructure::portable;
use infrastructure::testing::Backend;
use infrastructure::Store;
use uuid::Uuid;

use crate::support::{bus, open, send};

fn issue(invoice_id: Uuid, subscription_id: Option<Uuid>) -> InvoiceCommand {
    let usd = Currency::parse("usd").unwrap();
    InvoiceCommand::IssueInvoice {
        invoice_id,
        account_id: AccountId::parse("acct_open_invoices").unwrap(),
        subscription_id,
        currency: usd.clone(),
        lines: vec![InvoiceLine::new("Setup", LineKind::Manual, 1, Money::new(500, usd)).unwrap()],
        due_at: None,
        collection: CollectionMethod::Manual,
    }
}

async fn open_invoices(store: &Store, subscription: Uuid) -> Vec<String> {
    let prefix = open_invoices_claim_prefix(subscription);
    let mut holders = store.claim_holders_under(&prefix).await.unwrap();
    holders.sort();
    holders
}

/// Runs migration 0011's backfill again, as on a database whose invoices predate it.
async fn backfill(store: &Store) {
    let forget = "DELETE FROM unique_claims WHERE claim LIKE 'open_invoice:%'";
    let sql = match store {
        Store::Postgres(_) => {
            include_str!("../../../migrations/postgres/0011_open_invoice_claims.sql")
        }
        Store::Sqlite(_) => include_str!("../../../migrations/sqlite/0011_open_invoice_claims.sql"),
    };
    // Only the INSERT: the index already exists.
    let insert = &sql[..sql.find("CREATE INDEX").unwrap()];
    for statement in [forget, insert] {
        portable::query(statement)
            .execute(store.writer())
            .await
            .unwrap();
    }
}

async fn a_subscription_s_open_invoices_are_found_through_their_claims(backend: Backend) {
    let (_db, store) = open(backend).await;
    let store = Arc::new(store);
    let bus = bus(store.clone());
    let (subscription, other) = (Uuid::new_v4(), Uuid::new_v4());
    let mut invoices: Vec<Uuid> = (0..3).map(|_| Uuid::new_v4()).collect();
    invoices.sort();
    for (invoice, owner) in invoices.iter().zip([Some(subscription); 3]) {
        send::<Invoice, _>(&bus, &invoice.to_string(), issue(*invoice, owner), None)
            .await
            .unwrap();
    }
    let elsewhere = Uuid::new_v4();
    send::<Invoice, _>(
        &bus,
        &elsewhere.to_string(),
        issue(elsewhere, Some(other)),
        None,
    )
    .await
    .unwrap();
    let loose = Uuid::new_v4();
    send::<Invoice, _>(&bus, &loose.to_string(), issue(loose, None), None)
        .await
        .unwrap();
    let names = |ids: &[Uuid]| ids.iter().map(Uuid::to_string).collect::<Vec<_>>();
    assert_eq!(open_invoices(&store, subscription).await, names(&invoices));

    let paid = InvoiceCommand::RecordPayment {
        amount: Money::new(500, Currency::parse("usd").unwrap()),
        payment_ref: "wire_1".into(),
    };
    send::<Invoice, _>(&bus, &invoices[0].to_string(), paid, None)
        .await
        .unwrap();
    send::<Invoice, _>(
        &bus,
        &invoices[1].to_string(),
        InvoiceCommand::VoidInvoice,
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        open_invoices(&store, subscription).await,
        names(&invoices[2..])
    );

    backfill(&store).await;
    assert_eq!(
        open_invoices(&store, subscription).await,
        names(&invoices[2..])
    );
    assert_eq!(open_invoices(&store, other).await, names(&[elsewhere]));
}

infrastructure::on_both_backends!(a_subscription_s_open_invoices_are_found_through_their_claims);

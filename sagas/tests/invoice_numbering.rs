//! Invoice numbers on a real store, both backends: 20 invoices issued at once, each numbered by
//! its own reaction racing the 19 others on the prefix's stream (as replicas would), get
//! `LL-000001` to `LL-000020`, each once, with no gap; a re-run of every reaction appends nothing.

use std::collections::BTreeSet;

use application::event_log::{EventLog, StoredEvent};
use application::{issue_manual_invoice, ManualInvoice, Policy};
use domain::invoice::{InvoiceLine, LineKind};
use domain::invoice_numbering::InvoiceNumberingEvent;
use domain::{AccountId, Currency, InvoicePrefix, Money};
use infrastructure::test_stack::{context, Stack};
use infrastructure::testing::Backend;
use sagas::InvoiceNumberingWorker;
use tokio::task::JoinSet;
use uuid::Uuid;

const INVOICES: usize = 20;

fn manual_invoice(n: usize) -> ManualInvoice {
    let usd = Currency::parse("usd").unwrap();
    let line = InvoiceLine::new(
        "Consulting",
        LineKind::Manual,
        1,
        Money::new(100, usd.clone()),
    );
    ManualInvoice {
        invoice_id: Uuid::new_v4(),
        account_id: AccountId::parse(&format!("acct_numbers_{}", n % 3)).unwrap(),
        subscription_id: None,
        currency: usd,
        lines: vec![line.unwrap()],
    }
}

/// Reacts to `cause` alone until the reaction goes through, as the runtime retries a batch
/// whose commands kept conflicting.
async fn react_until_done(
    worker: &InvoiceNumberingWorker<infrastructure::Store>,
    cause: StoredEvent,
) {
    let batch = [cause];
    for _ in 0..50 {
        if worker.react(&batch).await.is_ok() {
            return;
        }
    }
    panic!("the reaction kept failing");
}

async fn twenty_racing_invoices_get_twenty_consecutive_numbers(backend: Backend) {
    let stack = Stack::new(backend).await;
    let mut issuing = JoinSet::new();
    for n in 0..INVOICES {
        let (bus, services) = (stack.bus.clone(), stack.services.clone());
        issuing.spawn(async move {
            let invoice = manual_invoice(n);
            let id = invoice.invoice_id;
            issue_manual_invoice(&bus, &services, invoice, &context())
                .await
                .expect("the invoice is issued");
            id
        });
    }
    let issued: BTreeSet<Uuid> = issuing.join_all().await.into_iter().collect();
    let log = stack.readable_log().await;
    assert_eq!(log.len(), INVOICES);

    let prefix = InvoicePrefix::parse("LL").unwrap();
    let worker = std::sync::Arc::new(InvoiceNumberingWorker::new(
        stack.bus.clone(),
        stack.services.clone(),
        prefix,
    ));
    for round in 0..2 {
        let mut reacting = JoinSet::new();
        for cause in log.clone() {
            let worker = worker.clone();
            reacting.spawn(async move { react_until_done(&worker, cause).await });
        }
        reacting.join_all().await;

        let stream = stack
            .store
            .read_stream("invoice_numbering", "LL", 0, 100)
            .await
            .unwrap();
        assert_eq!(
            stream.len(),
            INVOICES,
            "round {round}: one number per invoice"
        );
        let mut numbered = BTreeSet::new();
        for (index, stored) in stream.iter().enumerate() {
            let event: InvoiceNumberingEvent =
                serde_json::from_value(stored.payload.clone()).unwrap();
            let InvoiceNumberingEvent::InvoiceNumberAssigned {
                invoice_id,
                sequence,
                number,
                ..
            } = event;
            assert_eq!(sequence, index as u64 + 1, "no gap, no duplicate");
            assert_eq!(number, format!("LL-{:06}", index + 1));
            assert!(numbered.insert(invoice_id), "{invoice_id} numbered twice");
            assert_eq!(stored.metadata.actor, "system:invoice_numbering_policy");
        }
        assert_eq!(numbered, issued, "every issued invoice, and only those");
    }
}

infrastructure::on_both_backends!(twenty_racing_invoices_get_twenty_consecutive_numbers);

//! Invoice numbers over HTTP (SPEC 11.5): three `ledgerline serve` replicas on one Postgres
//! database, issuing manual invoices at once, number them `LL-000001` onwards with no gap and no
//! duplicate; a configured prefix is used, a voided invoice keeps its number, the account's list
//! and the event catalog's later objects show the numbers, and a malformed prefix stops the
//! server before it starts.

mod support;

use std::collections::BTreeMap;

use infrastructure::testing::{Backend, TestDatabase};
use serde_json::json;
use support::{ledgerline, Api, Server};
use tokio::task::JoinSet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_issuing_at_once_number_invoices_consecutively() {
    const INVOICES: usize = 30;
    let db = TestDatabase::create(Backend::Postgres).await;
    let replicas: Vec<Server> = (0..3).map(|_| Server::on(&db.url, &[])).collect();
    let apis: Vec<Api> = replicas.iter().map(|s| Api::admin(&s.base_url)).collect();

    let mut issuing = JoinSet::new();
    for n in 0..INVOICES {
        let base_url = replicas[n % 3].base_url.clone();
        issuing.spawn(async move {
            Api::admin(&base_url)
                .issue_manual_invoice("acct_numbers", "Setup", 1, 1000)
                .await
        });
    }
    let ids = issuing.join_all().await;
    let mut numbers = BTreeMap::new();
    for (n, id) in ids.iter().enumerate() {
        // Read through any replica: the number is the same wherever it is asked.
        let number = apis[n % 3].invoice_number(id).await;
        assert!(numbers.insert(number, id).is_none(), "a number given twice");
    }
    let expected: Vec<String> = (1..=INVOICES).map(|n| format!("LL-{n:06}")).collect();
    assert_eq!(numbers.keys().cloned().collect::<Vec<_>>(), expected);
    drop(replicas);
}

async fn a_configured_prefix_numbers_and_a_voided_invoice_keeps_its_number(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &["--invoice-prefix", "INV2026"]);
    let api = Api::admin(&server.base_url);
    let first = api
        .issue_manual_invoice("acct_prefix", "Setup", 1, 1000)
        .await;
    assert_eq!(api.invoice_number(&first).await, "INV2026-000001");
    let voided = api
        .post(&format!("/v1/invoices/{first}/void"), json!({}))
        .await;
    voided.assert_status(200);
    let second = api
        .issue_manual_invoice("acct_prefix", "Setup", 1, 1000)
        .await;
    assert_eq!(api.invoice_number(&second).await, "INV2026-000002");
    assert_eq!(
        api.invoice_number(&first).await,
        "INV2026-000001",
        "kept when void"
    );

    let position = voided.body["position"].as_i64().expect("a position");
    let listed = api
        .get(&format!(
            "/v1/accounts/acct_prefix/invoices?min_position={position}"
        ))
        .await;
    listed.assert_status(200);
    let listed: Vec<(&str, &str)> = listed.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| {
            (
                item["id"].as_str().unwrap(),
                item["number"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            (second.as_str(), "INV2026-000002"),
            (first.as_str(), "INV2026-000001")
        ]
    );

    // The catalog: issued before its number, voided after it.
    let told: Vec<_> = api
        .catalog(position)
        .await
        .into_iter()
        .filter(|event| event["data"]["object"]["id"] == first.as_str())
        .collect();
    let kinds: Vec<&str> = told.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["invoice.issued", "invoice.voided"]);
    assert!(
        told[0]["data"]["object"]["number"].is_null(),
        "{:#}",
        told[0]
    );
    let voided = &told[1]["data"];
    assert_eq!(voided["object"]["number"], "INV2026-000001", "{voided:#}");
    assert!(
        voided["previous_attributes"]["number"].is_null()
            && voided["previous_attributes"]
                .as_object()
                .is_some_and(|changed| changed.contains_key("number")),
        "{voided:#}"
    );
}

infrastructure::on_both_backends!(
    a_configured_prefix_numbers_and_a_voided_invoice_keeps_its_number
);

#[test]
fn a_malformed_prefix_stops_the_server_before_it_starts() {
    let output = ledgerline()
        .args(["serve", "--bind", "127.0.0.1:0", "--invoice-prefix", "ll-"])
        .output()
        .expect("ledgerline runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--invoice-prefix"), "{stderr}");
    assert!(stderr.contains("upper-case letters or digits"), "{stderr}");
}

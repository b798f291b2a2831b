//! Command responses carry their resource (issue #19, point 2), through the real binary on both
//! backends: `object` is what the resource's GET answers right after the command, and a replay
//! of a command answers the very same body, object included, however the resource moved since.

mod support;

use infrastructure::testing::{Backend, TestDatabase};
use serde_json::json;
use support::{Api, Server};

async fn responses_carry_the_resource_and_replays_the_same_one(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &[]);
    let api = Api::admin(&server.base_url);

    let trial = json!({"account_id": "acct_objects", "plan_id": "pro", "seats": 2,
                       "billing_email": "billing@example.com", "payment_method": "pm_card_visa"});
    let started = api
        .post_once("/v1/subscriptions", "start-1", trial.clone())
        .await;
    started.assert_status(201);
    let id = started.str("aggregate_id");
    let path = format!("/v1/subscriptions/{id}");
    let object = &started.body["object"];
    assert_eq!(object["status"], "trialing", "{started:?}");
    assert_eq!(*object, api.get(&path).await.body, "the object is the GET");

    let added = api
        .post(&format!("{path}/add-seats"), json!({"count": 3}))
        .await;
    added.assert_status(200);
    assert_eq!(added.body["object"]["seats"], 5);
    assert_eq!(added.body["object"], api.get(&path).await.body);

    let replayed = api.post_once("/v1/subscriptions", "start-1", trial).await;
    assert_eq!(replayed.headers["idempotent-replayed"], "true");
    assert_eq!(
        replayed.body, started.body,
        "the object as the command left it: 2 seats"
    );

    let usage = json!({"feature": "api_calls", "quantity": 60_000, "usage_id": "u1"});
    let recorded = api.post("/v1/accounts/acct_objects/usage", usage).await;
    recorded.assert_status(200);
    let items = recorded.body["object"]["items"]
        .as_array()
        .expect("a feature list");
    let calls = items
        .iter()
        .find(|item| item["feature"] == "api_calls")
        .expect("api_calls");
    assert_eq!(
        (&calls["used"], &calls["cost_so_far"]),
        (&json!(60_000), &json!(500)),
        "10,000 beyond pro's 50,000 included, at 0.05"
    );

    let manual = json!({"account_id": "acct_objects", "currency": "usd",
                        "lines": [{"description": "Setup", "quantity": 1, "unit_amount": 2500}]});
    let issued = api.post("/v1/invoices", manual).await;
    issued.assert_status(201);
    let invoice = format!("/v1/invoices/{}", issued.str("aggregate_id"));
    assert_eq!(issued.body["object"]["total"], 2500);
    assert_eq!(issued.body["object"]["status"], "issued");
    // The number comes a moment after the issue (a policy assigns it); once it has, an
    // invoice's object shows it as its GET does.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while api.get(&invoice).await.body["number"].is_null() {
        assert!(
            std::time::Instant::now() < deadline,
            "the invoice was never numbered"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let voided = api.post(&format!("{invoice}/void"), json!({})).await;
    voided.assert_status(200);
    assert_eq!(voided.body["object"]["status"], "void");
    assert!(voided.body["object"]["number"].is_string(), "{voided:?}");
    assert_eq!(voided.body["object"], api.get(&invoice).await.body);
}

infrastructure::on_both_backends!(responses_carry_the_resource_and_replays_the_same_one);

//! Command responses carry their resource (issue #19, point 2), through the real binary on both
//! backends: `object` is what the resource's GET answers right after the command, and a replay
//! of a command answers the very same body, object included, however the resource moved since.

mod support;

use infrastructure::testing::{Backend, TestDatabase};
use serde_json::{json, Value};
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
    // The number is assigned a moment after the issue, by a policy, in another stream: an
    // invoice's object leaves it null (a replay must answer the same), where GET shows it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let numbered = loop {
        let got = api.get(&invoice).await.body;
        if got["number"].is_string() {
            break got;
        }
        assert!(std::time::Instant::now() < deadline, "never numbered");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let voided = api.post(&format!("{invoice}/void"), json!({})).await;
    voided.assert_status(200);
    let mut object = voided.body["object"].clone();
    assert_eq!(object["status"], "void");
    assert_eq!(object["number"], Value::Null);
    object["number"] = numbered["number"].clone();
    assert_eq!(object, api.get(&invoice).await.body);

    // A dunning case's object (its next retry depends on the time) is rendered as of its last
    // event, so a replay days later answers the same.
    let declined = api
        .activated("acct_declined", "starter", "pm_card_chargeDeclined", false)
        .await;
    assert!(!declined.is_empty());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let case_id = loop {
        let told = api
            .get("/v1/accounts/acct_declined/notifications")
            .await
            .body;
        if let Some(id) = told["items"][0]["payload"]["dunning_case_id"].as_str() {
            break id.to_owned();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no case opened: {told}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let assign = format!("/v1/dunning-cases/{case_id}/assign");
    let assigned = api
        .post_once(&assign, "assign-1", json!({"agent": "ada"}))
        .await;
    assigned.assert_status(200);
    assert_eq!(assigned.body["object"]["assigned_agent"], "ada");
    api.post(
        &format!("/v1/dunning-cases/{case_id}/notes"),
        json!({"text": "called"}),
    )
    .await
    .assert_status(200);
    let replayed = api
        .post_once(&assign, "assign-1", json!({"agent": "ada"}))
        .await;
    assert_eq!(
        replayed.body, assigned.body,
        "the case as the assignment left it"
    );
}

infrastructure::on_both_backends!(responses_carry_the_resource_and_replays_the_same_one);

//! The walking skeleton over HTTP, on a fresh SQLite file and on a fresh Postgres database:
//! subscription commands and reads, every rejection with its status and code, idempotent
//! replays across a kill -9, and the audit stream.

mod support;

use infrastructure::testing::{Backend, TestDatabase};
use serde_json::{json, Value};
use support::{Api, Server};

async fn start_trial(api: &Api, account: &str, body: Value) -> String {
    let mut body = body;
    body["account_id"] = json!(account);
    let reply = api.post("/v1/subscriptions", body).await;
    reply.assert_status(201);
    assert_eq!(reply.body["aggregate_type"], "subscription");
    reply.str("aggregate_id")
}

async fn a_subscription_lives_through_its_commands(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &[]);
    let api = Api::admin(&server.base_url);
    let id = start_trial(&api, "acct_life", json!({"plan_id": "starter", "seats": 2})).await;
    let sub = |action: &str| format!("/v1/subscriptions/{id}/{action}");

    let attached = api
        .post(
            &sub("attach-billing-account"),
            json!({"email": "billing@example.com", "payment_method": "pm_card_visa"}),
        )
        .await;
    attached.assert_status(200);
    assert_eq!(attached.body["version"], 2);
    assert!(attached.body["position"].as_i64().unwrap() > 1);

    api.post(&sub("activate"), json!({}))
        .await
        .assert_status(200);
    api.post(&sub("add-seats"), json!({"count": 3}))
        .await
        .assert_status(200);
    api.post(&sub("set-overage-billing"), json!({"enabled": true}))
        .await
        .assert_status(200);
    api.post(&sub("add-seats"), json!({"count": 2}))
        .await
        .assert_status(200);
    api.post(&sub("remove-seats"), json!({"count": 1}))
        .await
        .assert_status(200);

    let view = api.get(&format!("/v1/subscriptions/{id}")).await;
    view.assert_status(200);
    assert_eq!(view.body["status"], "active");
    assert_eq!(view.body["seats"], 6);
    assert_eq!(view.body["overage_billing"], true);
    assert_eq!(view.body["billing_email"], "billing@example.com");
    assert_eq!(view.body["payment_method"], "pm_card_visa");
    assert!(view.body["current_period_end"].is_string());

    let cancelled = api
        .post(&sub("cancel"), json!({"reason": "too expensive"}))
        .await;
    cancelled.assert_status(200);
    let view = api.get(&format!("/v1/subscriptions/{id}")).await;
    assert_eq!(view.body["cancel_at_period_end"], true);

    let audit = api
        .get(&format!("/v1/audit/streams/subscription/{id}"))
        .await;
    audit.assert_status(200);
    let types: Vec<&str> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "TrialStarted",
            "BillingAccountAttached",
            "SubscriptionActivated",
            "SeatsAdded",
            "OverageBillingSet",
            "SeatsAdded",
            "SeatsRemoved",
            "CancellationScheduled"
        ]
    );
    let first = &audit.body["items"][0];
    assert_eq!(first["metadata"]["actor"], "key:bootstrap-admin");
    assert_eq!(first["metadata"]["command"], "StartTrial");
    assert_eq!(first["sequence"], 1);
    let positions: Vec<i64> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["position"].as_i64().unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
}

async fn every_rejection_has_its_status_and_code(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &[]);
    let api = Api::admin(&server.base_url);
    let id = start_trial(
        &api,
        "acct_rules",
        json!({"plan_id": "starter", "seats": 5}),
    )
    .await;
    let sub = |action: &str| format!("/v1/subscriptions/{id}/{action}");
    let unknown = "/v1/subscriptions/7b0c2a5e-8a8e-4e43-9a57-5d2f8c1a0001/add-seats";

    let nobody = Api::with_key(&server.base_url, None);
    nobody
        .post("/v1/subscriptions", json!({}))
        .await
        .assert_problem(401, "unauthorized");
    Api::with_key(&server.base_url, Some("wrong"))
        .get(&format!("/v1/subscriptions/{id}"))
        .await
        .assert_problem(401, "unauthorized");

    let cases: Vec<(String, Value, u16, &str, Option<&str>)> = vec![
        (
            "/v1/subscriptions".into(),
            json!({"account_id": "a", "plan_id": "gold"}),
            409,
            "rule_violation",
            Some("unknown_plan"),
        ),
        (
            "/v1/subscriptions".into(),
            json!({"account_id": "bad id", "plan_id": "pro"}),
            422,
            "validation_failed",
            None,
        ),
        (
            "/v1/subscriptions".into(),
            json!({"account_id": "a2", "plan_id": "pro", "seats": 0}),
            422,
            "validation_failed",
            None,
        ),
        (
            "/v1/subscriptions".into(),
            json!({"account_id": "a3", "plan_id": "pro", "seats": -1}),
            400,
            "invalid_request",
            None,
        ),
        (
            "/v1/subscriptions".into(),
            json!({"account_id": "a4", "plan_id": "pro", "billing_email": "x@example.com"}),
            422,
            "validation_failed",
            None,
        ),
        (
            "/v1/subscriptions".into(),
            json!({"account_id": "a5", "plan_id": "pro", "colour": "red"}),
            400,
            "invalid_request",
            None,
        ),
        (
            "/v1/subscriptions".into(),
            json!({"plan_id": "pro"}),
            400,
            "invalid_request",
            None,
        ),
        (
            "/v1/subscriptions".into(),
            json!({"account_id": "acct_rules", "plan_id": "pro"}),
            409,
            "rule_violation",
            Some("unique_per_account"),
        ),
        (
            sub("activate"),
            json!({}),
            409,
            "rule_violation",
            Some("activation_requires_billing_account"),
        ),
        (
            sub("add-seats"),
            json!({"count": 1}),
            409,
            "rule_violation",
            Some("seat_limit_exceeded"),
        ),
        (
            sub("add-seats"),
            json!({"count": 0}),
            422,
            "validation_failed",
            None,
        ),
        (
            sub("remove-seats"),
            json!({"count": 5}),
            409,
            "rule_violation",
            Some("seats_below_minimum"),
        ),
        (
            sub("attach-billing-account"),
            json!({"email": "nope", "payment_method": "pm_card_visa"}),
            422,
            "validation_failed",
            None,
        ),
        (
            sub("change-plan"),
            json!({"plan_id": "starter"}),
            409,
            "rule_violation",
            Some("same_plan"),
        ),
        (
            sub("cancel"),
            json!({"at_period_end": "soon"}),
            400,
            "invalid_request",
            None,
        ),
        (unknown.into(), json!({"count": 1}), 404, "not_found", None),
        (
            "/v1/subscriptions/not-a-uuid/add-seats".into(),
            json!({"count": 1}),
            404,
            "not_found",
            None,
        ),
    ];
    for (path, body, status, code, rule) in cases {
        let reply = api.post(&path, body.clone()).await;
        reply.assert_problem(status, code);
        if let Some(rule) = rule {
            assert_eq!(reply.body["rule"], rule, "{path} {body}: {reply:?}");
        }
    }
    api.post_raw("/v1/subscriptions", "{not json")
        .await
        .assert_problem(400, "invalid_request");
    api.get("/v1/audit/streams/customer/x")
        .await
        .assert_problem(404, "not_found");
    api.get("/v1/test-clock")
        .await
        .assert_problem(404, "not_found");

    // Nothing that was refused changed the subscription.
    let audit = api
        .get(&format!("/v1/audit/streams/subscription/{id}"))
        .await;
    assert_eq!(audit.body["items"].as_array().unwrap().len(), 1);
    api.post(&sub("cancel"), json!({"at_period_end": false}))
        .await
        .assert_status(200);
    api.post(&sub("cancel"), json!({}))
        .await
        .assert_problem(409, "rule_violation");
}

async fn an_idempotency_key_appends_once_even_across_a_kill(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let body = json!({"account_id": "acct_idem", "plan_id": "pro", "seats": 3});
    let first = {
        let server = Server::on(&db.url, &[]);
        let api = Api::admin(&server.base_url);
        let first = api
            .post_once("/v1/subscriptions", "key-1", body.clone())
            .await;
        first.assert_status(201);
        assert!(first.headers.get("idempotent-replayed").is_none());
        server.kill();
        first
    };
    let server = Server::on(&db.url, &[]);
    let api = Api::admin(&server.base_url);
    let again = api
        .post_once("/v1/subscriptions", "key-1", body.clone())
        .await;
    again.assert_status(201);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.body, first.body);
    let mut other = body;
    other["seats"] = json!(4);
    api.post_once("/v1/subscriptions", "key-1", other)
        .await
        .assert_problem(422, "idempotency_key_reused");
    let id = first.str("aggregate_id");
    let audit = api
        .get(&format!("/v1/audit/streams/subscription/{id}"))
        .await;
    assert_eq!(audit.body["items"].as_array().unwrap().len(), 1);
}

async fn the_test_clock_reads_the_injected_time(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &["--test-clock"]);
    let api = Api::admin(&server.base_url);
    let reply = api.get("/v1/test-clock").await;
    reply.assert_status(200);
    let now = chrono::DateTime::parse_from_rfc3339(&reply.str("now")).expect("RFC 3339");
    let drift = (chrono::Utc::now() - now.to_utc()).num_seconds().abs();
    assert!(drift < 600, "the test clock starts at the real time");
    Api::with_key(&server.base_url, None)
        .get("/v1/test-clock")
        .await
        .assert_problem(401, "unauthorized");
}

async fn a_payment_method_the_gateway_does_not_know_is_refused_and_changes_nothing(
    backend: Backend,
) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &[]);
    let api = Api::admin(&server.base_url);
    let card = |token: &str| json!({"email": "billing@example.com", "payment_method": token});

    let mut body = card("tok_visa");
    body["account_id"] = json!("acct_tok");
    body["plan_id"] = json!("starter");
    body["billing_email"] = body["email"].take();
    body.as_object_mut().expect("an object").remove("email");
    let refused = api.post("/v1/subscriptions", body).await;
    refused.assert_problem(422, "payment_method_invalid");
    assert!(
        refused.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("tok_visa") && d.contains("pm_card_visa")),
        "the detail names the token and the test tokens: {refused:?}"
    );
    let summary = api.get("/v1/accounts/acct_tok/summary").await;
    summary.assert_status(404);

    let id = start_trial(&api, "acct_tok", json!({"plan_id": "starter"})).await;
    let before = api.event_types("subscription", &id).await;
    let attach = format!("/v1/subscriptions/{id}/attach-billing-account");
    api.post(&attach, card("tok_visa"))
        .await
        .assert_problem(422, "payment_method_invalid");
    assert_eq!(
        api.event_types("subscription", &id).await,
        before,
        "nothing was recorded"
    );

    // A card that exists but will decline is kept, and declines at charge (as Stripe does).
    api.post(&attach, card("pm_card_chargeDeclinedStolenCard"))
        .await
        .assert_status(200);
    assert_eq!(
        api.event_types("subscription", &id)
            .await
            .last()
            .map(String::as_str),
        Some("BillingAccountAttached")
    );
}

infrastructure::on_both_backends!(
    a_payment_method_the_gateway_does_not_know_is_refused_and_changes_nothing,
    a_subscription_lives_through_its_commands,
    every_rejection_has_its_status_and_code,
    an_idempotency_key_appends_once_even_across_a_kill,
    the_test_clock_reads_the_injected_time,
);

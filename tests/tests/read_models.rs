//! Read models over HTTP on both backends: the subscription summary and feature access follow
//! the commands (with `min_position` for read-your-writes), entitlements follow the subscription
//! through the policy, and bad queries get problem+json.

mod support;

use std::time::{Duration, Instant};

use infrastructure::testing::{Backend, TestDatabase};
use serde_json::{json, Value};
use support::{Api, Server};

/// Reads `path` until `done` holds; the policy's commands land shortly after the command that
/// caused them, at positions the client does not know. Bounded: fails after 20 s.
async fn eventually(api: &Api, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let reply = api.get(path).await;
        if reply.status == 200 && done(&reply.body) {
            return reply.body;
        }
        assert!(
            Instant::now() < deadline,
            "{path} never got there: {reply:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn the_summary_and_feature_access_follow_the_subscription(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &[]);
    let api = Api::admin(&server.base_url);
    let started = api
        .post(
            "/v1/subscriptions",
            json!({"account_id": "acct_rm", "plan_id": "pro", "seats": 3}),
        )
        .await;
    started.assert_status(201);
    let id = started.str("aggregate_id");
    let position = started.body["position"].as_i64().unwrap();

    let summary = api
        .get(&format!(
            "/v1/accounts/acct_rm/summary?min_position={position}"
        ))
        .await;
    summary.assert_status(200);
    let s = &summary.body;
    assert_eq!(s["subscription_id"], id.as_str());
    assert_eq!(
        (s["plan_id"].as_str(), s["status"].as_str()),
        (Some("pro"), Some("trialing"))
    );
    assert_eq!(
        s["seats"],
        json!({"count": 3, "limit": 20, "overage": 0, "overage_billing": false})
    );
    assert!(s["trial_ends_at"].is_string());
    assert_eq!(s["balance_due"], json!({"amount": 0, "currency": "usd"}));
    assert_eq!(s["in_dunning"], false);

    let enabled = eventually(&api, "/v1/accounts/acct_rm/summary", |s| {
        s["entitlements"]["status"] == "enabled"
    })
    .await;
    assert!(enabled["entitlements"]["features"]
        .as_array()
        .unwrap()
        .contains(&json!("analytics")));

    // The feature view has its own checkpoint: seeing the summary enabled does not mean it has
    // caught up too.
    let analytics = eventually(&api, "/v1/accounts/acct_rm/features/analytics", |_| true).await;
    assert_eq!(analytics["allowed"], true);
    let api_calls = api.get("/v1/accounts/acct_rm/features/api_calls").await;
    assert_eq!(
        (
            api_calls.body["limit"].as_i64(),
            api_calls.body["remaining"].as_i64()
        ),
        (Some(100_000), Some(100_000))
    );
    let sso = api.get("/v1/accounts/acct_rm/features/sso").await;
    assert_eq!(
        (sso.body["allowed"].as_bool(), sso.body["reason"].as_str()),
        (Some(false), Some("not_in_plan"))
    );
    let all = api.get("/v1/accounts/acct_rm/features").await;
    assert!(all.body["items"].as_array().unwrap().len() >= 6, "{all:?}");

    let seats = api
        .post(
            &format!("/v1/subscriptions/{id}/remove-seats"),
            json!({"count": 2}),
        )
        .await;
    let position = seats.body["position"].as_i64().unwrap();
    let summary = api
        .get(&format!(
            "/v1/accounts/acct_rm/summary?min_position={position}"
        ))
        .await;
    assert_eq!(summary.body["seats"]["count"], 1);

    api.post(
        &format!("/v1/subscriptions/{id}/cancel"),
        json!({"at_period_end": false}),
    )
    .await
    .assert_status(200);
    eventually(&api, "/v1/accounts/acct_rm/features/analytics", |f| {
        f["allowed"] == false && f["reason"] == "revoked"
    })
    .await;
    // The summary sees the cancellation before the revocation it causes: wait for both.
    eventually(&api, "/v1/accounts/acct_rm/summary", |s| {
        s["status"] == "cancelled" && s["entitlements"]["status"] == "revoked"
    })
    .await;
}

async fn bad_reads_are_problem_json(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &[]);
    let api = Api::admin(&server.base_url);
    api.get("/v1/accounts/nobody/summary")
        .await
        .assert_problem(404, "not_found");
    api.get("/v1/accounts/nobody/features/sso")
        .await
        .assert_problem(404, "not_found");
    api.get("/v1/accounts/bad%20id/summary")
        .await
        .assert_problem(404, "not_found");
    api.get("/v1/accounts/nobody/summary?min_position=abc")
        .await
        .assert_problem(400, "invalid_request");
    api.get("/v1/accounts/nobody/summary?colour=red")
        .await
        .assert_problem(400, "invalid_request");
    api.get("/v1/accounts/nobody/summary?min_position=-1")
        .await
        .assert_problem(422, "validation_failed");
    // Beyond the head: refused at once for a key that may read the log (and so its head);
    // tests/account_privacy.rs shows what an account key gets.
    api.get("/v1/accounts/nobody/summary?min_position=424242")
        .await
        .assert_problem(422, "validation_failed");
    Api::with_key(&server.base_url, None)
        .get("/v1/accounts/nobody/features")
        .await
        .assert_problem(401, "unauthorized");
}

infrastructure::on_both_backends!(
    the_summary_and_feature_access_follow_the_subscription,
    bad_reads_are_problem_json,
);

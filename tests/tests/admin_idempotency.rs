//! `Idempotency-Key` on the POST routes that append no event (issue #20, M3): creating and
//! revoking API keys, rebuild, verify and the test clock replay their first answer
//! (`Idempotent-Replayed: true`) and refuse the key with another body, on both backends; a
//! replayed key creation never shows a secret again, and invalid keys are refused everywhere.

mod support;

use infrastructure::testing::{Backend, TestDatabase};
use serde_json::json;
use support::client::Reply;
use support::{Api, Server};

fn replayed(reply: &Reply) -> bool {
    reply
        .headers
        .get("idempotent-replayed")
        .is_some_and(|value| value == "true")
}

async fn key_count(api: &Api) -> usize {
    let list = api.get("/v1/admin/api-keys").await;
    list.assert_status(200);
    list.body["items"].as_array().expect("items").len()
}

async fn a_retried_key_creation_creates_one_key(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &[]);
    let api = Api::admin(&server.base_url);
    let before = key_count(&api).await;
    let body = json!({"role": "service"});

    let first = api
        .post_once("/v1/admin/api-keys", "create-1", body.clone())
        .await;
    first.assert_status(201);
    assert!(!replayed(&first));
    let again = api.post_once("/v1/admin/api-keys", "create-1", body).await;
    again.assert_status(201);
    assert!(replayed(&again));
    assert_eq!(again.body["key_id"], first.body["key_id"]);
    assert!(
        again
            .body
            .get("secret")
            .is_none_or(|secret| secret.is_null()),
        "a secret is shown once: {again:?}"
    );
    assert_eq!(key_count(&api).await, before + 1, "one key, not two");
    api.post_once("/v1/admin/api-keys", "create-1", json!({"role": "support"}))
        .await
        .assert_problem(422, "idempotency_key_reused");

    let revoke = format!("/v1/admin/api-keys/{}/revoke", first.str("key_id"));
    api.post_once(&revoke, "revoke-1", json!({}))
        .await
        .assert_status(204);
    let again = api.post_once(&revoke, "revoke-1", json!({})).await;
    again.assert_status(204);
    assert!(replayed(&again));
    // The key of one route is refused on another.
    api.post_once("/v1/admin/audit/verify", "revoke-1", json!({}))
        .await
        .assert_problem(422, "idempotency_key_reused");
}

async fn rebuild_verify_and_the_test_clock_replay(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &["--test-clock"]);
    let api = Api::admin(&server.base_url);

    let verify = api
        .post_once("/v1/admin/audit/verify", "verify-1", json!({}))
        .await;
    verify.assert_status(200);
    let again = api
        .post_once("/v1/admin/audit/verify", "verify-1", json!({}))
        .await;
    again.assert_status(200);
    assert!(replayed(&again));
    assert_eq!(again.body, verify.body);

    let rebuild = "/v1/admin/projections/account_summary/rebuild";
    api.post_once(rebuild, "rebuild-1", json!({}))
        .await
        .assert_status(202);
    let again = api.post_once(rebuild, "rebuild-1", json!({})).await;
    again.assert_status(202);
    assert!(
        replayed(&again),
        "a retry replays, even while the rebuild runs"
    );

    let start = api.get("/v1/test-clock").await.str("now");
    let advance = json!({"seconds": 3600});
    let first = api
        .post_once("/v1/test-clock/advance", "hour-1", advance.clone())
        .await;
    first.assert_status(200);
    let again = api
        .post_once("/v1/test-clock/advance", "hour-1", advance)
        .await;
    again.assert_status(200);
    assert!(replayed(&again));
    assert_eq!(again.body, first.body);
    let now = api.get("/v1/test-clock").await.str("now");
    let moved = chrono::DateTime::parse_from_rfc3339(&now).unwrap()
        - chrono::DateTime::parse_from_rfc3339(&start).unwrap();
    assert_eq!(moved.num_seconds(), 3600, "the clock moved once");
}

async fn invalid_keys_are_refused_on_every_route(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &["--test-clock"]);
    let api = Api::admin(&server.base_url);
    let long = "k".repeat(256);
    for bad in ["with space", "", long.as_str(), "tab\there"] {
        for (path, body) in [
            ("/v1/admin/api-keys", json!({"role": "service"})),
            ("/v1/admin/audit/verify", json!({})),
            ("/v1/test-clock/advance", json!({"seconds": 1})),
            (
                "/v1/subscriptions",
                json!({"account_id": "acct_k", "plan_id": "pro"}),
            ),
        ] {
            api.post_once(path, bad, body)
                .await
                .assert_problem(400, "invalid_request");
        }
    }
}

infrastructure::on_both_backends!(
    a_retried_key_creation_creates_one_key,
    rebuild_verify_and_the_test_clock_replay,
    invalid_keys_are_refused_on_every_route,
);

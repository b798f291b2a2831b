//! `Idempotency-Key` on a command route, end to end on both backends: a retry replays the first
//! response (`Idempotent-Replayed: true`), the key with another body is refused with 422, 20
//! concurrent requests with one key append exactly once (counted in the audit stream), and keys
//! are scoped by API key.

mod support;

use std::sync::Arc;

use infrastructure::testing::{Backend, TestDatabase};
use serde_json::json;
use support::client::Reply;
use support::{Api, Server};
use tokio::task::JoinSet;

/// The `SeatsAdded` events in the subscription's audit stream.
async fn seats_added(api: &Api, subscription: &str) -> usize {
    let types = api.event_types("subscription", subscription).await;
    types.iter().filter(|kind| *kind == "SeatsAdded").count()
}

async fn trial(api: &Api, account: &str) -> String {
    let started = api
        .post(
            "/v1/subscriptions",
            json!({"account_id": account, "plan_id": "pro"}),
        )
        .await;
    started.assert_status(201);
    started.str("aggregate_id")
}

async fn a_retry_replays_and_another_body_is_refused(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &[]);
    let api = Api::admin(&server.base_url);
    let id = trial(&api, "acct_replay").await;
    let add_seats = format!("/v1/subscriptions/{id}/add-seats");

    let first = api
        .post_once(&add_seats, "seats-1", json!({"count": 2}))
        .await;
    first.assert_status(200);
    assert!(first.headers.get("idempotent-replayed").is_none());
    let again = api
        .post_once(&add_seats, "seats-1", json!({"count": 2}))
        .await;
    again.assert_status(200);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.body, first.body);

    api.post_once(&add_seats, "seats-1", json!({"count": 3}))
        .await
        .assert_problem(422, "idempotency_key_reused");
    api.post_once(
        &format!("/v1/subscriptions/{id}/remove-seats"),
        "seats-1",
        json!({"count": 2}),
    )
    .await
    .assert_problem(422, "idempotency_key_reused");
    assert_eq!(seats_added(&api, &id).await, 1);

    // Another API key's identical key is its own request.
    let created = api
        .post("/v1/admin/api-keys", json!({"role": "service"}))
        .await;
    created.assert_status(201);
    let service = Api::with_key(&server.base_url, Some(&created.str("secret")));
    let theirs = service
        .post_once(&add_seats, "seats-1", json!({"count": 2}))
        .await;
    theirs.assert_status(200);
    assert!(theirs.headers.get("idempotent-replayed").is_none());
    assert_eq!(seats_added(&api, &id).await, 2);
}

async fn twenty_concurrent_requests_with_one_key_append_once(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &[]);
    let api = Arc::new(Api::admin(&server.base_url));
    let id = trial(&api, "acct_race").await;
    let add_seats = Arc::new(format!("/v1/subscriptions/{id}/add-seats"));

    let mut racing = JoinSet::new();
    for _ in 0..20 {
        let (api, add_seats) = (api.clone(), add_seats.clone());
        racing.spawn(async move {
            api.post_once(&add_seats, "race-1", json!({"count": 1}))
                .await
        });
    }
    let replies: Vec<Reply> = racing.join_all().await;
    for reply in &replies {
        reply.assert_status(200);
        assert_eq!(reply.body, replies[0].body, "every reply is the one result");
    }
    let fresh = replies
        .iter()
        .filter(|reply| reply.headers.get("idempotent-replayed").is_none())
        .count();
    assert_eq!(fresh, 1, "one request executed, the others replayed it");
    assert_eq!(seats_added(&api, &id).await, 1, "appended exactly once");
    let subscription = api.get(&format!("/v1/subscriptions/{id}")).await;
    assert_eq!(subscription.body["seats"], 2);
}

infrastructure::on_both_backends!(
    a_retry_replays_and_another_body_is_refused,
    twenty_concurrent_requests_with_one_key_append_once,
);

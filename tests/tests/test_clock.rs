//! The test clock's advance over HTTP on both backends: trials expire or activate, periods
//! renew once each, in due order and at their due time, the answer's position lets a client
//! read everything the advance caused, bad requests change nothing, and a timer whose firing
//! a kill -9 interrupts fires exactly once after a restart.

mod support;

use std::time::Duration;

use chrono::{DateTime, Utc};
use infrastructure::testing::{Backend, TestDatabase};
use serde_json::{json, Value};
use support::{Api, Server, ADMIN_KEY};

const DAY: i64 = 24 * 60 * 60;

/// Advances the test clock and answers the body: `{now, position}`.
async fn advance_days(api: &Api, days: i64) -> Value {
    let reply = api
        .post("/v1/test-clock/advance", json!({"seconds": days * DAY}))
        .await;
    reply.assert_status(200);
    reply.body
}

async fn start_trial(api: &Api, account: &str, with_billing_account: bool) -> String {
    let mut body = json!({"account_id": account, "plan_id": "pro"});
    if with_billing_account {
        body["billing_email"] = json!("billing@example.com");
        body["payment_method"] = json!("pm_card_visa");
    }
    let reply = api.post("/v1/subscriptions", body).await;
    reply.assert_status(201);
    reply.str("aggregate_id")
}

/// The events of one stream, as stored.
async fn stream(api: &Api, aggregate_type: &str, id: &str) -> Vec<Value> {
    let reply = api
        .get(&format!(
            "/v1/audit/streams/{aggregate_type}/{id}?limit=1000"
        ))
        .await;
    reply.assert_status(200);
    reply.body["items"].as_array().expect("items").clone()
}

fn of_type<'a>(events: &'a [Value], event_type: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["event_type"] == event_type)
        .collect()
}

fn time(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().expect("a time"))
        .expect("RFC 3339")
        .to_utc()
}

fn highest_position(events: &[Value]) -> i64 {
    events
        .iter()
        .map(|e| e["position"].as_i64().expect("a position"))
        .max()
        .unwrap_or(0)
}

async fn a_trial_without_billing_account_expires_and_loses_its_entitlements(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &["--test-clock"]);
    let api = Api::admin(&server.base_url);
    let id = start_trial(&api, "acct_lapse", false).await;
    let before = time(&api.get("/v1/test-clock").await.body["now"]);

    let advanced = advance_days(&api, 15).await;
    assert_eq!(time(&advanced["now"]), before + chrono::Duration::days(15));
    let position = advanced["position"].as_i64().expect("a position");

    // Read your writes: the position covers the cancellation and the revocation it caused.
    let summary = api
        .get(&format!(
            "/v1/accounts/acct_lapse/summary?min_position={position}"
        ))
        .await;
    summary.assert_status(200);
    assert_eq!(summary.body["status"], "cancelled");
    assert_eq!(summary.body["entitlements"]["status"], "revoked");
    let feature = api.get("/v1/accounts/acct_lapse/features/analytics").await;
    assert_eq!(
        (&feature.body["allowed"], &feature.body["reason"]),
        (&json!(false), &json!("revoked"))
    );

    let subscription = stream(&api, "subscription", &id).await;
    let cancelled = of_type(&subscription, "SubscriptionCancelled");
    assert_eq!(cancelled.len(), 1, "{subscription:?}");
    let payload = &cancelled[0]["payload"]["SubscriptionCancelled"];
    assert_eq!(payload["reason"], "trial_expired");
    assert_eq!(cancelled[0]["metadata"]["actor"], "system:scheduler");
    assert_eq!(cancelled[0]["metadata"]["command"], "ExpireTrial");
    let entitlements = stream(&api, "entitlements", "acct_lapse").await;
    assert!(position >= highest_position(&subscription).max(highest_position(&entitlements)));
}

async fn a_trial_with_billing_account_activates_and_renews_once_per_period(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &["--test-clock"]);
    let api = Api::admin(&server.base_url);
    let id = start_trial(&api, "acct_paying", true).await;

    let advanced = advance_days(&api, 15).await;
    let view = api.get(&format!("/v1/subscriptions/{id}")).await;
    assert_eq!(view.body["status"], "active");
    let trial_end = time(&view.body["trial_ends_at"]);
    assert_eq!(time(&view.body["current_period_start"]), trial_end);
    let first_end = time(&view.body["current_period_end"]);
    assert!(first_end > time(&advanced["now"]));

    let advanced = advance_days(&api, 31).await;
    let now = time(&advanced["now"]);
    let view = api.get(&format!("/v1/subscriptions/{id}")).await;
    assert_eq!(view.body["status"], "active");
    assert_eq!(time(&view.body["current_period_start"]), first_end);
    assert!(time(&view.body["current_period_end"]) > now);

    let subscription = stream(&api, "subscription", &id).await;
    assert_eq!(of_type(&subscription, "SubscriptionActivated").len(), 1);
    assert_eq!(of_type(&subscription, "PeriodRenewed").len(), 1);
    let entitlements = stream(&api, "entitlements", "acct_paying").await;
    let position = advanced["position"].as_i64().expect("a position");
    assert!(position >= highest_position(&subscription).max(highest_position(&entitlements)));
    let summary = api
        .get(&format!(
            "/v1/accounts/acct_paying/summary?min_position={position}"
        ))
        .await;
    assert_eq!(time(&summary.body["current_period_start"]), first_end);
}

async fn a_long_jump_fires_each_timer_in_due_order_at_its_due_time(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &["--test-clock"]);
    let api = Api::admin(&server.base_url);
    let id = start_trial(&api, "acct_jump", true).await;

    // The trial's warning at day 11, its end at day 14, then renewals a month and two months
    // later: all before day 80.
    advance_days(&api, 80).await;
    let subscription = stream(&api, "subscription", &id).await;
    let types: Vec<&str> = subscription
        .iter()
        .map(|e| e["event_type"].as_str().expect("a type"))
        .collect();
    assert_eq!(
        types,
        [
            "TrialStarted",
            "TrialWillEnd",
            "SubscriptionActivated",
            "PeriodRenewed",
            "PeriodRenewed"
        ]
    );
    let warning = &subscription[1]["payload"]["TrialWillEnd"];
    assert_eq!(
        time(&warning["at"]),
        time(&warning["trial_ends_at"]) - chrono::Duration::days(3),
        "warned three days ahead, when its timer was due: {warning}"
    );
    let mut period_end = None;
    for event in &subscription[2..] {
        let (_, payload) = event["payload"]
            .as_object()
            .and_then(|tagged| tagged.iter().next())
            .expect("a tagged payload");
        let start = time(&payload["period"]["start"]);
        if let Some(previous_end) = period_end {
            assert_eq!(start, previous_end, "periods follow each other");
        }
        // The clock stood at the trial's or the previous period's end when its timer fired.
        assert_eq!(time(&payload["at"]), start);
        period_end = Some(time(&payload["period"]["end"]));
    }
}

async fn bad_advances_are_refused_and_change_nothing(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &["--test-clock"]);
    let api = Api::admin(&server.base_url);
    let before = api.get("/v1/test-clock").await.body["now"].clone();
    let past = (time(&before) - chrono::Duration::seconds(1)).to_rfc3339();
    let path = "/v1/test-clock/advance";
    let cases = [
        (json!({}), 422, "validation_failed"),
        (
            json!({"seconds": 1, "to": "2099-01-01T00:00:00Z"}),
            422,
            "validation_failed",
        ),
        (json!({"seconds": -1}), 422, "validation_failed"),
        (json!({"seconds": 11 * 366 * DAY}), 422, "validation_failed"),
        (json!({"to": past}), 422, "validation_failed"),
        (json!({"to": "next tuesday"}), 422, "validation_failed"),
        (json!({"seconds": "soon"}), 400, "invalid_request"),
        (json!({"seconds": 1.5}), 400, "invalid_request"),
        (json!({"minutes": 5}), 400, "invalid_request"),
    ];
    for (body, status, code) in cases {
        let reply = api.post(path, body.clone()).await;
        assert_eq!(reply.status, status, "{body}: {reply:?}");
        reply.assert_problem(status, code);
    }
    api.post_raw(path, "{\"seconds\":")
        .await
        .assert_problem(400, "invalid_request");
    Api::with_key(&server.base_url, None)
        .post(path, json!({"seconds": 60}))
        .await
        .assert_problem(401, "unauthorized");
    assert_eq!(api.get("/v1/test-clock").await.body["now"], before);

    let to = (time(&before) + chrono::Duration::hours(1)).to_rfc3339();
    let moved = api.post(path, json!({"to": to})).await;
    moved.assert_status(200);
    assert_eq!(
        time(&moved.body["now"]),
        time(&before) + chrono::Duration::hours(1)
    );
    assert_eq!(moved.body["position"], 0, "nothing happened yet");
    let standing = api.post(path, json!({"seconds": 0})).await;
    assert_eq!(standing.body["now"], moved.body["now"]);
}

async fn without_the_test_clock_there_is_no_advance(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &[]);
    let api = Api::admin(&server.base_url);
    api.post("/v1/test-clock/advance", json!({"seconds": 60}))
        .await
        .assert_problem(404, "not_found");
}

/// Sends an advance and kills the server while it is (most likely) firing timers; whatever the
/// moment, the restarted server fires each due timer exactly once.
async fn a_timer_interrupted_by_a_kill_fires_exactly_once_after_restart(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let id = {
        let server = Server::on(&db.url, &["--test-clock"]);
        let api = Api::admin(&server.base_url);
        let id = start_trial(&api, "acct_crash", true).await;
        let url = server.url("/v1/test-clock/advance");
        let in_flight = tokio::spawn(async move {
            // The connection dies with the server: the outcome is unknown by design.
            let _ = reqwest::Client::new()
                .post(url)
                .bearer_auth(ADMIN_KEY)
                .json(&json!({"seconds": 50 * DAY}))
                .send()
                .await;
        });
        tokio::time::sleep(Duration::from_millis(30)).await;
        server.kill();
        let _ = in_flight.await;
        id
    };
    // The restarted clock starts at the real time again: 50 days on covers the same timers, the
    // trial end (day 14) and the first renewal (day 42 to 45), not the second (day 73 or later).
    let server = Server::on(&db.url, &["--test-clock"]);
    let api = Api::admin(&server.base_url);
    advance_days(&api, 50).await;
    let subscription = stream(&api, "subscription", &id).await;
    assert_eq!(of_type(&subscription, "SubscriptionActivated").len(), 1);
    assert_eq!(of_type(&subscription, "PeriodRenewed").len(), 1);
    let view = api.get(&format!("/v1/subscriptions/{id}")).await;
    assert_eq!(view.body["status"], "active");
}

infrastructure::on_both_backends!(
    a_trial_without_billing_account_expires_and_loses_its_entitlements,
    a_trial_with_billing_account_activates_and_renews_once_per_period,
    a_long_jump_fires_each_timer_in_due_order_at_its_due_time,
    bad_advances_are_refused_and_change_nothing,
    without_the_test_clock_there_is_no_advance,
    a_timer_interrupted_by_a_kill_fires_exactly_once_after_restart,
);

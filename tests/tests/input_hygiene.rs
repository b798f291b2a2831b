//! Hostile input at the HTTP edge (issue #20, M1 and L4): control characters in JSON strings and
//! path params, bodies that are not `application/json`, duplicate keys, a JSON array for an
//! object, blank usage ids, bad `min_position`s, and overlong URIs and headers: each is refused
//! with problem+json, the same on both backends, and appends nothing.

mod support;

use infrastructure::testing::{Backend, TestDatabase};
use serde_json::{json, Value};
use support::{Api, Server};

/// How many events of subscriptions, invoices and dunning cases the log holds: what the refused
/// requests below would have appended to (the entitlements policy appends on its own time).
async fn events(api: &Api) -> usize {
    listed(api).await.len()
}

async fn listed(api: &Api) -> Vec<Value> {
    let page = api.get("/v1/audit/events?limit=1000").await;
    page.assert_status(200);
    page.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|event| event["aggregate_type"] != "entitlements")
        .cloned()
        .collect()
}

/// [`events`] once the log lists `subscription`'s first event. On Postgres the global log lists
/// an event only when every older transaction has ended, so on a busy machine a count taken at
/// once could miss the trial just started and find it later.
async fn events_once_listed(api: &Api, subscription: &str) -> usize {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let events = listed(api).await;
        if events.iter().any(|e| e["aggregate_id"] == subscription) {
            return events.len();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the trial is never listed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

async fn control_characters_are_refused_at_parsing(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &[]);
    let api = Api::admin(&server.base_url);
    let subscription = api.start_trial("acct_ctl", "pro").await;
    let before = events_once_listed(&api, &subscription).await;
    let invoice = "6f0c1c1e-0000-4000-8000-000000000001";
    let case = "6f0c1c1e-0000-4000-8000-000000000002";
    for bad in [
        "nul\u{0}",
        "bell\u{7}",
        "esc\u{1b}[31m",
        "del\u{7f}",
        "c1\u{85}",
        "cr\r",
    ] {
        let line = |description: &str| {
            json!({"account_id": "acct_ctl", "currency": "usd",
                   "lines": [{"description": description, "quantity": 1, "unit_amount": 100}]})
        };
        let cases: [(String, Value); 6] = [
            ("/v1/invoices".into(), line(bad)),
            (
                format!("/v1/subscriptions/{subscription}/cancel"),
                json!({"reason": bad}),
            ),
            (
                format!("/v1/invoices/{invoice}/record-payment"),
                json!({"amount": 100, "payment_ref": bad}),
            ),
            (
                format!("/v1/dunning-cases/{case}/assign"),
                json!({"agent": bad}),
            ),
            (
                format!("/v1/dunning-cases/{case}/notes"),
                json!({"text": bad}),
            ),
            (
                format!("/v1/dunning-cases/{case}/resolve"),
                json!({"resolution": bad}),
            ),
        ];
        for (path, body) in cases {
            let reply = api.post(&path, body).await;
            reply.assert_problem(422, "validation_failed");
        }
    }
    for path in [
        "/v1/accounts/acct%00x/summary",
        "/v1/accounts/acct%01x/invoices",
        "/v1/audit/streams/subscription/a%00b",
    ] {
        api.get(path).await.assert_problem(422, "validation_failed");
    }
    api.post("/v1/invoices/%00/attempt-payment", json!({}))
        .await
        .assert_problem(422, "validation_failed");
    assert_eq!(events(&api).await, before, "nothing was appended");

    // Tab and newline are text.
    let issued = api
        .post(
            "/v1/invoices",
            json!({"account_id": "acct_ctl", "currency": "usd",
                   "lines": [{"description": "two\tcolumns\nand a line", "quantity": 1, "unit_amount": 100}]}),
        )
        .await;
    issued.assert_status(201);
}

async fn malformed_bodies_and_parameters_are_refused(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &[]);
    let api = Api::admin(&server.base_url);
    let id = api.start_trial("acct_l4", "pro").await;
    let add_seats = format!("/v1/subscriptions/{id}/add-seats");

    for content_type in ["text/plain", "application/x-www-form-urlencoded", ""] {
        api.post_typed(&add_seats, content_type, r#"{"count": 1}"#)
            .await
            .assert_problem(415, "unsupported_media_type");
    }
    api.post_typed(
        &add_seats,
        "application/json; charset=utf-8",
        r#"{"count": 1}"#,
    )
    .await
    .assert_status(200);
    api.post_raw(&add_seats, r#"{"count": 1, "count": 5}"#)
        .await
        .assert_problem(422, "validation_failed");
    api.post_raw(
        "/v1/invoices",
        r#"{"account_id": "acct_l4", "currency": "usd", "lines": [{"description": "a", "description": "b", "quantity": 1, "unit_amount": 1}]}"#,
    )
    .await
    .assert_problem(422, "validation_failed");
    for not_an_object in ["[]", "[1]", "\"x\"", "3", "null"] {
        api.post_typed(
            &format!("/v1/subscriptions/{id}/activate"),
            "application/json",
            not_an_object,
        )
        .await
        .assert_problem(400, "invalid_request");
    }
    for blank in [" ", "   ", "\t"] {
        api.post(
            "/v1/accounts/acct_l4/usage",
            json!({"feature": "api_calls", "quantity": 1, "usage_id": blank}),
        )
        .await
        .assert_problem(422, "validation_failed");
    }
    let subscription = api.get(&format!("/v1/subscriptions/{id}")).await;
    assert_eq!(subscription.body["seats"], 2, "only the one good add-seats");

    for path in [
        format!("/v1/subscriptions/{id}?min_position=-1"),
        format!("/v1/invoices/{id}?min_position=-1"),
        format!("/v1/dunning-cases/{id}?min_position=-1"),
        "/v1/audit/events?min_position=-1".into(),
        format!("/v1/audit/streams/subscription/{id}?min_position=-1"),
    ] {
        api.get(&path)
            .await
            .assert_problem(422, "validation_failed");
    }
}

async fn overlong_uris_and_headers_are_problem_json(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &[]);
    let api = Api::admin(&server.base_url);
    let long = "a".repeat(10_000);
    api.get(&format!("/v1/accounts/{long}/summary"))
        .await
        .assert_problem(414, "uri_too_long");
    api.get_with_header("/v1/plans", "x-padding", &"b".repeat(40_000))
        .await
        .assert_problem(431, "request_header_fields_too_large");
}

infrastructure::on_both_backends!(
    control_characters_are_refused_at_parsing,
    malformed_bodies_and_parameters_are_refused,
    overlong_uris_and_headers_are_problem_json,
);

//! `X-Request-Id`: a usable one sent by the caller is kept, otherwise one is generated; either way
//! it is returned, attached to the log lines written while serving the request, and recorded as
//! the correlation and causation id of the events the request causes.

mod support;

use std::time::Duration;

use infrastructure::testing::{Backend, TestDatabase};
use serde_json::{json, Value};
use support::{Api, Server, ADMIN_KEY};

/// Starts a trial with `request_id` (if any) and answers the id the response carries and the
/// trial's first event's metadata.
async fn start_trial(server: &Server, account: &str, request_id: Option<&str>) -> (String, Value) {
    let client = reqwest::Client::new();
    let mut request = client
        .post(server.url("/v1/subscriptions"))
        .bearer_auth(ADMIN_KEY)
        .json(&json!({"account_id": account, "plan_id": "pro"}));
    if let Some(id) = request_id {
        request = request.header("x-request-id", id);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 201);
    let returned = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = response.json().await.unwrap();
    let stream = Api::admin(&server.base_url)
        .get(&format!(
            "/v1/audit/streams/subscription/{}",
            body["aggregate_id"].as_str().unwrap()
        ))
        .await
        .body;
    (returned, stream["items"][0]["metadata"].clone())
}

#[tokio::test]
async fn the_request_id_is_returned_logged_and_recorded_as_correlation() {
    let db = TestDatabase::create(Backend::Sqlite).await;
    let server = Server::on(&db.url, &[]);

    let (returned, metadata) = start_trial(&server, "acct_rid_1", Some("req-abc-123")).await;
    assert_eq!(returned, "req-abc-123");
    assert_eq!(metadata["correlation_id"], "req-abc-123", "{metadata}");
    assert_eq!(metadata["causation_id"], "req-abc-123", "{metadata}");

    let (generated, metadata) = start_trial(&server, "acct_rid_2", None).await;
    assert!(uuid_like(&generated), "{generated}");
    assert_eq!(metadata["correlation_id"], generated.as_str(), "{metadata}");

    let unusable = "x".repeat(300);
    let (replaced, metadata) = start_trial(&server, "acct_rid_3", Some(&unusable)).await;
    assert!(uuid_like(&replaced), "{replaced}");
    assert_eq!(metadata["correlation_id"], replaced.as_str(), "{metadata}");

    // A request that logs (creating a key does) logs under its id.
    let created = reqwest::Client::new()
        .post(server.url("/v1/admin/api-keys"))
        .bearer_auth(ADMIN_KEY)
        .header("x-request-id", "req-logged-7")
        .json(&json!({"role": "service"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let logged = std::iter::from_fn(|| server.log.recv_timeout(Duration::from_secs(10)).ok())
        .find(|line| line.contains("api key created"))
        .expect("the creation is logged");
    assert!(logged.contains("req-logged-7"), "{logged}");
}

fn uuid_like(text: &str) -> bool {
    text.len() == 36 && text.chars().filter(|c| *c == '-').count() == 4
}

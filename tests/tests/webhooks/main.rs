//! Webhook endpoints and delivery (SPEC 9.2) through the real binary, to a real HTTP receiver
//! on loopback started by the test. Catalog rows are written as the integration event projector
//! writes them, so these tests judge delivery alone; time moves with the test clock.

#[path = "../support/mod.rs"]
mod support;

mod delivery;
mod endpoints;

use std::time::Duration;

use infrastructure::webhooks::signing;
use infrastructure::{Secret, Store};
use serde_json::{json, Value};
use support::receiver::Received;
use support::Api;

pub const LOCAL: &[&str] = &["--test-clock", "--webhook-allow-private"];

/// Adds a catalog event after the current head, as the projector would; answers its position.
pub async fn catalog_event(store: &Store, event_type: &str, account: &str) -> i64 {
    let position = store.catalog_head().await.expect("the head") + 1;
    infrastructure::testing::catalog_event(store, position, event_type, account).await;
    position
}

pub fn uuid_like(position: i64) -> String {
    format!("00000000-0000-4000-8000-{position:012}")
}

pub async fn create_endpoint(admin: &Api, url: &str, events: Value) -> (String, Secret) {
    let created = admin
        .post(
            "/v1/webhook-endpoints",
            json!({"url": url, "enabled_events": events, "description": "test receiver"}),
        )
        .await;
    created.assert_status(201);
    (created.str("id"), Secret::new(created.str("secret")))
}

pub async fn clock_now(admin: &Api) -> i64 {
    let now = admin.get("/v1/test-clock").await;
    now.assert_status(200);
    chrono::DateTime::parse_from_rfc3339(&now.str("now"))
        .expect("an RFC 3339 time")
        .timestamp()
}

pub async fn advance(admin: &Api, seconds: i64) {
    admin
        .post("/v1/test-clock/advance", json!({"seconds": seconds}))
        .await
        .assert_status(200);
}

pub fn verifies(secret: &Secret, received: &Received) -> bool {
    signing::verify(
        secret,
        &received.id,
        received.timestamp,
        received.body.as_bytes(),
        &received.signature,
    )
}

/// Waits until the endpoint lists `count` deliveries of `status`; answers them.
pub async fn wait_for_status(admin: &Api, id: &str, status: &str, count: usize) -> Vec<Value> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let listed = admin
            .get(&format!(
                "/v1/webhook-endpoints/{id}/deliveries?status={status}"
            ))
            .await;
        listed.assert_status(200);
        let items = listed.body["items"].as_array().cloned().unwrap_or_default();
        if items.len() >= count {
            return items;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{count} {status} deliveries expected: {listed:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits (up to 20 s) for the endpoint's first delivery that has been attempted.
pub async fn wait_for_attempt(admin: &Api, id: &str) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let pending = wait_for_status(admin, id, "pending", 1).await;
        if let Some(tried) = pending.iter().find(|d| d["attempts"] == 1) {
            return tried.clone();
        }
        assert!(std::time::Instant::now() < deadline, "{pending:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

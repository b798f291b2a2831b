//! A catalog written by hand (the rows the integration event projector would write) and an
//! endpoint on it.

use chrono::{DateTime, Utc};
use infrastructure::webhooks::{AttemptReport, Endpoint, SecretSealer};
use infrastructure::Store;

pub fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z")
        .expect("a time")
        .to_utc()
}

/// Adds a catalog row as the integration event projector does.
pub async fn catalog_event(store: &Store, position: i64, event_type: &str, account: &str) {
    infrastructure::testing::catalog_event(store, position, event_type, account).await;
}

/// The id [`catalog_event`] gives the event at `position`.
pub fn event_id(position: i64) -> String {
    format!("evt_00000000-0000-4000-8000-{position:012}")
}

pub async fn endpoint(store: &Store, events: &[&str], now: DateTime<Utc>) -> Endpoint {
    let events: Vec<String> = events.iter().map(|e| (*e).to_owned()).collect();
    let (endpoint, _secret) = store
        .create_webhook_endpoint(
            "https://hooks.example.com/ledgerline",
            &events,
            Some("test"),
            &SecretSealer::default(),
            now,
        )
        .await
        .expect("create an endpoint");
    endpoint
}

/// The endpoint as stored now (its cursor moves).
pub async fn reload(store: &Store, endpoint: &Endpoint) -> Endpoint {
    store
        .webhook_endpoint(&endpoint.id)
        .await
        .expect("read the endpoint")
        .expect("the endpoint exists")
}

/// Queues everything the catalog holds for the endpoint.
pub async fn fan_out(store: &Store, endpoint: &Endpoint, now: DateTime<Utc>) {
    loop {
        let current = reload(store, endpoint).await;
        if store
            .fan_out_webhooks(&current, now)
            .await
            .expect("fan out")
            == 0
        {
            return;
        }
    }
}

/// The positions offered at `now`, in order.
pub async fn due(store: &Store, endpoint: &Endpoint, now: DateTime<Utc>) -> Vec<i64> {
    store
        .due_webhook_deliveries(&endpoint.id, now, 100, 1)
        .await
        .expect("due deliveries")
        .iter()
        .map(|d| d.position)
        .collect()
}

pub fn answered(status: u16) -> AttemptReport {
    AttemptReport {
        status_code: Some(status),
        latency_ms: 12,
        error: None,
        response_body: Some("ok".into()),
    }
}

/// The endpoint's deliveries as `(position, type)`, of one status or all.
pub async fn deliveries(
    store: &Store,
    endpoint_id: String,
    status: Option<&str>,
) -> Vec<(i64, String)> {
    store
        .list_webhook_deliveries(&endpoint_id, status, 0, 1000)
        .await
        .expect("list deliveries")
        .iter()
        .map(|d| (d.position, d.event_type.clone()))
        .collect()
}

/// Delivers everything due at `now` with 200s, as the worker would; answers the webhook-ids in
/// the order they went out.
pub async fn deliver_all(store: &Store, endpoint_id: String, now: DateTime<Utc>) -> Vec<String> {
    let mut order = Vec::new();
    loop {
        let offered = store
            .due_webhook_deliveries(&endpoint_id, now, 10, 1)
            .await
            .expect("due deliveries");
        if offered.is_empty() {
            return order;
        }
        for delivery in offered {
            store
                .record_webhook_attempt(&endpoint_id, &delivery, &answered(200), now)
                .await
                .expect("record");
            order.push(delivery.event_id);
        }
    }
}

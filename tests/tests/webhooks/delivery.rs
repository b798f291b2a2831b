//! Delivery: signed, retried, in order per account, at least once across kills and replicas.

use std::time::Duration;

use infrastructure::testing::{Backend, TestDatabase};
use infrastructure::webhooks::signing;
use serde_json::{json, Value};

use crate::support::receiver::Receiver;
use crate::support::{Api, Server};
use crate::{
    advance, catalog_event, clock_now, create_endpoint, uuid_like, verifies, wait_for_attempt,
    wait_for_status, LOCAL,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_is_signed_so_the_receiver_verifies_it() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let db = TestDatabase::create(backend).await;
        let server = Server::on(&db.url, LOCAL);
        let admin = Api::admin(&server.base_url);
        let store = db.store().await;
        let receiver = Receiver::start(&[]).await;
        let (id, secret) = create_endpoint(&admin, &receiver.url("/hook"), json!(["*"])).await;
        assert!(secret.expose().starts_with("whsec_"));

        // The secret is shown once: no read shows it again.
        for read in [
            admin.get(&format!("/v1/webhook-endpoints/{id}")).await,
            admin.get("/v1/webhook-endpoints").await,
        ] {
            read.assert_status(200);
            assert!(!read.body.to_string().contains(secret.expose()), "{read:?}");
            assert!(!read.body.to_string().contains("whsec_"), "{read:?}");
        }

        let position = catalog_event(&store, "invoice.paid", "acct_signed").await;
        let received = receiver.wait_for(1).await;
        let delivery = &received[0];
        assert_eq!(delivery.path, "/hook");
        assert_eq!(delivery.id, format!("evt_{}", uuid_like(position)));
        assert_eq!(delivery.timestamp, clock_now(&admin).await);
        assert!(verifies(&secret, delivery), "{backend:?}: {delivery:?}");
        assert!(!verifies(&signing::new_secret(), delivery));
        assert_eq!(delivery.json()["position"], position);
        assert_eq!(delivery.json()["type"], "invoice.paid");

        let deliveries = wait_for_status(&admin, &id, "succeeded", 1).await;
        assert_eq!(deliveries[0]["event_id"], delivery.id.as_str());
        assert_eq!(deliveries[0]["attempts"], 1);
        assert_eq!(deliveries[0]["last_status_code"], 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_failing_three_times_gets_the_fourth_try_with_the_same_id() {
    let db = TestDatabase::create(Backend::Sqlite).await;
    let server = Server::on(&db.url, LOCAL);
    let admin = Api::admin(&server.base_url);
    let store = db.store().await;
    let receiver = Receiver::start(&[500, 500, 500]).await;
    let (id, secret) = create_endpoint(&admin, &receiver.url("/flaky"), json!(["*"])).await;
    catalog_event(&store, "invoice.payment_failed", "acct_flaky").await;

    receiver.wait_for(1).await;
    for attempt in 2..=4 {
        // Nothing is retried before its time: the clock stands still.
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(receiver.received().len(), attempt - 1);
        let pending = wait_for_status(&admin, &id, "pending", 1).await;
        assert_eq!(pending[0]["attempts"], attempt as i64 - 1);
        assert_eq!(pending[0]["last_status_code"], 500);
        // The n-th retry is due within 1.2 × (5 s, 30 s, 2 min).
        advance(&admin, [6, 36, 144][attempt - 2]).await;
        receiver.wait_for(attempt).await;
    }
    let received = receiver.wait_for(4).await;
    let delivered = wait_for_status(&admin, &id, "succeeded", 1).await;
    assert_eq!(delivered[0]["attempts"], 4);
    assert_eq!(received.len(), 4);
    for attempt in &received {
        assert_eq!(attempt.id, received[0].id, "the same webhook-id every time");
        assert!(verifies(&secret, attempt));
    }
    // Each retry is signed when it is sent.
    assert!(received[3].timestamp > received[0].timestamp);

    // Metrics: attempts by endpoint and outcome, and what is pending.
    let metrics = reqwest::get(server.url("/metrics"))
        .await
        .expect("metrics answer")
        .text()
        .await
        .expect("a text body");
    for line in [
        format!(r#"ledgerline_webhook_deliveries_total{{endpoint="{id}",outcome="retried"}} 3"#),
        format!(r#"ledgerline_webhook_deliveries_total{{endpoint="{id}",outcome="succeeded"}} 1"#),
        format!(r#"ledgerline_webhook_pending{{endpoint="{id}"}} 0"#),
        format!(r#"ledgerline_webhook_oldest_pending_seconds{{endpoint="{id}"}} 0"#),
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in:\n{metrics}");
    }
}

/// 50 concurrent command streams over 10 accounts, through the real integration event
/// projector: every catalog event arrives once, signed, byte for byte as `GET /v1/events` lists
/// it, and each account's events arrive in position order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_events_of_concurrent_accounts_arrive_signed_and_in_order_per_account() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let db = TestDatabase::create(backend).await;
        let server = Server::on(&db.url, LOCAL);
        let admin = Api::admin(&server.base_url);
        let receiver = Receiver::start(&[]).await;
        let (_, secret) = create_endpoint(&admin, &receiver.url("/hook"), json!(["*"])).await;

        let mut subscriptions = Vec::new();
        for n in 0..10 {
            let body = json!({"account_id": format!("acct_hooks_{n}"), "plan_id": "starter",
                "billing_email": "billing@example.com", "payment_method": "pm_card_visa"});
            let started = admin.post("/v1/subscriptions", body).await;
            started.assert_status(201);
            subscriptions.push(started.str("aggregate_id"));
        }
        // Five streams per account at once: their commands race on the same streams.
        let streams = (0..50).map(|n| {
            let base_url = server.base_url.clone();
            let id = subscriptions[n % 10].clone();
            tokio::spawn(async move {
                let api = Api::admin(&base_url);
                let mut position = 0;
                for (action, body) in [
                    ("add-seats", json!({"count": 2})),
                    ("remove-seats", json!({"count": 1})),
                ] {
                    let reply = api
                        .post(&format!("/v1/subscriptions/{id}/{action}"), body)
                        .await;
                    // A conflict that outlasts the store's retries changes nothing.
                    if reply.status == 409 {
                        continue;
                    }
                    reply.assert_status(200);
                    position = position.max(reply.body["position"].as_i64().unwrap_or(0));
                }
                position
            })
        });
        let mut newest = 0;
        for stream in streams {
            newest = newest.max(stream.await.expect("a command stream"));
        }
        // Policies append more events after the commands answer: wait until the catalog and
        // the receiver stand still, then compare them.
        let (events, received) = loop {
            let events = admin.catalog(newest).await;
            let received = receiver.wait_for(events.len()).await;
            tokio::time::sleep(Duration::from_millis(700)).await;
            let newest_received = received
                .iter()
                .filter_map(|r| r.json()["position"].as_i64())
                .max()
                .unwrap_or(0);
            let settled = admin.catalog(newest_received.max(newest)).await;
            if settled.len() == events.len() && receiver.received().len() == received.len() {
                break (events, received);
            }
        };
        assert!(
            events.len() >= 10 * 2 + 50,
            "{} catalog events",
            events.len()
        );
        assert_eq!(received.len(), events.len(), "each event once");
        for event in &events {
            let id = event["id"].as_str().expect("an id");
            let delivery = received
                .iter()
                .find(|r| r.id == id)
                .unwrap_or_else(|| panic!("{backend:?}: {id} was not delivered"));
            assert!(verifies(&secret, delivery), "{delivery:?}");
            assert_eq!(&delivery.json(), event, "the body is the catalog event");
        }
        let mut last_position: std::collections::HashMap<String, i64> = Default::default();
        for delivery in &received {
            let body = delivery.json();
            let account = body["account_id"].as_str().expect("an account").to_owned();
            let position = body["position"].as_i64().expect("a position");
            let previous = last_position.insert(account.clone(), position).unwrap_or(0);
            assert!(
                previous < position,
                "{backend:?}: {account} got {position} after {previous}"
            );
        }
    }
}

/// A receiver that never answers within the 10 s holds up its own endpoint only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_never_answers_does_not_block_another_endpoint() {
    let db = TestDatabase::create(Backend::Sqlite).await;
    let server = Server::on(&db.url, LOCAL);
    let admin = Api::admin(&server.base_url);
    let store = db.store().await;
    let stuck = Receiver::start_slow(&[], Duration::from_secs(60)).await;
    let healthy = Receiver::start(&[]).await;
    let (stuck_id, _) = create_endpoint(&admin, &stuck.url("/stuck"), json!(["*"])).await;
    create_endpoint(&admin, &healthy.url("/ok"), json!(["*"])).await;
    for n in 0..3 {
        catalog_event(&store, "invoice.issued", &format!("acct_stuck_{n}")).await;
    }
    // The stuck endpoint holds its requests open; the other gets everything meanwhile.
    stuck.wait_for(1).await;
    let delivered = healthy.wait_for(3).await;
    assert_eq!(delivered.len(), 3);
    let pending = wait_for_status(&admin, &stuck_id, "pending", 3).await;
    assert!(pending.iter().all(|d| d["attempts"] == 0), "{pending:?}");

    // After 10 s the attempt fails as a timeout and is retried later.
    let timed_out = wait_for_attempt(&admin, &stuck_id).await;
    assert_eq!(timed_out["last_error"], "timed out after 10 s");
    assert_eq!(timed_out["last_status_code"], Value::Null);
}

/// `kill -9` while a delivery is in flight: the next process sends it again with the same
/// `webhook-id`, then the account's next event, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_during_a_delivery_resends_it_with_the_same_id_and_skips_nothing() {
    let db = TestDatabase::create(Backend::Sqlite).await;
    let server = Server::on(&db.url, LOCAL);
    let admin = Api::admin(&server.base_url);
    let store = db.store().await;
    let receiver = Receiver::start_slow(&[], Duration::from_secs(2)).await;
    create_endpoint(&admin, &receiver.url("/hook"), json!(["*"])).await;
    let first = catalog_event(&store, "invoice.issued", "acct_kill").await;
    let second = catalog_event(&store, "invoice.paid", "acct_kill").await;

    receiver.wait_for(1).await;
    server.kill();
    let restarted = Server::on(&db.url, LOCAL);
    let received = receiver.wait_for(3).await;
    let positions: Vec<i64> = received
        .iter()
        .map(|r| r.json()["position"].as_i64().unwrap_or_default())
        .collect();
    assert_eq!(positions[..3], [first, first, second], "{received:?}");
    assert_eq!(received[1].id, received[0].id);
    drop(restarted);
}

/// Two replicas on one Postgres database: each endpoint is delivered by one of them at a time,
/// so every event arrives once, and each account's in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_deliver_each_event_once_in_order_per_account() {
    let db = TestDatabase::create(Backend::Postgres).await;
    let first = Server::on(&db.url, LOCAL);
    let second = Server::on(&db.url, LOCAL);
    let store = db.store().await;
    let receiver = Receiver::start(&[]).await;
    let admin = Api::admin(&first.base_url);
    for path in ["/a", "/b"] {
        create_endpoint(&admin, &receiver.url(path), json!(["*"])).await;
    }
    let mut written = Vec::new();
    for n in 0..20 {
        let account = format!("acct_replica_{}", n % 4);
        written.push(catalog_event(&store, "subscription.updated", &account).await);
    }
    receiver.wait_for(40).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let received = receiver.received();
    assert_eq!(received.len(), 40, "each event once per endpoint");
    for path in ["/a", "/b"] {
        let mut positions: Vec<i64> = received
            .iter()
            .filter(|r| r.path == path)
            .map(|r| r.json()["position"].as_i64().unwrap_or_default())
            .collect();
        let mut last: std::collections::HashMap<String, i64> = Default::default();
        for r in received.iter().filter(|r| r.path == path) {
            let body = r.json();
            let account = body["account_id"].as_str().unwrap_or_default().to_owned();
            let position = body["position"].as_i64().unwrap_or_default();
            assert!(
                last.insert(account, position).unwrap_or(0) < position,
                "{path}"
            );
        }
        positions.sort_unstable();
        assert_eq!(positions, written, "{path}");
    }
    drop((first, second));
}

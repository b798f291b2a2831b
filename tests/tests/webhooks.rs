//! Webhook endpoints and delivery (SPEC 9.2) through the real binary, to a real HTTP receiver
//! on loopback started by the test. Catalog rows are written as the integration event projector
//! writes them, so these tests judge delivery alone; time moves with the test clock.

mod support;

use std::time::Duration;

use infrastructure::testing::{Backend, TestDatabase};
use infrastructure::webhooks::signing;
use infrastructure::{Secret, Store};
use serde_json::{json, Value};
use support::receiver::{Received, Receiver};
use support::{Api, Server};

const LOCAL: &[&str] = &["--test-clock", "--webhook-allow-private"];

/// Adds a catalog event after the current head, as the projector would; answers its position.
async fn catalog_event(store: &Store, event_type: &str, account: &str) -> i64 {
    let position = store.catalog_head().await.expect("the head") + 1;
    infrastructure::testing::catalog_event(store, position, event_type, account).await;
    position
}

fn uuid_like(position: i64) -> String {
    format!("00000000-0000-4000-8000-{position:012}")
}

async fn create_endpoint(admin: &Api, url: &str, events: Value) -> (String, Secret) {
    let created = admin
        .post(
            "/v1/webhook-endpoints",
            json!({"url": url, "enabled_events": events, "description": "test receiver"}),
        )
        .await;
    created.assert_status(201);
    (created.str("id"), Secret::new(created.str("secret")))
}

async fn clock_now(admin: &Api) -> i64 {
    let now = admin.get("/v1/test-clock").await;
    now.assert_status(200);
    chrono::DateTime::parse_from_rfc3339(&now.str("now"))
        .expect("an RFC 3339 time")
        .timestamp()
}

async fn advance(admin: &Api, seconds: i64) {
    admin
        .post("/v1/test-clock/advance", json!({"seconds": seconds}))
        .await
        .assert_status(200);
}

fn verifies(secret: &Secret, received: &Received) -> bool {
    signing::verify(
        secret,
        &received.id,
        received.timestamp,
        received.body.as_bytes(),
        &received.signature,
    )
}

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

/// Waits until the endpoint lists `count` deliveries of `status`; answers them.
async fn wait_for_status(admin: &Api, id: &str, status: &str, count: usize) -> Vec<Value> {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_urls_are_refused_without_the_flag() {
    let db = TestDatabase::create(Backend::Sqlite).await;
    let server = Server::on(&db.url, &[]);
    let admin = Api::admin(&server.base_url);
    for url in [
        "http://127.0.0.1:9/hook",
        "https://127.0.0.1:9/hook",
        "https://localhost/hook",
        "https://169.254.169.254/latest",
        "http://example.com/hook",
        "not a url",
    ] {
        let refused = admin
            .post(
                "/v1/webhook-endpoints",
                json!({"url": url, "enabled_events": ["*"]}),
            )
            .await;
        refused.assert_problem(422, "validation_failed");
    }
    let listed = admin.get("/v1/webhook-endpoints").await;
    assert_eq!(listed.body["items"], json!([]), "nothing was created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_a_problem_and_changes_nothing() {
    let db = TestDatabase::create(Backend::Sqlite).await;
    let server = Server::on(&db.url, LOCAL);
    let admin = Api::admin(&server.base_url);
    let receiver = Receiver::start(&[]).await;
    let url = receiver.url("/hook");
    for (body, status, code) in [
        (
            json!({"url": url, "enabled_events": []}),
            422,
            "validation_failed",
        ),
        (
            json!({"url": url, "enabled_events": ["invoice.payed"]}),
            422,
            "validation_failed",
        ),
        (
            json!({"url": url, "enabled_events": "*"}),
            400,
            "invalid_request",
        ),
        (
            json!({"url": url, "enabled_events": ["*"], "secret": "mine"}),
            400,
            "invalid_request",
        ),
        (json!({"enabled_events": ["*"]}), 400, "invalid_request"),
    ] {
        admin
            .post("/v1/webhook-endpoints", body)
            .await
            .assert_problem(status, code);
    }
    assert_eq!(
        admin.get("/v1/webhook-endpoints").await.body["items"],
        json!([])
    );

    let (id, _) = create_endpoint(&admin, &url, json!(["*"])).await;
    let path = |tail: &str| format!("/v1/webhook-endpoints/{id}{tail}");
    admin
        .post(&path("/update"), json!({"enabled_events": ["nope"]}))
        .await
        .assert_problem(422, "validation_failed");
    admin
        .post(&path("/update"), json!({"url": "ftp://example.com/"}))
        .await
        .assert_problem(422, "validation_failed");
    admin
        .post(&path("/replay"), json!({"from_position": -1}))
        .await
        .assert_problem(422, "validation_failed");
    admin
        .get(&path("/deliveries?status=lost"))
        .await
        .assert_problem(422, "validation_failed");
    admin
        .get(&path("/deliveries?limit=0"))
        .await
        .assert_problem(422, "validation_failed");
    let unchanged = admin.get(&path("")).await;
    assert_eq!(unchanged.body["enabled_events"], json!(["*"]));
    assert_eq!(unchanged.body["url"], url.as_str());
    for missing in [
        admin.get("/v1/webhook-endpoints/we_missing").await,
        admin.delete("/v1/webhook-endpoints/we_missing").await,
        admin
            .post("/v1/webhook-endpoints/we_missing/rotate-secret", json!({}))
            .await,
        admin
            .post(
                "/v1/webhook-endpoints/we_missing/replay",
                json!({"from_position": 0}),
            )
            .await,
        admin
            .get("/v1/webhook-endpoints/we_missing/deliveries")
            .await,
    ] {
        missing.assert_problem(404, "not_found");
    }
    admin.delete(&path("")).await.assert_status(204);
    admin.get(&path("")).await.assert_problem(404, "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_filtered_to_invoices_gets_nothing_else() {
    let db = TestDatabase::create(Backend::Sqlite).await;
    let server = Server::on(&db.url, LOCAL);
    let admin = Api::admin(&server.base_url);
    let store = db.store().await;
    let receiver = Receiver::start(&[]).await;
    create_endpoint(&admin, &receiver.url("/invoices"), json!(["invoice.*"])).await;
    create_endpoint(&admin, &receiver.url("/paid"), json!(["invoice.paid"])).await;
    create_endpoint(&admin, &receiver.url("/all"), json!(["*"])).await;
    let types = [
        "subscription.created",
        "invoice.issued",
        "entitlements.updated",
        "invoice.paid",
        "dunning_case.opened",
    ];
    for event_type in types {
        catalog_event(&store, event_type, "acct_filter").await;
    }
    // 5 to /all, 2 to /invoices, 1 to /paid.
    receiver.wait_for(8).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let received = receiver.received();
    let to = |path: &str| -> Vec<String> {
        received
            .iter()
            .filter(|r| r.path == path)
            .map(|r| r.json()["type"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(to("/all"), types);
    assert_eq!(to("/invoices"), ["invoice.issued", "invoice.paid"]);
    assert_eq!(to("/paid"), ["invoice.paid"]);
    assert_eq!(received.len(), 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_signs_with_both_secrets_for_a_day_then_with_the_new_one() {
    let db = TestDatabase::create(Backend::Sqlite).await;
    let server = Server::on(&db.url, LOCAL);
    let admin = Api::admin(&server.base_url);
    let store = db.store().await;
    let receiver = Receiver::start(&[]).await;
    let (id, old) = create_endpoint(&admin, &receiver.url("/hook"), json!(["*"])).await;
    let rotated = admin
        .post(
            &format!("/v1/webhook-endpoints/{id}/rotate-secret"),
            json!({}),
        )
        .await;
    rotated.assert_status(200);
    let new = Secret::new(rotated.str("secret"));
    assert_ne!(new, old);

    catalog_event(&store, "invoice.issued", "acct_rotate").await;
    let during = receiver.wait_for(1).await[0].clone();
    assert_eq!(during.signature.split(' ').count(), 2, "{during:?}");
    assert!(verifies(&new, &during));
    assert!(verifies(&old, &during));

    advance(&admin, 24 * 60 * 60).await;
    catalog_event(&store, "invoice.paid", "acct_rotate").await;
    let after = receiver.wait_for(2).await[1].clone();
    assert_eq!(after.signature.split(' ').count(), 1, "{after:?}");
    assert!(verifies(&new, &after));
    assert!(!verifies(&old, &after));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_resends_from_a_position_in_order_with_the_same_ids() {
    let db = TestDatabase::create(Backend::Sqlite).await;
    let server = Server::on(&db.url, LOCAL);
    let admin = Api::admin(&server.base_url);
    let store = db.store().await;
    let receiver = Receiver::start(&[]).await;
    let (id, _) = create_endpoint(&admin, &receiver.url("/hook"), json!(["*"])).await;
    let mut positions = Vec::new();
    for event_type in ["subscription.created", "invoice.issued", "invoice.paid"] {
        positions.push(catalog_event(&store, event_type, "acct_replay").await);
    }
    let first = receiver.wait_for(3).await;
    wait_for_status(&admin, &id, "succeeded", 3).await;
    let replayed = admin
        .post(
            &format!("/v1/webhook-endpoints/{id}/replay"),
            json!({"from_position": positions[1]}),
        )
        .await;
    replayed.assert_status(202);
    assert_eq!(replayed.body["requeued"], 2);
    let all = receiver.wait_for(5).await;
    let ids =
        |received: &[Received]| -> Vec<String> { received.iter().map(|r| r.id.clone()).collect() };
    assert_eq!(ids(&all[3..]), ids(&first[1..3]));
    let order: Vec<i64> = all[3..]
        .iter()
        .map(|r| r.json()["position"].as_i64().unwrap_or_default())
        .collect();
    assert_eq!(order, positions[1..]);
}

/// Commands on several accounts at once, through the real integration event projector: every
/// catalog event arrives once, signed, byte for byte as `GET /v1/events` lists it, and each
/// account's events arrive in position order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_events_of_concurrent_accounts_arrive_signed_and_in_order_per_account() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let db = TestDatabase::create(backend).await;
        let server = Server::on(&db.url, LOCAL);
        let admin = Api::admin(&server.base_url);
        let receiver = Receiver::start(&[]).await;
        let (_, secret) = create_endpoint(&admin, &receiver.url("/hook"), json!(["*"])).await;

        let streams = (0..6).map(|n| {
            let base_url = server.base_url.clone();
            tokio::spawn(async move {
                let api = Api::admin(&base_url);
                let account = format!("acct_hooks_{}", n % 3);
                let body = json!({"account_id": format!("{account}_{n}"), "plan_id": "starter",
                    "billing_email": "billing@example.com", "payment_method": "pm_card_visa"});
                let started = api.post("/v1/subscriptions", body).await;
                started.assert_status(201);
                let id = started.str("aggregate_id");
                let mut position = 0;
                for (action, body) in [
                    ("add-seats", json!({"count": 2})),
                    ("activate", json!({})),
                    ("remove-seats", json!({"count": 1})),
                ] {
                    let reply = api
                        .post(&format!("/v1/subscriptions/{id}/{action}"), body)
                        .await;
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
        assert!(events.len() >= 6 * 4, "{} catalog events", events.len());
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

/// Waits (up to 20 s) for the endpoint's first delivery that has been attempted.
async fn wait_for_attempt(admin: &Api, id: &str) -> Value {
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

/// `ledgerline webhooks …` against the server's database: what it creates the server delivers
/// to, and its secret signs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_creates_lists_rotates_and_deletes_endpoints() {
    let db = TestDatabase::create(Backend::Sqlite).await;
    let server = Server::on(&db.url, LOCAL);
    let admin = Api::admin(&server.base_url);
    let store = db.store().await;
    let receiver = Receiver::start(&[]).await;
    let run = |args: &[&str]| {
        let output = support::ledgerline()
            .env("DATABASE_URL", &db.url)
            .args(["webhooks"])
            .args(args)
            .output()
            .expect("ledgerline runs");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        (output.status.success(), stdout)
    };
    let field = |stdout: &str, name: &str| -> String {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .map(|v| v.trim().to_owned())
            .unwrap_or_else(|| panic!("no {name} in {stdout}"))
    };

    // Refused without the flag, as the API refuses it.
    let url = receiver.url("/cli");
    let (ok, _) = run(&["create", &url]);
    assert!(!ok, "a loopback http URL needs --webhook-allow-private");
    let (ok, _) = run(&[
        "create",
        &url,
        "--webhook-allow-private",
        "--events",
        "nope",
    ]);
    assert!(!ok, "an unknown type is refused");

    let (ok, created) = run(&[
        "create",
        &url,
        "--webhook-allow-private",
        "--events",
        "invoice.*",
    ]);
    assert!(ok, "{created}");
    let id = field(&created, "id");
    let secret = Secret::new(field(&created, "secret"));
    let (ok, listed) = run(&["list"]);
    assert!(
        ok && listed.contains(&id) && listed.contains("invoice.*"),
        "{listed}"
    );
    assert!(!listed.contains("whsec_"), "{listed}");
    let shown = admin.get(&format!("/v1/webhook-endpoints/{id}")).await;
    shown.assert_status(200);

    catalog_event(&store, "invoice.paid", "acct_cli").await;
    let first = receiver.wait_for(1).await[0].clone();
    assert!(verifies(&secret, &first));

    let (ok, rotated) = run(&["rotate-secret", &id]);
    assert!(ok, "{rotated}");
    let new = Secret::new(field(&rotated, "secret"));
    catalog_event(&store, "invoice.issued", "acct_cli").await;
    let second = receiver.wait_for(2).await[1].clone();
    assert!(verifies(&new, &second) && verifies(&secret, &second));

    let (ok, _) = run(&["delete", &id]);
    assert!(ok);
    let (ok, _) = run(&["delete", &id]);
    assert!(!ok, "deleting twice fails");
    admin
        .get(&format!("/v1/webhook-endpoints/{id}"))
        .await
        .assert_problem(404, "not_found");
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

/// With `LEDGERLINE_SECRETS_KEY` the database holds no usable secret, and deliveries are signed
/// all the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_secrets_key_secrets_are_encrypted_at_rest() {
    let db = TestDatabase::create(Backend::Sqlite).await;
    let server = Server::start_with(
        &[
            ("DATABASE_URL", db.url.as_str()),
            ("LEDGERLINE_ADMIN_KEY", support::ADMIN_KEY),
            (
                "LEDGERLINE_SECRETS_KEY",
                "a long random value kept elsewhere",
            ),
        ],
        LOCAL,
    );
    let admin = Api::admin(&server.base_url);
    let store = db.store().await;
    let receiver = Receiver::start(&[]).await;
    let (id, secret) = create_endpoint(&admin, &receiver.url("/hook"), json!(["*"])).await;
    let stored: String =
        infrastructure::portable::query("SELECT secret FROM webhook_endpoints WHERE id = $1")
            .bind(&id)
            .fetch_one(store.reader())
            .await
            .expect("the endpoint row")
            .get("secret");
    assert!(stored.starts_with("enc:v1:"), "{stored}");
    let key = secret.expose().trim_start_matches("whsec_");
    assert!(!stored.contains(key));
    catalog_event(&store, "invoice.paid", "acct_sealed").await;
    let delivery = receiver.wait_for(1).await[0].clone();
    assert!(verifies(&secret, &delivery));
}

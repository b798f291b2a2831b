//! Endpoints: what may be created and how, filtering, rotation, replay, the CLI, secrets at rest.

use std::time::Duration;

use infrastructure::testing::{Backend, TestDatabase};
use infrastructure::Secret;
use serde_json::json;

use crate::support::receiver::{Received, Receiver};
use crate::support::{self, Api, Server};
use crate::{advance, catalog_event, create_endpoint, verifies, wait_for_status, LOCAL};

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

//! Operating the read models from outside, on both backends: the projection list, a rebuild over
//! HTTP followed by a clean verification, who may do it, and `ledgerline audit verify` /
//! `ledgerline replay` run as an operator would, against `DATABASE_URL`.

mod support;

use std::time::{Duration, Instant};

use infrastructure::testing::{Backend, TestDatabase};
use infrastructure::Store;
use serde_json::{json, Value};
use support::{ledgerline, Api, Server};

const READ_MODELS: [&str; 9] = [
    "account_summary",
    "feature_access",
    "account_invoices",
    "notifications",
    "billing_timeline",
    "dunning_queue",
    "integration_events",
    "coupons",
    "customer_balances",
];

/// Lists the projections until `done` holds for every item (bounded: fails after 20 s).
async fn projections_until(api: &Api, done: impl Fn(&Value) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let reply = api.get("/v1/admin/projections").await;
        reply.assert_status(200);
        let items = reply.body["items"].as_array().unwrap().clone();
        if items.iter().all(&done) {
            return items;
        }
        assert!(Instant::now() < deadline, "never settled: {items:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// An account with a subscription and an open invoice, read back.
async fn busy_account(api: &Api, account: &str) {
    let started = api
        .post(
            "/v1/subscriptions",
            json!({"account_id": account, "plan_id": "pro", "seats": 3}),
        )
        .await;
    started.assert_status(201);
    let issued = api
        .post(
            "/v1/invoices",
            json!({"account_id": account, "currency": "usd",
                   "lines": [{"description": "Setup", "quantity": 1, "unit_amount": 500}]}),
        )
        .await;
    issued.assert_status(201);
    let position = issued.body["position"].as_i64().unwrap();
    let summary = api
        .get(&format!(
            "/v1/accounts/{account}/summary?min_position={position}"
        ))
        .await;
    summary.assert_status(200);
}

async fn rebuild_over_http_then_verify_finds_nothing(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &[]);
    let api = Api::admin(&server.base_url);
    busy_account(&api, "acct_ops").await;

    let items = projections_until(&api, |item| item["lag"] == 0).await;
    // Every policy has reacted too (entitlements enabled): nothing changes the summary now.
    let before = api.get("/v1/accounts/acct_ops/summary").await.body;
    let names: Vec<&str> = items.iter().map(|i| i["name"].as_str().unwrap()).collect();
    for name in READ_MODELS
        .iter()
        .chain(&["billing_policy", "dunning_saga"])
    {
        assert!(names.contains(name), "{name} listed in {names:?}");
    }
    let summary = items
        .iter()
        .find(|i| i["name"] == "account_summary")
        .unwrap();
    assert_eq!(summary["status"], "running");
    assert!(summary["position"].as_i64().unwrap() > 0);
    assert!(summary["head"].as_i64() >= summary["position"].as_i64());

    let rebuild = api
        .post("/v1/admin/projections/account_summary/rebuild", json!({}))
        .await;
    rebuild.assert_status(202);
    assert_eq!(rebuild.body["name"], "account_summary");
    projections_until(&api, |item| item["status"] != "rebuilding").await;
    let after = api.get("/v1/accounts/acct_ops/summary").await;
    assert_eq!(after.body, before, "rebuilt to the same summary");

    let report = api.post("/v1/admin/audit/verify", json!({})).await;
    report.assert_status(200);
    assert_eq!(report.body["mismatches"], 0, "{:#}", report.body);
    let verified: Vec<&str> = report.body["projections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(verified, READ_MODELS);

    api.post("/v1/admin/projections/no_such/rebuild", json!({}))
        .await
        .assert_problem(404, "not_found");
    api.post("/v1/admin/projections/billing_policy/rebuild", json!({}))
        .await
        .assert_problem(409, "rule_violation");

    let secret = api
        .post("/v1/admin/api-keys", json!({"role": "service"}))
        .await
        .str("secret");
    let service = Api::with_key(&server.base_url, Some(&secret));
    service
        .get("/v1/admin/projections")
        .await
        .assert_problem(403, "forbidden");
    service
        .post("/v1/admin/projections/account_summary/rebuild", json!({}))
        .await
        .assert_problem(403, "forbidden");
    service
        .post("/v1/admin/audit/verify", json!({}))
        .await
        .assert_problem(403, "forbidden");
}

/// The probe's H1: two manual invoices of 2^62 for one account overflowed its balance, stopped
/// the summary for every account (503 on reads and on the test clock) while verification still
/// said 0 mismatches. Now such an amount is refused, invoices at the bound project, and a
/// projection that does stop is reported failed, over HTTP and by the CLI (exit 2).
async fn amounts_beyond_the_bound_are_refused_and_a_failed_projection_is_not_verified(
    backend: Backend,
) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &["--test-clock"]);
    let api = Api::admin(&server.base_url);
    let secret = api
        .post("/v1/admin/api-keys", json!({"role": "service"}))
        .await
        .str("secret");
    let service = Api::with_key(&server.base_url, Some(&secret));
    let invoice = |unit_amount: i64| {
        json!({"account_id": "acct_big", "currency": "usd",
               "lines": [{"description": "Manual", "quantity": 1, "unit_amount": unit_amount}]})
    };
    for _ in 0..2 {
        let refused = service
            .post("/v1/invoices", invoice(4_611_686_018_427_387_904))
            .await;
        refused.assert_problem(422, "validation_failed");
        assert!(
            refused.body.to_string().contains("lines[0].unit_amount"),
            "{:#}",
            refused.body
        );
    }
    let mut position = 0;
    let mut issued_id = String::new();
    for _ in 0..2 {
        let issued = service
            .post("/v1/invoices", invoice(1_000_000_000_000_000))
            .await;
        issued.assert_status(201);
        position = issued.body["position"].as_i64().unwrap();
        issued_id = issued.str("aggregate_id");
    }
    let beyond = 1_000_000_000_000_001_i64;
    for (action, body) in [
        (
            "record-payment",
            json!({"amount": beyond, "payment_ref": "wire_1"}),
        ),
        ("refund", json!({"amount": beyond, "reason": "duplicate"})),
    ] {
        service
            .post(&format!("/v1/invoices/{issued_id}/{action}"), body)
            .await
            .assert_problem(422, "validation_failed");
    }
    let summary = api
        .get(&format!(
            "/v1/accounts/acct_big/summary?min_position={position}"
        ))
        .await;
    summary.assert_status(200);
    assert_eq!(
        summary.body["balance_due"],
        json!({"amount": 2_000_000_000_000_000_i64, "currency": "usd"})
    );
    api.post("/v1/test-clock/advance", json!({"seconds": 86_400}))
        .await
        .assert_status(200);
    let report = api.post("/v1/admin/audit/verify", json!({})).await;
    report.assert_status(200);
    assert_eq!(
        (&report.body["status"], &report.body["mismatches"]),
        (&json!("verified"), &json!(0)),
        "{:#}",
        report.body
    );
    server.terminate();

    // A projection that stopped at an event it cannot apply, as recorded by its worker.
    tamper(
        &db.url,
        "UPDATE projection_status SET status = 'failed', failed_position = 3,
                error = 'event at position 3: the balance due overflows'
          WHERE name = 'account_summary'",
    )
    .await;
    let unverified = run(&["audit", "verify"], &db.url);
    let printed = String::from_utf8_lossy(&unverified.stdout);
    assert_eq!(unverified.status.code(), Some(2), "{unverified:?}");
    assert!(
        printed.contains("account_summary: ")
            && printed.contains("FAILED at position 3, not verified"),
        "{printed}"
    );
    assert!(
        printed.contains("0 mismatches; 1 FAILED, not verified"),
        "{printed}"
    );
}

fn run(args: &[&str], database_url: &str) -> std::process::Output {
    ledgerline()
        .args(args)
        .env("DATABASE_URL", database_url)
        .output()
        .expect("ledgerline runs")
}

/// Changes one read-model row behind the projectors' back.
async fn tamper(database_url: &str, sql: &str) {
    let store = Store::connect(database_url).await.unwrap();
    let changed = match &store {
        Store::Postgres(log) => sqlx::query(sql)
            .execute(log.pool())
            .await
            .unwrap()
            .rows_affected(),
        Store::Sqlite(log) => sqlx::query(sql)
            .execute(log.writer())
            .await
            .unwrap()
            .rows_affected(),
    };
    assert_eq!(changed, 1);
}

async fn the_cli_verifies_and_replays(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &[]);
    let api = Api::admin(&server.base_url);
    busy_account(&api, "acct_cli").await;
    projections_until(&api, |item| item["lag"] == 0).await;
    let before = api.get("/v1/accounts/acct_cli/summary").await.body;
    server.terminate();

    let clean = run(&["audit", "verify"], &db.url);
    let printed = String::from_utf8_lossy(&clean.stdout);
    assert_eq!(clean.status.code(), Some(0), "{clean:?}");
    assert!(printed.contains("0 mismatches"), "{printed}");

    tamper(
        &db.url,
        "UPDATE account_summaries SET seat_count = 77 WHERE account_id = 'acct_cli'",
    )
    .await;
    let dirty = run(&["audit", "verify"], &db.url);
    let printed = String::from_utf8_lossy(&dirty.stdout);
    assert_eq!(dirty.status.code(), Some(1), "{dirty:?}");
    assert!(
        printed.contains("account_summaries [acct_cli].seat_count: live 77 / replayed 3"),
        "{printed}"
    );

    let broken = run(
        &["audit", "verify", "--plans", "no/such/plans.toml"],
        &db.url,
    );
    assert_eq!(
        broken.status.code(),
        Some(2),
        "an operational error: {broken:?}"
    );

    let replay = run(&["replay", "--projection", "account_summary"], &db.url);
    assert_eq!(replay.status.code(), Some(0), "{replay:?}");
    let unknown = run(&["replay", "--projection", "no_such"], &db.url);
    assert!(!unknown.status.success());
    // Refused by the argument parser, which lists the read models.
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        stderr.contains("no_such") && stderr.contains("account_summary"),
        "{stderr}"
    );

    let server = Server::on(&db.url, &[]);
    let api = Api::admin(&server.base_url);
    let after = api.get("/v1/accounts/acct_cli/summary").await;
    assert_eq!(
        after.body, before,
        "the replayed summary, not the tampered one"
    );
    let report = api.post("/v1/admin/audit/verify", json!({})).await;
    assert_eq!(report.body["mismatches"], 0, "{:#}", report.body);
}

infrastructure::on_both_backends!(
    rebuild_over_http_then_verify_finds_nothing,
    amounts_beyond_the_bound_are_refused_and_a_failed_projection_is_not_verified,
    the_cli_verifies_and_replays,
);

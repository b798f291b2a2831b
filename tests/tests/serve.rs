//! The first real run: `ledgerline serve` answers health and the plan catalog, speaks
//! problem+json for unknown routes, stops cleanly on SIGTERM, refuses a bad catalog, and with no
//! configuration at all serves from `ledgerline.db` in its working directory.

mod support;

use infrastructure::testing::{Backend, TestDatabase};
use serde_json::{json, Value};
use support::{ledgerline, Api, Server};

/// A server on a fresh SQLite file of its own (the file goes with the returned database).
async fn fresh_server() -> (TestDatabase, Server) {
    let db = TestDatabase::create(Backend::Sqlite).await;
    let server = Server::on(&db.url, &[]);
    (db, server)
}

#[tokio::test]
async fn serves_the_three_default_plans() {
    let (_db, server) = fresh_server().await;
    let response = reqwest::get(server.url("/v1/plans")).await.unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let plans = body["items"].as_array().expect("items is a list");
    let summary: Vec<(&str, i64, i64, i64)> = plans
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap(),
                p["base_price"].as_i64().unwrap(),
                p["seat_limit"].as_i64().unwrap(),
                p["trial_days"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("starter", 1900, 5, 14),
            ("pro", 4900, 20, 14),
            ("enterprise", 19900, 100, 30)
        ]
    );
    assert_eq!(plans[1]["limits"]["api_calls"], 100_000);
    assert!(
        plans[2]["limits"]["api_calls"].is_null(),
        "enterprise is unlimited"
    );
    // Usage prices as the catalog file writes them.
    assert_eq!(
        plans[0]["usage_prices"]["api_calls"],
        serde_json::json!({"model": "per_unit", "included": 5000, "unit_amount_decimal": "0.1"})
    );
    assert_eq!(
        plans[1]["usage_prices"]["api_calls"],
        serde_json::json!({"model": "graduated", "included": 50000, "tiers": [
            {"up_to": 25000, "unit_amount_decimal": "0.05", "flat_amount": 0},
            {"up_to": null, "unit_amount_decimal": "0.03", "flat_amount": 0},
        ]})
    );
    assert_eq!(plans[2]["usage_prices"], serde_json::json!({}));
    assert_eq!(body["next_cursor"], Value::Null);
}

#[tokio::test]
async fn healthz_answers_ok() {
    let (_db, server) = fresh_server().await;
    let body: Value = reqwest::get(server.url("/healthz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problem_json() {
    let (_db, server) = fresh_server().await;
    let client = reqwest::Client::new();
    let cases = [
        (client.get(server.url("/v1/nope")), 404, "not_found"),
        (
            client.delete(server.url("/v1/plans")),
            405,
            "method_not_allowed",
        ),
    ];
    for (request, status, code) in cases {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), status);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], code);
        assert_eq!(body["status"], status);
    }
}

#[tokio::test]
async fn sigterm_stops_the_server_cleanly() {
    let (_db, server) = fresh_server().await;
    let status = server.terminate();
    assert!(status.success(), "exit status {status}");
}

#[test]
fn a_bad_catalog_is_refused_naming_file_plan_and_field() {
    let dir = std::env::temp_dir().join(format!("ledgerline-catalog-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("plans.toml");
    let shipped =
        std::fs::read_to_string(support::workspace_root().join("config/plans.toml")).unwrap();
    std::fs::write(
        &file,
        shipped.replacen("seat_limit = 20", "seat_limit = -3", 1),
    )
    .unwrap();
    let output = ledgerline()
        .args(["serve", "--bind", "127.0.0.1:0", "--plans"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    for needle in [file.to_str().unwrap(), "pro", "seat_limit"] {
        assert!(stderr.contains(needle), "stderr lacks {needle}: {stderr}");
    }
}

#[test]
fn help_lists_the_serve_options() {
    let output = ledgerline().args(["serve", "--help"]).output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for option in ["--bind", "--plans", "LEDGERLINE_BIND"] {
        assert!(help.contains(option), "help lacks {option}");
    }
}

#[test]
fn the_help_names_the_program_the_values_and_the_log_filter() {
    let text = |args: &[&str]| {
        let output = ledgerline().args(args).output().unwrap();
        assert!(output.status.success(), "{args:?}: {output:?}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let top = text(&["--help"]);
    assert!(top.contains("event-sourced subscription billing"), "{top}");
    assert!(!top.contains("HTTP surface"), "{top}");
    assert!(top.contains("LEDGERLINE_LOG"), "{top}");
    let create = text(&["keys", "create", "--help"]);
    for needle in ["admin", "service", "support", "account", "--account-id"] {
        assert!(
            create.contains(needle),
            "keys create --help lacks {needle}: {create}"
        );
    }
    let revoke = text(&["keys", "revoke", "--help"]);
    assert!(
        revoke.contains("keys list"),
        "<KEY_ID> is described: {revoke}"
    );
    let stream = text(&["audit", "stream", "--help"]);
    assert!(
        stream.contains("aggregate_id"),
        "<AGGREGATE_ID> is described: {stream}"
    );
    let replay = text(&["replay", "--help"]);
    assert!(
        replay.contains("account_summary"),
        "the read models are listed: {replay}"
    );
}

#[test]
fn startup_errors_say_once_which_flag_fixes_them() {
    let missing = ledgerline()
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--plans",
            "no/such/plans.toml",
        ])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("--plans"), "{stderr}");
    let stdout = String::from_utf8_lossy(&missing.stdout);
    assert!(
        !stdout.contains("cannot read plan catalog"),
        "said once, on stderr, not also as a log line: {stdout}"
    );

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let dir = std::env::temp_dir().join(format!("ledgerline-bind-{}", uuid_like()));
    std::fs::create_dir_all(&dir).unwrap();
    let busy = ledgerline()
        .args(["serve", "--bind", &address, "--plans"])
        .arg(support::workspace_root().join("config/plans.toml"))
        .arg("--database-url")
        .arg(format!("sqlite://{}/ledgerline.db", dir.display()))
        .output()
        .unwrap();
    assert!(!busy.status.success());
    let stderr = String::from_utf8_lossy(&busy.stderr);
    assert!(stderr.contains("--bind"), "{stderr}");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn with_no_configuration_it_serves_from_sqlite_in_the_working_directory() {
    let dir = std::env::temp_dir().join(format!("ledgerline-default-{}", uuid_like()));
    std::fs::create_dir_all(&dir).unwrap();
    let plans = support::workspace_root().join("config/plans.toml");
    let mut command = ledgerline();
    command
        .current_dir(&dir)
        .env("LEDGERLINE_ADMIN_KEY", support::ADMIN_KEY)
        .args(["serve", "--bind", "127.0.0.1:0", "--plans"])
        .arg(&plans);
    let server = Server::spawn(command);
    assert!(
        dir.join("ledgerline.db").exists(),
        "the default database file was created"
    );
    let api = Api::admin(&server.base_url);
    api.post(
        "/v1/subscriptions",
        json!({"account_id": "acct_default", "plan_id": "starter"}),
    )
    .await
    .assert_status(201);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn migrate_applies_the_migrations_and_exits() {
    let dir = std::env::temp_dir().join(format!("ledgerline-migrate-{}", uuid_like()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("migrated.db").display());
    let output = ledgerline()
        .args(["migrate", "--database-url", &url])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert!(dir.join("migrated.db").exists());
    let again = ledgerline()
        .args(["migrate", "--database-url", &url])
        .output()
        .unwrap();
    assert!(
        again.status.success(),
        "migrating twice is a no-op: {again:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn uuid_like() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

#[tokio::test]
async fn readyz_reports_a_migrated_database() {
    let (_db, server) = fresh_server().await;
    let ready = Api::admin(&server.base_url).get("/readyz").await;
    ready.assert_status(200);
    assert_eq!(ready.body["status"], "ready");
    assert_eq!(ready.body["backend"], "sqlite");
}

#[tokio::test]
async fn an_oversized_body_is_refused_with_413() {
    let (_db, server) = fresh_server().await;
    let huge = "x".repeat(300 * 1024);
    let reply = Api::admin(&server.base_url)
        .post(
            "/v1/subscriptions",
            json!({"account_id": "acct_big", "plan_id": huge}),
        )
        .await;
    reply.assert_problem(413, "payload_too_large");
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let (_db, server) = fresh_server().await;
    let api = Api::admin(&server.base_url);
    api.get("/v1/plans").await.assert_status(200);
    api.post(
        "/v1/subscriptions",
        json!({"account_id": "acct_m", "plan_id": "pro"}),
    )
    .await
    .assert_status(201);
    let text = reqwest::get(server.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for needle in [
        r#"http_requests_total{method="GET",route="/v1/plans",status="200"} 1"#,
        r#"commands_total{command="StartTrial",outcome="ok"} 1"#,
        "http_request_duration_seconds_bucket",
        r#"projection_position{projection="account_summary"}"#,
    ] {
        assert!(text.contains(needle), "metrics lack {needle}:\n{text}");
    }
}

/// The value of the sample `name` (with its labels) in Prometheus text.
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn metrics_show_projection_lag_and_timers_due_and_overdue() {
    let (_db, server) = fresh_server().await;
    let api = Api::admin(&server.base_url);
    let started = api
        .post(
            "/v1/subscriptions",
            json!({"account_id": "acct_lag", "plan_id": "pro"}),
        )
        .await;
    started.assert_status(201);
    let text = reqwest::get(server.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let head = started.body["position"].as_f64().expect("a position");
    for projection in ["account_summary", "feature_access"] {
        let position = sample(
            &text,
            &format!(r#"projection_position{{projection="{projection}"}}"#),
        )
        .unwrap_or_else(|| panic!("no position of {projection}:\n{text}"));
        let lag = sample(
            &text,
            &format!(r#"projection_lag{{projection="{projection}"}}"#),
        )
        .unwrap_or_else(|| panic!("no lag of {projection}:\n{text}"));
        // position + lag is the log's head at the scrape: at least the trial's position.
        assert!(
            lag >= 0.0 && position + lag >= head,
            "{projection}: {position} + {lag} < {head}"
        );
    }
    // The trial's end is weeks away: scheduled, neither due nor overdue.
    assert_eq!(sample(&text, "timers_due"), Some(0.0), "{text}");
    assert_eq!(sample(&text, "timers_overdue"), Some(0.0), "{text}");
}

//! Audit over HTTP and on the command line, on both backends: an aggregate's state as of a
//! version or an instant, the global log paged through, bad audit reads as problem+json, the
//! `ledgerline audit stream` history, and an event stored in an older version (`PaymentFailed`
//! 1.0, written as raw SQL) read as the current one everywhere but in the stored log.

mod support;

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use infrastructure::testing::{Backend, TestDatabase};
use serde_json::{json, Value};
use support::{ledgerline, Api, Server};

async fn now(api: &Api) -> DateTime<Utc> {
    let reply = api.get("/v1/test-clock").await;
    reply.assert_status(200);
    DateTime::parse_from_rfc3339(&reply.str("now"))
        .expect("an RFC 3339 time")
        .to_utc()
}

/// Moves the test clock and waits for every policy to catch up.
async fn advance(api: &Api, seconds: i64) {
    api.post("/v1/test-clock/advance", json!({"seconds": seconds}))
        .await
        .assert_status(200);
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// A Pro trial of 3 seats at `started`, and 2 seats added an hour later. Returns the
/// subscription id, the trial's start time and the positions the two commands answered.
async fn three_then_five_seats(api: &Api, account: &str) -> (String, DateTime<Utc>, [i64; 2]) {
    let started_at = now(api).await;
    let started = api
        .post(
            "/v1/subscriptions",
            json!({"account_id": account, "plan_id": "pro", "seats": 3}),
        )
        .await;
    started.assert_status(201);
    let id = started.str("aggregate_id");
    advance(api, 3600).await;
    let added = api
        .post(
            &format!("/v1/subscriptions/{id}/add-seats"),
            json!({"count": 2}),
        )
        .await;
    added.assert_status(200);
    let positions = [&started, &added].map(|r| r.body["position"].as_i64().unwrap());
    (id, started_at, positions)
}

fn state_path(kind: &str, id: &str, query: &str) -> String {
    format!("/v1/audit/streams/{kind}/{id}/state?{query}")
}

async fn the_state_as_of_a_version_or_a_time_is_the_earlier_state(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &["--test-clock"]);
    let api = Api::admin(&server.base_url);
    let (id, started_at, [trial_position, _]) = three_then_five_seats(&api, "acct_asof").await;
    let state = |query: String| {
        let (api, id) = (&api, &id);
        async move { api.get(&state_path("subscription", id, &query)).await }
    };

    let first = state("version=1".into()).await;
    first.assert_status(200);
    let b = &first.body;
    assert_eq!(
        (b["aggregate_type"].as_str(), b["aggregate_id"].as_str()),
        (Some("subscription"), Some(id.as_str()))
    );
    assert_eq!(
        (b["version"].as_i64(), b["position"].as_i64()),
        (Some(1), Some(trial_position))
    );
    assert_eq!(b["as_of"].as_str(), Some(rfc3339(started_at).as_str()));
    assert_eq!(b["state"]["state"]["seats"], 3);

    let half_an_hour_in = rfc3339(started_at + Duration::minutes(30));
    let by_time = state(format!("at={half_an_hour_in}")).await;
    by_time.assert_status(200);
    assert_eq!(by_time.body, first.body, "the same prefix, by time");

    let latest = state(format!("at={}", rfc3339(now(&api).await))).await;
    latest.assert_status(200);
    assert!(latest.body["version"].as_i64().unwrap() >= 2);
    assert_eq!(latest.body["state"]["state"]["seats"], 5);
    let second = state("version=2".into()).await;
    assert_eq!(second.body["state"]["state"]["seats"], 5);

    let before = rfc3339(started_at - Duration::seconds(1));
    state(format!("at={before}"))
        .await
        .assert_problem(404, "not_found");
    state("version=1000".into())
        .await
        .assert_problem(404, "not_found");
}

async fn the_global_log_pages_through_every_event_once(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &["--test-clock"]);
    let api = Api::admin(&server.base_url);
    let mut commanded = BTreeSet::new();
    for account in ["acct_log_a", "acct_log_b"] {
        let (_, _, positions) = three_then_five_seats(&api, account).await;
        commanded.extend(positions);
    }
    advance(&api, 0).await;

    let mut paged = Vec::new();
    let mut after = 0;
    loop {
        let page = api
            .get(&format!("/v1/audit/events?after={after}&limit=5"))
            .await;
        page.assert_status(200);
        let items = page.body["items"].as_array().unwrap();
        assert!(items.len() <= 5);
        paged.extend(items.iter().map(|e| e["position"].as_i64().unwrap()));
        match page.body["next_cursor"].as_i64() {
            Some(next) => after = next,
            None => break,
        }
    }
    let unique: BTreeSet<i64> = paged.iter().copied().collect();
    assert_eq!(
        unique.len(),
        paged.len(),
        "a position came twice: {paged:?}"
    );
    assert!(
        commanded.is_subset(&unique),
        "{commanded:?} not all in {paged:?}"
    );
    let whole = api.get("/v1/audit/events?limit=1000").await;
    let all: Vec<i64> = whole.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["position"].as_i64().unwrap())
        .collect();
    assert_eq!(paged, all, "pages of 5 are the log in one read");
    let first = &whole.body["items"][0];
    for field in [
        "aggregate_type",
        "aggregate_id",
        "event_type",
        "event_version",
    ] {
        assert!(first[field].is_string(), "{field} in {first}");
    }
    assert!(first["metadata"]["event_id"].is_string());

    let missing = all.iter().max().unwrap() + 1000;
    for query in [
        format!("after={missing}"),
        "after=-1".into(),
        "limit=0".into(),
        "limit=1001".into(),
    ] {
        api.get(&format!("/v1/audit/events?{query}"))
            .await
            .assert_problem(422, "validation_failed");
    }
}

async fn bad_audit_reads_are_problem_json(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &["--test-clock"]);
    let api = Api::admin(&server.base_url);
    let (id, started_at, _) = three_then_five_seats(&api, "acct_bad").await;
    let at = rfc3339(started_at);
    for query in [
        format!("version=1&at={at}"),
        String::new(),
        "at=yesterday".into(),
        "at=2026-13-01T00:00:00Z".into(),
        "version=0".into(),
        "version=-3".into(),
    ] {
        api.get(&state_path("subscription", &id, &query))
            .await
            .assert_problem(422, "validation_failed");
    }
    api.get(&state_path("subscription", &id, "version=two"))
        .await
        .assert_problem(400, "invalid_request");
    api.get(&state_path("account", &id, "version=1"))
        .await
        .assert_problem(404, "not_found");
    api.get(&state_path("invoice", &id, "version=1"))
        .await
        .assert_problem(404, "not_found");

    let key = api
        .post(
            "/v1/admin/api-keys",
            json!({"role": "account", "account_id": "acct_bad"}),
        )
        .await;
    key.assert_status(201);
    let account = Api::with_key(&server.base_url, Some(&key.str("secret")));
    account
        .get(&state_path("subscription", &id, "version=1"))
        .await
        .assert_problem(403, "forbidden");
    account
        .get("/v1/audit/events")
        .await
        .assert_problem(403, "forbidden");
}

fn audit_stream(db: &TestDatabase, args: &[&str]) -> std::process::Output {
    ledgerline()
        .args(["audit", "stream", "--database-url", &db.url])
        .args(args)
        .output()
        .expect("ledgerline runs")
}

async fn the_audit_stream_command_prints_the_history_in_order(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &["--test-clock"]);
    let api = Api::admin(&server.base_url);
    let (id, started_at, positions) = three_then_five_seats(&api, "acct_cli").await;
    let stream = api
        .get(&format!("/v1/audit/streams/subscription/{id}"))
        .await;
    let events = stream.body["items"].as_array().unwrap().clone();

    let output = audit_stream(&db, &["subscription", &id]);
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), events.len(), "{text}");
    for (line, event) in lines.iter().zip(&events) {
        let expected = format!(
            "  #{}  @{}  {} v",
            event["sequence"],
            event["position"],
            event["event_type"].as_str().unwrap()
        );
        assert!(line.contains(&expected), "{line:?} lacks {expected:?}");
        assert!(line.contains(&format!(
            "actor={}",
            event["metadata"]["actor"].as_str().unwrap()
        )));
        let cause = event["metadata"]["causation_id"].as_str().unwrap();
        assert!(line.contains(&format!("cause={cause}")), "{line}");
    }
    assert!(
        lines[0].contains("command=StartTrial") && lines[0].contains("seats=3"),
        "{text}"
    );
    assert!(
        lines[1].contains("command=AddSeats") && lines[1].contains(&format!("@{}", positions[1]))
    );

    let half_an_hour_in = rfc3339(started_at + Duration::minutes(30));
    let output = audit_stream(&db, &["subscription", &id, "--at", &half_an_hour_in]);
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    let (history, state) = text.split_once("\nstate as of ").expect("a state section");
    assert_eq!(history.lines().count(), 1, "{text}");
    let json_start = state.find('{').expect("the state as JSON");
    let state: Value = serde_json::from_str(&state[json_start..]).expect("pretty JSON");
    assert_eq!(state["state"]["seats"], 3);

    for (args, says) in [
        (vec!["account", id.as_str()], "unknown aggregate type"),
        (vec!["subscription", "no-such-id"], "no events"),
    ] {
        let output = audit_stream(&db, &args);
        assert!(!output.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}

/// Appends, as raw SQL the way an older build stored it, `PaymentFailed` 1.0 (the decline code
/// in `code`) as sequence 2 of invoice `id`; returns its position.
async fn insert_v1_failure(db: &TestDatabase, id: &str, at: DateTime<Utc>) -> i64 {
    let payload = json!({"PaymentFailed": {
        "attempt": 1, "reason": "Your card was declined.", "code": "card_declined",
        "payment_ref": null, "hard_decline": false,
        "amount_due": {"amount": 3800, "currency": "usd"}, "at": rfc3339(at),
    }});
    let metadata = json!({
        "event_id": "6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b", "recorded_at": rfc3339(at),
        "actor": "system:legacy_import", "command": "RecordPaymentFailure",
        "correlation_id": "legacy-1", "causation_id": "legacy-1",
    });
    let columns =
        "aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata";
    let position = match db.backend {
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
            sqlx::query_scalar(&format!(
                "INSERT INTO events ({columns})
                 VALUES ('invoice', $1, 2, 'PaymentFailed', '1.0', $2, $3) RETURNING position"
            ))
            .bind(id)
            .bind(&payload)
            .bind(&metadata)
            .fetch_one(&pool)
            .await
        }
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
            sqlx::query_scalar(&format!(
                "INSERT INTO events ({columns})
                 VALUES ('invoice', ?, 2, 'PaymentFailed', '1.0', ?, ?) RETURNING position"
            ))
            .bind(id)
            .bind(&payload)
            .bind(&metadata)
            .fetch_one(&pool)
            .await
        }
    };
    position.expect("the v1 row is inserted")
}

async fn a_stored_v1_payment_failure_reads_as_v2_but_is_audited_as_stored(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &["--test-clock"]);
    let api = Api::admin(&server.base_url);
    let issued = api
        .post(
            "/v1/invoices",
            json!({"account_id": "acct_v1", "currency": "usd",
                   "lines": [{"description": "Onboarding", "quantity": 2, "unit_amount": 1900}]}),
        )
        .await;
    issued.assert_status(201);
    let id = issued.str("aggregate_id");
    advance(&api, 0).await;
    let stream = format!("/v1/audit/streams/invoice/{id}");
    assert_eq!(
        api.get(&stream).await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let position = insert_v1_failure(&db, &id, now(&api).await).await;

    let past = api.get(&state_path("invoice", &id, "version=2")).await;
    past.assert_status(200);
    assert_eq!(past.body["position"], position);
    assert_eq!(past.body["state"]["issued"]["status"], "past_due");
    assert_eq!(past.body["state"]["issued"]["attempts"], 1);

    let read = api
        .get(&format!("/v1/invoices/{id}?min_position={position}"))
        .await;
    read.assert_status(200);
    assert_eq!(
        (read.body["status"].as_str(), read.body["attempts"].as_i64()),
        (Some("past_due"), Some(1))
    );

    let stored = api.get(&stream).await;
    let failure = &stored.body["items"][1];
    assert_eq!(failure["event_version"], "1.0");
    assert_eq!(failure["payload"]["PaymentFailed"]["code"], "card_declined");

    let output = audit_stream(&db, &["invoice", &id]);
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.contains("PaymentFailed v1.0 (read as v2.0)")
            && text.contains("decline_code=card_declined"),
        "{text}"
    );
}

infrastructure::on_both_backends!(
    the_state_as_of_a_version_or_a_time_is_the_earlier_state,
    the_global_log_pages_through_every_event_once,
    bad_audit_reads_are_problem_json,
    the_audit_stream_command_prints_the_history_in_order,
    a_stored_v1_payment_failure_reads_as_v2_but_is_audited_as_stored,
);

//! The public event catalog (SPEC 9.1) over HTTP, on both backends: a few accounts live through
//! a trial, activation, a seat change, usage up to a limit, refunds, a credit note, voids, a recovered and an
//! exhausted dunning case, and the catalog tells every one of its types, in log order, with the
//! resource exactly as `GET` renders it; `GET /v1/events` pages, filters and keeps account keys
//! to their own account; a rebuild gives the same bytes. The run also writes `docs/events.md`
//! (with `LEDGERLINE_WRITE_EVENT_DOCS=1`), and the committed file must name every type.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use infrastructure::testing::{Backend, TestDatabase};
use projections::integration_events::{EventType, API_VERSION};
use serde_json::{json, Value};
use support::{workspace_root, Api, Server, ADMIN_KEY};

const DAY: i64 = 24 * 60 * 60;

/// When each type is sent, one line each from SPEC 9.1's table, in catalog order.
const WHEN: [(&str, &str); 21] = [
    ("subscription.created", "A trial started (`TrialStarted`)."),
    (
        "subscription.activated",
        "The subscription was activated (`SubscriptionActivated`), also when a trial with a \
         billing account expires.",
    ),
    (
        "subscription.updated",
        "Seats, overage billing, a plan change (now or scheduled), `cancel_at_period_end`, a \
         renewal or a reactivation changed the subscription.",
    ),
    (
        "subscription.past_due",
        "The subscription was marked past due (`MarkedPastDue`): dunning started.",
    ),
    (
        "subscription.cancelled",
        "The subscription was cancelled (`SubscriptionCancelled`); `cancellation_reason` says why.",
    ),
    (
        "subscription.trial_will_end",
        "3 days before the trial ends (a timer).",
    ),
    (
        "invoice.issued",
        "The invoice was issued (`InvoiceIssued`).",
    ),
    (
        "invoice.paid",
        "The invoice was paid in full (`InvoicePaid`).",
    ),
    (
        "invoice.payment_failed",
        "A payment attempt failed (`PaymentFailed`).",
    ),
    (
        "invoice.refunded",
        "Part or all of the invoice was refunded (`InvoiceRefunded`).",
    ),
    (
        "invoice.voided",
        "The invoice was voided (`InvoiceVoided`).",
    ),
    (
        "invoice.uncollectible",
        "The invoice was written off as uncollectible (`InvoiceMarkedUncollectible`).",
    ),
    (
        "credit_note.created",
        "A credit note was issued on the paid invoice (`CreditNoteIssued`): money refunded, or \
         given to the account's credit balance (a `customer_balance.updated` follows). The \
         object is the invoice after it.",
    ),
    (
        "entitlements.updated",
        "The account's entitlements were enabled, recalculated, suspended, restored or revoked.",
    ),
    (
        "usage.limit_reached",
        "The first usage record of a period that reaches a metered limit.",
    ),
    (
        "dunning_case.opened",
        "A dunning case was opened (`DunningStarted`).",
    ),
    (
        "dunning_case.escalated",
        "The dunning case was escalated to support (`DunningEscalated`).",
    ),
    (
        "dunning_case.recovered",
        "The dunning case recovered: the invoice was paid (`DunningRecovered`).",
    ),
    (
        "dunning_case.closed",
        "The dunning case ended without recovering: cancelled when exhausted, resolved by \
         support, or closed with its subscription; the object's `status` says which.",
    ),
    (
        "webhook_endpoint.disabled",
        "Every delivery to a webhook endpoint failed for three days, so it was disabled \
         (`WebhookEndpointDisabled`). It is about no account: `account_id` is `null`.",
    ),
    (
        "customer_balance.updated",
        "The account's credit balance moved: an admin's adjustment (`BalanceAdjusted`), a \
         credit from a credit note or a downgrade (`BalanceCredited`), or a payment of an \
         invoice from the balance (`BalanceApplied`). The object is the balance after it, \
         without its transactions (`GET /v1/accounts/{account_id}/balance` lists them).",
    ),
];

// ---------------------------------------------------------------------------------------------
// Driving the server

async fn advance(api: &Api, body: Value) -> i64 {
    let reply = api.post("/v1/test-clock/advance", body).await;
    reply.assert_status(200);
    reply.body["position"].as_i64().expect("a position")
}

async fn get(api: &Api, path: &str) -> Value {
    let reply = api.get(path).await;
    reply.assert_status(200);
    reply.body
}

async fn post(api: &Api, path: &str, body: Value) -> Value {
    let reply = api.post(path, body).await;
    assert!(matches!(reply.status, 200 | 201), "POST {path}: {reply:?}");
    reply.body
}

/// A starter subscription for `account`; activated (first invoice paid with a good card) unless
/// `trial`. Returns its id.
async fn subscribe(api: &Api, account: &str, trial: bool) -> String {
    let body = json!({"account_id": account, "plan_id": "starter",
                      "billing_email": "billing@example.com", "payment_method": "pm_card_visa"});
    let id = post(api, "/v1/subscriptions", body).await["aggregate_id"]
        .as_str()
        .expect("an id")
        .to_owned();
    if !trial {
        post(api, &format!("/v1/subscriptions/{id}/activate"), json!({})).await;
    }
    id
}

async fn attach(api: &Api, subscription: &str, card: &str) {
    let body = json!({"email": "billing@example.com", "payment_method": card});
    let path = format!("/v1/subscriptions/{subscription}/attach-billing-account");
    post(api, &path, body).await;
}

async fn manual_invoice(api: &Api, account: &str) -> String {
    let body = json!({"account_id": account, "currency": "usd",
                      "lines": [{"description": "Onboarding", "quantity": 1, "unit_amount": 900}]});
    post(api, "/v1/invoices", body).await["aggregate_id"]
        .as_str()
        .expect("an id")
        .to_owned()
}

async fn record_usage(api: &Api, account: &str, quantity: u64, usage_id: &str) {
    let body = json!({"feature": "projects", "quantity": quantity, "usage_id": usage_id});
    post(api, &format!("/v1/accounts/{account}/usage"), body).await;
}

async fn field(api: &Api, path: &str, name: &str) -> Value {
    get(api, path).await[name].clone()
}

/// Every event `query` lists, paged `limit` at a time through `next_cursor`.
async fn events(api: &Api, query: &str, limit: u32) -> Vec<Value> {
    let mut all = Vec::new();
    let mut after = 0_i64;
    loop {
        let page = get(
            api,
            &format!("/v1/events?limit={limit}&after={after}{query}"),
        )
        .await;
        let items = page["items"].as_array().expect("items");
        assert!(items.len() <= limit as usize, "{page}");
        all.extend(items.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(cursor) => {
                assert!(!items.is_empty(), "a cursor after an empty page: {page}");
                after = cursor.parse().expect("a position cursor");
            }
            None => return all,
        }
    }
}

fn kind(event: &Value) -> &str {
    event["type"].as_str().expect("a type")
}

fn of_type<'a>(events: &'a [Value], name: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| kind(e) == name).collect()
}

// ---------------------------------------------------------------------------------------------
// The scenario

/// The accounts and resources a run created, with the clock's position at its end.
struct Run {
    /// Activated, usage to the limit, a refund, a credit note, a void, a decline recovered with
    /// a new card.
    recovered: (&'static str, String),
    /// A trial with a card that expires into an activation.
    trial: (&'static str, String),
    /// Activated, then a decline that dunning escalates, suspends and cancels on day 30.
    exhausted: (&'static str, String),
    /// A webhook endpoint whose destination refuses every delivery: disabled after 3 days.
    endpoint: String,
    head: i64,
}

async fn run_every_kind_of_change(api: &Api) -> Run {
    let a = "acct_evt_recovered";
    let b = "acct_evt_trial";
    let c = "acct_evt_exhausted";
    let endpoint = subscribe_refusing_endpoint(api).await;
    let sub_a = subscribe(api, a, false).await;
    let sub_b = subscribe(api, b, true).await;
    let sub_c = subscribe(api, c, false).await;
    advance(api, json!({"seconds": 0})).await;

    post(
        api,
        &format!("/v1/subscriptions/{sub_a}/add-seats"),
        json!({"count": 2}),
    )
    .await;
    // 4 + 6 reaches the starter plan's 10 projects; the 11th is over it and not told again.
    record_usage(api, a, 4, "u1").await;
    record_usage(api, a, 6, "u2").await;
    record_usage(api, a, 1, "u3").await;
    let first = get(api, &format!("/v1/accounts/{a}/invoices?limit=1")).await["items"][0].clone();
    assert_eq!(first["status"], "paid", "{first}");
    let first = first["id"].as_str().expect("an id").to_owned();
    post(
        api,
        &format!("/v1/invoices/{first}/refund"),
        json!({"amount": 500, "reason": "goodwill"}),
    )
    .await;
    post(
        api,
        &format!("/v1/invoices/{first}/credit-notes"),
        json!({"amount": 200, "reason": "seats billed twice", "outcome": "credit_balance"}),
    )
    .await;
    let voided = manual_invoice(api, a).await;
    post(api, &format!("/v1/invoices/{voided}/void"), json!({})).await;
    attach(api, &sub_a, "pm_card_chargeDeclined").await;
    attach(api, &sub_c, "pm_card_chargeDeclined").await;
    for (amount, reason) in [(300, "goodwill for the outage"), (-100, "corrected")] {
        post(
            api,
            &format!("/v1/accounts/{a}/balance/adjust"),
            json!({"amount": amount, "currency": "usd", "reason": reason}),
        )
        .await;
    }

    // The trial's warning, three days before its end, and not before.
    let trial_end = field(api, &format!("/v1/subscriptions/{sub_b}"), "trial_ends_at").await;
    let trial_end = chrono::DateTime::parse_from_rfc3339(trial_end.as_str().expect("a trial end"))
        .expect("RFC 3339");
    let warning = trial_end - chrono::Duration::days(3);
    let before = advance(
        api,
        json!({"to": (warning - chrono::Duration::seconds(1)).to_rfc3339()}),
    )
    .await;
    let so_far = events(api, &format!("&min_position={before}"), 100).await;
    assert!(
        of_type(&so_far, "subscription.trial_will_end").is_empty(),
        "warned early"
    );
    advance(api, json!({"to": warning.to_rfc3339()})).await;
    advance(api, json!({"to": trial_end.to_rfc3339()})).await;
    assert_eq!(
        field(api, &format!("/v1/subscriptions/{sub_b}"), "status").await,
        "active"
    );

    // Both renewals are declined: two cases open.
    let mut ends = Vec::new();
    for sub in [&sub_a, &sub_c] {
        ends.push(
            field(
                api,
                &format!("/v1/subscriptions/{sub}"),
                "current_period_end",
            )
            .await,
        );
    }
    let last_end = ends.iter().map(|e| e.as_str().expect("a period end")).max();
    advance(api, json!({"to": last_end})).await;
    for sub in [&sub_a, &sub_c] {
        assert_eq!(
            field(api, &format!("/v1/subscriptions/{sub}"), "status").await,
            "past_due"
        );
    }
    // A new card recovers the first at once.
    attach(api, &sub_a, "pm_card_visa").await;
    advance(api, json!({"seconds": 0})).await;
    assert_eq!(
        field(api, &format!("/v1/subscriptions/{sub_a}"), "status").await,
        "active"
    );
    // The second fails its four retries (escalated on day 7), is suspended on day 14 and
    // cancelled on day 30.
    advance(api, json!({"seconds": 30 * DAY})).await;
    assert_eq!(
        field(api, &format!("/v1/subscriptions/{sub_c}"), "status").await,
        "cancelled"
    );
    // The endpoint failed every delivery since the start: the next failing round disables it.
    let disabled = wait_for_disabled(api, &endpoint).await;
    let head = advance(api, json!({"seconds": 0})).await.max(disabled);
    Run {
        recovered: (a, sub_a),
        trial: (b, sub_b),
        exhausted: (c, sub_c),
        endpoint,
        head,
    }
}

/// A webhook endpoint for every type, at a loopback port nobody listens on. Returns its id.
async fn subscribe_refusing_endpoint(api: &Api) -> String {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let port = closed.local_addr().expect("an address").port();
    drop(closed);
    let body = json!({"url": format!("http://127.0.0.1:{port}/hooks"), "enabled_events": ["*"]});
    post(api, "/v1/webhook-endpoints", body).await["id"]
        .as_str()
        .expect("an id")
        .to_owned()
}

/// Waits (bounded) until the catalog tells that `endpoint` was disabled; answers its position.
async fn wait_for_disabled(api: &Api, endpoint: &str) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let told = events(api, "&types=webhook_endpoint.disabled", 100).await;
        if let Some(event) = told.iter().find(|e| e["data"]["object"]["id"] == endpoint) {
            return event["position"].as_i64().expect("a position");
        }
        assert!(
            Instant::now() < deadline,
            "{endpoint} never disabled: {:#}",
            get(api, &format!("/v1/webhook-endpoints/{endpoint}")).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// What the catalog must say about it

/// Every type appears; positions strictly increase; ids are `evt_…` and unique; every event
/// carries the catalog's version and an account.
fn assert_every_type_in_log_order(all: &[Value]) {
    let told: BTreeSet<&str> = all.iter().map(kind).collect();
    let missing: Vec<&str> = EventType::ALL
        .iter()
        .map(|t| t.as_str())
        .filter(|t| !told.contains(t))
        .collect();
    assert!(missing.is_empty(), "never told: {missing:?}");
    let mut ids = BTreeSet::new();
    let mut last = 0;
    for event in all {
        let position = event["position"].as_i64().expect("a position");
        assert!(position > last, "{position} after {last}: {event:#}");
        last = position;
        let id = event["id"].as_str().expect("an id");
        assert!(
            id.strip_prefix("evt_").is_some_and(|rest| !rest.is_empty()),
            "{id}"
        );
        assert!(ids.insert(id.to_owned()), "{id} twice");
        assert_eq!(event["api_version"], API_VERSION, "{event:#}");
        assert_eq!(API_VERSION, "2026-12-01");
        if kind(event) == "webhook_endpoint.disabled" {
            assert!(event["account_id"].is_null(), "{event:#}");
        } else {
            assert!(event["account_id"].is_string(), "{event:#}");
        }
        assert!(event["data"]["object"].is_object(), "{event:#}");
        chrono::DateTime::parse_from_rfc3339(event["created_at"].as_str().expect("created_at"))
            .expect("RFC 3339 created_at");
    }
}

/// The object of the last event about each resource equals what `GET` answers for it now.
async fn assert_last_objects_are_the_rest_resources(api: &Api, all: &[Value], run: &Run) {
    let mut last: BTreeMap<String, &Value> = BTreeMap::new();
    for event in all {
        let object = &event["data"]["object"];
        let path = match kind(event).split('.').next() {
            Some("subscription") => format!("/v1/subscriptions/{}", object["id"].as_str().unwrap()),
            Some("invoice" | "credit_note") => {
                format!("/v1/invoices/{}", object["id"].as_str().unwrap())
            }
            Some("dunning_case") => {
                format!("/v1/dunning-cases/{}", object["id"].as_str().unwrap())
            }
            Some("entitlements") => {
                format!(
                    "/v1/accounts/{}/features",
                    event["account_id"].as_str().unwrap()
                )
            }
            Some("webhook_endpoint") => {
                format!("/v1/webhook-endpoints/{}", object["id"].as_str().unwrap())
            }
            Some("customer_balance") => {
                format!(
                    "/v1/accounts/{}/balance",
                    event["account_id"].as_str().unwrap()
                )
            }
            _ => continue, // usage.limit_reached tells one feature, not a whole resource
        };
        last.insert(path, object);
    }
    // Usage after the last entitlements event changes the features without telling it.
    last.remove(&format!("/v1/accounts/{}/features", run.recovered.0));
    let kinds: BTreeSet<&str> = last
        .keys()
        .map(|path| path.split('/').nth(2).unwrap())
        .collect();
    assert_eq!(
        kinds,
        BTreeSet::from([
            "accounts",
            "dunning-cases",
            "invoices",
            "subscriptions",
            "webhook-endpoints"
        ])
    );
    for (path, object) in last {
        let mut rendered = get(api, &path).await;
        let mut object = object.clone();
        if path.starts_with("/v1/dunning-cases/") {
            // Decided by the clock, which moved since.
            rendered["next_retry_at"] = Value::Null;
            object["next_retry_at"] = Value::Null;
        }
        if path.ends_with("/balance") {
            // The balance as it stands; its transactions are a list the object does not carry.
            rendered.as_object_mut().unwrap().remove("transactions");
        }
        if path.starts_with("/v1/invoices/") && object["number"].is_null() {
            // Assigned by the numbering policy after the invoice's last event: the objects of
            // its later events carry it, none tells the assignment itself (docs/billing.md).
            assert!(rendered["number"].is_string(), "{rendered:#}");
            rendered["number"] = Value::Null;
        }
        assert_eq!(object, rendered, "GET {path}");
    }
}

/// The seat change tells the old seat count; the limit is reached once, at 10 of 10.
fn assert_changes_are_told_with_their_old_values(all: &[Value], run: &Run) {
    let (account, subscription) = &run.recovered;
    let seats: Vec<&Value> = of_type(all, "subscription.updated")
        .into_iter()
        .filter(|e| e["data"]["object"]["id"] == json!(subscription))
        .filter(|e| e["data"]["object"]["seats"] == 3)
        .collect();
    let added = seats.first().expect("the seats change");
    assert_eq!(
        added["data"]["previous_attributes"]["seats"], 1,
        "{added:#}"
    );
    let reached = of_type(all, "usage.limit_reached");
    assert_eq!(reached.len(), 1, "{reached:#?}");
    let access = &reached[0]["data"]["object"];
    assert_eq!(reached[0]["account_id"], *account);
    assert_eq!(
        (&access["feature"], &access["used"], &access["limit"]),
        (&json!("projects"), &json!(10), &json!(10))
    );
    let cancelled = of_type(all, "subscription.cancelled");
    assert_eq!(cancelled.len(), 1, "{cancelled:#?}");
    let object = &cancelled[0]["data"]["object"];
    assert_eq!(object["id"], json!(run.exhausted.1));
    assert_eq!(object["cancellation_reason"], "dunning_exhausted");
    let warned = of_type(all, "subscription.trial_will_end");
    assert_eq!(warned.len(), 1, "{warned:#?}");
    assert_eq!(warned[0]["data"]["object"]["id"], json!(run.trial.1));
    let disabled = of_type(all, "webhook_endpoint.disabled");
    assert_eq!(
        disabled.len(),
        1,
        "once, though later rounds fail too: {disabled:#?}"
    );
    let object = &disabled[0]["data"]["object"];
    assert_eq!(object["id"], json!(run.endpoint));
    assert_eq!(
        (&object["status"], &object["disabled_reason"]),
        (&json!("disabled"), &json!("failing"))
    );
}

/// The full body of `GET path`, as bytes.
async fn raw(server: &Server, path: &str) -> String {
    let response = reqwest::Client::new()
        .get(server.url(path))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .expect("the server answers");
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.expect("a body")
}

/// Every page of the catalog, as bytes.
async fn raw_pages(server: &Server, head: i64) -> Vec<String> {
    let mut pages = Vec::new();
    let mut after = 0_i64;
    loop {
        let path = format!("/v1/events?limit=100&after={after}&min_position={head}");
        let text = raw(server, &path).await;
        let page: Value = serde_json::from_str(&text).expect("JSON");
        pages.push(text);
        match page["next_cursor"].as_str() {
            Some(cursor) => after = cursor.parse().expect("a position cursor"),
            None => return pages,
        }
    }
}

/// Rebuilds the catalog from the log and waits (bounded) until it is live again.
async fn rebuild_events(api: &Api) {
    let rebuild = api
        .post(
            "/v1/admin/projections/integration_events/rebuild",
            json!({}),
        )
        .await;
    rebuild.assert_status(202);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let list = get(api, "/v1/admin/projections").await;
        let item = list["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|item| item["name"] == "integration_events")
            .expect("integration_events is listed")
            .clone();
        assert_ne!(item["status"], "failed", "{item:#}");
        if item["status"] != "rebuilding" {
            return;
        }
        assert!(Instant::now() < deadline, "never rebuilt: {item:#}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn every_type_is_told_in_log_order_as_the_rest_api_renders_it(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &["--test-clock", "--webhook-allow-private"]);
    let api = Api::admin(&server.base_url);
    let run = run_every_kind_of_change(&api).await;
    let all = events(&api, &format!("&min_position={}", run.head), 100).await;

    assert_every_type_in_log_order(&all);
    assert_last_objects_are_the_rest_resources(&api, &all, &run).await;
    assert_changes_are_told_with_their_old_values(&all, &run);
    if backend == Backend::Sqlite && std::env::var_os("LEDGERLINE_WRITE_EVENT_DOCS").is_some() {
        write_docs(&all);
    }

    let before = raw_pages(&server, run.head).await;
    rebuild_events(&api).await;
    let after = raw_pages(&server, run.head).await;
    assert_eq!(before, after, "the rebuilt catalog differs");
}

// ---------------------------------------------------------------------------------------------
// Paging, filters and who sees what

async fn pages_filter_and_keep_account_keys_to_their_account(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &["--test-clock", "--webhook-allow-private"]);
    let api = Api::admin(&server.base_url);
    let (mine, theirs) = ("acct_evt_mine", "acct_evt_theirs");
    for account in [mine, theirs] {
        let subscription = subscribe(&api, account, false).await;
        post(
            &api,
            &format!("/v1/subscriptions/{subscription}/add-seats"),
            json!({"count": 1}),
        )
        .await;
        manual_invoice(&api, account).await;
    }
    let head = advance(&api, json!({"seconds": 0})).await;
    let fresh = format!("&min_position={head}");

    let all = events(&api, &fresh, 100).await;
    let one_page = get(&api, &format!("/v1/events?limit=100{fresh}")).await;
    assert_eq!(one_page["next_cursor"], Value::Null, "{one_page:#}");
    assert_eq!(one_page["items"].as_array().unwrap(), &all);
    assert!(all.len() > 4, "{all:#?}");
    assert_eq!(events(&api, &fresh, 2).await, all, "paged by 2");

    let invoices = events(
        &api,
        &format!("{fresh}&types=invoice.paid,invoice.issued"),
        2,
    )
    .await;
    let expected: Vec<Value> = all
        .iter()
        .filter(|e| matches!(kind(e), "invoice.paid" | "invoice.issued"))
        .cloned()
        .collect();
    assert!(
        of_type(&expected, "invoice.paid").len() >= 2,
        "{expected:#?}"
    );
    assert!(
        of_type(&expected, "invoice.issued").len() >= 4,
        "{expected:#?}"
    );
    assert_eq!(invoices, expected);

    let of_mine: Vec<Value> = all
        .iter()
        .filter(|e| e["account_id"] == mine)
        .cloned()
        .collect();
    assert!(!of_mine.is_empty() && of_mine.len() < all.len());
    let filtered = events(&api, &format!("{fresh}&account_id={mine}"), 3).await;
    assert_eq!(filtered, of_mine);

    let secret = api
        .post(
            "/v1/admin/api-keys",
            json!({"role": "account", "account_id": mine}),
        )
        .await
        .str("secret");
    let own = Api::with_key(&server.base_url, Some(&secret));
    assert_eq!(events(&own, &fresh, 100).await, of_mine, "no account_id");
    let asked = events(&own, &format!("{fresh}&account_id={mine}"), 100).await;
    assert_eq!(asked, of_mine, "its own account_id");
    own.get(&format!("/v1/events?account_id={theirs}"))
        .await
        .assert_problem(404, "not_found");

    for role in ["service", "support"] {
        let secret = api
            .post("/v1/admin/api-keys", json!({"role": role}))
            .await
            .str("secret");
        let reader = Api::with_key(&server.base_url, Some(&secret));
        assert_eq!(events(&reader, &fresh, 100).await, all, "{role} reads all");
    }
    let beyond = all.last().unwrap()["position"].as_i64().unwrap();
    let empty = get(&api, &format!("/v1/events?after={beyond}")).await;
    assert_eq!(empty, json!({"items": [], "next_cursor": null}));
    for bad in ["limit=0", "limit=101", "after=-1"] {
        api.get(&format!("/v1/events?{bad}"))
            .await
            .assert_problem(422, "validation_failed");
    }
    api.get("/v1/events?types=nope")
        .await
        .assert_problem(422, "validation_failed");
    api.get("/v1/events?types=invoice.paid,nope")
        .await
        .assert_problem(422, "validation_failed");
}

/// An account id is the product's own (a UUID is welcome), so it can equal a subscription's id:
/// a client that mixed up its ids does it. The account's entitlements then share their stream id
/// with that subscription, and the catalog must still keep the two resources apart.
async fn an_account_named_like_a_subscription_is_told_apart(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &["--test-clock", "--webhook-allow-private"]);
    let api = Api::admin(&server.base_url);
    let first = subscribe(&api, "acct_evt_first", false).await;
    let second = subscribe(&api, &first, true).await;
    post(
        &api,
        &format!("/v1/subscriptions/{first}/add-seats"),
        json!({"count": 1}),
    )
    .await;
    let head = advance(&api, json!({"seconds": 0})).await;

    let told = events(
        &api,
        &format!("&min_position={head}&account_id={first}"),
        100,
    )
    .await;
    let kinds: Vec<&str> = told.iter().map(kind).collect();
    assert_eq!(
        kinds,
        ["subscription.created", "entitlements.updated"],
        "{told:#?}"
    );
    assert_eq!(told[0]["data"]["object"]["id"], json!(second));
    let features = get(&api, &format!("/v1/accounts/{first}/features")).await;
    assert_eq!(told[1]["data"]["object"], features);

    let all = events(&api, &format!("&min_position={head}"), 100).await;
    let updated = of_type(&all, "subscription.updated");
    let added = updated.last().expect("the seats change");
    assert_eq!(added["data"]["object"]["id"], json!(first));
    assert_eq!(
        added["data"]["previous_attributes"]["seats"], 1,
        "{added:#}"
    );
    let subscription = get(&api, &format!("/v1/subscriptions/{first}")).await;
    assert_eq!(added["data"]["object"], subscription);
}

infrastructure::on_both_backends!(
    an_account_named_like_a_subscription_is_told_apart,
    every_type_is_told_in_log_order_as_the_rest_api_renders_it,
    pages_filter_and_keep_account_keys_to_their_account,
);

// ---------------------------------------------------------------------------------------------
// docs/events.md

fn docs_path() -> std::path::PathBuf {
    workspace_root().join("docs").join("events.md")
}

const INTRO: &str = "# Integration events

<!-- Written by tests/tests/events.rs from a real run: LEDGERLINE_WRITE_EVENT_DOCS=1 cargo test -p blackbox-tests --test events -->

Integration events are Ledgerline's public contract (SPEC 9.1): one event per domain event that
matters, derived from the event log in log order and kept forever. Webhooks deliver them and
`GET /v1/events?after=&limit=&types=a,b&account_id=&min_position=` pages them.

Every event has the same envelope:

```json
{\"id\": \"evt_…\", \"type\": \"invoice.paid\", \"api_version\": \"2026-12-01\",
 \"created_at\": \"RFC 3339\", \"position\": 123, \"account_id\": \"acct_…\",
 \"data\": {\"object\": {…}, \"previous_attributes\": {…}}}
```

- `api_version` is the version of these shapes, `2026-12-01`. A change that breaks a receiver
  comes with a new version.
- `id` is `evt_` followed by the id of the domain event that caused it. It never changes, even
  when the catalog is rebuilt from the log, so a receiver deduplicates by it.
- `position` is the event's global position in the log. Events are listed in `position` order;
  pass the last `position` (or `next_cursor`) as `after` to read on. An account's events never
  arrive out of order.
- `data.object` is the resource exactly as the REST API renders it at that position: the
  subscription (`GET /v1/subscriptions/{id}`), the invoice (`GET /v1/invoices/{id}`), the account's
  features (`GET /v1/accounts/{account_id}/features`), the dunning case
  (`GET /v1/dunning-cases/{id}`), the webhook endpoint (`GET /v1/webhook-endpoints/{id}`), the
  account's credit balance (`GET /v1/accounts/{account_id}/balance` without its transactions);
  `usage.limit_reached` carries the one feature's access.
- `account_id` is the account the event is about; it is `null` for an event about no account
  (`webhook_endpoint.disabled`), which an account key therefore never lists.
- `data.previous_attributes`, when present, lists the top-level fields of `object` that changed
  since the last event about the same resource, with their old values (as Stripe does).

The examples below come from one run of the test suite.
";

/// The catalog's documentation: the intro, then each type in catalog order with when it is sent
/// and an example from `all` (one that tells previous attributes, when there is one).
fn write_docs(all: &[Value]) {
    let mut text = INTRO.to_owned();
    for (name, when) in WHEN {
        let told = of_type(all, name);
        let example = told
            .iter()
            .find(|e| e["data"].get("previous_attributes").is_some())
            .or(told.first())
            .unwrap_or_else(|| panic!("no {name} to show"));
        let pretty = serde_json::to_string_pretty(example).expect("JSON");
        text.push_str(&format!(
            "\n## {name}\n\n{when}\n\n```json\n{pretty}\n```\n"
        ));
    }
    // Written whole and renamed over, so the headings test running beside it never reads half.
    let partial = docs_path().with_extension("md.partial");
    std::fs::write(&partial, text).expect("docs/events.md is written");
    std::fs::rename(&partial, docs_path()).expect("docs/events.md is replaced");
}

#[test]
fn the_committed_docs_name_every_type_in_catalog_order() {
    let names: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
    let documented: Vec<&str> = WHEN.iter().map(|(name, _)| *name).collect();
    assert_eq!(documented, names, "WHEN follows the catalog");
    let docs = std::fs::read_to_string(docs_path()).expect("docs/events.md exists");
    let headings: Vec<&str> = docs
        .lines()
        .filter_map(|line| line.strip_prefix("## "))
        .collect();
    assert_eq!(headings, names, "docs/events.md's headings");
}

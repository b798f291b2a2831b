//! Usage billed in arrears (SPEC 11.1), end to end on both backends through the real binary and
//! its test clock. `pro` prices `api_calls` graduated: 50,000 included, the next 25,000 at 0.05
//! minor units, the rest at 0.03. A month of 150,000 calls renews with a usage line of 3,500; a
//! late record for an invoiced month becomes an adjustment on the next invoice; a cancellation
//! bills its last month's usage on a final invoice; the timeline shows each bill.

mod support;

use chrono::{DateTime, Duration, Utc};
use infrastructure::testing::{Backend, TestDatabase};
use serde_json::{json, Value};
use support::client::line_of;
use support::clock::{advance_to, settle, time};
use support::{Api, Server};

const ACCOUNT: &str = "acct_metered";

/// A `pro` subscription paying by card, activated now, its first invoice paid.
async fn pro_activated(api: &Api) -> String {
    let id = api.activated(ACCOUNT, "pro", "pm_card_visa", false).await;
    settle(api).await;
    id
}

async fn period_end(api: &Api, subscription: &str) -> DateTime<Utc> {
    let reply = api.get(&format!("/v1/subscriptions/{subscription}")).await;
    reply.assert_status(200);
    time(&reply.body["current_period_end"])
}

async fn record(api: &Api, quantity: u64, usage_id: &str, at: Option<DateTime<Utc>>) -> Value {
    let mut body = json!({"feature": "api_calls", "quantity": quantity, "usage_id": usage_id});
    if let Some(at) = at {
        body["timestamp"] = json!(at.to_rfc3339());
    }
    let reply = api
        .post(&format!("/v1/accounts/{ACCOUNT}/usage"), body)
        .await;
    reply.assert_status(200);
    reply.body
}

/// `(kind, amount)` of each line of `invoice`.
fn kinds_and_amounts(invoice: &Value) -> Vec<(String, i64)> {
    invoice["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|line| {
            let kind = line["kind"].as_str().expect("a kind").to_owned();
            (kind, line["amount"].as_i64().expect("an amount"))
        })
        .collect()
}

async fn usage_is_billed_in_arrears_late_usage_is_adjusted_and_a_cancellation_bills_the_rest(
    backend: Backend,
) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &["--test-clock"]);
    let api = Api::admin(&server.base_url);
    let id = pro_activated(&api).await;
    let march_end = period_end(&api, &id).await;

    // 150,000 calls: over pro's limit of 100,000, so refused from then on, but all billed.
    let recorded = record(&api, 150_000, "batch-1", None).await;
    let feature = format!(
        "/v1/accounts/{ACCOUNT}/features/api_calls?min_position={}",
        recorded["position"]
    );
    let view = api.get(&feature).await.body;
    assert_eq!(
        (&view["used"], &view["cost_so_far"], &view["currency"]),
        (&json!(150_000), &json!(3_500), &json!("usd")),
        "{view}"
    );
    let summary = api
        .get(&format!("/v1/accounts/{ACCOUNT}/summary"))
        .await
        .body;
    assert_eq!(
        summary["usage"],
        json!([{"feature": "api_calls", "used": 150_000, "cost_so_far": 3_500, "currency": "usd"}])
    );

    advance_to(&api, march_end).await;
    let renewal = &api.invoices(ACCOUNT).await[0];
    assert_eq!(
        kinds_and_amounts(renewal),
        vec![("base".into(), 4_900), ("usage".into(), 3_500)],
        "{renewal}"
    );
    assert_eq!(
        (&renewal["total"], &renewal["status"]),
        (&json!(8_400), &json!("paid"))
    );
    let usage = &line_of(renewal, "usage")["usage"];
    assert_eq!(
        (&usage["quantity"], &usage["included"]),
        (&json!(150_000), &json!(50_000))
    );
    let tiers: Vec<(Value, Value)> = usage["tiers"]
        .as_array()
        .expect("tiers")
        .iter()
        .map(|tier| (tier["units"].clone(), tier["unit_amount"].clone()))
        .collect();
    assert_eq!(
        tiers,
        vec![
            (json!(25_000), json!("0.05")),
            (json!(75_000), json!("0.03"))
        ]
    );

    // 10,000 calls that happened an hour before March ended, reported after its invoice.
    record(&api, 10_000, "late-1", Some(march_end - Duration::hours(1))).await;
    let view = api
        .get(&format!("/v1/accounts/{ACCOUNT}/features/api_calls"))
        .await
        .body;
    assert_eq!(
        view["used"], 0,
        "late usage does not count against April: {view}"
    );
    let too_old = json!({"feature": "api_calls", "quantity": 1, "usage_id": "ancient",
                         "timestamp": (march_end - Duration::days(62)).to_rfc3339()});
    let refused = api
        .post(&format!("/v1/accounts/{ACCOUNT}/usage"), too_old)
        .await;
    refused.assert_problem(422, "validation_failed");
    assert_eq!(refused.body["field"], "timestamp", "{:?}", refused.body);
    let garbled = json!({"feature": "api_calls", "quantity": 1, "usage_id": "garbled",
                         "timestamp": "yesterday"});
    api.post(&format!("/v1/accounts/{ACCOUNT}/usage"), garbled)
        .await
        .assert_problem(400, "invalid_request");
    let view = api
        .get(&format!("/v1/accounts/{ACCOUNT}/features/api_calls"))
        .await
        .body;
    assert_eq!(view["used"], 0, "neither refused record counted: {view}");

    let april_end = period_end(&api, &id).await;
    advance_to(&api, april_end).await;
    let next = &api.invoices(ACCOUNT).await[0];
    assert_eq!(
        kinds_and_amounts(next),
        vec![("base".into(), 4_900), ("usage_adjustment".into(), 300)],
        "10,000 late calls at 0.03: {next}"
    );
    let adjustment = &line_of(next, "usage_adjustment")["usage"];
    assert_eq!(
        (&adjustment["previously_billed"], &adjustment["quantity"]),
        (&json!(150_000), &json!(160_000))
    );

    // May: 60,000 calls, then an immediate cancellation bills them on a final invoice.
    record(&api, 60_000, "batch-2", None).await;
    let cancel = json!({"at_period_end": false, "reason": "moving on"});
    api.post(&format!("/v1/subscriptions/{id}/cancel"), cancel)
        .await
        .assert_status(200);
    settle(&api).await;
    let all = api.invoices(ACCOUNT).await;
    assert_eq!(
        all.len(),
        4,
        "activation, two renewals and the final invoice: {all:?}"
    );
    assert_eq!(
        kinds_and_amounts(&all[0]),
        vec![("usage".into(), 500)],
        "10,000 calls beyond the 50,000 included, at 0.05"
    );

    let timeline = api
        .get(&format!("/v1/accounts/{ACCOUNT}/timeline?limit=100"))
        .await
        .body;
    let kinds: Vec<&str> = timeline["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|entry| entry["kind"].as_str())
        .filter(|kind| kind.contains("usage"))
        .collect();
    assert_eq!(
        kinds,
        vec![
            "usage_billed",
            "late_usage_recorded",
            "usage_billed",
            "usage_billed"
        ]
    );
}

infrastructure::on_both_backends!(
    usage_is_billed_in_arrears_late_usage_is_adjusted_and_a_cancellation_bills_the_rest
);

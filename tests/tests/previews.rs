//! Previews equal the real thing (SPEC 11.2), through the real binary on both backends: the
//! upcoming invoice taken an hour before a renewal is, line by line, the renewal invoice that
//! follows (base, overage, prorated seats, usage, a late usage adjustment), and a plan change's
//! preview is the proration invoice the change issues. Previews record nothing.

mod support;

use chrono::Duration;
use infrastructure::testing::{Backend, TestDatabase};
use serde_json::{json, Value};
use support::clock::{advance_to, settle, time};
use support::{Api, Server};

const ACCOUNT: &str = "acct_preview";

/// A starter subscription billing overage seats, paying by card, activated now.
async fn starter_activated(api: &Api) -> String {
    let id = api
        .activated(ACCOUNT, "starter", "pm_card_visa", true)
        .await;
    settle(api).await;
    id
}

async fn record(api: &Api, quantity: u64, usage_id: &str, timestamp: Option<String>) {
    let mut body = json!({"feature": "api_calls", "quantity": quantity, "usage_id": usage_id});
    if let Some(timestamp) = timestamp {
        body["timestamp"] = json!(timestamp);
    }
    api.post(&format!("/v1/accounts/{ACCOUNT}/usage"), body)
        .await
        .assert_status(200);
}

async fn upcoming(api: &Api, id: &str) -> Value {
    let reply = api
        .get(&format!("/v1/subscriptions/{id}/upcoming-invoice"))
        .await;
    reply.assert_status(200);
    reply.body
}

async fn stream_length(api: &Api, id: &str) -> usize {
    api.event_types("subscription", id).await.len()
}

/// Takes the upcoming invoice an hour before the period ends, lets the period end, and checks
/// that the renewal invoice is the preview, line by line.
async fn renews_as_previewed(api: &Api, id: &str) -> Value {
    let subscription = api.get(&format!("/v1/subscriptions/{id}")).await.body;
    let end = time(&subscription["current_period_end"]);
    advance_to(api, end - Duration::hours(1)).await;
    let preview = upcoming(api, id).await;
    assert_eq!(time(&preview["issued_at"]), end);
    advance_to(api, end).await;
    let renewal = api.invoices(ACCOUNT).await.remove(0);
    assert_eq!(
        preview["lines"], renewal["lines"],
        "preview {preview}\nactual {renewal}"
    );
    assert_eq!(preview["total"], renewal["total"]);
    assert_eq!(preview["currency"], renewal["currency"]);
    renewal
}

fn kinds(invoice: &Value) -> Vec<&str> {
    invoice["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|line| line["kind"].as_str().expect("a kind"))
        .collect()
}

async fn the_upcoming_invoice_is_the_renewal_and_a_change_preview_is_its_proration(
    backend: Backend,
) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &["--test-clock"]);
    let api = Api::admin(&server.base_url);
    let id = starter_activated(&api).await;

    // Seven seats (two beyond starter's five, prorated now) and 12,000 calls this month.
    api.post(
        &format!("/v1/subscriptions/{id}/add-seats"),
        json!({"count": 6}),
    )
    .await
    .assert_status(200);
    record(&api, 12_000, "march-1", None).await;
    let before = stream_length(&api, &id).await;
    let first = renews_as_previewed(&api, &id).await;
    assert_eq!(kinds(&first), vec!["base", "overage", "proration", "usage"]);

    // Late usage for the month just invoiced, and this month's usage.
    let march_end = time(&first["issued_at"]);
    let late = (march_end - Duration::minutes(1)).to_rfc3339();
    record(&api, 3_000, "march-late", Some(late)).await;
    record(&api, 6_000, "april-1", None).await;
    let second = renews_as_previewed(&api, &id).await;
    assert_eq!(
        kinds(&second),
        vec!["base", "overage", "usage_adjustment", "usage"]
    );
    assert!(
        stream_length(&api, &id).await > before,
        "the renewals were recorded"
    );

    // An upgrade to pro now: the preview is the proration invoice the change issues.
    let length = stream_length(&api, &id).await;
    let change = json!({"plan_id": "pro"});
    let path = format!("/v1/subscriptions/{id}/change-plan/preview");
    let preview = api.post(&path, change.clone()).await;
    preview.assert_status(200);
    assert_eq!(preview.body["effective"], "now");
    assert_eq!(
        stream_length(&api, &id).await,
        length,
        "a preview records nothing"
    );
    api.post(&format!("/v1/subscriptions/{id}/change-plan"), change)
        .await
        .assert_status(200);
    settle(&api).await;
    let proration = api.invoices(ACCOUNT).await.remove(0);
    assert_eq!(kinds(&proration), vec!["proration"]);
    assert_eq!(preview.body["invoice"]["lines"], proration["lines"]);
    assert_eq!(preview.body["invoice"]["total"], proration["total"]);

    // A downgrade waits for the period end, and its preview says when.
    let downgrade = api.post(&path, json!({"plan_id": "starter"})).await;
    downgrade.assert_status(200);
    assert_eq!(downgrade.body["effective"], "period_end");
    assert_eq!(downgrade.body["invoice"], Value::Null);
    let subscription = api.get(&format!("/v1/subscriptions/{id}")).await.body;
    assert_eq!(subscription["plan_id"], "pro");
    assert_eq!(
        downgrade.body["effective_at"],
        subscription["current_period_end"]
    );
    assert_eq!(
        subscription["scheduled_change"],
        Value::Null,
        "{subscription}"
    );

    // Bad input changes nothing and is answered as the change would be.
    let unknown = api.post(&path, json!({"plan_id": "platinum"})).await;
    assert!(unknown.status >= 400 && unknown.status < 500, "{unknown:?}");
    let nobody = "00000000-0000-4000-8000-000000000000";
    api.get(&format!("/v1/subscriptions/{nobody}/upcoming-invoice"))
        .await
        .assert_problem(404, "not_found");
}

infrastructure::on_both_backends!(
    the_upcoming_invoice_is_the_renewal_and_a_change_preview_is_its_proration
);

//! Credit applied before any charge (SPEC 11.4), through the real binary on both backends: an
//! invoice the customer balance covers is paid without touching the gateway, and one it covers
//! in part is charged only for the rest (the first scenario's card always declines, so any
//! charge of what the balance covered would show as a failed payment). A downgrade with
//! `effective: "now"` credits the unused part of the old plan, which the next renewal spends.

mod support;

use infrastructure::testing::{Backend, TestDatabase};
use serde_json::{json, Value};
use support::clock::{advance_to, settle, time};
use support::{Api, Server};

const ACCOUNT: &str = "acct_credit";

async fn balance(api: &Api) -> Value {
    let reply = api.get(&format!("/v1/accounts/{ACCOUNT}/balance")).await;
    reply.assert_status(200);
    reply.body
}

async fn credit_pays_before_the_card(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &["--test-clock"]);
    let api = Api::admin(&server.base_url);
    let goodwill = json!({"amount": 3000, "currency": "usd", "reason": "Outage in March"});
    api.post(&format!("/v1/accounts/{ACCOUNT}/balance/adjust"), goodwill)
        .await
        .assert_status(200);

    // The activation invoice (1900) is paid from the balance: the declining card is not asked.
    let id = api
        .activated(ACCOUNT, "starter", "pm_card_chargeDeclined", false)
        .await;
    settle(&api).await;
    let activation = api.invoices(ACCOUNT).await.remove(0);
    assert_eq!(activation["status"], "paid", "{activation}");
    assert_eq!(activation["amount_paid"], 1900);
    assert_eq!(activation["attempts"], 0, "the gateway was not asked");
    let after_activation = balance(&api).await;
    assert_eq!(after_activation["balance"]["amount"], 1100);
    let kinds: Vec<&str> = after_activation["transactions"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item["kind"].as_str().expect("a kind"))
        .collect();
    assert_eq!(kinds, vec!["adjustment", "invoice_payment"]);
    let summary = api
        .get(&format!("/v1/accounts/{ACCOUNT}/summary"))
        .await
        .body;
    assert_eq!(summary["in_dunning"], false);
    assert_eq!(
        summary["credit_balance"],
        json!({"amount": 1100, "currency": "usd"})
    );

    // The renewal: the 1100 left pays part, and only the 800 beyond it meets the card.
    let subscription = api.get(&format!("/v1/subscriptions/{id}")).await.body;
    advance_to(&api, time(&subscription["current_period_end"])).await;
    let renewal = api.invoices(ACCOUNT).await.remove(0);
    assert_eq!(renewal["total"], 1900);
    assert_eq!(renewal["amount_paid"], 1100, "{renewal}");
    assert_eq!(renewal["status"], "past_due", "the card declined the rest");
    let summary = api
        .get(&format!("/v1/accounts/{ACCOUNT}/summary"))
        .await
        .body;
    assert_eq!(summary["balance_due"]["amount"], 800, "{summary}");
    assert_eq!(summary["in_dunning"], true);
    assert_eq!(balance(&api).await["balance"]["amount"], 0);

    let report = api.post("/v1/admin/audit/verify", json!({})).await;
    report.assert_status(200);
    assert_eq!(report.body["mismatches"], 0, "{:#}", report.body);
    server.terminate();
}

async fn a_downgrade_now_credits_the_balance_and_the_renewal_spends_it(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &["--test-clock"]);
    let api = Api::admin(&server.base_url);
    let id = api.activated(ACCOUNT, "pro", "pm_card_visa", false).await;
    settle(&api).await;
    let subscription = api.get(&format!("/v1/subscriptions/{id}")).await.body;
    let (start, end) = (
        time(&subscription["current_period_start"]),
        time(&subscription["current_period_end"]),
    );
    advance_to(&api, start + (end - start) / 2).await;

    let change = json!({"plan_id": "starter", "effective": "now"});
    let preview = api
        .post(
            &format!("/v1/subscriptions/{id}/change-plan/preview"),
            change.clone(),
        )
        .await;
    preview.assert_status(200);
    assert_eq!(preview.body["effective"], "now");
    let credit = preview.body["credit"].as_i64().expect("a credit");
    // About half of the 3000 between pro (4900) and starter (1900).
    assert!((1400..=1600).contains(&credit), "{credit}");
    let changed = api
        .post(&format!("/v1/subscriptions/{id}/change-plan"), change)
        .await;
    changed.assert_status(200);
    assert_eq!(changed.body["object"]["plan_id"], "starter");
    assert_eq!(changed.body["object"]["scheduled_change"], Value::Null);
    settle(&api).await;
    let credited = balance(&api).await;
    assert_eq!(credited["balance"]["amount"], credit, "{credited}");
    assert_eq!(credited["transactions"]["items"][0]["kind"], "credit");
    let analytics = api
        .get(&format!("/v1/accounts/{ACCOUNT}/features/analytics"))
        .await;
    assert_eq!(
        analytics.body["allowed"], false,
        "starter has no analytics now"
    );

    // The starter renewal (1900) takes the whole credit first, the card the rest, as the
    // upcoming invoice says.
    let upcoming = api
        .get(&format!("/v1/subscriptions/{id}/upcoming-invoice"))
        .await
        .body;
    assert_eq!(upcoming["credit_applied"], credit, "{upcoming}");
    assert_eq!(upcoming["amount_due"], 1900 - credit);
    advance_to(&api, end).await;
    let renewal = api.invoices(ACCOUNT).await.remove(0);
    assert_eq!(renewal["total"], 1900);
    assert_eq!(renewal["status"], "paid");
    assert_eq!(
        renewal["attempts"], 1,
        "the card paid what the credit did not"
    );
    assert_eq!(balance(&api).await["balance"]["amount"], 0);
    let report = api.post("/v1/admin/audit/verify", json!({})).await;
    assert_eq!(report.body["mismatches"], 0, "{:#}", report.body);
    server.terminate();
}

infrastructure::on_both_backends!(
    credit_pays_before_the_card,
    a_downgrade_now_credits_the_balance_and_the_renewal_spends_it,
);

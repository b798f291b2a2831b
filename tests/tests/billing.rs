//! Billing end to end on both backends, through the real binary and its test clock: an
//! activation and a renewal are invoiced and charged (overage seats included), an upgrade is
//! prorated by SPEC's formula, a downgrade that would remove a committed feature needs
//! confirmation and waits for the period end, usage over the limit refuses the feature (and is
//! idempotent by `usage_id`), and a cancellation voids the open invoice.

mod support;

use infrastructure::testing::{Backend, TestDatabase};
use serde_json::{json, Value};
use support::client::line_of;
use support::clock::{advance_to, now, settle, time};
use support::{Api, Server};

/// A starter subscription paying with `card`, activated, with its invoices settled.
async fn activated(api: &Api, account: &str, card: &str, overage: bool) -> String {
    let id = api.activated(account, "starter", card, overage).await;
    settle(api).await;
    id
}

async fn subscription(api: &Api, id: &str) -> Value {
    let reply = api.get(&format!("/v1/subscriptions/{id}")).await;
    reply.assert_status(200);
    reply.body
}

async fn an_activation_and_a_renewal_are_invoiced_and_paid(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &["--test-clock"]);
    let api = Api::admin(&server.base_url);
    let id = activated(&api, "acct_renew", "pm_card_visa", true).await;

    let first = api.invoices("acct_renew").await;
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(
        (
            &first[0]["status"],
            &first[0]["total"],
            &first[0]["currency"]
        ),
        (&json!("paid"), &json!(1900), &json!("usd"))
    );
    assert_eq!(first[0]["subscription_id"], json!(id));

    api.post(
        &format!("/v1/subscriptions/{id}/add-seats"),
        json!({"count": 6}),
    )
    .await
    .assert_status(200);
    let period_end = time(&subscription(&api, &id).await["current_period_end"]);
    advance_to(&api, period_end).await;

    let all = api.invoices("acct_renew").await;
    assert_eq!(all.len(), 2, "one renewal invoice: {all:?}");
    let renewal = &all[0];
    assert_eq!(renewal["status"], "paid");
    assert_eq!(line_of(renewal, "base")["amount"], 1900);
    let overage = line_of(renewal, "overage");
    assert_eq!(
        (
            &overage["quantity"],
            &overage["unit_amount"],
            &overage["amount"]
        ),
        (&json!(2), &json!(500), &json!(1000)),
        "7 seats on starter: 2 beyond the 5 included"
    );
    let lines_total: i64 = renewal["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| line["amount"].as_i64().unwrap())
        .sum();
    assert_eq!(renewal["total"], lines_total);
    assert_eq!(renewal["amount_paid"], lines_total);
}

async fn an_upgrade_is_prorated_and_a_downgrade_waits_for_the_period_end(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &["--test-clock"]);
    let api = Api::admin(&server.base_url);
    let id = activated(&api, "acct_change", "pm_card_visa", false).await;
    let sub = subscription(&api, &id).await;
    let (start, end) = (
        time(&sub["current_period_start"]),
        time(&sub["current_period_end"]),
    );
    advance_to(&api, start + (end - start) / 2).await;

    let change = format!("/v1/subscriptions/{id}/change-plan");
    api.post(&change, json!({"plan_id": "pro"}))
        .await
        .assert_status(200);
    settle(&api).await;
    let remaining = (end - now(&api).await).num_seconds();
    let period = (end - start).num_seconds();
    // (4900 − 1900) × remaining / period, rounded half up.
    let expected = (3000 * remaining * 2 + period) / (2 * period);
    let proration = &api.invoices("acct_change").await[0];
    assert_eq!(proration["total"], expected, "{proration}");
    assert_eq!(proration["status"], "paid");
    assert_eq!(line_of(proration, "proration")["amount"], expected);

    // A commitment protects analytics; released, usage this period protects it as well.
    let commitments = "/v1/accounts/acct_change/commitments";
    api.post(commitments, json!({"feature": "analytics"}))
        .await
        .assert_status(200);
    api.post(&change, json!({"plan_id": "starter"}))
        .await
        .assert_problem(409, "rule_violation");
    api.delete(&format!("{commitments}/analytics"))
        .await
        .assert_status(200);
    let usage = json!({"feature": "analytics", "quantity": 1, "usage_id": "u_analytics"});
    api.post("/v1/accounts/acct_change/usage", usage)
        .await
        .assert_status(200);
    let refused = api.post(&change, json!({"plan_id": "starter"})).await;
    refused.assert_problem(409, "rule_violation");
    assert_eq!(refused.body["rule"], "committed_features_would_be_removed");
    assert_eq!(subscription(&api, &id).await["plan_id"], "pro", "unchanged");

    let confirmed = json!({"plan_id": "starter", "confirm_feature_removal": true});
    api.post(&change, confirmed).await.assert_status(200);
    let scheduled = subscription(&api, &id).await;
    assert_eq!(scheduled["plan_id"], "pro", "until the period end");
    assert_eq!(scheduled["scheduled_change"]["plan_id"], "starter");
    assert_eq!(time(&scheduled["scheduled_change"]["effective_at"]), end);

    advance_to(&api, end).await;
    assert_eq!(subscription(&api, &id).await["plan_id"], "starter");
}

async fn usage_over_the_limit_refuses_the_feature_and_a_cancellation_voids(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &["--test-clock"]);
    let api = Api::admin(&server.base_url);
    let id = activated(&api, "acct_usage", "pm_card_chargeDeclined", false).await;
    assert_eq!(
        api.invoices("acct_usage").await[0]["status"],
        "past_due",
        "the declined activation invoice stays open"
    );

    let usage = "/v1/accounts/acct_usage/usage";
    let six = json!({"feature": "projects", "quantity": 6, "usage_id": "u_1"});
    let first = api.post(usage, six.clone()).await;
    first.assert_status(200);
    let again = api.post(usage, six).await;
    again.assert_status(200);
    assert_eq!(again.body["version"], first.body["version"], "counted once");
    let feature = |position: &Value| {
        format!("/v1/accounts/acct_usage/features/projects?min_position={position}")
    };
    let view = api.get(&feature(&first.body["position"])).await;
    assert_eq!(
        (&view.body["allowed"], &view.body["used"]),
        (&json!(true), &json!(6))
    );

    let four = json!({"feature": "projects", "quantity": 4, "usage_id": "u_2"});
    let reached = api.post(usage, four).await;
    reached.assert_status(200);
    let view = api.get(&feature(&reached.body["position"])).await;
    assert_eq!(
        (
            &view.body["allowed"],
            &view.body["reason"],
            &view.body["used"]
        ),
        (&json!(false), &json!("limit_reached"), &json!(10)),
        "{view:?}"
    );

    let cancel = json!({"at_period_end": false, "reason": "customer_request"});
    api.post(&format!("/v1/subscriptions/{id}/cancel"), cancel)
        .await
        .assert_status(200);
    settle(&api).await;
    assert_eq!(api.invoices("acct_usage").await[0]["status"], "void");
}

async fn bad_usage_and_commitment_requests_change_nothing(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &["--test-clock"]);
    let api = Api::admin(&server.base_url);
    activated(&api, "acct_bad", "pm_card_visa", false).await;
    let usage = "/v1/accounts/acct_bad/usage";
    let unknown = json!({"feature": "projects", "quantity": 1, "usage_id": "u", "extra": 1});
    api.post(usage, unknown)
        .await
        .assert_problem(400, "invalid_request");
    let negative = json!({"feature": "projects", "quantity": -1, "usage_id": "u"});
    api.post(usage, negative)
        .await
        .assert_problem(400, "invalid_request");
    let no_feature = json!({"feature": "", "quantity": 1, "usage_id": "u"});
    api.post(usage, no_feature)
        .await
        .assert_problem(422, "validation_failed");
    let one = json!({"feature": "projects", "quantity": 1, "usage_id": "u"});
    api.post("/v1/accounts/not%20an%20id/usage", one.clone())
        .await
        .assert_problem(404, "not_found");
    api.post("/v1/accounts/acct_nobody/usage", one)
        .await
        .assert_problem(404, "not_found");
    api.post("/v1/accounts/acct_bad/commitments", json!({}))
        .await
        .assert_problem(400, "invalid_request");

    let view = api.get("/v1/accounts/acct_bad/features/projects").await;
    assert_eq!(view.body["used"], 0, "nothing was recorded: {view:?}");
}

infrastructure::on_both_backends!(
    bad_usage_and_commitment_requests_change_nothing,
    an_activation_and_a_renewal_are_invoiced_and_paid,
    an_upgrade_is_prorated_and_a_downgrade_waits_for_the_period_end,
    usage_over_the_limit_refuses_the_feature_and_a_cancellation_voids
);

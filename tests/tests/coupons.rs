//! Coupons and discounts (SPEC 11.3), through the real binary on both backends with the test
//! clock: a repeating coupon discounts exactly its periods, and each discounted renewal is the
//! upcoming invoice previewed before it; the last redemption of a coupon goes to one of ten
//! racing requests; an amount off never takes an invoice below zero; bad input records nothing.
//! Every scenario ends with `audit verify` at 0 mismatches.

mod support;

use std::sync::Arc;

use chrono::Duration;
use infrastructure::testing::{Backend, TestDatabase};
use serde_json::{json, Value};
use support::client::{line_of, Reply};
use support::clock::{advance_to, settle, time};
use support::{Api, Server};
use tokio::task::JoinSet;

async fn create_coupon(api: &Api, body: Value) -> Value {
    let reply = api.post("/v1/coupons", body).await;
    reply.assert_status(201);
    reply.body["object"].clone()
}

async fn apply(api: &Api, subscription: &str, coupon: &str) -> Reply {
    let path = format!("/v1/subscriptions/{subscription}/apply-coupon");
    api.post(&path, json!({"coupon_id": coupon})).await
}

/// Lets the current period end, an hour after taking the upcoming invoice, and checks that the
/// renewal invoice is that preview, discount line included. Answers the renewal invoice.
async fn renew_as_previewed(api: &Api, account: &str, subscription: &str) -> Value {
    let current = api
        .get(&format!("/v1/subscriptions/{subscription}"))
        .await
        .body;
    let end = time(&current["current_period_end"]);
    advance_to(api, end - Duration::hours(1)).await;
    let path = format!("/v1/subscriptions/{subscription}/upcoming-invoice");
    let preview = api.get(&path).await;
    preview.assert_status(200);
    advance_to(api, end).await;
    let renewal = api.invoices(account).await.remove(0);
    assert_eq!(preview.body["lines"], renewal["lines"], "{renewal}");
    assert_eq!(preview.body["total"], renewal["total"]);
    renewal
}

fn has_discount(invoice: &Value) -> bool {
    invoice["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .any(|line| line["kind"] == "discount")
}

async fn verified(api: &Api) {
    let report = api.post("/v1/admin/audit/verify", json!({})).await;
    report.assert_status(200);
    assert_eq!(report.body["mismatches"], 0, "{:#}", report.body);
}

async fn a_repeating_coupon_discounts_exactly_its_periods(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &["--test-clock"]);
    let api = Api::admin(&server.base_url);
    let account = "acct_coupon";
    let coupon = create_coupon(
        &api,
        json!({"id": "QUARTER3", "name": "A quarter off for three months", "percent_off": 25,
               "duration": "repeating", "duration_in_periods": 3}),
    )
    .await;
    assert_eq!(coupon["percent_off"], 25.0);
    assert_eq!(coupon["valid"], true);
    let id = api
        .activated(account, "starter", "pm_card_visa", false)
        .await;
    settle(&api).await;
    let path = format!("/v1/subscriptions/{id}/apply-coupon");
    let applied = api
        .post_once(&path, "apply-1", json!({"coupon_id": "QUARTER3"}))
        .await;
    applied.assert_status(200);
    // A retried request replays: the coupon counts one redemption, not two.
    let replayed = api
        .post_once(&path, "apply-1", json!({"coupon_id": "QUARTER3"}))
        .await;
    assert_eq!(replayed.headers["idempotent-replayed"], "true");
    assert_eq!(
        api.event_types("coupon", "QUARTER3").await,
        vec!["CouponCreated", "CouponRedeemed"]
    );
    assert_eq!(applied.body["object"]["discount"]["coupon_id"], "QUARTER3");
    assert_eq!(applied.body["object"]["discount"]["periods_left"], 3);
    let position = applied.body["position"].as_i64().expect("a position");
    let summary = api
        .get(&format!(
            "/v1/accounts/{account}/summary?min_position={position}"
        ))
        .await;
    assert_eq!(
        summary.body["discount"]["coupon_id"], "QUARTER3",
        "{}",
        summary.body
    );

    for month in 1..=3 {
        let renewal = renew_as_previewed(&api, account, &id).await;
        let discount = line_of(&renewal, "discount");
        // 25 % of the starter plan's 1900.
        assert_eq!(discount["amount"], -475, "renewal {month}: {renewal}");
        assert_eq!(renewal["total"], 1425);
        assert_eq!(renewal["status"], "paid");
    }
    let fourth = renew_as_previewed(&api, account, &id).await;
    assert!(!has_discount(&fourth), "{fourth}");
    assert_eq!(fourth["total"], 1900);
    let discounted = api
        .invoices(account)
        .await
        .iter()
        .filter(|invoice| has_discount(invoice))
        .count();
    assert_eq!(
        discounted, 3,
        "the activation invoice came before the coupon"
    );

    let summary = api.get(&format!("/v1/accounts/{account}/summary")).await;
    assert_eq!(summary.body["discount"], Value::Null);
    let timeline = api
        .get(&format!("/v1/accounts/{account}/timeline?limit=100"))
        .await;
    let kinds: Vec<&str> = timeline.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|entry| entry["kind"].as_str())
        .filter(|kind| kind.starts_with("discount_"))
        .collect();
    assert_eq!(kinds, vec!["discount_applied", "discount_ended"]);
    let listed = api.get("/v1/coupons").await;
    assert_eq!(listed.body["items"][0]["times_redeemed"], 1);
    verified(&api).await;
    server.terminate();
}

async fn the_last_redemption_goes_to_one_of_ten_racing_requests(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &["--test-clock"]);
    let api = Arc::new(Api::admin(&server.base_url));
    create_coupon(
        &api,
        json!({"id": "ONLY-ONE", "amount_off": 500, "currency": "usd", "duration": "forever",
               "max_redemptions": 1}),
    )
    .await;
    let mut subscriptions = Vec::new();
    for n in 0..10 {
        subscriptions.push(api.start_trial(&format!("acct_race_{n}"), "pro").await);
    }
    let mut racing = JoinSet::new();
    for id in subscriptions.clone() {
        let api = api.clone();
        racing.spawn(async move { apply(&api, &id, "ONLY-ONE").await });
    }
    let replies = racing.join_all().await;
    let won = replies.iter().filter(|reply| reply.status == 200).count();
    assert_eq!(won, 1, "{replies:?}");
    for lost in replies.iter().filter(|reply| reply.status != 200) {
        // A loser is refused by the coupon's rule, or by the conflict it kept losing.
        let code = lost.body["code"].as_str().unwrap_or_default();
        assert!(
            matches!(code, "rule_violation" | "concurrency_conflict"),
            "{lost:?}"
        );
    }
    let mut discounted = 0;
    for id in &subscriptions {
        let subscription = api.get(&format!("/v1/subscriptions/{id}")).await.body;
        discounted += usize::from(subscription["discount"] != Value::Null);
    }
    assert_eq!(discounted, 1);
    let coupon = api.get("/v1/coupons/ONLY-ONE").await;
    assert_eq!(coupon.body["times_redeemed"], 1);
    assert_eq!(coupon.body["valid"], false);
    let redemptions = api.event_types("coupon", "ONLY-ONE").await;
    assert_eq!(redemptions, vec!["CouponCreated", "CouponRedeemed"]);
    apply(&api, &subscriptions[0], "ONLY-ONE")
        .await
        .assert_problem(409, "rule_violation");
    verified(&api).await;
    server.terminate();
}

async fn an_amount_off_stops_at_zero_and_discounts_an_upgrade(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &["--test-clock"]);
    let api = Api::admin(&server.base_url);
    let account = "acct_amount_off";
    create_coupon(
        &api,
        json!({"id": "BIG", "amount_off": 5000, "currency": "usd", "duration": "forever",
               "applies_to_plans": ["starter", "pro"]}),
    )
    .await;
    // Applied in the trial: the activation invoice is discounted to zero, paid at issue.
    let id = api.start_trial(account, "starter").await;
    apply(&api, &id, "BIG").await.assert_status(200);
    let billing = json!({"email": "billing@example.com", "payment_method": "pm_card_visa"});
    api.post(
        &format!("/v1/subscriptions/{id}/attach-billing-account"),
        billing,
    )
    .await
    .assert_status(200);
    api.post(&format!("/v1/subscriptions/{id}/activate"), json!({}))
        .await
        .assert_status(200);
    settle(&api).await;
    let activation = api.invoices(account).await.remove(0);
    assert_eq!(line_of(&activation, "discount")["amount"], -1900);
    assert_eq!(
        (&activation["total"], &activation["status"]),
        (&json!(0), &json!("paid"))
    );

    // An upgrade's proration invoice is discounted the same way.
    api.post(
        &format!("/v1/subscriptions/{id}/change-plan"),
        json!({"plan_id": "pro"}),
    )
    .await
    .assert_status(200);
    settle(&api).await;
    let proration = api.invoices(account).await.remove(0);
    assert_eq!(line_of(&proration, "proration")["kind"], "proration");
    assert_eq!(proration["total"], 0, "{proration}");

    // Removed, the next renewal is charged in full.
    let removed = api
        .post(
            &format!("/v1/subscriptions/{id}/remove-discount"),
            json!({}),
        )
        .await;
    removed.assert_status(200);
    assert_eq!(removed.body["object"]["discount"], Value::Null);
    api.post(
        &format!("/v1/subscriptions/{id}/remove-discount"),
        json!({}),
    )
    .await
    .assert_problem(409, "rule_violation");
    let renewal = renew_as_previewed(&api, account, &id).await;
    assert!(!has_discount(&renewal));
    assert_eq!(renewal["total"], 4900);
    verified(&api).await;
    server.terminate();
}

async fn bad_coupons_are_refused_and_record_nothing(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &[]);
    let api = Api::admin(&server.base_url);
    let refused = [
        (json!({"id": "X", "duration": "once"}), "percent_off"),
        (
            json!({"id": "X", "percent_off": 10, "amount_off": 100, "currency": "usd",
                   "duration": "once"}),
            "percent_off",
        ),
        (
            json!({"id": "X", "percent_off": 0, "duration": "once"}),
            "percent_off",
        ),
        (
            json!({"id": "X", "percent_off": 100.5, "duration": "once"}),
            "percent_off",
        ),
        (
            json!({"id": "X", "percent_off": 12.345, "duration": "once"}),
            "percent_off",
        ),
        (
            json!({"id": "X", "amount_off": 100, "duration": "once"}),
            "currency",
        ),
        (
            json!({"id": "X", "amount_off": -1, "currency": "usd", "duration": "once"}),
            "amount_off",
        ),
        (
            json!({"id": "X", "percent_off": 10, "duration": "repeating"}),
            "duration_in_periods",
        ),
        (
            json!({"id": "X", "percent_off": 10, "duration": "once", "duration_in_periods": 2}),
            "duration_in_periods",
        ),
        (
            json!({"id": "X", "percent_off": 10, "duration": "once", "max_redemptions": 0}),
            "max_redemptions",
        ),
        (
            json!({"id": "X", "percent_off": 10, "duration": "once",
                   "redeem_by": "2001-01-01T00:00:00Z"}),
            "redeem_by",
        ),
        (
            json!({"id": "X", "percent_off": 10, "duration": "once",
                   "applies_to_plans": ["platinum"]}),
            "applies_to_plans",
        ),
        (
            json!({"id": "no spaces", "percent_off": 10, "duration": "once"}),
            "id",
        ),
    ];
    for (body, field) in refused {
        let reply = api.post("/v1/coupons", body.clone()).await;
        reply.assert_problem(422, "validation_failed");
        assert!(
            reply.body["detail"].to_string().contains(field)
                || reply.body.to_string().contains(field),
            "{body} → {:?}",
            reply.body
        );
    }
    let unknown_duration = json!({"id": "X", "percent_off": 10, "duration": "weekly"});
    let reply = api.post("/v1/coupons", unknown_duration).await;
    assert!(reply.status == 400 || reply.status == 422, "{reply:?}");
    let listed = api.get("/v1/coupons").await;
    assert_eq!(listed.body["items"], json!([]), "nothing was recorded");
    api.get("/v1/coupons/X")
        .await
        .assert_problem(404, "not_found");

    create_coupon(
        &api,
        json!({"id": "ONCE", "percent_off": 12.5, "duration": "once"}),
    )
    .await;
    api.post(
        "/v1/coupons",
        json!({"id": "ONCE", "percent_off": 10, "duration": "once"}),
    )
    .await
    .assert_problem(409, "rule_violation");
    let id = api.start_trial("acct_bad_coupon", "starter").await;
    apply(&api, &id, "NOPE")
        .await
        .assert_problem(404, "not_found");
    apply(&api, &id, "bad id!")
        .await
        .assert_problem(422, "validation_failed");
    let archived = api.post("/v1/coupons/ONCE/archive", json!({})).await;
    archived.assert_status(200);
    assert_eq!(archived.body["object"]["archived"], true);
    apply(&api, &id, "ONCE")
        .await
        .assert_problem(409, "rule_violation");
    let subscription = api.get(&format!("/v1/subscriptions/{id}")).await.body;
    assert_eq!(subscription["discount"], Value::Null);
    assert_eq!(
        api.event_types("coupon", "ONCE").await,
        vec!["CouponCreated", "CouponArchived"]
    );
    server.terminate();
}

infrastructure::on_both_backends!(
    a_repeating_coupon_discounts_exactly_its_periods,
    the_last_redemption_goes_to_one_of_ten_racing_requests,
    an_amount_off_stops_at_zero_and_discounts_an_upgrade,
    bad_coupons_are_refused_and_record_nothing,
);

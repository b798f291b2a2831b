//! `POST /v1/accounts/{account_id}/entitlements/suspend` (SPEC 6), on both backends: admin keys
//! only; refused with 409 before the case's window expires, the window being the case's own
//! (an extended window counts); accepted once it has; a case of another account, an unknown one
//! or a closed one suspends nothing.

mod support;

use infrastructure::testing::{Backend, TestDatabase};
use serde_json::{json, Value};
use support::{Api, Server};

const DAY: i64 = 24 * 60 * 60;

async fn advance(api: &Api, seconds: i64) {
    api.post("/v1/test-clock/advance", json!({"seconds": seconds}))
        .await
        .assert_status(200);
}

/// Opens a dunning case on an active subscription of `account`: a manual invoice whose payment
/// failed, on a card that keeps declining. Returns the case id once the dunning saga opened it.
async fn open_case(admin: &Api, account: &str) -> String {
    let body = json!({"account_id": account, "plan_id": "starter",
                      "billing_email": "billing@example.com", "payment_method": "pm_card_visa"});
    let started = admin.post("/v1/subscriptions", body).await;
    started.assert_status(201);
    let subscription = started.str("aggregate_id");
    let path = format!("/v1/subscriptions/{subscription}");
    admin
        .post(&format!("{path}/activate"), json!({}))
        .await
        .assert_status(200);
    // The first invoice is paid; the card attached now declines every retry of the case.
    advance(admin, 0).await;
    admin
        .post(
            &format!("{path}/attach-billing-account"),
            json!({"email": "billing@example.com", "payment_method": "pm_card_chargeDeclined"}),
        )
        .await
        .assert_status(200);
    let issued = admin
        .post(
            "/v1/invoices",
            json!({"account_id": account, "subscription_id": subscription, "currency": "usd",
                   "lines": [{"description": "Setup", "quantity": 1, "unit_amount": 900}]}),
        )
        .await;
    issued.assert_status(201);
    let invoice = issued.str("aggregate_id");
    admin
        .post(
            &format!("/v1/invoices/{invoice}/record-payment-failure"),
            json!({"reason": "declined", "code": "card_declined"}),
        )
        .await
        .assert_status(200);
    advance(admin, 0).await;
    let summary = admin.get(&format!("/v1/accounts/{account}/summary")).await;
    summary.body["dunning_case_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no dunning case: {summary:?}"))
        .to_owned()
}

async fn suspend(api: &Api, account: &str, case: &str) -> support::client::Reply {
    api.post(
        &format!("/v1/accounts/{account}/entitlements/suspend"),
        json!({"dunning_case_id": case}),
    )
    .await
}

async fn access(admin: &Api, account: &str) -> Value {
    let reply = admin
        .get(&format!("/v1/accounts/{account}/features/projects"))
        .await;
    reply.assert_status(200);
    reply.body
}

async fn only_admins_suspend_and_only_after_the_cases_window(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &["--test-clock"]);
    let admin = Api::admin(&server.base_url);
    let account = "acct_suspend";
    let case = open_case(&admin, account).await;
    let other_case = open_case(&admin, "acct_suspend_other").await;

    for role in ["service", "support"] {
        let created = admin
            .post("/v1/admin/api-keys", json!({"role": role}))
            .await;
        created.assert_status(201);
        let caller = Api::with_key(&server.base_url, Some(&created.str("secret")));
        suspend(&caller, account, &case)
            .await
            .assert_problem(403, "forbidden");
    }

    let refused = suspend(&admin, account, &case).await;
    refused.assert_problem(409, "rule_violation");
    assert!(
        refused.body["detail"]
            .as_str()
            .is_some_and(|detail| detail.contains("window")),
        "{refused:?}"
    );
    // Another account's case, or none at all, is not this account's to suspend for.
    suspend(&admin, account, &other_case)
        .await
        .assert_problem(422, "validation_failed");
    suspend(&admin, account, "0b9f3c70-5d0e-4c1a-9a44-7f4f1d2a9e11")
        .await
        .assert_problem(422, "validation_failed");

    // Support extends the window to day 20: on day 15 the default 14 days have passed, but the
    // case's own window has not.
    let case_path = format!("/v1/dunning-cases/{case}");
    let started = admin.get(&case_path).await.body["started_at"].clone();
    let started = chrono::DateTime::parse_from_rfc3339(started.as_str().expect("started_at"))
        .expect("RFC 3339");
    let until = started + chrono::Duration::days(20);
    admin
        .post(
            &format!("{case_path}/extend-window"),
            json!({"until": until.to_rfc3339()}),
        )
        .await
        .assert_status(200);
    advance(&admin, 15 * DAY).await;
    suspend(&admin, account, &case)
        .await
        .assert_problem(409, "rule_violation");
    assert_eq!(access(&admin, account).await["allowed"], true);

    advance(&admin, 5 * DAY).await;
    let accepted = suspend(&admin, account, &case).await;
    accepted.assert_status(200);
    assert_eq!(accepted.body["aggregate_type"], "entitlements");
    assert_eq!(accepted.body["aggregate_id"], account);
    // The saga's timer at the new window suspended access too: the admin's suspension for the
    // same case is the same state, and the account stays suspended.
    let feature = access(&admin, account).await;
    assert_eq!(
        (&feature["allowed"], &feature["reason"]),
        (&json!(false), &json!("suspended")),
        "{feature}"
    );
}

async fn a_closed_case_suspends_nothing(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &["--test-clock"]);
    let admin = Api::admin(&server.base_url);
    let account = "acct_resolved";
    let case = open_case(&admin, account).await;
    admin
        .post(
            &format!("/v1/dunning-cases/{case}/resolve"),
            json!({"resolution": "settled by bank transfer"}),
        )
        .await
        .assert_status(200);
    advance(&admin, 15 * DAY).await;
    let refused = suspend(&admin, account, &case).await;
    refused.assert_problem(409, "rule_violation");
    assert_eq!(access(&admin, account).await["allowed"], true);
}

infrastructure::on_both_backends!(
    only_admins_suspend_and_only_after_the_cases_window,
    a_closed_case_suspends_nothing,
);

//! What an account key can learn about other accounts (issue #20, L3): another account's
//! invoice or dunning case answers exactly as a random id does, and a `min_position` beyond the
//! head answers like any position not reached yet, so the global event count stays private.

mod support;

use infrastructure::testing::{Backend, TestDatabase};
use serde_json::json;
use support::{Api, Server};

/// The id of the dunning case the payment failure opened (the dunning saga opens it shortly
/// after the failure).
async fn dunning_case(admin: &Api, account: &str) -> String {
    for _ in 0..100 {
        let summary = admin.get(&format!("/v1/accounts/{account}/summary")).await;
        if let Some(case) = summary.body["dunning_case_id"].as_str() {
            return case.to_owned();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no dunning case opened for {account}");
}

async fn another_accounts_resources_look_like_random_ids(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &[]);
    let admin = Api::admin(&server.base_url);
    let subscription = admin.start_trial("acct_other", "starter").await;
    let issued = admin
        .post(
            "/v1/invoices",
            json!({"account_id": "acct_other", "subscription_id": subscription, "currency": "usd",
                   "lines": [{"description": "x", "quantity": 1, "unit_amount": 100}]}),
        )
        .await;
    issued.assert_status(201);
    let invoice = issued.str("aggregate_id");
    let failed = admin
        .post(
            &format!("/v1/invoices/{invoice}/record-payment-failure"),
            json!({"reason": "declined", "code": "card_declined"}),
        )
        .await;
    failed.assert_status(200);
    let position = failed.body["position"].as_i64().expect("a position");
    let case = dunning_case(&admin, "acct_other").await;
    let created = admin
        .post(
            "/v1/admin/api-keys",
            json!({"role": "account", "account_id": "acct_mine"}),
        )
        .await;
    created.assert_status(201);
    let mine = Api::with_key(&server.base_url, Some(&created.str("secret")));

    let random = "0b9f3c70-5d0e-4c1a-9a44-7f4f1d2a9e11";
    for (collection, id) in [("invoices", &invoice), ("dunning-cases", &case)] {
        admin
            .get(&format!("/v1/{collection}/{id}"))
            .await
            .assert_status(200);
        let theirs = mine.get(&format!("/v1/{collection}/{id}")).await;
        let nobodys = mine.get(&format!("/v1/{collection}/{random}")).await;
        theirs.assert_problem(404, "not_found");
        assert_eq!(
            theirs.body, nobodys.body,
            "{collection}: one answer for both"
        );
    }

    // A position the log has reached, and one it has not: the answers tell nothing of the head.
    mine.get(&format!(
        "/v1/accounts/acct_mine/invoices?min_position={position}"
    ))
    .await
    .assert_status(200);
    mine.get(&format!(
        "/v1/accounts/acct_mine/invoices?min_position={}",
        position + 1_000_000
    ))
    .await
    .assert_problem(503, "stale_read");
}

infrastructure::on_both_backends!(another_accounts_resources_look_like_random_ids);

//! Credit notes (SPEC 11.4), through the real binary on both backends: a credit note to the
//! balance makes the next renewal charge less, a `refund` note refunds through the sandbox
//! gateway, neither ever exceeds what is left to credit, and bad input records nothing.

mod support;

use infrastructure::testing::{Backend, TestDatabase};
use serde_json::{json, Value};
use support::clock::{advance_to, settle, time};
use support::{Api, Server};

const ACCOUNT: &str = "acct_credit_note";

async fn credit_note(
    api: &Api,
    invoice: &str,
    amount: i64,
    outcome: &str,
) -> support::client::Reply {
    let body =
        json!({"amount": amount, "reason": "Billed twice for the seats", "outcome": outcome});
    api.post(&format!("/v1/invoices/{invoice}/credit-notes"), body)
        .await
}

async fn balance(api: &Api) -> i64 {
    let reply = api.get(&format!("/v1/accounts/{ACCOUNT}/balance")).await;
    reply.assert_status(200);
    reply.body["balance"]["amount"].as_i64().expect("an amount")
}

async fn credit_notes_refund_or_credit_and_never_exceed_what_was_paid(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &["--test-clock"]);
    let api = Api::admin(&server.base_url);
    let id = api
        .activated(ACCOUNT, "starter", "pm_card_visa", false)
        .await;
    settle(&api).await;
    let invoice = api.invoices(ACCOUNT).await.remove(0);
    let invoice_id = invoice["id"].as_str().expect("an id").to_owned();
    assert_eq!(invoice["status"], "paid");

    // 500 to the balance, credited once by the billing policy.
    credit_note(&api, &invoice_id, 500, "credit_balance")
        .await
        .assert_status(200);
    settle(&api).await;
    assert_eq!(balance(&api).await, 500);

    // 300 back to the card, through the gateway.
    let refunded = credit_note(&api, &invoice_id, 300, "refund").await;
    refunded.assert_status(200);
    assert_eq!(refunded.body["object"]["amount_refunded"], 300);

    // 1900 − 500 − 300 = 1100 is all that is left, to credit or to refund.
    credit_note(&api, &invoice_id, 1101, "credit_balance")
        .await
        .assert_problem(409, "rule_violation");
    let refund = json!({"amount": 1101, "reason": "too much"});
    api.post(&format!("/v1/invoices/{invoice_id}/refund"), refund)
        .await
        .assert_problem(409, "rule_violation");

    // Bad input changes nothing.
    credit_note(&api, &invoice_id, 0, "credit_balance")
        .await
        .assert_problem(422, "validation_failed");
    let odd = json!({"amount": 10, "reason": "x", "outcome": "store_credit"});
    let reply = api
        .post(&format!("/v1/invoices/{invoice_id}/credit-notes"), odd)
        .await;
    assert!(reply.status == 400 || reply.status == 422, "{reply:?}");
    let open = api.issue_manual_invoice(ACCOUNT, "Workshop", 1, 5000).await;
    credit_note(&api, &open, 100, "credit_balance")
        .await
        .assert_problem(409, "rule_violation");
    let kinds: Vec<String> = api.event_types("invoice", &invoice_id).await;
    let notes = kinds
        .iter()
        .filter(|kind| *kind == "CreditNoteIssued")
        .count();
    assert_eq!(notes, 2, "{kinds:?}");
    assert_eq!(balance(&api).await, 500);

    // The renewal spends the credit first: the card pays 1900 − 500.
    let subscription = api.get(&format!("/v1/subscriptions/{id}")).await.body;
    advance_to(&api, time(&subscription["current_period_end"])).await;
    let renewal: Value = api
        .invoices(ACCOUNT)
        .await
        .into_iter()
        .find(|invoice| {
            invoice["subscription_id"] == json!(id) && invoice["id"] != json!(invoice_id)
        })
        .expect("the renewal");
    assert_eq!(
        (&renewal["status"], &renewal["amount_paid"]),
        (&json!("paid"), &json!(1900))
    );
    assert_eq!(balance(&api).await, 0);
    let timeline = api
        .get(&format!("/v1/accounts/{ACCOUNT}/timeline?limit=100"))
        .await;
    let entries = timeline.body["items"].as_array().expect("items");
    let noted = entries
        .iter()
        .filter(|entry| entry["kind"] == "credit_note_issued")
        .count();
    assert_eq!(noted, 2);
    let report = api.post("/v1/admin/audit/verify", json!({})).await;
    assert_eq!(report.body["mismatches"], 0, "{:#}", report.body);
    server.terminate();
}

infrastructure::on_both_backends!(credit_notes_refund_or_credit_and_never_exceed_what_was_paid);

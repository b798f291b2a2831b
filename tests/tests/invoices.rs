//! Invoices and payments over HTTP, on a fresh SQLite file and on a fresh Postgres database:
//! manual invoices collected through the sandbox gateway, payments and failures reported from
//! outside, refunds and voids, every rejection with its status and code, and the account's
//! invoices listed newest first in pages.

mod support;

use infrastructure::testing::{Backend, TestDatabase};
use serde_json::{json, Value};
use support::{Api, Server};

/// Starts a trial for `account` paying with `card`; returns the subscription id.
async fn subscribe(api: &Api, account: &str, card: Option<&str>) -> String {
    let mut body = json!({"account_id": account, "plan_id": "starter"});
    if let Some(card) = card {
        body["billing_email"] = json!("billing@example.com");
        body["payment_method"] = json!(card);
    }
    let reply = api.post("/v1/subscriptions", body).await;
    reply.assert_status(201);
    reply.str("aggregate_id")
}

/// Issues a manual invoice of 2 × 1900 usd; returns its id.
async fn issue(api: &Api, account: &str, subscription: Option<&str>) -> String {
    let mut body = json!({
        "account_id": account,
        "currency": "usd",
        "lines": [{"description": "Onboarding", "quantity": 2, "unit_amount": 1900}],
    });
    if let Some(subscription) = subscription {
        body["subscription_id"] = json!(subscription);
    }
    let reply = api.post("/v1/invoices", body).await;
    reply.assert_status(201);
    assert_eq!(reply.body["aggregate_type"], "invoice");
    reply.str("aggregate_id")
}

async fn invoice(api: &Api, id: &str) -> Value {
    let reply = api.get(&format!("/v1/invoices/{id}")).await;
    reply.assert_status(200);
    reply.body
}

fn action(id: &str, action: &str) -> String {
    format!("/v1/invoices/{id}/{action}")
}

async fn a_good_card_pays_and_refunds_run_to_refunded(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &[]);
    let api = Api::admin(&server.base_url);
    let subscription = subscribe(&api, "acct_visa", Some("pm_card_visa")).await;
    let id = issue(&api, "acct_visa", Some(&subscription)).await;

    let issued = invoice(&api, &id).await;
    assert_eq!(issued["id"], id.as_str());
    assert_eq!(issued["account_id"], "acct_visa");
    assert_eq!(issued["subscription_id"], subscription.as_str());
    assert_eq!(issued["status"], "issued");
    assert_eq!(issued["currency"], "usd");
    assert_eq!(
        issued["lines"],
        json!([{"description": "Onboarding", "kind": "manual", "quantity": 2,
                "unit_amount": 1900, "amount": 3800}])
    );
    assert_eq!(
        (
            &issued["total"],
            &issued["amount_paid"],
            &issued["amount_due"],
            &issued["attempts"]
        ),
        (&json!(3800), &json!(0), &json!(3800), &json!(0))
    );
    assert!(issued["issued_at"].is_string() && issued["due_at"].is_string());

    let attempted = api.post(&action(&id, "attempt-payment"), json!({})).await;
    attempted.assert_status(200);
    assert_eq!(attempted.body["aggregate_id"], id.as_str());
    assert_eq!(attempted.body["payment"]["status"], "succeeded");
    assert_eq!(
        attempted.body["payment"]["payment_ref"],
        format!("{id}:attempt:1")
    );
    let paid = invoice(&api, &id).await;
    assert_eq!(paid["status"], "paid");
    assert_eq!(
        (&paid["amount_paid"], &paid["amount_due"], &paid["attempts"]),
        (&json!(3800), &json!(0), &json!(1))
    );
    let again = api.post(&action(&id, "attempt-payment"), json!({})).await;
    again.assert_problem(409, "rule_violation");
    assert_eq!(again.body["rule"], "invoice_not_payable");
    let void = api.post(&action(&id, "void"), json!({})).await;
    void.assert_problem(409, "rule_violation");
    assert_eq!(void.body["rule"], "paid_invoice_cannot_be_voided");

    let refund = |amount: i64| json!({"amount": amount, "reason": "goodwill"});
    api.post(&action(&id, "refund"), refund(1000))
        .await
        .assert_status(200);
    let partly = invoice(&api, &id).await;
    assert_eq!(
        (&partly["status"], &partly["amount_refunded"]),
        (&json!("paid"), &json!(1000))
    );
    let too_much = api.post(&action(&id, "refund"), refund(2801)).await;
    too_much.assert_problem(409, "rule_violation");
    assert_eq!(too_much.body["rule"], "refund_exceeds_refundable");
    api.post(&action(&id, "refund"), refund(2800))
        .await
        .assert_status(200);
    let refunded = invoice(&api, &id).await;
    assert_eq!(
        (&refunded["status"], &refunded["amount_refunded"]),
        (&json!("refunded"), &json!(3800))
    );
}

async fn declines_and_outside_payments_are_recorded_once(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &[]);
    let api = Api::admin(&server.base_url);
    let subscription = subscribe(&api, "acct_declined", Some("pm_card_chargeDeclined")).await;
    let id = issue(&api, "acct_declined", Some(&subscription)).await;

    let declined = api.post(&action(&id, "attempt-payment"), json!({})).await;
    declined.assert_status(200);
    let payment = &declined.body["payment"];
    assert_eq!(payment["status"], "declined");
    assert_eq!(payment["code"], "card_declined");
    assert_eq!(payment["hard_decline"], false);
    let past_due = invoice(&api, &id).await;
    assert_eq!(
        (&past_due["status"], &past_due["attempts"]),
        (&json!("past_due"), &json!(1))
    );
    assert_eq!(
        past_due["amount_due"], past_due["total"],
        "still owed in full"
    );

    // Paid by wire, reported twice: once with a retried Idempotency-Key, once without.
    let wire = json!({"amount": 3800, "payment_ref": "wire_7"});
    let recorded = api
        .post_once(&action(&id, "record-payment"), "pay-1", wire.clone())
        .await;
    recorded.assert_status(200);
    let replayed = api
        .post_once(&action(&id, "record-payment"), "pay-1", wire.clone())
        .await;
    assert_eq!(replayed.headers["idempotent-replayed"], "true");
    assert_eq!(replayed.body, recorded.body);
    let repeated = api.post(&action(&id, "record-payment"), wire).await;
    repeated.assert_status(200);
    assert_eq!(repeated.body["version"], recorded.body["version"]);
    assert_eq!(repeated.body["position"], Value::Null, "nothing appended");
    let paid = invoice(&api, &id).await;
    assert_eq!(
        (&paid["status"], &paid["amount_paid"]),
        (&json!("paid"), &json!(3800))
    );

    // No subscription, no card on file: failures are reported from outside.
    let manual = issue(&api, "acct_declined", None).await;
    let attempt = api
        .post(&action(&manual, "attempt-payment"), json!({}))
        .await;
    attempt.assert_problem(409, "rule_violation");
    assert_eq!(attempt.body["rule"], "no_payment_method");
    let failure = json!({"reason": "card reported stolen", "code": "stolen_card",
                         "hard_decline": true});
    api.post(&action(&manual, "record-payment-failure"), failure)
        .await
        .assert_status(200);
    let failed = invoice(&api, &manual).await;
    assert_eq!(
        (&failed["status"], &failed["attempts"]),
        (&json!("past_due"), &json!(1))
    );
    api.post(&action(&manual, "void"), json!({}))
        .await
        .assert_status(200);
    assert_eq!(invoice(&api, &manual).await["status"], "void");

    // Creating with a retried key addresses the same invoice.
    let body = json!({"account_id": "acct_declined", "currency": "eur",
                      "lines": [{"description": "Consulting", "quantity": 1, "unit_amount": 0}]});
    let first = api.post_once("/v1/invoices", "inv-1", body.clone()).await;
    first.assert_status(201);
    let again = api.post_once("/v1/invoices", "inv-1", body).await;
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.body, first.body);
    // A zero invoice is paid at issue.
    assert_eq!(
        invoice(&api, &first.str("aggregate_id")).await["status"],
        "paid"
    );
}

async fn every_bad_input_is_refused_with_its_problem(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &[]);
    let api = Api::admin(&server.base_url);
    let subscription = subscribe(&api, "acct_bad", None).await;
    let other = subscribe(&api, "acct_else", None).await;
    let id = issue(&api, "acct_bad", Some(&subscription)).await;
    let unknown = "7b0c2a5e-8a8e-4e43-9a57-5d2f8c1a0001";
    let line = json!({"description": "Setup", "quantity": 1, "unit_amount": 100});
    let new = |patch: Value| {
        let mut body = json!({"account_id": "acct_bad", "currency": "usd", "lines": [line]});
        for (key, value) in patch.as_object().unwrap() {
            body[key] = value.clone();
        }
        body
    };

    Api::with_key(&server.base_url, None)
        .post("/v1/invoices", new(json!({})))
        .await
        .assert_problem(401, "unauthorized");
    Api::with_key(&server.base_url, None)
        .get(&format!("/v1/invoices/{id}"))
        .await
        .assert_problem(401, "unauthorized");

    let invoices = "/v1/invoices".to_owned();
    let cases: Vec<(String, Value, u16, &str, Option<&str>)> = vec![
        (
            invoices.clone(),
            new(json!({"colour": "red"})),
            400,
            "invalid_request",
            None,
        ),
        (
            invoices.clone(),
            json!({"account_id": "acct_bad", "currency": "usd"}),
            400,
            "invalid_request",
            None,
        ),
        (
            invoices.clone(),
            new(json!({"lines": [{"description": "x", "quantity": "two",
         "unit_amount": 1}]})),
            400,
            "invalid_request",
            None,
        ),
        (
            invoices.clone(),
            new(json!({"lines": [{"description": "x", "quantity": -1,
         "unit_amount": 1}]})),
            400,
            "invalid_request",
            None,
        ),
        (
            invoices.clone(),
            new(json!({"lines": [{"description": "x", "quantity": 1,
         "unit_amount": 1, "kind": "base"}]})),
            400,
            "invalid_request",
            None,
        ),
        (
            invoices.clone(),
            new(json!({"lines": []})),
            422,
            "validation_failed",
            None,
        ),
        (
            invoices.clone(),
            new(json!({"lines": [{"description": " ", "quantity": 1,
         "unit_amount": 1}]})),
            422,
            "validation_failed",
            Some("lines[0].description"),
        ),
        (
            invoices.clone(),
            new(json!({"lines": [line, {"description": "x", "quantity": 0,
         "unit_amount": 1}]})),
            422,
            "validation_failed",
            Some("lines[1].quantity"),
        ),
        (
            invoices.clone(),
            new(json!({"lines": [{"description": "x", "quantity": 1,
         "unit_amount": -5}]})),
            422,
            "validation_failed",
            Some("lines[0].unit_amount"),
        ),
        (
            invoices.clone(),
            new(json!({"lines": [{"description": "x", "quantity": 4_000_000,
         "unit_amount": i64::MAX / 2}]})),
            422,
            "validation_failed",
            None,
        ),
        (
            invoices.clone(),
            new(json!({"currency": "dollars"})),
            422,
            "validation_failed",
            Some("currency"),
        ),
        (
            invoices.clone(),
            new(json!({"account_id": "has space"})),
            422,
            "validation_failed",
            Some("account_id"),
        ),
        (
            invoices.clone(),
            new(json!({"subscription_id": "nope"})),
            422,
            "validation_failed",
            Some("subscription_id"),
        ),
        (
            invoices.clone(),
            new(json!({"subscription_id": unknown})),
            422,
            "validation_failed",
            Some("subscription_id"),
        ),
        (
            invoices.clone(),
            new(json!({"subscription_id": other})),
            422,
            "validation_failed",
            Some("subscription_id"),
        ),
        (
            invoices.clone(),
            new(json!({"subscription_id": subscription, "currency": "eur"})),
            422,
            "validation_failed",
            Some("currency"),
        ),
        (
            action(&id, "record-payment"),
            json!({"amount": 0, "payment_ref": "r"}),
            422,
            "validation_failed",
            Some("amount"),
        ),
        (
            action(&id, "record-payment"),
            json!({"amount": 100, "payment_ref": " "}),
            422,
            "validation_failed",
            Some("payment_ref"),
        ),
        (
            action(&id, "record-payment"),
            json!({"amount": "100", "payment_ref": "r"}),
            400,
            "invalid_request",
            None,
        ),
        (
            action(&id, "record-payment-failure"),
            json!({"code": "card_declined"}),
            400,
            "invalid_request",
            None,
        ),
        (
            action(&id, "record-payment-failure"),
            json!({"reason": "no", "code": "not a code"}),
            422,
            "validation_failed",
            Some("code"),
        ),
        (
            action(&id, "refund"),
            json!({"amount": -1, "reason": "x"}),
            422,
            "validation_failed",
            Some("amount"),
        ),
        (
            action(&id, "void"),
            json!({"reason": "x"}),
            400,
            "invalid_request",
            None,
        ),
        (
            action(&id, "attempt-payment"),
            json!({"payment_method": "pm_card_visa"}),
            400,
            "invalid_request",
            None,
        ),
        (
            action(unknown, "record-payment"),
            json!({"amount": 1, "payment_ref": "r"}),
            404,
            "not_found",
            None,
        ),
        (
            action(unknown, "attempt-payment"),
            json!({}),
            404,
            "not_found",
            None,
        ),
        (action(unknown, "void"), json!({}), 404, "not_found", None),
        (
            action("not-a-uuid", "void"),
            json!({}),
            404,
            "not_found",
            None,
        ),
    ];
    for (path, body, status, code, field) in cases {
        let reply = api.post(&path, body.clone()).await;
        reply.assert_problem(status, code);
        if let Some(field) = field {
            assert_eq!(reply.body["field"], field, "{path} {body}: {reply:?}");
        }
    }
    let rules = [
        (
            "record-payment",
            json!({"amount": 3801, "payment_ref": "r"}),
            "overpayment",
        ),
        (
            "refund",
            json!({"amount": 1, "reason": "x"}),
            "invoice_not_refundable",
        ),
        ("attempt-payment", json!({}), "no_payment_method"),
    ];
    for (verb, body, rule) in rules {
        let reply = api.post(&action(&id, verb), body).await;
        reply.assert_problem(409, "rule_violation");
        assert_eq!(reply.body["rule"], rule, "{verb}: {reply:?}");
    }
    api.post_raw("/v1/invoices", "{not json")
        .await
        .assert_problem(400, "invalid_request");
    api.get(&format!("/v1/invoices/{unknown}"))
        .await
        .assert_problem(404, "not_found");
    api.get("/v1/invoices/not-a-uuid")
        .await
        .assert_problem(404, "not_found");
    for query in [
        "limit=0",
        "limit=101",
        "limit=x",
        "cursor=abc",
        "colour=red",
    ] {
        let reply = api
            .get(&format!("/v1/accounts/acct_bad/invoices?{query}"))
            .await;
        let (status, code) = match query {
            "limit=0" | "limit=101" => (422, "validation_failed"),
            _ => (400, "invalid_request"),
        };
        reply.assert_problem(status, code);
    }

    // Nothing that was refused changed the invoice, nor created another.
    let audit = api.get(&format!("/v1/audit/streams/invoice/{id}")).await;
    assert_eq!(audit.body["items"].as_array().unwrap().len(), 1);
    let issued_at = audit.body["items"][0]["position"].as_i64().unwrap();
    let listed = api
        .get(&format!(
            "/v1/accounts/acct_bad/invoices?min_position={issued_at}"
        ))
        .await;
    assert_eq!(listed.body["items"].as_array().map(Vec::len), Some(1));
}

async fn an_account_s_invoices_list_newest_first_in_pages(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &[]);
    let api = Api::admin(&server.base_url);
    let subscription = subscribe(&api, "acct_list", Some("pm_card_visa")).await;
    let mut issued = Vec::new();
    for _ in 0..5 {
        issued.push(issue(&api, "acct_list", Some(&subscription)).await);
    }
    issue(&api, "acct_elsewhere", None).await;
    let paid = api
        .post(&action(&issued[1], "attempt-payment"), json!({}))
        .await;
    paid.assert_status(200);
    let position = paid.body["position"].as_i64().unwrap();

    let mut listed = Vec::new();
    let mut path = format!("/v1/accounts/acct_list/invoices?limit=2&min_position={position}");
    let mut sizes = Vec::new();
    loop {
        let page = api.get(&path).await;
        page.assert_status(200);
        let items = page.body["items"].as_array().unwrap().clone();
        sizes.push(items.len());
        listed.extend(items);
        match page.body["next_cursor"].as_str() {
            Some(cursor) => {
                path = format!("/v1/accounts/acct_list/invoices?limit=2&cursor={cursor}")
            }
            None => break,
        }
    }
    assert_eq!(sizes, [2, 2, 1]);
    let ids: Vec<&str> = listed
        .iter()
        .map(|item| item["id"].as_str().unwrap())
        .collect();
    let newest_first: Vec<&str> = issued.iter().rev().map(String::as_str).collect();
    assert_eq!(ids, newest_first);
    let statuses: Vec<&str> = listed
        .iter()
        .map(|i| i["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["issued", "issued", "issued", "paid", "issued"]);
    // A list item is the invoice resource itself.
    assert_eq!(listed[3], invoice(&api, &issued[1]).await);

    // Four open invoices of 3800 are due.
    let summary = api
        .get(&format!(
            "/v1/accounts/acct_list/summary?min_position={position}"
        ))
        .await;
    assert_eq!(
        summary.body["balance_due"],
        json!({"amount": 4 * 3800, "currency": "usd"})
    );
    let none = api.get("/v1/accounts/acct_nobody/invoices").await;
    none.assert_status(200);
    assert_eq!(none.body, json!({"items": [], "next_cursor": null}));
}

async fn key(admin: &Api, body: Value) -> String {
    let reply = admin.post("/v1/admin/api-keys", body).await;
    reply.assert_status(201);
    reply.str("secret")
}

/// Support may collect but not otherwise change an invoice; an account key reads its own
/// account's invoices only, and another account's answer 404.
async fn each_role_reaches_what_it_may(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = Server::on(&db.url, &[]);
    let admin = Api::admin(&server.base_url);
    let as_key = |secret: &str| Api::with_key(&server.base_url, Some(secret));
    let subscription = subscribe(&admin, "acct_own", Some("pm_card_visa")).await;
    let own = issue(&admin, "acct_own", Some(&subscription)).await;
    let theirs = issue(&admin, "acct_theirs", None).await;

    let support = as_key(&key(&admin, json!({"role": "support"})).await);
    support
        .post(
            &action(&own, "record-payment"),
            json!({"amount": 1, "payment_ref": "r"}),
        )
        .await
        .assert_problem(403, "forbidden");
    support
        .post(&action(&theirs, "void"), json!({}))
        .await
        .assert_problem(403, "forbidden");
    let collected = support
        .post(&action(&own, "attempt-payment"), json!({}))
        .await;
    collected.assert_status(200);
    assert_eq!(collected.body["payment"]["status"], "succeeded");
    let position = collected.body["position"].as_i64().unwrap();

    let account = as_key(&key(&admin, json!({"role": "account", "account_id": "acct_own"})).await);
    let mine = account.get(&format!("/v1/invoices/{own}")).await;
    mine.assert_status(200);
    assert_eq!(mine.body["status"], "paid");
    let listed = account
        .get(&format!(
            "/v1/accounts/acct_own/invoices?min_position={position}"
        ))
        .await;
    listed.assert_status(200);
    assert_eq!(listed.body["items"][0]["id"], own.as_str());
    account
        .get(&format!("/v1/invoices/{theirs}"))
        .await
        .assert_problem(404, "not_found");
    account
        .get("/v1/accounts/acct_theirs/invoices")
        .await
        .assert_problem(404, "not_found");
    account
        .post(&action(&own, "attempt-payment"), json!({}))
        .await
        .assert_problem(403, "forbidden");
}

infrastructure::on_both_backends!(
    each_role_reaches_what_it_may,
    a_good_card_pays_and_refunds_run_to_refunded,
    declines_and_outside_payments_are_recorded_once,
    every_bad_input_is_refused_with_its_problem,
    an_account_s_invoices_list_newest_first_in_pages,
);

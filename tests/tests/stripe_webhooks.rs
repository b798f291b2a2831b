//! `POST /v1/webhooks/stripe` on both backends: an event signed with any configured secret is
//! recorded once in the log (a repeated delivery records nothing more), and a bad, missing or
//! stale signature is 400 `invalid_signature` with nothing recorded. Events are signed as Stripe
//! signs them, by the fake Stripe's `signed_event`. The policy then acts on payment events once
//! per PaymentIntent: a late success of an invoice we recorded changes nothing, a failure then a
//! success ends paid, a refund made in Stripe's dashboard is recorded once, a dispute shows on
//! the timeline and escalates the account into the work queue, and an unknown type acts on
//! nothing.

mod support;

use blackbox_tests::fake_stripe::{self, intent_json, FakeStripe, STRIPE_KEY};
use chrono::Utc;
use infrastructure::testing::{Backend, TestDatabase};
use serde_json::{json, Value};
use support::client::Reply;
use support::{Api, Server, ADMIN_KEY};

const OLD_SECRET: &str = "whsec_old_test_secret";
const NEW_SECRET: &str = "whsec_new_test_secret";

fn serve(db: &TestDatabase) -> Server {
    Server::on(
        &db.url,
        &[
            "--test-clock",
            "--stripe-webhook-secret",
            OLD_SECRET,
            "--stripe-webhook-secret",
            NEW_SECRET,
        ],
    )
}

/// A server charging through `fake` and taking its webhooks.
fn serve_with(db: &TestDatabase, fake: &FakeStripe) -> Server {
    Server::start_with(
        &[
            ("DATABASE_URL", db.url.as_str()),
            ("LEDGERLINE_ADMIN_KEY", ADMIN_KEY),
            ("STRIPE_API_KEY", STRIPE_KEY),
        ],
        &[
            "--test-clock",
            "--payment-gateway",
            "stripe",
            "--stripe-api-base",
            &fake.base_url,
            "--stripe-webhook-secret",
            NEW_SECRET,
        ],
    )
}

/// Lets every policy and projection catch up with the log.
async fn settle(api: &Api) {
    api.post("/v1/test-clock/advance", json!({"seconds": 0}))
        .await
        .assert_status(200);
}

async fn send(server: &Server, event_id: &str, event_type: &str, object: Value) {
    let (body, signature) = FakeStripe::signed_event(
        event_id,
        event_type,
        object,
        NEW_SECRET,
        Utc::now().timestamp(),
    );
    deliver(server, &body, Some(&signature))
        .await
        .assert_status(200);
}

/// What the policy recorded that the event caused.
async fn effect(api: &Api, event_id: &str) -> Value {
    let events = recorded(api, event_id).await;
    events
        .iter()
        .find(|e| e["event_type"] == "ProcessorEventActedOn")
        .map(|e| e["payload"]["ProcessorEventActedOn"]["effect"].clone())
        .unwrap_or_else(|| panic!("no effect recorded for {event_id}: {events:?}"))
}

async fn invoice_events(api: &Api, invoice: &str) -> Vec<String> {
    let reply = api
        .get(&format!("/v1/audit/streams/invoice/{invoice}?limit=100"))
        .await;
    reply.assert_status(200);
    reply.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["event_type"].as_str().expect("a type").to_owned())
        .collect()
}

async fn a_success_after_our_own_record_changes_nothing(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let fake = FakeStripe::start();
    let server = serve_with(&db, &fake);
    let api = Api::admin(&server.base_url);
    let body = json!({"account_id": "acct_hook_paid", "plan_id": "starter",
                      "billing_email": "billing@example.com", "payment_method": "pm_card_visa"});
    let reply = api.post("/v1/subscriptions", body).await;
    reply.assert_status(201);
    let body = json!({"account_id": "acct_hook_paid", "subscription_id": reply.str("aggregate_id"),
                      "currency": "usd",
                      "lines": [{"description": "Onboarding", "quantity": 2, "unit_amount": 1900}]});
    let reply = api.post("/v1/invoices", body).await;
    reply.assert_status(201);
    let invoice = reply.str("aggregate_id");
    api.post(
        &format!("/v1/invoices/{invoice}/attempt-payment"),
        json!({}),
    )
    .await
    .assert_status(200);
    let before = invoice_events(&api, &invoice).await;

    let intent = intent_json(&fake.charges_for(&invoice)[0]);
    send(
        &server,
        "evt_late_success",
        "payment_intent.succeeded",
        intent.clone(),
    )
    .await;
    send(
        &server,
        "evt_late_success_again",
        "payment_intent.succeeded",
        intent,
    )
    .await;
    settle(&api).await;
    assert_eq!(
        effect(&api, "evt_late_success").await,
        "ignored: the invoice is already paid"
    );
    assert_eq!(invoice_events(&api, &invoice).await, before);
    let paid = api.get(&format!("/v1/invoices/{invoice}")).await.body;
    assert_eq!(
        (&paid["status"], &paid["amount_paid"]),
        (&json!("paid"), &json!(3800))
    );
}

async fn a_failure_then_a_success_for_one_invoice_ends_paid(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = serve(&db);
    let api = Api::admin(&server.base_url);
    let body = json!({"account_id": "acct_hook_retry", "currency": "usd",
                      "lines": [{"description": "Onboarding", "quantity": 2, "unit_amount": 1900}]});
    let reply = api.post("/v1/invoices", body).await;
    reply.assert_status(201);
    let invoice = reply.str("aggregate_id");
    let metadata =
        json!({"ledgerline_invoice_id": invoice, "ledgerline_account_id": "acct_hook_retry"});
    let failed = json!({"id": "pi_outside", "object": "payment_intent", "status": "requires_payment_method",
                        "amount": 3800, "currency": "usd", "metadata": metadata,
                        "last_payment_error": {"type": "card_error", "code": "card_declined",
                                               "decline_code": "insufficient_funds",
                                               "message": "Your card has insufficient funds."}});
    send(
        &server,
        "evt_failed",
        "payment_intent.payment_failed",
        failed.clone(),
    )
    .await;
    // The same event delivered twice acts once.
    send(
        &server,
        "evt_failed",
        "payment_intent.payment_failed",
        failed,
    )
    .await;
    settle(&api).await;
    let past_due = api.get(&format!("/v1/invoices/{invoice}")).await.body;
    assert_eq!(
        (&past_due["status"], &past_due["attempts"]),
        (&json!("past_due"), &json!(1)),
        "{past_due}"
    );
    assert!(effect(&api, "evt_failed")
        .await
        .as_str()
        .unwrap()
        .starts_with("payment_failure_recorded"));

    let succeeded = json!({"id": "pi_outside", "object": "payment_intent", "status": "succeeded",
                           "amount": 3800, "currency": "usd", "metadata": metadata});
    send(
        &server,
        "evt_succeeded",
        "payment_intent.succeeded",
        succeeded.clone(),
    )
    .await;
    // Another event about the same PaymentIntent succeeding (Stripe may send it twice) acts once.
    send(
        &server,
        "evt_succeeded_twice",
        "payment_intent.succeeded",
        succeeded,
    )
    .await;
    settle(&api).await;
    let paid = api.get(&format!("/v1/invoices/{invoice}")).await.body;
    assert_eq!(
        (&paid["status"], &paid["amount_paid"]),
        (&json!("paid"), &json!(3800)),
        "{paid}"
    );
    let recorded_payments = invoice_events(&api, &invoice)
        .await
        .into_iter()
        .filter(|e| e == "PaymentRecorded")
        .count();
    assert_eq!(recorded_payments, 1);

    // What was received, once each, and what it caused; in pages after a position.
    let listed = api.get("/v1/processor-events").await;
    listed.assert_status(200);
    let items = listed.body["items"].as_array().expect("items").clone();
    let seen: Vec<(&str, &str)> = items
        .iter()
        .map(|i| {
            (
                i["event_id"].as_str().unwrap(),
                i["effect"].as_str().unwrap_or("none"),
            )
        })
        .collect();
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert_eq!(seen[0].0, "evt_failed");
    assert!(
        seen[0].1.starts_with("payment_failure_recorded on invoice"),
        "{seen:?}"
    );
    assert_eq!(seen[1].0, "evt_succeeded");
    assert_eq!(seen[1].1, format!("payment_recorded on invoice {invoice}"));
    assert_eq!(
        seen[2],
        (
            "evt_succeeded_twice",
            "ignored: the invoice is already paid"
        )
    );
    assert_eq!(items[0]["type"], "payment_intent.payment_failed");
    assert_eq!(items[0]["object_id"], "pi_outside");
    let after = items[0]["position"].as_i64().expect("a position");
    let rest = api
        .get(&format!("/v1/processor-events?after={after}&limit=1"))
        .await;
    rest.assert_status(200);
    assert_eq!(rest.body["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(rest.body["items"][0]["event_id"], "evt_succeeded");
    api.get("/v1/processor-events?after=-1")
        .await
        .assert_problem(422, "validation_failed");
}

async fn a_refund_made_in_stripe_is_recorded_once(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = serve(&db);
    let api = Api::admin(&server.base_url);
    let body = json!({"account_id": "acct_hook_refund", "currency": "usd",
                      "lines": [{"description": "Onboarding", "quantity": 2, "unit_amount": 1900}]});
    let reply = api.post("/v1/invoices", body).await;
    reply.assert_status(201);
    let invoice = reply.str("aggregate_id");
    let metadata = json!({"ledgerline_invoice_id": invoice});
    let paid = json!({"id": "pi_dash", "object": "payment_intent", "status": "succeeded",
                      "amount": 3800, "currency": "usd", "metadata": metadata});
    send(&server, "evt_paid", "payment_intent.succeeded", paid).await;
    // One refund made in the dashboard, one Ledgerline made itself (its use case records it).
    let charge = json!({"id": "ch_dash", "object": "charge", "payment_intent": "pi_dash",
                        "amount": 3800, "amount_refunded": 1500, "currency": "usd",
                        "metadata": metadata,
                        "refunds": {"object": "list", "data": [
                            {"id": "re_dashboard", "object": "refund", "amount": 1000,
                             "status": "succeeded", "metadata": {}},
                            {"id": "re_ours", "object": "refund", "amount": 500, "status": "succeeded",
                             "metadata": {"ledgerline_refund_ref": "x:refund:1"}}]}});
    send(&server, "evt_refunded", "charge.refunded", charge.clone()).await;
    // Stripe sends charge.refunded again at the next refund, listing this one again.
    send(&server, "evt_refunded_again", "charge.refunded", charge).await;
    settle(&api).await;
    let refunded = api.get(&format!("/v1/invoices/{invoice}")).await.body;
    assert_eq!(
        (
            &refunded["status"],
            &refunded["amount_paid"],
            &refunded["amount_refunded"]
        ),
        (&json!("paid"), &json!(3800), &json!(1000)),
        "{refunded}"
    );
    assert_eq!(
        effect(&api, "evt_refunded").await,
        format!("1 refund(s) recorded on invoice {invoice}")
    );
}

async fn a_dispute_escalates_the_case_into_the_work_queue(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let fake = FakeStripe::start();
    let server = serve_with(&db, &fake);
    let api = Api::admin(&server.base_url);
    let account = "acct_hook_dispute";
    let body = json!({"account_id": account, "plan_id": "starter",
                      "billing_email": "billing@example.com", "payment_method": "pm_card_visa"});
    let reply = api.post("/v1/subscriptions", body).await;
    reply.assert_status(201);
    let body = json!({"account_id": account, "subscription_id": reply.str("aggregate_id"),
                      "currency": "usd",
                      "lines": [{"description": "Onboarding", "quantity": 2, "unit_amount": 1900}]});
    let reply = api.post("/v1/invoices", body).await;
    reply.assert_status(201);
    let invoice = reply.str("aggregate_id");
    api.post(
        &format!("/v1/invoices/{invoice}/attempt-payment"),
        json!({}),
    )
    .await
    .assert_status(200);
    let intent = fake.charges_for(&invoice)[0].id.clone();

    // Stripe's dispute names the PaymentIntent, and carries no metadata of ours.
    let dispute = json!({"id": "dp_1", "object": "dispute", "amount": 3800, "currency": "usd",
                         "reason": "fraudulent", "status": "needs_response",
                         "charge": format!("ch_{intent}"), "payment_intent": intent,
                         "metadata": {}});
    send(
        &server,
        "evt_dispute",
        "charge.dispute.created",
        dispute.clone(),
    )
    .await;
    send(
        &server,
        "evt_dispute_again",
        "charge.dispute.created",
        dispute,
    )
    .await;
    settle(&api).await;
    assert_eq!(
        effect(&api, "evt_dispute").await,
        format!("dispute_opened on invoice {invoice}")
    );
    let disputes = invoice_events(&api, &invoice)
        .await
        .into_iter()
        .filter(|e| e == "DisputeOpened")
        .count();
    assert_eq!(disputes, 1);

    let timeline = api
        .get(&format!("/v1/accounts/{account}/timeline?limit=100"))
        .await
        .body;
    let opened = timeline["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|e| e["kind"] == "dispute_opened")
        .unwrap_or_else(|| panic!("no dispute on the timeline: {timeline}"))
        .clone();
    assert_eq!(opened["amount"], 3800, "{opened}");
    let queue = api.get("/v1/dunning/queue").await.body;
    let case = queue["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|c| c["account_id"] == account)
        .unwrap_or_else(|| panic!("the account is not in the work queue: {queue}"))
        .clone();
    assert_eq!(case["stage"], "escalated", "{case}");
}

fn succeeded(id: &str) -> Value {
    json!({"id": id, "object": "payment_intent", "status": "succeeded", "amount": 3800,
           "currency": "usd", "metadata": {}})
}

async fn deliver(server: &Server, body: &str, signature: Option<&str>) -> Reply {
    let mut request = reqwest::Client::new()
        .post(server.url("/v1/webhooks/stripe"))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(signature) = signature {
        request = request.header("stripe-signature", signature);
    }
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.json().await.unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
    }
}

/// The events recorded for Stripe's event `event_id` (none: the stream does not exist).
async fn recorded(api: &Api, event_id: &str) -> Vec<Value> {
    let reply = api
        .get(&format!(
            "/v1/audit/streams/processor_event/stripe:{event_id}"
        ))
        .await;
    if reply.status == 404 {
        return Vec::new();
    }
    reply.assert_status(200);
    reply.body["items"].as_array().expect("items").clone()
}

/// The `ProcessorEventReceived` events recorded for Stripe's event `event_id`.
async fn received(api: &Api, event_id: &str) -> Vec<Value> {
    recorded(api, event_id)
        .await
        .into_iter()
        .filter(|e| e["event_type"] == "ProcessorEventReceived")
        .collect()
}

async fn a_signed_event_is_recorded_once(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = serve(&db);
    let api = Api::admin(&server.base_url);
    let now = Utc::now().timestamp();
    let (body, signature) = FakeStripe::signed_event(
        "evt_once",
        "payment_intent.succeeded",
        succeeded("pi_once"),
        NEW_SECRET,
        now,
    );
    let first = deliver(&server, &body, Some(&signature)).await;
    first.assert_status(200);
    assert_eq!(
        first.body,
        json!({"event_id": "evt_once", "recorded": true})
    );
    // Stripe delivers the same event again (its retry, or a resend from the dashboard): the
    // same body, signed anew at a later time.
    let again = format!(
        "t={},v1={}",
        now + 1,
        fake_stripe::signature(NEW_SECRET, now + 1, &body)
    );
    let second = deliver(&server, &body, Some(&again)).await;
    second.assert_status(200);
    assert_eq!(second.body["recorded"], false);

    let events = received(&api, "evt_once").await;
    assert_eq!(events.len(), 1, "{events:?}");
    let kept = &events[0]["payload"]["ProcessorEventReceived"]["event"];
    assert_eq!(
        (&kept["event_type"], &kept["object_id"]),
        (&json!("payment_intent.succeeded"), &json!("pi_once"))
    );
}

async fn a_secret_being_rotated_out_still_verifies(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = serve(&db);
    let api = Api::admin(&server.base_url);
    let now = Utc::now().timestamp();
    for (event, secret) in [("evt_old", OLD_SECRET), ("evt_new", NEW_SECRET)] {
        let (body, signature) =
            FakeStripe::signed_event(event, "charge.refunded", json!({"id": "ch_1"}), secret, now);
        deliver(&server, &body, Some(&signature))
            .await
            .assert_status(200);
        assert_eq!(received(&api, event).await.len(), 1, "{event}");
    }
}

async fn bad_missing_and_stale_signatures_are_refused_and_record_nothing(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = serve(&db);
    let api = Api::admin(&server.base_url);
    let now = Utc::now().timestamp();
    let event = |secret: &str, at: i64| {
        FakeStripe::signed_event(
            "evt_refused",
            "payment_intent.succeeded",
            succeeded("pi_refused"),
            secret,
            at,
        )
    };
    let (body, good) = event(NEW_SECRET, now);
    let (_, wrong_secret) = event("whsec_not_ours", now);
    let (_, stale) = event(NEW_SECRET, now - 400);
    let tampered = body.replace("3800", "1");
    let cases: [(&str, &str, Option<&str>); 6] = [
        ("wrong secret", &body, Some(&wrong_secret)),
        ("tampered body", &tampered, Some(&good)),
        ("stale", &body, Some(&stale)),
        ("missing", &body, None),
        ("malformed", &body, Some("v1=abc")),
        ("empty", &body, Some("")),
    ];
    for (case, body, signature) in cases {
        let reply = deliver(&server, body, signature).await;
        assert_eq!(reply.status, 400, "{case}: {:?}", reply.body);
        assert_eq!(reply.body["code"], "invalid_signature", "{case}");
    }
    // Stale against the service's clock, not the wall clock: an hour later, a signature made
    // now is too old.
    api.post("/v1/test-clock/advance", json!({"seconds": 3600}))
        .await
        .assert_status(200);
    let reply = deliver(&server, &body, Some(&good)).await;
    assert_eq!(reply.status, 400, "{:?}", reply.body);
    assert!(recorded(&api, "evt_refused").await.is_empty());
}

async fn an_unknown_event_type_is_recorded_and_answered_200(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let server = serve(&db);
    let api = Api::admin(&server.base_url);
    let (body, signature) = FakeStripe::signed_event(
        "evt_unknown",
        "customer.created",
        json!({"id": "cus_1", "object": "customer"}),
        OLD_SECRET,
        Utc::now().timestamp(),
    );
    deliver(&server, &body, Some(&signature))
        .await
        .assert_status(200);
    assert_eq!(received(&api, "evt_unknown").await.len(), 1);
    // Every projection and policy reads past it (the test clock waits for them all), and the
    // policy records that it did nothing.
    settle(&api).await;
    assert_eq!(
        effect(&api, "evt_unknown").await,
        "ignored: not an event type Ledgerline acts on"
    );
    // And an event that is no Stripe event, well signed, is a 400.
    let not_an_event = r#"{"hello":"world"}"#;
    let now = Utc::now().timestamp();
    let signature = format!(
        "t={now},v1={}",
        fake_stripe::signature(OLD_SECRET, now, not_an_event)
    );
    deliver(&server, not_an_event, Some(&signature))
        .await
        .assert_problem(400, "invalid_request");
}

infrastructure::on_both_backends!(
    a_dispute_escalates_the_case_into_the_work_queue,
    a_refund_made_in_stripe_is_recorded_once,
    a_success_after_our_own_record_changes_nothing,
    a_failure_then_a_success_for_one_invoice_ends_paid,
    a_signed_event_is_recorded_once,
    a_secret_being_rotated_out_still_verifies,
    bad_missing_and_stale_signatures_are_refused_and_record_nothing,
    an_unknown_event_type_is_recorded_and_answered_200,
);

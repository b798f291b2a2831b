//! The Stripe gateway against the fake Stripe (tests/src/fake_stripe/), on both
//! backends: a good card is charged once with the invoice in its metadata, declines open dunning
//! (soft) or escalate it (hard), authentication is a soft failure the customer is told about, a
//! 500 or a lost answer is asked again under the same Idempotency-Key and charges once, and a
//! kill -9 with the charge made but not recorded resumes after restart with one charge, and a
//! refund goes back through Stripe's Refunds API before the invoice records it.

mod support;

use blackbox_tests::fake_stripe::{Failure, FakeStripe, STRIPE_KEY};
use infrastructure::testing::{Backend, TestDatabase};
use serde_json::{json, Value};
use support::stripe::{attempt_payment, invoice_for, serve_on_fake, StripeRun};
use support::{Api, Server};

/// `ledgerline serve` on `db`, charging through the fake Stripe, with the test clock.
fn serve(db: &TestDatabase, fake: &FakeStripe) -> Server {
    serve_on_fake(db, fake, &[])
}

async fn get(api: &Api, path: &str) -> Value {
    let reply = api.get(path).await;
    reply.assert_status(200);
    reply.body
}

/// Lets everything the last commands caused run (the test clock's advance waits for it).
async fn settle(api: &Api) {
    api.post("/v1/test-clock/advance", json!({"seconds": 0}))
        .await
        .assert_status(200);
}

async fn notification_kinds(api: &Api, account: &str) -> Vec<String> {
    let page = get(
        api,
        &format!("/v1/accounts/{account}/notifications?limit=100"),
    )
    .await;
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|n| n["kind"].as_str().expect("a kind").to_owned())
        .collect()
}

/// The account's open dunning case, found through its first notification.
async fn dunning_case(api: &Api, account: &str) -> Value {
    let page = get(
        api,
        &format!("/v1/accounts/{account}/notifications?limit=1"),
    )
    .await;
    let id = page["items"][0]["payload"]["dunning_case_id"]
        .as_str()
        .unwrap_or_else(|| panic!("a dunning case notification: {page}"))
        .to_owned();
    get(api, &format!("/v1/dunning-cases/{id}")).await
}

/// The idempotency keys of the PaymentIntent creations the fake received, in order.
fn intent_keys(fake: &FakeStripe) -> Vec<String> {
    fake.seen()
        .into_iter()
        .filter(|seen| seen.path == "/v1/payment_intents")
        .map(|seen| seen.idempotency_key.expect("an Idempotency-Key"))
        .collect()
}

async fn a_good_card_is_charged_once_with_the_invoice_in_its_metadata(backend: Backend) {
    let run = StripeRun::start(backend, &[]).await;
    let (fake, api) = (&run.fake, &run.api);
    let invoice = invoice_for(api, "acct_stripe_visa", "pm_card_visa").await;

    let payment = attempt_payment(api, &invoice).await;
    assert_eq!(payment["status"], "succeeded", "{payment}");
    let paid = get(api, &format!("/v1/invoices/{invoice}")).await;
    assert_eq!(
        (&paid["status"], &paid["amount_paid"]),
        (&json!("paid"), &json!(3800))
    );

    let charges = fake.charges_for(&invoice);
    assert_eq!(charges.len(), 1, "{charges:?}");
    let charge = &charges[0];
    assert_eq!((charge.amount, charge.currency.as_str()), (3800, "usd"));
    assert_eq!(charge.metadata["ledgerline_account_id"], "acct_stripe_visa");
    assert_eq!(fake.customers(), std::slice::from_ref(&charge.customer));
    let payment_ref = format!("{invoice}:attempt:1");
    assert_eq!(intent_keys(fake), [payment_ref]);

    // A second invoice of the same account is charged to the same Customer.
    let body = json!({"account_id": "acct_stripe_visa", "currency": "usd",
                      "subscription_id": paid["subscription_id"],
                      "lines": [{"description": "Extra", "quantity": 1, "unit_amount": 500}]});
    let reply = api.post("/v1/invoices", body).await;
    reply.assert_status(201);
    let second = reply.str("aggregate_id");
    assert_eq!(attempt_payment(api, &second).await["status"], "succeeded");
    assert_eq!(fake.customers().len(), 1);
    assert_eq!(fake.charges_for(&second)[0].customer, charge.customer);

    // The Customer is remembered in the log, once (SPEC 10.1).
    let stream = get(
        api,
        "/v1/audit/streams/processor_customer/stripe:acct_stripe_visa",
    )
    .await;
    let events = stream["items"].as_array().expect("items");
    assert_eq!(events.len(), 1, "{stream:#}");
    assert_eq!(events[0]["event_type"], "ProcessorCustomerCreated");
    assert_eq!(
        events[0]["payload"]["ProcessorCustomerCreated"]["customer_id"],
        json!(charge.customer)
    );
}

async fn a_soft_decline_opens_dunning(backend: Backend) {
    let run = StripeRun::start(backend, &[]).await;
    let (fake, api) = (&run.fake, &run.api);
    let account = "acct_stripe_soft";
    let invoice = invoice_for(api, account, "pm_card_chargeDeclinedInsufficientFunds").await;

    let payment = attempt_payment(api, &invoice).await;
    assert_eq!(
        (
            &payment["status"],
            &payment["code"],
            &payment["hard_decline"]
        ),
        (
            &json!("declined"),
            &json!("insufficient_funds"),
            &json!(false)
        ),
        "{payment}"
    );
    assert!(fake.charges_for(&invoice).is_empty());
    settle(api).await;
    let case = dunning_case(api, account).await;
    assert_eq!(
        (&case["status"], &case["stage"]),
        (&json!("open"), &json!("retrying")),
        "{case}"
    );
    assert_eq!(case["invoice_id"], invoice.as_str());
    assert_eq!(notification_kinds(api, account).await, ["payment_failed"]);
}

async fn a_lost_card_escalates_at_once(backend: Backend) {
    let run = StripeRun::start(backend, &[]).await;
    let api = &run.api;
    let account = "acct_stripe_lost";
    let invoice = invoice_for(api, account, "pm_card_chargeDeclinedLostCard").await;

    let payment = attempt_payment(api, &invoice).await;
    assert_eq!(
        (&payment["code"], &payment["hard_decline"]),
        (&json!("lost_card"), &json!(true)),
        "{payment}"
    );
    settle(api).await;
    let case = dunning_case(api, account).await;
    assert_eq!(
        (&case["status"], &case["stage"]),
        (&json!("open"), &json!("escalated")),
        "{case}"
    );
    assert_eq!(case["retry_schedule"], json!([]));
}

async fn authentication_required_is_a_soft_failure_the_customer_is_told(backend: Backend) {
    let run = StripeRun::start(backend, &[]).await;
    let (fake, api) = (&run.fake, &run.api);
    let account = "acct_stripe_3ds";
    let invoice = invoice_for(api, account, "pm_card_authenticationRequired").await;

    let payment = attempt_payment(api, &invoice).await;
    assert_eq!(
        (
            &payment["status"],
            &payment["code"],
            &payment["hard_decline"]
        ),
        (
            &json!("declined"),
            &json!("authentication_required"),
            &json!(false)
        ),
        "{payment}"
    );
    // The fake left the PaymentIntent in `requires_action`, as Stripe does: no money moved.
    let intents = fake.intents_for(&invoice);
    assert_eq!(intents.len(), 1);
    assert_eq!(intents[0].status, "requires_action");
    assert!(fake.charges_for(&invoice).is_empty());
    settle(api).await;
    assert_eq!(notification_kinds(api, account).await, ["payment_failed"]);
    let case = dunning_case(api, account).await;
    assert_eq!(case["stage"], "retrying", "{case}");
    let failed = get(api, &format!("/v1/invoices/{invoice}")).await;
    assert_eq!(failed["status"], "past_due");
}

async fn a_500_then_success_is_retried_with_the_same_key_and_charges_once(backend: Backend) {
    let run = StripeRun::start(backend, &[]).await;
    let (fake, server, api) = (&run.fake, &run.server, &run.api);
    let invoice = invoice_for(api, "acct_stripe_500", "pm_card_visa").await;

    fake.fail_next("/v1/payment_intents", Failure::ServerError);
    assert_eq!(attempt_payment(api, &invoice).await["status"], "succeeded");
    let payment_ref = format!("{invoice}:attempt:1");
    assert_eq!(intent_keys(fake), [payment_ref.clone(), payment_ref]);
    assert_eq!(fake.charges_for(&invoice).len(), 1);
    // The retry was logged, the API key never.
    let logged: Vec<String> = server.log.try_iter().collect();
    assert!(
        logged
            .iter()
            .any(|line| line.contains("retrying with the same key")),
        "{logged:?}"
    );
    assert!(!logged.iter().any(|line| line.contains(STRIPE_KEY)));
}

async fn a_lost_answer_is_asked_again_and_charges_once(backend: Backend) {
    let run = StripeRun::start(backend, &[]).await;
    let (fake, api) = (&run.fake, &run.api);
    let invoice = invoice_for(api, "acct_stripe_drop", "pm_card_visa").await;

    // Stripe charged, and the connection died before the answer.
    fake.fail_next("/v1/payment_intents", Failure::DropAfterExecuting);
    assert_eq!(attempt_payment(api, &invoice).await["status"], "succeeded");
    let payment_ref = format!("{invoice}:attempt:1");
    assert_eq!(intent_keys(fake), [payment_ref.clone(), payment_ref]);
    assert_eq!(fake.charges_for(&invoice).len(), 1);
    let paid = get(api, &format!("/v1/invoices/{invoice}")).await;
    assert_eq!(
        (&paid["status"], &paid["amount_paid"]),
        (&json!("paid"), &json!(3800))
    );
}

async fn a_kill_between_the_charge_and_its_record_resumes_with_one_charge(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let fake = FakeStripe::start();
    let server = serve(&db, &fake);
    let api = Api::admin(&server.base_url);
    let invoice = invoice_for(&api, "acct_stripe_kill", "pm_card_visa").await;

    // Stripe takes the money and every answer is lost: the attempt stays in flight (503)...
    for _ in 0..4 {
        fake.fail_next("/v1/payment_intents", Failure::DropAfterExecuting);
    }
    let reply = api
        .post(
            &format!("/v1/invoices/{invoice}/attempt-payment"),
            json!({}),
        )
        .await;
    reply.assert_problem(503, "payment_gateway_unavailable");
    assert_eq!(fake.charges_for(&invoice).len(), 1, "Stripe took the money");
    // ...and the process dies before recording anything.
    server.kill();

    let server = serve(&db, &fake);
    let api = Api::admin(&server.base_url);
    let payment = attempt_payment(&api, &invoice).await;
    assert_eq!(payment["status"], "succeeded");
    assert_eq!(payment["payment_ref"], format!("{invoice}:attempt:1"));
    let paid = get(&api, &format!("/v1/invoices/{invoice}")).await;
    assert_eq!(
        (&paid["status"], &paid["attempts"]),
        (&json!("paid"), &json!(1))
    );
    assert_eq!(
        fake.charges_for(&invoice).len(),
        1,
        "one charge, after the resume too"
    );
    assert!(intent_keys(&fake)
        .iter()
        .all(|key| *key == format!("{invoice}:attempt:1")));
}

async fn a_refund_goes_back_through_stripe_and_shows_on_the_invoice(backend: Backend) {
    let run = StripeRun::start(backend, &[]).await;
    let (fake, api) = (&run.fake, &run.api);
    let invoice = invoice_for(api, "acct_stripe_refund", "pm_card_visa").await;
    assert_eq!(attempt_payment(api, &invoice).await["status"], "succeeded");
    let intent = fake.charges_for(&invoice)[0].id.clone();
    let refund_path = format!("/v1/invoices/{invoice}/refund");
    let refund = |amount: i64| json!({"amount": amount, "reason": "goodwill"});

    api.post_once(&refund_path, "refund-1", refund(1000))
        .await
        .assert_status(200);
    // The same request again (a retry): replayed, and Stripe is not asked for more money.
    api.post_once(&refund_path, "refund-1", refund(1000))
        .await
        .assert_status(200);
    let partly = get(api, &format!("/v1/invoices/{invoice}")).await;
    assert_eq!(
        (&partly["status"], &partly["amount_refunded"]),
        (&json!("paid"), &json!(1000))
    );
    let refunds = fake.refunds();
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    assert_eq!(
        (&refunds[0]["payment_intent"], &refunds[0]["amount"]),
        (&json!(intent), &json!(1000))
    );

    // More than is left: the invoice refuses before Stripe is asked.
    let too_much = api.post(&refund_path, refund(2801)).await;
    too_much.assert_problem(409, "rule_violation");
    assert_eq!(fake.refunds().len(), 1);

    api.post(&refund_path, refund(2800))
        .await
        .assert_status(200);
    let refunded = get(api, &format!("/v1/invoices/{invoice}")).await;
    assert_eq!(
        (&refunded["status"], &refunded["amount_refunded"]),
        (&json!("refunded"), &json!(3800))
    );
    let amounts: Vec<_> = fake.refunds().iter().map(|r| r["amount"].clone()).collect();
    assert_eq!(amounts, [json!(1000), json!(2800)]);
}

/// A credit note with outcome `refund` refunds through Stripe (SPEC 11.4), once per request; one
/// to the balance is money Stripe can no longer be asked to refund.
async fn a_credit_note_refunds_through_stripe(backend: Backend) {
    let run = StripeRun::start(backend, &[]).await;
    let (fake, api) = (&run.fake, &run.api);
    let invoice = invoice_for(api, "acct_stripe_note", "pm_card_visa").await;
    assert_eq!(attempt_payment(api, &invoice).await["status"], "succeeded");
    let intent = fake.charges_for(&invoice)[0].id.clone();
    let notes = format!("/v1/invoices/{invoice}/credit-notes");
    let note = |amount: i64, outcome: &str| json!({"amount": amount, "reason": "seats billed twice", "outcome": outcome});
    for _ in 0..2 {
        api.post_once(&notes, "note-1", note(700, "refund"))
            .await
            .assert_status(200);
    }
    let refunds = fake.refunds();
    assert_eq!(refunds.len(), 1, "a retried note refunds once: {refunds:?}");
    assert_eq!(
        (&refunds[0]["payment_intent"], &refunds[0]["amount"]),
        (&json!(intent), &json!(700))
    );
    api.post(&notes, note(3000, "credit_balance"))
        .await
        .assert_status(200);
    // 3800 paid − 700 refunded − 3000 to the balance: 100 is all Stripe may still give back.
    api.post(&notes, note(101, "refund"))
        .await
        .assert_problem(409, "rule_violation");
    assert_eq!(fake.refunds().len(), 1, "refused before Stripe was asked");
    let invoice = get(api, &format!("/v1/invoices/{invoice}")).await;
    assert_eq!(invoice["amount_refunded"], 700);
}

async fn a_payment_method_stripe_does_not_know_is_refused_before_it_is_kept(backend: Backend) {
    let run = StripeRun::start(backend, &[]).await;
    let (fake, api) = (&run.fake, &run.api);
    let body = json!({"account_id": "acct_stripe_unknown", "plan_id": "starter",
                      "billing_email": "billing@example.com", "payment_method": "pm_card_mastercard"});
    let refused = api.post("/v1/subscriptions", body).await;
    refused.assert_problem(422, "payment_method_invalid");

    // Stripe failing every try to attach: 503. Neither refusal recorded anything.
    for _ in 0..4 {
        fake.fail_next("/v1/payment_methods", Failure::ServerError);
    }
    let body = json!({"account_id": "acct_stripe_down", "plan_id": "starter",
                      "billing_email": "billing@example.com", "payment_method": "pm_card_visa"});
    let unanswered = api.post("/v1/subscriptions", body).await;
    unanswered.assert_problem(503, "payment_gateway_unavailable");
    let stream = api.get("/v1/audit/events?limit=100").await;
    assert!(
        stream.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|e| e["aggregate_type"] != "subscription"),
        "nothing was recorded: {stream:?}"
    );

    // A lost card is kept, as Stripe keeps it, and declines at charge.
    let invoice = invoice_for(api, "acct_stripe_lost", "pm_card_chargeDeclinedLostCard").await;
    let payment = attempt_payment(api, &invoice).await;
    assert_eq!(payment["hard_decline"], json!(true), "{payment}");
    // Checking attached it to the account's Customer, under a key of its own (the refused
    // account got a Customer too: one per account).
    assert!(fake
        .seen()
        .iter()
        .any(|seen| seen.idempotency_key.as_deref()
            == Some("ledgerline:verify:acct_stripe_lost:pm_card_chargeDeclinedLostCard")));
    assert_eq!(
        fake.customers().len(),
        3,
        "one per account, the refused ones too"
    );
}

infrastructure::on_both_backends!(
    a_payment_method_stripe_does_not_know_is_refused_before_it_is_kept,
    a_refund_goes_back_through_stripe_and_shows_on_the_invoice,
    a_credit_note_refunds_through_stripe,
    a_good_card_is_charged_once_with_the_invoice_in_its_metadata,
    a_soft_decline_opens_dunning,
    a_lost_card_escalates_at_once,
    authentication_required_is_a_soft_failure_the_customer_is_told,
    a_500_then_success_is_retried_with_the_same_key_and_charges_once,
    a_lost_answer_is_asked_again_and_charges_once,
    a_kill_between_the_charge_and_its_record_resumes_with_one_charge,
);

//! What the policy does with each Stripe event: a late success changes nothing, a failure then a
//! success ends paid, a dashboard refund is recorded once, a dispute escalates into the queue.

use super::*;

async fn a_success_after_our_own_record_changes_nothing(backend: Backend) {
    let run = StripeRun::start(backend, WEBHOOK_SECRET).await;
    let (fake, server, api) = (&run.fake, &run.server, &run.api);
    let invoice = invoice_for(api, "acct_hook_paid", "pm_card_visa").await;
    attempt_payment(api, &invoice).await;
    let before = invoice_events(api, &invoice).await;

    let intent = intent_json(&fake.charges_for(&invoice)[0]);
    send(
        server,
        "evt_late_success",
        "payment_intent.succeeded",
        intent.clone(),
    )
    .await;
    send(
        server,
        "evt_late_success_again",
        "payment_intent.succeeded",
        intent,
    )
    .await;
    settle(api).await;
    assert_eq!(
        effect(api, "evt_late_success").await,
        "ignored: the invoice is already paid"
    );
    assert_eq!(invoice_events(api, &invoice).await, before);
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
    let run = StripeRun::start(backend, WEBHOOK_SECRET).await;
    let (fake, server, api) = (&run.fake, &run.server, &run.api);
    let account = "acct_hook_dispute";
    let invoice = invoice_for(api, account, "pm_card_visa").await;
    attempt_payment(api, &invoice).await;
    let intent = fake.charges_for(&invoice)[0].id.clone();

    // Stripe's dispute names the PaymentIntent, and carries no metadata of ours.
    let dispute = json!({"id": "dp_1", "object": "dispute", "amount": 3800, "currency": "usd",
                         "reason": "fraudulent", "status": "needs_response",
                         "charge": format!("ch_{intent}"), "payment_intent": intent,
                         "metadata": {}});
    send(
        server,
        "evt_dispute",
        "charge.dispute.created",
        dispute.clone(),
    )
    .await;
    send(
        server,
        "evt_dispute_again",
        "charge.dispute.created",
        dispute,
    )
    .await;
    settle(api).await;
    assert_eq!(
        effect(api, "evt_dispute").await,
        format!("dispute_opened on invoice {invoice}")
    );
    let disputes = invoice_events(api, &invoice)
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

infrastructure::on_both_backends!(
    a_dispute_escalates_the_case_into_the_work_queue,
    a_refund_made_in_stripe_is_recorded_once,
    a_success_after_our_own_record_changes_nothing,
    a_failure_then_a_success_for_one_invoice_ends_paid,
);

//! Who may post Stripe events: a signature by any configured secret records the event once; a
//! bad, missing or stale one is 400 and records nothing; an unknown type is recorded, not acted on.

use super::*;

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
    a_signed_event_is_recorded_once,
    a_secret_being_rotated_out_still_verifies,
    bad_missing_and_stale_signatures_are_refused_and_record_nothing,
    an_unknown_event_type_is_recorded_and_answered_200,
);

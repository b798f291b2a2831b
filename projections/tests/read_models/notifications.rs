//! The notification outbox written in batches: a case started in the same batch as its
//! notifications, a case started in an earlier batch, and a dedupe key recorded twice (the first
//! wins) give the same rows whether the log is applied in one batch or one event per batch.

use chrono::{DateTime, Duration, Utc};
use domain::dunning::{DunningCommand, DunningEvent, NotificationKind};
use domain::invoice::InvoiceCommand;
use domain::subscription::SubscriptionCommand;
use infrastructure::testing::Backend;
use projections::rebuild::Rebuild;
use projections::NotificationView;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::fixtures::*;

/// A case of `acct_a` appended as a log written before the aggregate deduplicated would hold
/// it: `payment_failed` recorded twice (an hour apart), then `access_suspended`. Then a case of
/// `acct_b`, through the aggregate, told `payment_failed`. Returns the last position.
async fn history(h: &Harness) -> i64 {
    let case_a = Uuid::new_v4();
    let recorded = |kind, key: &str, hours| DunningEvent::NotificationRecorded {
        kind,
        dedupe_key: key.to_owned(),
        at: t0() + Duration::hours(hours),
    };
    let started = DunningEvent::DunningStarted {
        case_id: case_a,
        account_id: account("acct_a"),
        subscription_id: None,
        invoice_id: Uuid::new_v4(),
        amount_due: money(1900, "usd"),
        failure_reason: "Your card was declined.".into(),
        failure_code: "card_declined".into(),
        started_at: t0(),
        window_expires_at: t0() + Duration::days(14),
        cancel_at: t0() + Duration::days(30),
        retry_schedule: vec![],
    };
    let events = vec![
        started,
        recorded(NotificationKind::PaymentFailed, "payment_failed:a", 1),
        recorded(NotificationKind::PaymentFailed, "payment_failed:a", 2),
        recorded(NotificationKind::AccessSuspended, "access_suspended:a", 3),
    ];
    h.append_unchecked("dunning_case", &case_a.to_string(), events)
        .await;
    let (case_b, _) = h
        .start_dunning("acct_b", None, Uuid::new_v4(), 4900, false)
        .await;
    let told = DunningCommand::RecordNotification {
        kind: NotificationKind::PaymentFailed,
        dedupe_key: "payment_failed:b".into(),
    };
    h.dunning(case_b, told).await.expect("recorded")
}

/// What the notifications query answers for `account`: kinds and times, not the row ids (event
/// ids, new in every run).
async fn told(h: &Harness, account_id: &str) -> Vec<(String, DateTime<Utc>)> {
    let page = h
        .read_models()
        .notifications(&account(account_id), 100, None)
        .await
        .unwrap();
    page.items
        .into_iter()
        .map(|view: NotificationView| (view.kind, at(&view.created_at)))
        .collect()
}

async fn every_batch_split_writes_the_same_outbox(backend: Backend) {
    let mut answers = Vec::new();
    for batch_size in [100, 1] {
        let h = Harness::new(backend).await;
        let last = history(&h).await;
        let projections = h.start(options(batch_size));
        projections.wait_for(last, PATIENCE).await.unwrap();
        projections.stop().await;
        answers.push((told(&h, "acct_a").await, told(&h, "acct_b").await));
    }
    let expected_a = vec![
        ("payment_failed".to_owned(), t0() + Duration::hours(1)),
        ("access_suspended".to_owned(), t0() + Duration::hours(3)),
    ];
    assert_eq!(answers[0].0, expected_a, "one batch");
    assert_eq!(answers[0].1.len(), 1, "{:?}", answers[0].1);
    assert_eq!(answers[0].1[0].0, "payment_failed");
    assert_eq!(answers[0], answers[1], "one event per batch");
}

/// An account in trial without a billing email is told its trial ends (no recipient); the
/// warning recorded again after a billing account is attached is the same notification (its
/// dedupe key) and stays without one. Then a paid invoice (a receipt, to the billing email), a
/// zero invoice (paid at issue: no receipt) and a failed payment of another invoice (to the
/// billing email, with the invoice's due date). Returns the paid invoice and the last position.
async fn customer_history(h: &Harness) -> (Uuid, i64) {
    let (subscription, _) = h.start_trial("acct_c", "starter", 1).await;
    h.subscription(subscription, SubscriptionCommand::WarnTrialEnding)
        .await;
    let attach = SubscriptionCommand::AttachBillingAccount {
        billing_account: billing_account(),
    };
    h.subscription(subscription, attach).await;
    h.subscription(subscription, SubscriptionCommand::WarnTrialEnding)
        .await;
    let (paid, _) = h.issue("acct_c", Some(subscription), "usd", &[1900]).await;
    let payment = InvoiceCommand::RecordPayment {
        amount: money(1900, "usd"),
        payment_ref: "pay_1".into(),
    };
    h.invoice(paid, payment).await.expect("paid");
    h.issue("acct_c", Some(subscription), "usd", &[0]).await;
    let (unpaid, _) = h.issue("acct_c", Some(subscription), "usd", &[4900]).await;
    let (case, _) = h
        .start_dunning("acct_c", Some(subscription), unpaid, 4900, false)
        .await;
    let told = DunningCommand::RecordNotification {
        kind: NotificationKind::PaymentFailed,
        dedupe_key: format!("payment_failed:{case}"),
    };
    (paid, h.dunning(case, told).await.expect("recorded"))
}

/// Kind, recipient and the payload fields a template prints, per notification of `account_id`.
async fn told_in_full(h: &Harness, account_id: &str) -> Vec<(String, Option<String>, Value)> {
    let page = h
        .read_models()
        .notifications(&account(account_id), 100, None)
        .await
        .unwrap();
    page.items
        .into_iter()
        .map(|view| {
            let mut payload = view.payload;
            // Ids of this run's cases; the rest is the same in every run.
            payload.as_object_mut().unwrap().remove("dunning_case_id");
            payload.as_object_mut().unwrap().remove("subscription_id");
            payload.as_object_mut().unwrap().remove("invoice_id");
            (view.kind, view.recipient, payload)
        })
        .collect()
}

async fn new_kinds_name_their_recipient_once_across_batches_and_a_rebuild(backend: Backend) {
    let mut answers = Vec::new();
    for batch_size in [100, 1, 3] {
        let h = Harness::new(backend).await;
        let (paid, last) = customer_history(&h).await;
        let projections = h.start(options(batch_size));
        projections.wait_for(last, PATIENCE).await.unwrap();
        let before = told_in_full(&h, "acct_c").await;
        let receipts = h
            .read_models()
            .notifications(&account("acct_c"), 100, None)
            .await
            .unwrap()
            .items
            .into_iter()
            .filter(|view| view.kind == "invoice_receipt")
            .map(|view| view.payload["invoice_id"].clone())
            .collect::<Vec<_>>();
        assert_eq!(receipts, vec![json!(paid.to_string())], "one receipt");

        let model = read_model(&projections, "notifications");
        Rebuild::claim(h.store.clone(), model)
            .await
            .unwrap()
            .prepare(&|_| {})
            .await
            .unwrap()
            .swap()
            .await
            .unwrap();
        assert_eq!(told_in_full(&h, "acct_c").await, before, "rebuilt alike");
        projections.stop().await;
        answers.push(before);
    }
    let billing = Some("billing@example.com".to_owned());
    let kinds: Vec<(&str, Option<String>)> = answers[0]
        .iter()
        .map(|(kind, recipient, _)| (kind.as_str(), recipient.clone()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("trial_will_end", None),
            ("invoice_receipt", billing.clone()),
            ("payment_failed", billing),
        ]
    );
    let receipt = &answers[0][1].2;
    assert_eq!(
        receipt["amount_paid"],
        json!({"amount": 1900, "currency": "usd"})
    );
    let failed = &answers[0][2].2;
    assert_eq!(
        failed["amount_due"],
        json!({"amount": 4900, "currency": "usd"})
    );
    assert!(failed["invoice_due_at"].is_string(), "{failed}");
    assert!(failed["access_suspended_at"].is_string(), "{failed}");
    assert_eq!(answers[0], answers[1], "one event per batch");
    assert_eq!(answers[0], answers[2], "three events per batch");
}

infrastructure::on_both_backends!(
    every_batch_split_writes_the_same_outbox,
    new_kinds_name_their_recipient_once_across_batches_and_a_rebuild,
);

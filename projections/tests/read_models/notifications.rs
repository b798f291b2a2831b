//! The notification outbox written in batches: a case started in the same batch as its
//! notifications, a case started in an earlier batch, and a dedupe key recorded twice (the first
//! wins) give the same rows whether the log is applied in one batch or one event per batch.

use chrono::{DateTime, Duration, Utc};
use domain::dunning::{DunningCommand, DunningEvent, NotificationKind};
use infrastructure::testing::Backend;
use projections::NotificationView;
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

infrastructure::on_both_backends!(every_batch_split_writes_the_same_outbox);

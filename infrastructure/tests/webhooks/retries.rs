//! Retries over three days: then the delivery is failed, the account's queue moves on, and an
//! endpoint that failed everything for three days is disabled.

use chrono::Duration;
use infrastructure::on_both_backends;
use infrastructure::testing::{Backend, TestDatabase};
use infrastructure::webhooks::AttemptOutcome;

use crate::support::{answered, catalog_event, deliveries, due, endpoint, fan_out, reload, start};

on_both_backends!(
    a_delivery_failing_for_three_days_is_given_up_and_the_queue_moves_on,
    one_success_keeps_an_endpoint_enabled,
);

async fn a_delivery_failing_for_three_days_is_given_up_and_the_queue_moves_on(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.store().await;
    let hooks = endpoint(&store, &["*"], start()).await;
    catalog_event(&store, 1, "invoice.payment_failed", "acct_a").await;
    catalog_event(&store, 2, "invoice.paid", "acct_a").await;
    fan_out(&store, &hooks, start()).await;

    let mut now = start();
    let mut attempts = 0;
    let outcome = loop {
        let offered = store
            .due_webhook_deliveries(&hooks.id, now, 10, 1)
            .await
            .unwrap();
        assert_eq!(offered.len(), 1, "only the head of acct_a at {now}");
        assert_eq!(offered[0].position, 1);
        attempts += 1;
        match store
            .record_webhook_attempt(&hooks.id, &offered[0], &answered(500), now)
            .await
            .unwrap()
        {
            AttemptOutcome::RetryAt(at) => {
                assert!(at > now);
                // Not offered before its time.
                assert!(due(&store, &hooks, at - Duration::milliseconds(1))
                    .await
                    .is_empty());
                now = at;
            }
            other => break other,
        }
    };
    assert_eq!(outcome, AttemptOutcome::GaveUp);
    assert!(now >= start() + Duration::days(3));
    assert!(now < start() + Duration::days(3) + Duration::hours(4));
    assert!((25..=36).contains(&attempts), "{attempts} attempts");
    assert_eq!(
        deliveries(&store, hooks.id.clone(), Some("failed")).await,
        [(1, "invoice.payment_failed".to_owned())]
    );
    assert_eq!(due(&store, &hooks, now).await, [2], "the queue moved on");

    // Failing everything for three days disables the endpoint.
    assert!(store
        .disable_webhook_endpoint_if_failing(&hooks.id, now)
        .await
        .unwrap());
    let disabled = reload(&store, &hooks).await;
    assert_eq!(disabled.disabled_at, Some(now));
    assert_eq!(disabled.disabled_reason.as_deref(), Some("failing"));
}

async fn one_success_keeps_an_endpoint_enabled(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.store().await;
    let hooks = endpoint(&store, &["*"], start()).await;
    catalog_event(&store, 1, "invoice.paid", "acct_a").await;
    catalog_event(&store, 2, "invoice.paid", "acct_b").await;
    fan_out(&store, &hooks, start()).await;
    let offered = store
        .due_webhook_deliveries(&hooks.id, start(), 10, 1)
        .await
        .unwrap();
    store
        .record_webhook_attempt(&hooks.id, &offered[0], &answered(500), start())
        .await
        .unwrap();
    let later = start() + Duration::days(2);
    store
        .record_webhook_attempt(&hooks.id, &offered[1], &answered(200), later)
        .await
        .unwrap();
    let much_later = start() + Duration::days(4);
    assert!(!store
        .disable_webhook_endpoint_if_failing(&hooks.id, much_later)
        .await
        .unwrap());
    assert!(!reload(&store, &hooks).await.is_disabled());
}

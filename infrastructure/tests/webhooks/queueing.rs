//! Fan-out and order: which catalog rows become deliveries, and in which order they are offered.

use chrono::Duration;
use infrastructure::on_both_backends;
use infrastructure::testing::{Backend, TestDatabase};
use infrastructure::webhooks::{AttemptOutcome, Endpoint};

use crate::support::{
    answered, catalog_event, deliver_all, deliveries, due, endpoint, event_id, fan_out, reload,
    start,
};

on_both_backends!(
    fan_out_respects_enabled_events_and_the_endpoint_start,
    each_account_is_offered_in_position_order_one_at_a_time,
    a_round_offers_several_deliveries_per_account_until_one_waits,
    a_failing_account_does_not_block_another,
    a_crash_between_send_and_record_offers_the_same_event_again,
    replay_requeues_in_order_with_the_same_ids,
);

async fn fan_out_respects_enabled_events_and_the_endpoint_start(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.store().await;
    catalog_event(&store, 3, "invoice.paid", "acct_a").await;
    let invoices = endpoint(&store, &["invoice.*"], start()).await;
    let everything = endpoint(&store, &["*"], start()).await;
    let paid_only = endpoint(&store, &["invoice.paid"], start()).await;
    assert_eq!(invoices.starts_after, 3, "starts after the catalog head");
    for (position, event_type) in [
        (5, "subscription.created"),
        (7, "invoice.issued"),
        (8, "entitlements.updated"),
        (9, "invoice.paid"),
    ] {
        catalog_event(&store, position, event_type, "acct_a").await;
    }
    for endpoint in [&invoices, &everything, &paid_only] {
        fan_out(&store, endpoint, start()).await;
    }
    let all = |endpoint: &Endpoint| deliveries(&store, endpoint.id.clone(), None);
    assert_eq!(
        all(&invoices).await,
        [(7, "invoice.issued".into()), (9, "invoice.paid".into())]
    );
    assert_eq!(all(&paid_only).await, [(9, "invoice.paid".into())]);
    let positions: Vec<i64> = all(&everything).await.iter().map(|(p, _)| *p).collect();
    assert_eq!(positions, [5, 7, 8, 9], "nothing from before the endpoint");
    assert_eq!(reload(&store, &everything).await.fanned_out_to, 9);

    // Fanning out again queues nothing twice.
    let current = reload(&store, &everything).await;
    assert_eq!(store.fan_out_webhooks(&current, start()).await.unwrap(), 0);
    let mut stale = current.clone();
    stale.fanned_out_to = 3;
    store.fan_out_webhooks(&stale, start()).await.unwrap();
    assert_eq!(all(&everything).await.len(), 4);
}

async fn each_account_is_offered_in_position_order_one_at_a_time(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.store().await;
    let hooks = endpoint(&store, &["*"], start()).await;
    for (position, account) in [(1, "acct_a"), (2, "acct_b"), (3, "acct_a"), (4, "acct_a")] {
        catalog_event(&store, position, "subscription.updated", account).await;
    }
    fan_out(&store, &hooks, start()).await;
    let now = start();
    assert_eq!(due(&store, &hooks, now).await, [1, 2]);

    // Its first event failing, acct_a's later ones wait for its retry.
    let offered = store
        .due_webhook_deliveries(&hooks.id, now, 10, 1)
        .await
        .unwrap();
    let outcome = store
        .record_webhook_attempt(&hooks.id, &offered[0], &answered(500), now)
        .await
        .unwrap();
    let AttemptOutcome::RetryAt(retry_at) = outcome else {
        panic!("expected a retry, got {outcome:?}");
    };
    assert!(retry_at >= now + Duration::seconds(4) && retry_at <= now + Duration::seconds(6));
    assert_eq!(due(&store, &hooks, now).await, [2]);
    assert_eq!(due(&store, &hooks, retry_at).await, [1, 2]);

    let offered = store
        .due_webhook_deliveries(&hooks.id, retry_at, 10, 1)
        .await
        .unwrap();
    for delivery in &offered {
        let outcome = store
            .record_webhook_attempt(&hooks.id, delivery, &answered(204), retry_at)
            .await
            .unwrap();
        assert_eq!(outcome, AttemptOutcome::Succeeded);
    }
    assert_eq!(due(&store, &hooks, retry_at).await, [3]);
    let offered = store
        .due_webhook_deliveries(&hooks.id, retry_at, 10, 1)
        .await
        .unwrap();
    store
        .record_webhook_attempt(&hooks.id, &offered[0], &answered(200), retry_at)
        .await
        .unwrap();
    assert_eq!(due(&store, &hooks, retry_at).await, [4]);
}

async fn a_round_offers_several_deliveries_per_account_until_one_waits(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.store().await;
    let hooks = endpoint(&store, &["*"], start()).await;
    let accounts = [
        (1, "acct_a"),
        (2, "acct_b"),
        (3, "acct_a"),
        (4, "acct_a"),
        (5, "acct_c"),
    ];
    for (position, account) in accounts {
        catalog_event(&store, position, "invoice.issued", account).await;
    }
    fan_out(&store, &hooks, start()).await;
    let now = start();
    let offered = |accounts, per_account, at| {
        let store = &store;
        let id = hooks.id.clone();
        async move {
            let due = store.due_webhook_deliveries(&id, at, accounts, per_account);
            due.await.unwrap()
        }
    };
    let positions = |due: &[infrastructure::webhooks::DueDelivery]| -> Vec<i64> {
        due.iter().map(|d| d.position).collect()
    };
    assert_eq!(positions(&offered(10, 2, now).await), [1, 2, 3, 5]);
    assert_eq!(positions(&offered(10, 50, now).await), [1, 2, 3, 4, 5]);
    assert_eq!(
        positions(&offered(2, 50, now).await),
        [1, 2, 3, 4],
        "the two accounts whose heads come first"
    );

    // acct_a's head waits for its retry: none of acct_a's deliveries is offered meanwhile.
    let head = offered(1, 1, now).await.remove(0);
    let outcome = store
        .record_webhook_attempt(&hooks.id, &head, &answered(500), now)
        .await
        .unwrap();
    let AttemptOutcome::RetryAt(retry_at) = outcome else {
        panic!("expected a retry, got {outcome:?}");
    };
    assert_eq!(positions(&offered(10, 50, now).await), [2, 5]);
    assert_eq!(positions(&offered(10, 50, retry_at).await), [1, 2, 3, 4, 5]);
}

async fn a_failing_account_does_not_block_another(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.store().await;
    let hooks = endpoint(&store, &["*"], start()).await;
    for position in 1..=3 {
        catalog_event(&store, position * 2 - 1, "invoice.issued", "acct_down").await;
        catalog_event(&store, position * 2, "invoice.issued", "acct_up").await;
    }
    fan_out(&store, &hooks, start()).await;
    let mut now = start();
    let mut delivered_up = Vec::new();
    for _ in 0..3 {
        for delivery in store
            .due_webhook_deliveries(&hooks.id, now, 10, 1)
            .await
            .unwrap()
        {
            let status = if delivery.account_id == "acct_up" {
                200
            } else {
                503
            };
            store
                .record_webhook_attempt(&hooks.id, &delivery, &answered(status), now)
                .await
                .unwrap();
            if status == 200 {
                delivered_up.push(delivery.position);
            }
        }
        now += Duration::seconds(1);
    }
    assert_eq!(delivered_up, [2, 4, 6]);
    let pending = store
        .list_webhook_deliveries(&hooks.id, Some("pending"), 0, 10)
        .await
        .unwrap();
    let pending: Vec<(i64, i64)> = pending.iter().map(|d| (d.position, d.attempts)).collect();
    assert_eq!(pending, [(1, 1), (3, 0), (5, 0)]);
}

async fn a_crash_between_send_and_record_offers_the_same_event_again(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.store().await;
    let hooks = endpoint(&store, &["*"], start()).await;
    catalog_event(&store, 1, "invoice.paid", "acct_a").await;
    catalog_event(&store, 2, "invoice.paid", "acct_a").await;
    fan_out(&store, &hooks, start()).await;
    let sent = store
        .due_webhook_deliveries(&hooks.id, start(), 10, 1)
        .await
        .unwrap();
    // The process dies after the POST, before recording it; a new one opens the same database.
    drop(store);
    let store = db.store().await;
    fan_out(&store, &hooks, start()).await;
    let again = store
        .due_webhook_deliveries(&hooks.id, start(), 10, 1)
        .await
        .unwrap();
    assert_eq!(again, sent, "the same delivery, with the same webhook-id");
    assert_eq!(again[0].event_id, event_id(1));
    store
        .record_webhook_attempt(&hooks.id, &again[0], &answered(200), start())
        .await
        .unwrap();
    // Recording the lost attempt late changes nothing: the row moved on.
    let late = store
        .record_webhook_attempt(&hooks.id, &sent[0], &answered(200), start())
        .await
        .unwrap();
    assert_eq!(late, AttemptOutcome::Superseded);
    assert_eq!(due(&store, &hooks, start()).await, [2]);
}

async fn replay_requeues_in_order_with_the_same_ids(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.store().await;
    let hooks = endpoint(&store, &["invoice.*"], start()).await;
    for position in 1..=4 {
        catalog_event(&store, position, "invoice.issued", "acct_a").await;
    }
    catalog_event(&store, 5, "subscription.updated", "acct_a").await;
    fan_out(&store, &hooks, start()).await;
    let mut now = start();
    let deliver_all = |now| deliver_all(&store, hooks.id.clone(), now);
    assert_eq!(deliver_all(now).await.len(), 4);
    now += Duration::hours(1);
    let replayed = store
        .replay_webhooks(&reload(&store, &hooks).await, 2, now)
        .await
        .unwrap();
    assert_eq!(replayed, 3);
    assert_eq!(
        deliver_all(now).await,
        [event_id(2), event_id(3), event_id(4)]
    );
    let records = deliveries(&store, hooks.id.clone(), Some("succeeded")).await;
    assert_eq!(records.len(), 4);
}

//! `schedule`: idempotent by dedupe key, and exact about the due time it keeps.

use application::scheduler::{NewTimer, Scheduler, TimerKind};
use chrono::DateTime;
use infrastructure::testing::{Backend, TestDatabase};

use crate::support::*;

async fn scheduling_a_key_twice_keeps_the_first_timer(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.store().await;
    let first = schedule(&store, "renew:a", t0() + minutes(5)).await;
    let again = schedule(&store, "renew:a", t0() + minutes(50)).await;
    assert_eq!(again, first, "the first scheduling stands");
    let claimed = store
        .claim_due(t0() + minutes(60), 10, LONG_LEASE)
        .await
        .unwrap();
    assert_eq!(claimed, vec![first.clone()], "one row for the key");

    store.complete(first.id).await.unwrap();
    let after_firing = schedule(&store, "renew:a", t0() + minutes(70)).await;
    assert_eq!(
        after_firing.id, first.id,
        "a fired key is not scheduled anew"
    );
    assert_eq!(store.next_due().await.unwrap(), None);
}

async fn every_field_reads_back_and_due_times_round_up_to_the_microsecond(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.store().await;
    let due = DateTime::parse_from_rfc3339("2026-03-15T10:20:30.123456789Z")
        .unwrap()
        .to_utc();
    for kind in TimerKind::ALL {
        let timer = NewTimer {
            kind,
            aggregate_id: format!("agg-{kind}"),
            due_at: due,
            dedupe_key: format!("key-{kind}"),
        };
        let stored = store.schedule(timer.clone()).await.unwrap();
        assert_eq!(
            (stored.kind, stored.aggregate_id, stored.dedupe_key),
            (timer.kind, timer.aggregate_id, timer.dedupe_key)
        );
        assert_eq!(
            stored.due_at.to_rfc3339(),
            "2026-03-15T10:20:30.123457+00:00"
        );
    }
    // Rounded up, a timer is not due a fraction of a microsecond before it was scheduled for.
    let just_before = due - chrono::Duration::nanoseconds(1);
    assert!(store
        .claim_due(just_before, 10, LONG_LEASE)
        .await
        .unwrap()
        .is_empty());
    let claimed = store.claim_due(due, 10, LONG_LEASE).await.unwrap();
    assert!(claimed.is_empty(), "due at .123457, not at .123456789");
    let claimed = store
        .claim_due(due + chrono::Duration::nanoseconds(211), 10, LONG_LEASE)
        .await
        .unwrap();
    assert_eq!(claimed.len(), TimerKind::ALL.len());
}

/// A closed dunning case withdraws its timers: none of them is claimed again, and the timers of
/// other aggregates stay due.
async fn cancelling_withdraws_only_the_unfired_timers_of_one_aggregate(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.store().await;
    let timer = |key: &str, aggregate_id: &str, due: i64| NewTimer {
        kind: TimerKind::DunningRetry,
        aggregate_id: aggregate_id.to_owned(),
        due_at: t0() + minutes(due),
        dedupe_key: key.to_owned(),
    };
    let fired = store.schedule(timer("a:1", "case-a", 1)).await.unwrap();
    store.complete(fired.id).await.unwrap();
    store.schedule(timer("a:2", "case-a", 2)).await.unwrap();
    store.schedule(timer("a:3", "case-a", 3)).await.unwrap();
    let other = store.schedule(timer("b:1", "case-b", 4)).await.unwrap();

    assert_eq!(store.cancel("case-a").await.unwrap(), 2);
    assert_eq!(store.cancel("case-a").await.unwrap(), 0, "nothing left");
    let claimed = store
        .claim_due(t0() + minutes(60), 10, LONG_LEASE)
        .await
        .unwrap();
    assert_eq!(claimed, vec![other.clone()]);
    store.complete(other.id).await.unwrap();
    // Scheduling a cancelled key again does not bring it back.
    store.schedule(timer("a:3", "case-a", 3)).await.unwrap();
    assert!(store
        .claim_due(t0() + minutes(60), 10, LONG_LEASE)
        .await
        .unwrap()
        .is_empty());
}

infrastructure::on_both_backends!(
    scheduling_a_key_twice_keeps_the_first_timer,
    every_field_reads_back_and_due_times_round_up_to_the_microsecond,
    cancelling_withdraws_only_the_unfired_timers_of_one_aggregate,
);

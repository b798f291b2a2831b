//! `claim_due`, `complete` and `next_due`: only due, unfired, unclaimed timers, in due order; a
//! claim lasts its lease; a fired timer is never claimed again.

use std::time::Duration;

use application::scheduler::Scheduler;
use infrastructure::testing::{Backend, TestDatabase};

use crate::support::*;

async fn only_due_unfired_timers_are_claimed_in_due_order(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.store().await;
    // Scheduled out of order; two share a due time and then go by id.
    schedule(&store, "c", t0() + minutes(30)).await;
    schedule(&store, "later", t0() + minutes(90)).await;
    schedule(&store, "a", t0() + minutes(10)).await;
    let b1 = schedule(&store, "b1", t0() + minutes(20)).await;
    let b2 = schedule(&store, "b2", t0() + minutes(20)).await;
    let fired = schedule(&store, "fired", t0()).await;
    let claimed = store.claim_due(t0(), 10, Duration::ZERO).await.unwrap();
    assert_eq!(keys(&claimed), ["fired"]);
    store.complete(fired.id).await.unwrap();

    assert_eq!(store.next_due().await.unwrap(), Some(t0() + minutes(10)));
    assert!(store
        .claim_due(t0() + minutes(9), 10, LONG_LEASE)
        .await
        .unwrap()
        .is_empty());
    let first = store
        .claim_due(t0() + minutes(30), 2, LONG_LEASE)
        .await
        .unwrap();
    let (early, late) = if b1.id < b2.id {
        ("b1", "b2")
    } else {
        ("b2", "b1")
    };
    assert_eq!(keys(&first), ["a", early], "the limit takes the earliest");
    let rest = store
        .claim_due(t0() + minutes(30), 10, LONG_LEASE)
        .await
        .unwrap();
    assert_eq!(keys(&rest), [late, "c"], "due exactly now counts as due");
    // Claimed timers are still unfired: the earliest of them is still next.
    assert_eq!(store.next_due().await.unwrap(), Some(t0() + minutes(10)));
}

async fn a_claim_holds_for_its_lease_and_an_expired_one_is_claimed_again(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.store().await;
    let held = schedule(&store, "held", t0()).await;
    let lapsed = schedule(&store, "lapsed", t0()).await;
    let now = t0() + minutes(1);
    let claimed = store.claim_due(now, 1, LONG_LEASE).await.unwrap();
    let first_key = claimed[0].dedupe_key.clone();
    // The other one is claimed with a lease that has already run out: as a crashed worker's.
    let claimed = store.claim_due(now, 10, Duration::ZERO).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_ne!(claimed[0].dedupe_key, first_key);
    let lapsed_key = claimed[0].dedupe_key.clone();

    let again = store.claim_due(now, 10, LONG_LEASE).await.unwrap();
    assert_eq!(
        keys(&again),
        [lapsed_key.as_str()],
        "only the lapsed claim is taken over"
    );
    assert!(store
        .claim_due(now, 10, LONG_LEASE)
        .await
        .unwrap()
        .is_empty());
    assert!([held.dedupe_key, lapsed.dedupe_key].contains(&first_key));
}

async fn a_completed_timer_is_never_claimed_again(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.store().await;
    let timer = schedule(&store, "once", t0()).await;
    let claimed = store.claim_due(t0(), 10, Duration::ZERO).await.unwrap();
    assert_eq!(claimed, vec![timer.clone()]);
    store.complete(timer.id).await.unwrap();
    store
        .complete(timer.id)
        .await
        .expect("completing twice is harmless");
    assert!(store
        .claim_due(t0() + minutes(600), 10, Duration::ZERO)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(store.next_due().await.unwrap(), None);
}

infrastructure::on_both_backends!(
    only_due_unfired_timers_are_claimed_in_due_order,
    a_claim_holds_for_its_lease_and_an_expired_one_is_claimed_again,
    a_completed_timer_is_never_claimed_again,
);

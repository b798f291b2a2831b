//! Timers are rows: they survive a restart, and a claim left by a process that died runs out.

use std::time::Duration;

use application::scheduler::Scheduler;
use infrastructure::testing::{Backend, TestDatabase};

use crate::support::*;

async fn timers_survive_a_restart_and_a_dead_workers_claim_runs_out(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let (pending, orphaned) = {
        let store = db.store().await;
        let pending = schedule(&store, "pending", t0() + minutes(5)).await;
        let orphaned = schedule(&store, "orphaned", t0()).await;
        let fired = schedule(&store, "fired", t0()).await;
        let claimed = store.claim_due(t0(), 10, Duration::ZERO).await.unwrap();
        assert_eq!(claimed.len(), 2);
        store.complete(fired.id).await.unwrap();
        // The process "dies" here, holding `orphaned`'s claim, which has run out.
        (pending, orphaned)
    };
    let store = db.store().await;
    assert_eq!(store.next_due().await.unwrap(), Some(t0()));
    // Both fell due "while the service was down" and fire once it is back.
    let claimed = store
        .claim_due(t0() + minutes(60), 10, LONG_LEASE)
        .await
        .unwrap();
    assert_eq!(claimed, vec![orphaned, pending]);
}

infrastructure::on_both_backends!(timers_survive_a_restart_and_a_dead_workers_claim_runs_out);

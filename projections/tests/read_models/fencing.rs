//! The checkpoint is a fence: a worker that lost its lease without noticing (its lock
//! connection dropped while it was mid-batch) cannot commit over the checkpoint of the worker
//! that took over. Postgres only: on SQLite every write goes through one connection in turn, so
//! the situation cannot arise.

use application::event_log::EventLog;
use domain::subscription::SubscriptionCommand;
use infrastructure::consumers::recorded_checkpoint;
use infrastructure::portable::{self, Tx};
use infrastructure::testing::Backend;
use projections::{AccountSummaryProjector, Projections};

use crate::fixtures::*;
use crate::instrumented::Instrumented;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_behind_a_moved_checkpoint_rolls_its_batch_back() {
    let h = Harness::new(Backend::Postgres).await;
    let name = AccountSummaryProjector::NAME;
    let (id, trial) = h.start_trial("acct_fenced", "starter", 1).await;
    let gated =
        Instrumented::new(AccountSummaryProjector::new(h.catalog.clone())).pausing_in_batch(2);
    let (paused, resume) = (gated.paused.clone(), gated.resume.clone());
    let mut projections = Projections::new(h.store.clone(), options(500));
    projections.spawn(gated);
    projections.wait_for(trial, PATIENCE).await.unwrap();

    let overage = h
        .subscription(id, SubscriptionCommand::SetOverageBilling { enabled: true })
        .await;
    tokio::time::timeout(PATIENCE, paused.notified())
        .await
        .unwrap();
    // Meanwhile "another worker" applies that event and commits its checkpoint.
    let moved = h.store.cursor_of(overage).await.unwrap().unwrap();
    let mut tx = Tx::begin(&h.store).await.unwrap();
    portable::query("UPDATE projection_checkpoints SET log_tx = $1, position = $2 WHERE name = $3")
        .bind(moved.tx)
        .bind(moved.position)
        .bind(name)
        .execute(&mut tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    resume.notify_one();

    let seats_added = h
        .subscription(id, SubscriptionCommand::AddSeats { count: seats(1) })
        .await;
    projections.wait_for(seats_added, PATIENCE).await.unwrap();
    let summary = h.summary("acct_fenced").await.unwrap();
    assert!(
        !summary.seats.overage_billing,
        "the fenced batch was rolled back, not applied a second time"
    );
    assert_eq!(
        summary.seats.count, 2,
        "the worker went on from the moved checkpoint"
    );
    let checkpoint = recorded_checkpoint(&h.store, name).await.unwrap();
    assert_eq!(
        checkpoint,
        h.store.cursor_of(seats_added).await.unwrap().unwrap()
    );
    projections.stop().await;
}

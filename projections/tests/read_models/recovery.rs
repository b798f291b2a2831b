//! A projector that crashes mid-batch resumes from its checkpoint, and ends with exactly the
//! read models a full replay of the same log builds in a fresh database.

use std::sync::Arc;

use domain::subscription::SubscriptionCommand;
use infrastructure::consumers::recorded_checkpoint;
use infrastructure::testing::{Backend, TestDatabase};
use infrastructure::Store;
use projections::feature_access::{AccessAccountRow, FeatureRow};
use projections::summary::SummaryRow;
use projections::{
    feature_access, summary, AccountSummaryProjector, FeatureAccessProjector, Projections,
};

use crate::fixtures::*;
use crate::instrumented::Instrumented;

type AccessRows = (Vec<AccessAccountRow>, Vec<FeatureRow>);

/// Every row of both read models.
async fn rows(store: &Store) -> (Vec<SummaryRow>, AccessRows) {
    let pool = store.reader();
    let summaries = summary::all_rows(&pool).await.unwrap();
    let access = feature_access::all_rows(&pool).await.unwrap();
    (summaries, access)
}

async fn a_crashed_projector_resumes_from_its_checkpoint_to_the_replayed_state(backend: Backend) {
    let h = Harness::new(backend).await;
    for n in 0..8 {
        let acct = format!("acct_{n}");
        let plan_id = ["starter", "pro"][n % 2];
        let (id, _) = h.start_trial(&acct, plan_id, 1).await;
        h.enable(&acct, plan_id, trial_period(14)).await;
        h.subscription(id, SubscriptionCommand::AddSeats { count: seats(2) })
            .await;
        h.record_usage(&acct, "projects", n as u64 + 1).await;
    }
    let events = readable_log(&h.store, 32).await;
    let head = events[31].1.position;

    // Batches of four; the summary pauses in its third, with that batch's rows written, and dies.
    let crashing =
        Instrumented::new(AccountSummaryProjector::new(h.catalog.clone())).pausing_in_batch(3);
    let paused = crashing.paused.clone();
    let mut projections = Projections::new(h.store.clone(), options(4));
    projections.spawn(crashing);
    projections.spawn(FeatureAccessProjector);
    tokio::time::timeout(PATIENCE, paused.notified())
        .await
        .expect("the summary reaches its third batch");
    projections.abort().await;

    let name = AccountSummaryProjector::NAME;
    let checkpoint = recorded_checkpoint(&h.store, name).await.unwrap();
    assert_eq!(checkpoint, events[7].0, "two batches of four committed");

    let resumed = Instrumented::new(AccountSummaryProjector::new(h.catalog.clone()));
    let seen = resumed.seen.clone();
    let mut projections = Projections::new(h.store.clone(), options(4));
    projections.spawn(resumed);
    projections.spawn(FeatureAccessProjector);
    projections.wait_for(head, PATIENCE).await.unwrap();
    projections.stop().await;
    let seen = seen.lock().unwrap().clone();
    let expected: Vec<i64> = events[8..]
        .iter()
        .map(|(_, event)| event.position)
        .collect();
    assert_eq!(
        seen, expected,
        "resumed right after the checkpoint, each event once"
    );

    let fresh = TestDatabase::create(backend).await;
    let replayed = fresh.store().await;
    copy_log(&h.store, &replayed, events.len()).await;
    let replayed = Arc::new(replayed);
    let replay = projections::start(replayed.clone(), h.catalog.clone(), options(500));
    let replayed_events = readable_log(&replayed, events.len()).await;
    let replayed_head = replayed_events.last().unwrap().1.position;
    replay.wait_for(replayed_head, PATIENCE).await.unwrap();
    replay.stop().await;

    let (live, replay_rows) = (rows(&h.store).await, rows(&replayed).await);
    assert_eq!(live.0.len(), 8);
    assert_eq!(
        live.1 .1.len(),
        4 * 3 + 4 * 6,
        "starter grants 3 features, pro 6"
    );
    assert_eq!(live, replay_rows);
}

infrastructure::on_both_backends!(
    a_crashed_projector_resumes_from_its_checkpoint_to_the_replayed_state
);

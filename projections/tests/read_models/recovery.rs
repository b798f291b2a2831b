//! A projector that crashes mid-batch resumes from its checkpoint, and ends with exactly the
//! read models a full replay of the same log builds in a fresh database.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use application::event_log::StoredEvent;
use domain::subscription::SubscriptionCommand;
use infrastructure::testing::{Backend, TestDatabase};
use infrastructure::Store;
use projections::feature_access::{AccessAccountRow, FeatureRow};
use projections::runtime::recorded_checkpoint;
use projections::sql::{ProjectionTx, ReadPool};
use projections::summary::SummaryRow;
use projections::{
    feature_access, summary, AccountSummaryProjector, FeatureAccessProjector, ProjectionError,
    Projections, Projector,
};
use tokio::sync::Notify;

use crate::fixtures::*;

/// A projector that records the positions it is handed and can hang in the middle of a batch,
/// after writing its rows, until its task is aborted.
struct Instrumented<P> {
    inner: P,
    seen: Arc<Mutex<Vec<i64>>>,
    /// The 1-based batch to hang in.
    hang_in_batch: Option<usize>,
    batches: AtomicUsize,
    hanging: Arc<Notify>,
}

impl<P> Instrumented<P> {
    fn new(inner: P, hang_in_batch: Option<usize>) -> Self {
        Self {
            inner,
            seen: Arc::default(),
            hang_in_batch,
            batches: AtomicUsize::new(0),
            hanging: Arc::default(),
        }
    }
}

impl<P: Projector> Projector for Instrumented<P> {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn listens_to(&self) -> &'static [&'static str] {
        self.inner.listens_to()
    }

    async fn apply_batch(
        &self,
        tx: &mut ProjectionTx,
        events: &[StoredEvent],
    ) -> Result<(), ProjectionError> {
        self.seen
            .lock()
            .unwrap()
            .extend(events.iter().map(|event| event.position));
        self.inner.apply_batch(tx, events).await?;
        let batch = self.batches.fetch_add(1, Ordering::SeqCst) + 1;
        if self.hang_in_batch == Some(batch) {
            self.hanging.notify_one();
            std::future::pending::<()>().await;
        }
        Ok(())
    }
}

type AccessRows = (Vec<AccessAccountRow>, Vec<FeatureRow>);

/// Every row of both read models.
async fn rows(store: &Store) -> (Vec<SummaryRow>, AccessRows) {
    let pool = ReadPool::of(store);
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
    let events = all_events(&h.store).await;
    let head = h.head().await;

    // Batches of four; the summary hangs in its third, with that batch's rows written.
    let crashing = Instrumented::new(AccountSummaryProjector::new(h.catalog.clone()), Some(3));
    let hanging = crashing.hanging.clone();
    let mut projections = Projections::new(h.store.clone(), options(4));
    projections.spawn(crashing);
    projections.spawn(FeatureAccessProjector);
    tokio::time::timeout(PATIENCE, hanging.notified())
        .await
        .expect("the summary reaches its third batch");
    projections.abort().await;

    let name = AccountSummaryProjector::NAME;
    let checkpoint = recorded_checkpoint(&h.store, name).await.unwrap();
    assert_eq!(checkpoint, events[7].0, "two batches of four committed");

    let resumed = Instrumented::new(AccountSummaryProjector::new(h.catalog.clone()), None);
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
    copy_log(&h.store, &replayed).await;
    let replayed = Arc::new(replayed);
    let replay = projections::start(replayed.clone(), h.catalog.clone(), options(500));
    let replayed_events = all_events(&replayed).await;
    assert_eq!(replayed_events.len(), events.len());
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

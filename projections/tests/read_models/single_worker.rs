//! Two runtimes on one database (two `ledgerline serve` processes) never run one projection at
//! the same time, and when the active one stops the other takes over where it left off.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use application::event_log::StoredEvent;
use infrastructure::portable::Tx;
use infrastructure::testing::Backend;
use projections::{ProjectionError, ProjectionStatus, Projections, Projector};

use crate::fixtures::*;

/// Shared by the probes of every runtime of one test.
#[derive(Default)]
struct Activity {
    active: AtomicUsize,
    most_active: AtomicUsize,
    /// (runtime, position) for every event applied, in the order applied.
    applied: Mutex<Vec<(usize, i64)>>,
}

/// A projector that only records who applies what, and lingers in each batch so that an
/// overlap, if the lease allowed one, would show.
struct Probe {
    runtime: usize,
    activity: Arc<Activity>,
}

impl Projector for Probe {
    fn name(&self) -> &'static str {
        "probe"
    }

    fn listens_to(&self) -> &'static [&'static str] {
        &["subscription", "entitlements"]
    }

    fn tables(&self) -> &'static [&'static str] {
        &[]
    }

    async fn apply_batch(
        &self,
        _tx: &mut Tx,
        events: &[StoredEvent],
    ) -> Result<(), ProjectionError> {
        let now = self.activity.active.fetch_add(1, Ordering::SeqCst) + 1;
        self.activity.most_active.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(10)).await;
        let mut applied = self.activity.applied.lock().unwrap();
        applied.extend(events.iter().map(|event| (self.runtime, event.position)));
        drop(applied);
        self.activity.active.fetch_sub(1, Ordering::SeqCst);
        Ok(())
    }
}

async fn trials(h: &Harness, prefix: &str) -> i64 {
    let mut last = 0;
    for n in 0..6 {
        last = h
            .start_trial(&format!("{prefix}_{n}"), "starter", 1)
            .await
            .1;
    }
    last
}

fn running(projections: &Projections) -> bool {
    projections.state("probe").unwrap().status == ProjectionStatus::Running
}

async fn one_worker_is_active_and_the_other_takes_over(backend: Backend) {
    let h = Harness::new(backend).await;
    // A second store on the same database: another process's pools and connections.
    let other_store = Arc::new(h.db.store().await);
    let activity = Arc::new(Activity::default());
    let mut runtimes = Vec::new();
    for (runtime, store) in [h.store.clone(), other_store].into_iter().enumerate() {
        let mut projections = Projections::new(store, options(1));
        projections.spawn(Probe {
            runtime,
            activity: activity.clone(),
        });
        runtimes.push(projections);
    }

    let last = trials(&h, "first").await;
    for projections in &runtimes {
        // Both see the position applied: the standby one follows the stored checkpoint.
        projections.wait_for(last, PATIENCE).await.unwrap();
    }
    let leader = runtimes
        .iter()
        .position(running)
        .expect("one runtime is active");
    let follower = 1 - leader;
    assert_eq!(
        runtimes[follower].state("probe").unwrap().status,
        ProjectionStatus::Standby
    );
    let applied = activity.applied.lock().unwrap().clone();
    assert!(
        applied.iter().all(|(runtime, _)| *runtime == leader),
        "{applied:?}"
    );

    runtimes.remove(leader).stop().await;
    let follower = runtimes.pop().unwrap();
    let last = trials(&h, "second").await;
    follower.wait_for(last, PATIENCE).await.unwrap();
    assert!(running(&follower));

    let applied = activity.applied.lock().unwrap().clone();
    let (before, after) = applied.split_at(6);
    assert!(before.iter().all(|(runtime, _)| *runtime == leader));
    assert_eq!(after.len(), 6, "{applied:?}");
    assert!(after.iter().all(|(runtime, _)| *runtime != leader));
    let positions: Vec<i64> = applied.iter().map(|(_, position)| *position).collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "each event once, in order: {positions:?}"
    );
    assert_eq!(activity.most_active.load(Ordering::SeqCst), 1);
    follower.stop().await;
}

infrastructure::on_both_backends!(one_worker_is_active_and_the_other_takes_over);

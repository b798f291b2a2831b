//! Snapshots (SPEC 2 and its cqrs-es 0.5 pitfall): the events read to handle a command stay
//! bounded however long the stream grows (and so do those read for a past state, every snapshot
//! being kept), and the state loaded through a snapshot is exactly the full replay, for stream
//! lengths and batch sizes that cross the snapshot boundary at every offset. Batches are real Subscription commands sent as one (`Batched`); in a paid period with
//! overage billing each `SeatsAdded` accrues a pending item, so an event applied twice shows.

use std::sync::Arc;

use application::event_log::{AsOf, EventLog};
use application::CommandBus;
use cqrs_es::Aggregate;
use domain::subscription::{Subscription, SubscriptionCommand};
use infrastructure::testing::Backend;
use infrastructure::Store;

use crate::support::{
    add_seats, bus, full_replay, new_subscription, open, remove_seats, send, start_trial, Batch,
    Batched, ProbeLog,
};

type Batches = Batched<Subscription>;

async fn send_batch<L: EventLog>(
    bus: &CommandBus<L>,
    id: &str,
    batch: Vec<SubscriptionCommand>,
) -> i64 {
    send::<Batches, _>(bus, id, Batch::Batch(batch), None)
        .await
        .expect("the batch is accepted")
        .record
        .version
}

async fn the_events_read_per_command_stay_bounded_up_to_10000_events(backend: Backend) {
    const LENGTH: i64 = 10_000;
    const SNAPSHOT_EVERY: i64 = 100;
    const BATCH: i64 = 48;
    let (_db, store) = open(backend).await;
    let store = Arc::new(store);
    let probe = Arc::new(ProbeLog::new(store.clone()));
    let bus = bus(probe.clone()).with_snapshot_every(SNAPSHOT_EVERY);
    let (id, uuid) = new_subscription();
    let mut version = send_batch(&bus, &id, vec![start_trial(uuid, 1)]).await;
    while version < LENGTH {
        // Seats go up and down so the state stays small while the stream grows.
        let batch = (version..(version + BATCH).min(LENGTH))
            .map(|n| {
                if n % 2 == 1 {
                    add_seats(1)
                } else {
                    remove_seats(1)
                }
            })
            .collect();
        version = send_batch(&bus, &id, batch).await;
    }
    assert_eq!(version, LENGTH);

    let loaded = probe.events_loaded();
    assert_eq!(
        loaded.len(),
        1 + (LENGTH as usize - 1).div_ceil(BATCH as usize)
    );
    let most = loaded.iter().max().copied().unwrap_or_default();
    assert!(
        most < SNAPSHOT_EVERY as usize,
        "a command read {most} events: {loaded:?}"
    );

    let tail = store.load_stream::<Batches>(&id).await.unwrap();
    let snapshot = tail.snapshot.as_ref().expect("a snapshot");
    assert!(tail.events.len() < SNAPSHOT_EVERY as usize);
    assert_eq!(snapshot.version + tail.events.len() as i64, LENGTH);
    let (replayed, replayed_version) = full_replay::<Subscription>(&store, &id).await;
    let through_snapshot = bus.load::<Batches>(&id).await.unwrap();
    assert_eq!(replayed_version, LENGTH);

    // The past is as cheap as the present: every snapshot is kept, so a state anywhere in the
    // stream reads at most one interval plus one batch of events.
    for version in [1, 99, 100, 101, 4_321, 9_999, LENGTH] {
        let prefix = store
            .load_prefix(Subscription::TYPE, &id, AsOf::Version(version))
            .await
            .unwrap()
            .expect("the prefix exists");
        assert!(
            prefix.events.len() as i64 <= SNAPSHOT_EVERY + BATCH,
            "version {version} read {} events",
            prefix.events.len()
        );
    }
    assert_eq!(
        serde_json::to_value(through_snapshot.aggregate).unwrap(),
        serde_json::to_value(replayed).unwrap()
    );
}

/// Drives one subscription with batches of `sizes` (cycled) and checks after every command that
/// loading through the newest snapshot gives exactly the full replay.
async fn check_snapshots_match_replay(store: &Arc<Store>, snapshot_every: i64, sizes: &[u32]) {
    let bus = bus(store.clone()).with_snapshot_every(snapshot_every);
    let (id, uuid) = new_subscription();
    // 20 seats fill the Pro plan: every seat added in the paid period is an overage seat.
    let start = vec![
        start_trial(uuid, 20),
        SubscriptionCommand::ActivateSubscription,
    ];
    let mut version = send_batch(&bus, &id, start).await;
    for &size in sizes.iter().cycle().take(8) {
        let batch = (1..=size).map(|n| add_seats(n % 2 + 1)).collect();
        version = send_batch(&bus, &id, batch).await;

        let case =
            format!("snapshot every {snapshot_every}, batches {sizes:?}, at version {version}");
        let through_snapshot = bus.load::<Batches>(&id).await.unwrap();
        let (replayed, replayed_version) = full_replay::<Subscription>(store, &id).await;
        assert_eq!(
            (through_snapshot.version, replayed_version),
            (version, version),
            "{case}"
        );
        assert_eq!(
            serde_json::to_value(&through_snapshot.aggregate).unwrap(),
            serde_json::to_value(&replayed).unwrap(),
            "{case}"
        );
        let tail = store.load_stream::<Batches>(&id).await.unwrap();
        let snapshot = tail.snapshot.map_or(0, |s| s.version);
        assert!(
            version - snapshot < snapshot_every,
            "{case}: no recent snapshot ({snapshot})"
        );
    }
    let pending = bus.load::<Subscription>(&id).await.unwrap().aggregate;
    assert_eq!(
        pending.pending_items().len() as i64,
        version - 2,
        "one item per SeatsAdded"
    );
}

async fn the_state_through_snapshots_equals_the_full_replay(backend: Backend) {
    let (_db, store) = open(backend).await;
    let store = Arc::new(store);
    for snapshot_every in [3, 5] {
        for sizes in [&[1][..], &[2], &[3], &[4], &[1, 2, 3, 4], &[4, 1, 3, 2]] {
            check_snapshots_match_replay(&store, snapshot_every, sizes).await;
        }
    }
}

infrastructure::on_both_backends!(
    the_events_read_per_command_stay_bounded_up_to_10000_events,
    the_state_through_snapshots_equals_the_full_replay,
);

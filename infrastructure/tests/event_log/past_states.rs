//! Point-in-time state (`EventLog::load_prefix`, `CommandBus::load_as_of`): every snapshot is
//! kept, and the state at version N, rebuilt from the kept snapshot below N plus the tail, equals
//! the replay of the first N events from scratch, for N on both sides of many snapshot
//! boundaries; `RecordedAt(T)` picks the longest prefix recorded at or before T, to the
//! nanosecond, whatever the number of fraction digits the stored times were written with.

use std::sync::Arc;

use application::event_log::{AsOf, EventLog, StoredEvent};
use application::CommandBus;
use chrono::{DateTime, Duration, Utc};
use cqrs_es::Aggregate;
use domain::subscription::{Subscription, SubscriptionCommand};
use domain::ManualClock;
use infrastructure::testing::Backend;
use infrastructure::Store;
use serde_json::Value;

use crate::support::{
    add_seats, append, event, new_subscription, open, send, start_trial, Batch, Batched, RawStream,
};

/// A snapshot every 4 events, and batches of up to 4: snapshots land at every offset.
const SNAPSHOT_EVERY: i64 = 4;
const BATCHES: [u32; 10] = [1, 2, 3, 4, 3, 2, 1, 4, 1, 3];
/// Gaps between commands: whole seconds, milliseconds and single nanoseconds, so stored times
/// are written with 0, 3 and 9 fraction digits.
const GAPS_NS: [i64; 5] = [750_000_000, 1, 749_999_999, 1_000_000_000, 500_000_000];

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z")
        .expect("a valid instant")
        .to_utc()
}

/// One subscription driven by [`BATCHES`] through a bus on a clock that moves by [`GAPS_NS`]
/// before each command. Returns its id, its stored events and the time and version after each
/// command.
async fn drive(store: &Arc<Store>) -> (String, Vec<StoredEvent>, Vec<(DateTime<Utc>, i64)>) {
    let clock = Arc::new(ManualClock::starting_at(t0()));
    let bus = CommandBus::new(store.clone(), clock.clone()).with_snapshot_every(SNAPSHOT_EVERY);
    let (id, uuid) = new_subscription();
    let mut commands: Vec<Vec<SubscriptionCommand>> = vec![vec![
        start_trial(uuid, 20),
        SubscriptionCommand::ActivateSubscription,
    ]];
    commands.extend(
        BATCHES
            .iter()
            .map(|&size| (1..=size).map(|n| add_seats(n % 2 + 1)).collect()),
    );
    let mut after_each = Vec::new();
    for (n, batch) in commands.into_iter().enumerate() {
        let at = clock.advance(Duration::nanoseconds(GAPS_NS[n % GAPS_NS.len()]));
        let version = send::<Batched<Subscription>, _>(&bus, &id, Batch::Batch(batch), None)
            .await
            .expect("the batch is accepted")
            .record
            .version;
        after_each.push((at, version));
    }
    let stored = store
        .read_stream(Subscription::TYPE, &id, 0, 1000)
        .await
        .unwrap();
    (id, stored, after_each)
}

/// The state after each prefix of `stored`, replayed from version 0 without snapshots:
/// element N is the state after N events.
fn replays(stored: &[StoredEvent]) -> Vec<Value> {
    let mut aggregate = Subscription::default();
    let mut states = vec![serde_json::to_value(&aggregate).unwrap()];
    for event in stored {
        aggregate.apply(serde_json::from_value(event.payload.clone()).unwrap());
        states.push(serde_json::to_value(&aggregate).unwrap());
    }
    states
}

async fn the_state_at_any_version_equals_the_replay_of_its_prefix(backend: Backend) {
    let (_db, store) = open(backend).await;
    let store = Arc::new(store);
    let (id, stored, _) = drive(&store).await;
    let replayed = replays(&stored);
    let bus = CommandBus::new(store.clone(), Arc::new(ManualClock::starting_at(t0())));
    let last = stored.len() as i64;
    assert!(last > 5 * SNAPSHOT_EVERY, "only {last} events");

    for n in 1..=last {
        let prefix = store
            .load_prefix(Subscription::TYPE, &id, AsOf::Version(n))
            .await
            .unwrap()
            .expect("the prefix exists");
        let snapshot = prefix.snapshot.as_ref().map_or(0, |s| s.version);
        assert!(
            snapshot < n,
            "version {n}: snapshot {snapshot} is not below it"
        );
        // Kept snapshots are at most one interval plus one batch apart.
        assert!(
            n - snapshot <= SNAPSHOT_EVERY + 4,
            "version {n}: read {} events from snapshot {snapshot}",
            n - snapshot
        );
        if n > SNAPSHOT_EVERY + 4 {
            assert!(prefix.snapshot.is_some(), "version {n}: no kept snapshot");
        }
        let sequences: Vec<i64> = prefix.events.iter().map(|e| e.sequence).collect();
        assert_eq!(sequences, ((snapshot + 1)..=n).collect::<Vec<_>>());

        let past = bus
            .load_as_of::<Subscription>(&id, AsOf::Version(n))
            .await
            .unwrap()
            .expect("the state exists");
        let event = &stored[n as usize - 1];
        assert_eq!(
            (past.version, past.position, past.as_of),
            (n, event.position, event.metadata.recorded_at)
        );
        assert_eq!(
            serde_json::to_value(&past.aggregate).unwrap(),
            replayed[n as usize],
            "version {n}"
        );
    }
    for beyond in [0, -1, last + 1, i64::MAX] {
        let past = bus
            .load_as_of::<Subscription>(&id, AsOf::Version(beyond))
            .await
            .unwrap();
        assert!(past.is_none(), "version {beyond}");
    }
    let other = bus
        .load_as_of::<Subscription>(&new_subscription().0, AsOf::Version(1))
        .await
        .unwrap();
    assert!(other.is_none());
}

async fn at_picks_the_longest_prefix_recorded_at_or_before_it(backend: Backend) {
    let (_db, store) = open(backend).await;
    let store = Arc::new(store);
    let (id, stored, after_each) = drive(&store).await;
    let replayed = replays(&stored);
    let bus = CommandBus::new(store.clone(), Arc::new(ManualClock::starting_at(t0())));
    let state_at = |at: DateTime<Utc>| {
        let (bus, id) = (&bus, &id);
        async move {
            bus.load_as_of::<Subscription>(id, AsOf::RecordedAt(at))
                .await
                .unwrap()
        }
    };

    let mut before = None;
    for &(at, version) in &after_each {
        let exactly = state_at(at).await.expect("the stream existed");
        assert_eq!((exactly.version, exactly.as_of), (version, at));
        assert_eq!(
            serde_json::to_value(&exactly.aggregate).unwrap(),
            replayed[version as usize]
        );
        let just_before = state_at(at - Duration::nanoseconds(1)).await;
        assert_eq!(just_before.map(|s| s.version), before, "1 ns before {at}");
        before = Some(version);
    }
    let (last_at, last_version) = after_each[after_each.len() - 1];
    let long_after = state_at(last_at + Duration::days(365)).await.unwrap();
    assert_eq!(long_after.version, last_version);
}

async fn a_later_event_with_an_earlier_time_does_not_extend_the_prefix(backend: Backend) {
    let (_db, store) = open(backend).await;
    // Raw events recorded at 0, 1, 5, 3 and 6 s after a base time, as clocks of two servers
    // that disagree could write them.
    let offsets = [0, 1, 5, 3, 6];
    let events: Vec<_> = offsets.iter().map(|&s| event(s)).collect();
    let base = events[0].metadata.recorded_at;
    store.append(append("raw-1", 0, events)).await.unwrap();
    let end = |at: DateTime<Utc>| {
        let store = &store;
        async move {
            store
                .load_prefix(RawStream::TYPE, "raw-1", AsOf::RecordedAt(at))
                .await
                .unwrap()
                .map(|p| p.events.last().expect("never empty").sequence)
        }
    };
    assert_eq!(end(base - Duration::seconds(1)).await, None);
    assert_eq!(end(base).await, Some(1));
    assert_eq!(end(base + Duration::seconds(4)).await, Some(2));
    assert_eq!(end(base + Duration::seconds(5)).await, Some(4));
    assert_eq!(end(base + Duration::seconds(6)).await, Some(5));
}

infrastructure::on_both_backends!(
    the_state_at_any_version_equals_the_replay_of_its_prefix,
    at_picks_the_longest_prefix_recorded_at_or_before_it,
    a_later_event_with_an_earlier_time_does_not_extend_the_prefix,
);

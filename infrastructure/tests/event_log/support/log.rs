//! Made-up events appended straight to the log, and the log read back: whole, as one stream, or
//! folded into an aggregate from version 0 without snapshots (the reference a snapshot must match).
//!
//! Raw appends use the Subscription stream type because `load_stream` is keyed by an aggregate
//! type; their payloads are never decoded as Subscription events.

use application::event_log::{
    Append, CommandKey, EventLog, EventMetadata, LogCursor, NewEvent, StoredEvent, StreamTail,
};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use domain::subscription::Subscription;
use infrastructure::testing::{Backend, TestDatabase};
use infrastructure::Store;
use serde_json::json;

/// The aggregate type the raw appends are stored under.
pub type RawStream = Subscription;

/// A fresh database on `backend` and the store opened on it.
pub async fn open(backend: Backend) -> (TestDatabase, Store) {
    let db = TestDatabase::create(backend).await;
    let store = db.store().await;
    (db, store)
}

/// Metadata with every field set, `recorded_at` to the nanosecond, so a round trip shows loss.
pub fn metadata(n: i64) -> EventMetadata {
    let recorded_at: DateTime<Utc> = DateTime::parse_from_rfc3339("2026-03-01T10:20:30.123456789Z")
        .expect("a valid instant")
        .to_utc();
    EventMetadata {
        event_id: uuid::Uuid::new_v4(),
        recorded_at: recorded_at + chrono::Duration::seconds(n),
        actor: "api_key:key_test".into(),
        command: "Count".into(),
        correlation_id: format!("corr-{n}"),
        causation_id: format!("req-{n}"),
        idempotency_key: Some(format!("idem-{n}")),
    }
}

/// Event number `n`: its payload and metadata say which one it is.
pub fn event(n: i64) -> NewEvent {
    NewEvent {
        event_type: "Counted".into(),
        event_version: "1.0".into(),
        payload: json!({ "Counted": { "n": n, "note": "ünïcode ✓" } }),
        metadata: metadata(n),
    }
}

/// Events `from`, `from + 1`, … (`count` of them).
pub fn events(from: i64, count: i64) -> Vec<NewEvent> {
    (from..from + count).map(event).collect()
}

/// An append to the raw stream `aggregate_id`, without snapshot or command id.
pub fn append(aggregate_id: &str, expected_version: i64, events: Vec<NewEvent>) -> Append {
    Append {
        aggregate_type: RawStream::TYPE.to_owned(),
        aggregate_id: aggregate_id.to_owned(),
        expected_version,
        events,
        snapshot: None,
        command: None,
        claims: Default::default(),
    }
}

pub fn key(command_id: &str, fingerprint: &str) -> CommandKey {
    CommandKey {
        command_id: command_id.to_owned(),
        fingerprint: fingerprint.to_owned(),
    }
}

/// How long a test waits for the Postgres read horizon to pass a committed event. Long, because
/// a transaction of anything else on the cluster (other suites run in parallel) holds it back.
pub const HORIZON_WAIT: Duration = Duration::from_secs(60);

/// The whole global log in its order, read in pages as a projector would, once every committed
/// event is readable.
///
/// A Postgres reader sees a commit only when every transaction that started before it has ended,
/// in any database of the cluster (transaction ids are cluster-wide). Tests running in parallel
/// hold such transactions, so on Postgres this waits until the log holds every committed row.
pub async fn whole_log(store: &Store) -> Vec<(LogCursor, StoredEvent)> {
    let deadline = Instant::now() + HORIZON_WAIT;
    loop {
        let log = read_whole_log(store).await;
        let committed = match store {
            Store::Postgres(pg) => sqlx::query_scalar::<_, i64>("SELECT count(*) FROM events")
                .fetch_one(pg.pool())
                .await
                .expect("count the events"),
            Store::Sqlite(_) => return log,
        };
        if log.len() as i64 == committed {
            return log;
        }
        assert!(
            Instant::now() < deadline,
            "the log still shows {} of {committed} committed events after {HORIZON_WAIT:?}",
            log.len()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn read_whole_log(store: &Store) -> Vec<(LogCursor, StoredEvent)> {
    let mut log = Vec::new();
    let mut cursor = LogCursor::default();
    loop {
        let page = store.read_after(cursor, 500).await.expect("read the log");
        let Some((last, _)) = page.last() else {
            return log;
        };
        cursor = *last;
        log.extend(page);
    }
}

/// Everything a reader can observe of one raw stream and of the log, to show that a refused
/// append changed nothing.
#[derive(Debug, PartialEq)]
pub struct Observed {
    pub stream: StreamTail,
    pub log: Vec<(LogCursor, StoredEvent)>,
}

pub async fn observe(store: &Store, aggregate_id: &str) -> Observed {
    Observed {
        stream: store
            .load_stream::<RawStream>(aggregate_id)
            .await
            .expect("load the stream"),
        log: whole_log(store).await,
    }
}

/// Aggregate `A` folded from every event of its stream, from version 0 without snapshots, and
/// that version. Checks on the way that the stream's sequence has no gap.
pub async fn full_replay<A: Aggregate>(store: &Store, aggregate_id: &str) -> (A, i64) {
    let mut aggregate = A::default();
    let mut version = 0;
    for (_, stored) in whole_log(store).await {
        if stored.aggregate_type != A::TYPE || stored.aggregate_id != aggregate_id {
            continue;
        }
        version += 1;
        assert_eq!(stored.sequence, version, "the stream has a gap or a repeat");
        let event = serde_json::from_value(stored.payload).expect("a stored event decodes");
        aggregate.apply(event);
    }
    (aggregate, version)
}

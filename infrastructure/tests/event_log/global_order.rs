//! The global order under concurrent writers (SPEC 2, "Global position"): 8 writers commit about
//! 4,000 events with random delays inside their transactions while a reader follows the log from
//! its cursor. The reader must see every event exactly once, its cursor strictly increasing.
//!
//! On Postgres the writers are raw transactions that insert, sleep and only then commit, so that
//! positions are allocated in one order and committed in another; the test also proves that this
//! really happened. On SQLite writes are serial by design: the writers use the store's append.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use application::event_log::{EventLog, LogCursor};
use cqrs_es::Aggregate;
use infrastructure::store::PostgresEventLog;
use infrastructure::testing::Backend;
use infrastructure::Store;
use rand::Rng;

use crate::support::{append, event, open, whole_log, RawStream, HORIZON_WAIT};

const WRITERS: i64 = 8;
const EVENTS_PER_WRITER: i64 = 500;
const TOTAL: usize = (WRITERS * EVENTS_PER_WRITER) as usize;

/// 1 to 5 events per transaction.
fn batch_size(written: i64) -> i64 {
    rand::thread_rng()
        .gen_range(1..=5)
        .min(EVENTS_PER_WRITER - written)
}

fn random_delay() -> Duration {
    Duration::from_micros(rand::thread_rng().gen_range(0..4_000))
}

/// Writes `EVENTS_PER_WRITER` events to stream `writer-{writer}` in Postgres transactions that
/// sleep between their inserts and before committing. Returns how many of its transactions were
/// overtaken: a row with a larger position committed while they were still open.
async fn postgres_writer(log: &PostgresEventLog, writer: i64) -> usize {
    let aggregate_id = format!("writer-{writer}");
    let mut overtaken = 0;
    let mut written = 0;
    while written < EVENTS_PER_WRITER {
        let mut tx = log.pool().begin().await.unwrap();
        let mut last_position = 0i64;
        for _ in 0..batch_size(written) {
            written += 1;
            let new = event(written);
            last_position = sqlx::query_scalar(
                "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING position",
            )
            .bind(RawStream::TYPE)
            .bind(&aggregate_id)
            .bind(written)
            .bind(&new.event_type)
            .bind(&new.event_version)
            .bind(&new.payload)
            .bind(serde_json::to_value(&new.metadata).unwrap())
            .fetch_one(&mut *tx)
            .await
            .unwrap();
            sqlx::query("SELECT pg_sleep($1)")
                .bind(random_delay().as_secs_f64())
                .execute(&mut *tx)
                .await
                .unwrap();
        }
        // Read committed: this sees every row other transactions committed up to now.
        let overtaken_by_later_position: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM events WHERE position > $1)")
                .bind(last_position)
                .fetch_one(&mut *tx)
                .await
                .unwrap();
        overtaken += usize::from(overtaken_by_later_position);
        tx.commit().await.unwrap();
    }
    overtaken
}

/// Writes `EVENTS_PER_WRITER` events to stream `writer-{writer}` through the store's append,
/// with random pauses between appends.
async fn store_writer(store: &Store, writer: i64) {
    let aggregate_id = format!("writer-{writer}");
    let mut written = 0;
    while written < EVENTS_PER_WRITER {
        let count = batch_size(written);
        let batch = (written + 1..=written + count).map(event).collect();
        store
            .append(append(&aggregate_id, written, batch))
            .await
            .unwrap();
        written += count;
        tokio::time::sleep(random_delay()).await;
    }
}

/// Follows the log until it has read `TOTAL` events, or found nothing new for `HORIZON_WAIT`
/// after the writers finished; returns the positions in reading order and how many it read while
/// writers were still running.
async fn follow(store: &Store, writers_done: &AtomicBool) -> (Vec<i64>, usize) {
    let mut cursor = LogCursor::default();
    let mut positions = Vec::with_capacity(TOTAL);
    let mut while_writing = 0;
    let mut idle_since = Instant::now();
    while positions.len() < TOTAL {
        let writing = !writers_done.load(Ordering::SeqCst);
        let page = store.read_after(cursor, 200).await.unwrap();
        if page.is_empty() {
            if writing {
                idle_since = Instant::now();
            } else if idle_since.elapsed() > HORIZON_WAIT {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        for (next, event) in page {
            assert!(next > cursor, "the cursor went from {cursor:?} to {next:?}");
            cursor = next;
            positions.push(event.position);
            while_writing += usize::from(writing);
            idle_since = Instant::now();
        }
    }
    (positions, while_writing)
}

async fn a_reader_sees_every_event_once_in_order_while_commits_land_out_of_order(backend: Backend) {
    let (_db, store) = open(backend).await;
    let store = Arc::new(store);
    let writers_done = Arc::new(AtomicBool::new(false));
    let reader = tokio::spawn({
        let (store, writers_done) = (store.clone(), writers_done.clone());
        async move { follow(&store, &writers_done).await }
    });
    let overtaken = Arc::new(AtomicUsize::new(0));
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let (store, overtaken) = (store.clone(), overtaken.clone());
            tokio::spawn(async move {
                match &*store {
                    Store::Postgres(log) => {
                        let count = postgres_writer(log, writer).await;
                        overtaken.fetch_add(count, Ordering::SeqCst);
                    }
                    Store::Sqlite(_) => store_writer(&store, writer).await,
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    writers_done.store(true, Ordering::SeqCst);
    let (read, while_writing) = reader.await.unwrap();

    assert_eq!(read.len(), TOTAL, "the reader missed events");
    let distinct: BTreeSet<i64> = read.iter().copied().collect();
    assert_eq!(distinct.len(), TOTAL, "an event was read twice");
    let log: Vec<i64> = whole_log(&store)
        .await
        .iter()
        .map(|(_, e)| e.position)
        .collect();
    assert_eq!(
        read, log,
        "the reader saw the one total order a later reader sees"
    );
    assert!(while_writing > 0, "the reader did not follow the writers");
    if backend == Backend::Postgres {
        let overtaken = overtaken.load(Ordering::SeqCst);
        assert!(overtaken > 0, "no commit landed out of position order");
        eprintln!("{overtaken} transactions committed after a later position");
    }
}

infrastructure::on_both_backends!(
    a_reader_sees_every_event_once_in_order_while_commits_land_out_of_order
);

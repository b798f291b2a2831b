//! Reading: recorded commands are found as they were recorded, the global log pages in one order
//! with cursors that resume exactly where a page ended, `cursor_of` names those same cursors, a
//! stream loads from its newest snapshot, and a command's load answers with the record of a used
//! command id instead of the stream.

use application::event_log::{CommandLoad, EventLog, LogCursor, Snapshot, StreamTail};
use infrastructure::testing::Backend;
use infrastructure::Store;
use serde_json::json;

use crate::support::{append, events, key, open, whole_log, RawStream};

/// Three streams written in interleaved appends of 1 to 4 events: 11 events in all.
async fn interleaved_log(store: &Store) {
    let mut versions = [0i64; 3];
    for (n, (stream, count)) in [(0, 2), (1, 1), (2, 4), (0, 1), (1, 3)]
        .into_iter()
        .enumerate()
    {
        let id = format!("s{stream}");
        let attempt = append(&id, versions[stream], events(n as i64 * 10, count));
        store.append(attempt).await.unwrap();
        versions[stream] += count;
    }
}

async fn a_recorded_command_is_found_as_recorded(backend: Backend) {
    let (_db, store) = open(backend).await;
    let mut records = Vec::new();
    for (n, stream) in ["a", "b", "a"].into_iter().enumerate() {
        let expected_version = if n == 2 { 1 } else { 0 };
        let mut attempt = append(stream, expected_version, events(n as i64, 1));
        attempt.command = Some(key(&format!("cmd-{n}"), &format!("fp-{n}")));
        records.push(store.append(attempt).await.unwrap());
    }
    let log = whole_log(&store).await;
    for (n, record) in records.into_iter().enumerate() {
        let found = store.find_command(&format!("cmd-{n}")).await.unwrap();
        assert_eq!(found.as_ref(), Some(&record));
        let (_, last_event) = &log[n];
        assert_eq!(record.position, Some(last_event.position));
        assert_eq!(record.fingerprint, format!("fp-{n}"));
        assert_eq!(
            (record.aggregate_id.as_str(), record.version),
            (last_event.aggregate_id.as_str(), last_event.sequence)
        );
    }
    assert_eq!(store.find_command("never-sent").await.unwrap(), None);
}

async fn read_after_pages_through_the_log_in_one_order(backend: Backend) {
    let (_db, store) = open(backend).await;
    assert!(store
        .read_after(LogCursor::default(), 10)
        .await
        .unwrap()
        .is_empty());
    interleaved_log(&store).await;
    let everything = whole_log(&store).await;
    assert_eq!(everything.len(), 11);
    let at_once = store.read_after(LogCursor::default(), 100).await.unwrap();
    assert_eq!(at_once, everything);

    let mut paged = Vec::new();
    let mut cursor = LogCursor::default();
    let mut sizes = Vec::new();
    loop {
        let page = store.read_after(cursor, 4).await.unwrap();
        sizes.push(page.len());
        let Some((last, _)) = page.last() else { break };
        cursor = *last;
        paged.extend(page);
    }
    assert_eq!(sizes, [4, 4, 3, 0]);
    assert_eq!(paged, everything, "pages are slices of one order");
    assert!(
        everything.windows(2).all(|pair| pair[0].0 < pair[1].0),
        "cursors strictly increase"
    );
    for (cursor, event) in &everything {
        assert_eq!(cursor.position, event.position);
    }
    // Per stream, the log keeps each stream's own order.
    for stream in ["s0", "s1", "s2"] {
        let sequences: Vec<i64> = everything
            .iter()
            .filter(|(_, e)| e.aggregate_id == stream)
            .map(|(_, e)| e.sequence)
            .collect();
        assert_eq!(sequences, (1..=sequences.len() as i64).collect::<Vec<_>>());
    }
}

async fn cursor_of_names_the_cursor_read_after_gave(backend: Backend) {
    let (_db, store) = open(backend).await;
    interleaved_log(&store).await;
    let log = whole_log(&store).await;
    for (index, (cursor, event)) in log.iter().enumerate() {
        assert_eq!(
            store.cursor_of(event.position).await.unwrap(),
            Some(*cursor)
        );
        let rest = store.read_after(*cursor, 100).await.unwrap();
        assert_eq!(
            rest,
            log[index + 1..],
            "reading resumes right after the event"
        );
    }
    let last = log.last().unwrap().1.position;
    assert_eq!(store.cursor_of(last + 1).await.unwrap(), None);
    assert_eq!(store.cursor_of(0).await.unwrap(), None);
}

async fn a_stream_loads_from_its_newest_snapshot(backend: Backend) {
    let (_db, store) = open(backend).await;
    let with_snapshot = |expected_version: i64, count: i64| {
        let mut attempt = append("a", expected_version, events(expected_version + 1, count));
        attempt.snapshot = Some(Snapshot {
            version: expected_version + count,
            payload: json!({ "after": expected_version + count }),
        });
        attempt
    };
    store.append(with_snapshot(0, 3)).await.unwrap();
    let tail = store.load_stream::<RawStream>("a").await.unwrap();
    assert_eq!(tail.snapshot.map(|s| s.version), Some(3));
    assert!(tail.events.is_empty());

    store.append(append("a", 3, events(4, 2))).await.unwrap();
    let tail = store.load_stream::<RawStream>("a").await.unwrap();
    assert_eq!(
        tail.snapshot,
        Some(Snapshot {
            version: 3,
            payload: json!({ "after": 3 })
        })
    );
    let sequences: Vec<usize> = tail.events.iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, [4, 5]);

    store.append(with_snapshot(5, 2)).await.unwrap();
    store.append(append("a", 7, events(8, 1))).await.unwrap();
    let tail = store.load_stream::<RawStream>("a").await.unwrap();
    assert_eq!(
        tail.snapshot.map(|s| s.payload),
        Some(json!({ "after": 7 }))
    );
    let sequences: Vec<usize> = tail.events.iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, [8]);
    // Another stream has no snapshot.
    store.append(append("b", 0, events(1, 1))).await.unwrap();
    let other = store.load_stream::<RawStream>("b").await.unwrap();
    assert_eq!((other.snapshot, other.events.len()), (None, 1));
}

async fn a_command_load_returns_the_record_of_a_used_id_instead_of_the_stream(backend: Backend) {
    let (_db, store) = open(backend).await;
    let mut first = append("a", 0, events(0, 2));
    first.snapshot = Some(Snapshot {
        version: 2,
        payload: json!({ "after": 2 }),
    });
    first.command = Some(key("cmd-a", "fp-a"));
    let recorded = store.append(first).await.unwrap();
    store.append(append("a", 2, events(2, 1))).await.unwrap();

    // A used id: its record exactly as `find_command` has it, whichever stream the load names.
    assert_eq!(
        store.find_command("cmd-a").await.unwrap(),
        Some(recorded.clone())
    );
    for stream in ["a", "b"] {
        let load = store
            .load_for_command::<RawStream>(stream, Some("cmd-a"))
            .await
            .unwrap();
        assert_eq!(load, CommandLoad::Recorded(recorded.clone()), "{stream}");
    }
    // A new id, or none: the stream from its newest snapshot, as `load_stream` reads it.
    let tail = store.load_stream::<RawStream>("a").await.unwrap();
    assert_eq!(tail.snapshot.as_ref().map(|s| s.version), Some(2));
    let sequences: Vec<usize> = tail.events.iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, [3]);
    for command_id in [Some("cmd-new"), None] {
        let load = store
            .load_for_command::<RawStream>("a", command_id)
            .await
            .unwrap();
        assert_eq!(load, CommandLoad::Stream(tail.clone()), "{command_id:?}");
    }
    let unborn = store
        .load_for_command::<RawStream>("never-written", Some("cmd-new"))
        .await
        .unwrap();
    assert_eq!(unborn, CommandLoad::Stream(StreamTail::default()));
}

infrastructure::on_both_backends!(
    a_recorded_command_is_found_as_recorded,
    read_after_pages_through_the_log_in_one_order,
    cursor_of_names_the_cursor_read_after_gave,
    a_stream_loads_from_its_newest_snapshot,
    a_command_load_returns_the_record_of_a_used_id_instead_of_the_stream,
);

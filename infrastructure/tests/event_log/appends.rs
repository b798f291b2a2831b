//! Appending: what is written comes back intact, and a refused append (stale or future version,
//! repeated command id) writes nothing at all. A command that appends nothing is still recorded.

use application::event_log::{Append, CommandRecord, EventLog, EventLogError, Snapshot};
use cqrs_es::Aggregate;
use infrastructure::testing::Backend;
use infrastructure::Store;
use serde_json::json;

use crate::support::{append, event, events, key, observe, open, whole_log, RawStream};

async fn appended_events_come_back_intact(backend: Backend) {
    let (_db, store) = open(backend).await;
    let written = events(1, 3);
    let first = store.append(append("a", 0, written[..2].to_vec())).await;
    let second = store.append(append("a", 2, written[2..].to_vec())).await;
    // Another stream, and the same id under another aggregate type, are not stream `a`.
    store.append(append("b", 0, events(10, 1))).await.unwrap();
    let mut other_type = append("a", 0, events(20, 1));
    other_type.aggregate_type = "entitlements".into();
    store.append(other_type).await.unwrap();

    let log = whole_log(&store).await;
    let positions: Vec<i64> = log.iter().map(|(_, e)| e.position).collect();
    assert_eq!(first.unwrap().version, 2);
    let second = second.unwrap();
    assert_eq!(second.version, 3);
    assert_eq!(
        second.position,
        Some(positions[2]),
        "the position of the last event"
    );

    let tail = store.load_stream::<RawStream>("a").await.unwrap();
    assert_eq!(tail.snapshot, None);
    assert_eq!(
        tail.events.len(),
        3,
        "exactly stream `a`: {:?}",
        tail.events
    );
    for (sequence, (loaded, (wrote, (_, stored)))) in
        (1..).zip(tail.events.iter().zip(written.iter().zip(&log)))
    {
        assert_eq!(loaded.aggregate_type, RawStream::TYPE);
        assert_eq!(loaded.aggregate_id, "a");
        assert_eq!(loaded.sequence, sequence as usize);
        assert_eq!(loaded.event_type, wrote.event_type);
        assert_eq!(loaded.event_version, wrote.event_version);
        assert_eq!(loaded.payload, wrote.payload);
        // Rebuilding never reads metadata, so the load leaves it out; the log keeps it (below).
        assert_eq!(loaded.metadata, serde_json::Value::Null);

        assert_eq!(
            (stored.aggregate_id.as_str(), stored.sequence),
            ("a", sequence)
        );
        assert_eq!(stored.event_type, wrote.event_type);
        assert_eq!(stored.event_version, wrote.event_version);
        assert_eq!(stored.payload, wrote.payload);
        assert_eq!(stored.metadata, wrote.metadata);
    }
}

/// An append refused as a conflict, together with everything it would have written.
async fn assert_refused_as_conflict(store: &Store, attempt: Append) {
    let before = observe(store, "a").await;
    let command_id = attempt.command.as_ref().map(|c| c.command_id.clone());
    let result = store.append(attempt).await;
    assert!(matches!(result, Err(EventLogError::Conflict)), "{result:?}");
    assert_eq!(
        observe(store, "a").await,
        before,
        "a refused append wrote something"
    );
    if let Some(command_id) = command_id {
        assert_eq!(store.find_command(&command_id).await.unwrap(), None);
    }
}

async fn an_append_at_another_version_conflicts_and_writes_nothing(backend: Backend) {
    let (_db, store) = open(backend).await;
    store.append(append("a", 0, events(1, 2))).await.unwrap();
    let with_everything = |expected_version: i64, events: Vec<_>| {
        let mut attempt = append("a", expected_version, events);
        attempt.snapshot = Some(Snapshot {
            version: expected_version + 2,
            payload: json!({ "stale": true }),
        });
        attempt.command = Some(key(&format!("cmd-{expected_version}"), "f"));
        attempt
    };
    // Stale: another writer appended since version 1.
    assert_refused_as_conflict(&store, with_everything(1, events(3, 2))).await;
    // Ahead of the stream: accepting it would leave a gap at sequence 3.
    assert_refused_as_conflict(&store, with_everything(3, events(3, 2))).await;
    // Decided on a stale state, a command that appends nothing must not be recorded either.
    assert_refused_as_conflict(&store, with_everything(1, vec![])).await;
    assert_refused_as_conflict(&store, with_everything(0, vec![])).await;
}

async fn a_repeated_command_id_is_refused_and_appends_nothing(backend: Backend) {
    let (_db, store) = open(backend).await;
    let mut first = append("a", 0, events(1, 1));
    first.command = Some(key("cmd-1", "fingerprint-1"));
    let recorded = store.append(first).await.unwrap();

    // Same or other content, same or other stream, and a retry decided on a stale version: a
    // recorded id is a replay, never a conflict to retry.
    for (stream, expected_version, fingerprint) in [
        ("a", 1, "fingerprint-1"),
        ("a", 1, "other"),
        ("b", 0, "fingerprint-1"),
        ("a", 0, "fingerprint-1"),
    ] {
        let before = observe(&store, stream).await;
        let mut again = append(stream, expected_version, events(2, 2));
        again.snapshot = Some(Snapshot {
            version: expected_version + 2,
            payload: json!({}),
        });
        again.command = Some(key("cmd-1", fingerprint));
        let result = store.append(again).await;
        assert!(
            matches!(result, Err(EventLogError::DuplicateCommand)),
            "{stream} {fingerprint}: {result:?}"
        );
        assert_eq!(observe(&store, stream).await, before);
    }
    assert_eq!(store.find_command("cmd-1").await.unwrap(), Some(recorded));
}

async fn a_command_that_appends_nothing_is_recorded_without_a_position(backend: Backend) {
    let (_db, store) = open(backend).await;
    let mut on_empty_stream = append("a", 0, vec![]);
    on_empty_stream.command = Some(key("noop-0", "f0"));
    let recorded = store.append(on_empty_stream).await.unwrap();
    let expected = CommandRecord {
        command_id: "noop-0".into(),
        fingerprint: "f0".into(),
        aggregate_type: RawStream::TYPE.into(),
        aggregate_id: "a".into(),
        version: 0,
        position: None,
    };
    assert_eq!(recorded, expected);
    assert_eq!(store.find_command("noop-0").await.unwrap(), Some(expected));
    assert!(whole_log(&store).await.is_empty());

    store
        .append(append("a", 0, vec![event(1), event(2)]))
        .await
        .unwrap();
    let before = observe(&store, "a").await;
    let mut later = append("a", 2, vec![]);
    later.command = Some(key("noop-2", "f2"));
    let recorded = store.append(later.clone()).await.unwrap();
    assert_eq!((recorded.version, recorded.position), (2, None));
    assert_eq!(store.find_command("noop-2").await.unwrap(), Some(recorded));
    assert_eq!(observe(&store, "a").await, before);
    let again = store.append(later).await;
    assert!(
        matches!(again, Err(EventLogError::DuplicateCommand)),
        "{again:?}"
    );
}

infrastructure::on_both_backends!(
    appended_events_come_back_intact,
    an_append_at_another_version_conflicts_and_writes_nothing,
    a_repeated_command_id_is_refused_and_appends_nothing,
    a_command_that_appends_nothing_is_recorded_without_a_position,
);

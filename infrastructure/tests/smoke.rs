use application::event_log::{Append, EventLog, EventMetadata, LogCursor, NewEvent};
use infrastructure::testing::{Backend, TestDatabase};

async fn append_then_read(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.store().await;
    let meta = EventMetadata {
        event_id: uuid::Uuid::new_v4(),
        recorded_at: chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .to_utc(),
        actor: "test".into(),
        command: "Test".into(),
        correlation_id: "c".into(),
        causation_id: "c".into(),
        idempotency_key: None,
    };
    let ev = NewEvent {
        event_type: "X".into(),
        event_version: "1.0".into(),
        payload: serde_json::json!({"X": {}}),
        metadata: meta,
    };
    let rec = store
        .append(Append {
            aggregate_type: "t".into(),
            aggregate_id: "a".into(),
            expected_version: 0,
            events: vec![ev.clone(), ev.clone()],
            snapshot: None,
            command: None,
            claims: Default::default(),
        })
        .await
        .unwrap();
    assert_eq!(rec.version, 2);
    let conflict = store
        .append(Append {
            aggregate_type: "t".into(),
            aggregate_id: "a".into(),
            expected_version: 1,
            events: vec![ev.clone()],
            snapshot: None,
            command: None,
            claims: Default::default(),
        })
        .await;
    assert!(
        matches!(conflict, Err(application::EventLogError::Conflict)),
        "{conflict:?}"
    );
    let read = store.read_after(LogCursor::default(), 10).await.unwrap();
    assert_eq!(read.len(), 2);
    assert_eq!(
        store
            .cursor_of(rec.position.unwrap())
            .await
            .unwrap()
            .unwrap(),
        read[1].0
    );
}

infrastructure::on_both_backends!(append_then_read);

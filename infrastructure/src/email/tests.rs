//! The delivery table's contract on both backends: a notification gets one delivery, one sender
//! holds it at a time, an expired claim passes to another, an outcome recorded under a lost
//! claim is refused, and what was sent stays sent across a rebuild of the outbox.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::deliveries::{claim, discover, enabled_since, record, Outcome};
use super::{deliveries, DeliveryStatus};
use crate::portable::{self, timestamp};
use crate::store::Store;
use crate::testing::{Backend, TestDatabase};

fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339).unwrap().to_utc()
}

const MINUTE: Duration = Duration::from_secs(60);

/// Writes a notification row as the outbox's projector does.
async fn notify(store: &Store, key: &str, recipient: Option<&str>, created: &str, position: i64) {
    portable::query(
        "INSERT INTO notifications
                (id, account_id, kind, dedupe_key, payload, created_at, sent_at, position, recipient)
         VALUES ($1, 'acct_1', 'invoice_receipt', $2, '{}', $3, $3, $4, $5)",
    )
    .bind(format!("id-{key}"))
    .bind(key)
    .bind(created)
    .bind(position)
    .bind(recipient)
    .execute(store.writer())
    .await
    .unwrap();
}

async fn status(store: &Store, key: &str) -> (DeliveryStatus, i64) {
    let found = deliveries(&store.reader(), &[key.to_owned()])
        .await
        .unwrap();
    let delivery = &found[key];
    (delivery.status, delivery.attempts)
}

async fn one_sender_at_a_time_and_sent_stays_sent(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.store().await;
    let now = at("2026-03-01T12:00:00Z");
    let since = enabled_since(&store, now).await.unwrap();
    assert_eq!(
        enabled_since(&store, now + chrono::Duration::days(1))
            .await
            .unwrap(),
        since,
        "the first start stands"
    );
    notify(
        &store,
        "receipt:1",
        Some("a@example.com"),
        &timestamp(now),
        1,
    )
    .await;
    notify(&store, "receipt:2", None, &timestamp(now), 2).await;
    notify(
        &store,
        "old",
        Some("a@example.com"),
        "2026-02-01T00:00:00Z",
        3,
    )
    .await;
    assert_eq!(discover(&store, now, &since, 10).await.unwrap(), 3);
    assert_eq!(discover(&store, now, &since, 10).await.unwrap(), 0, "once");
    assert_eq!(status(&store, "receipt:2").await.0, DeliveryStatus::Skipped);
    assert_eq!(status(&store, "old").await.0, DeliveryStatus::Skipped);

    let held = claim(&store, now, 10, MINUTE, "a").await.unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].dedupe_key, "receipt:1");
    assert_eq!(held[0].notification_id, "id-receipt:1");
    assert!(claim(&store, now, 10, MINUTE, "b")
        .await
        .unwrap()
        .is_empty());
    let sent = || Outcome::Sent { at: now };
    assert!(!record(&store, "receipt:1", "b", sent()).await.unwrap());
    let retry = Outcome::Retry {
        error: "connection refused".into(),
        next_attempt_at: now + chrono::Duration::seconds(30),
    };
    assert!(record(&store, "receipt:1", "a", retry).await.unwrap());
    assert_eq!(
        status(&store, "receipt:1").await,
        (DeliveryStatus::Pending, 1)
    );
    assert!(
        claim(&store, now, 10, MINUTE, "b")
            .await
            .unwrap()
            .is_empty(),
        "not due"
    );

    // A claim whose lease ran out passes to another sender; the first can no longer record.
    let later = now + chrono::Duration::seconds(31);
    assert_eq!(
        claim(&store, later, 10, Duration::ZERO, "b")
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        claim(&store, later, 10, MINUTE, "a").await.unwrap().len(),
        1
    );
    assert!(!record(&store, "receipt:1", "b", sent()).await.unwrap());
    assert!(record(&store, "receipt:1", "a", sent()).await.unwrap());
    assert_eq!(status(&store, "receipt:1").await, (DeliveryStatus::Sent, 2));

    // A rebuild of the outbox writes the same notifications again: nothing new to send.
    portable::query("DELETE FROM notifications")
        .execute(store.writer())
        .await
        .unwrap();
    notify(
        &store,
        "receipt:1",
        Some("a@example.com"),
        &timestamp(now),
        1,
    )
    .await;
    assert_eq!(discover(&store, later, &since, 10).await.unwrap(), 0);
    assert!(claim(&store, later, 10, MINUTE, "a")
        .await
        .unwrap()
        .is_empty());
    assert_eq!(status(&store, "receipt:1").await, (DeliveryStatus::Sent, 2));
}

crate::on_both_backends!(one_sender_at_a_time_and_sent_stays_sent);

//! Idempotency retention: purging removes the records of client requests (`Idempotency-Key`)
//! recorded before the cutoff, and never the records of commands policies derive from events,
//! nor any event.

use application::event_log::{CommandKey, EventLog};
use chrono::{Duration, Utc};
use infrastructure::testing::Backend;

use crate::support::{append, events, key, open, whole_log};

async fn only_request_records_older_than_the_cutoff_are_purged(backend: Backend) {
    let (_db, store) = open(backend).await;
    let request_id = CommandKey::request_command_id("key_test", "req-1");
    let policy_id = "billing_policy:3f2a";
    let mut by_request = append("retained-a", 0, events(1, 1));
    by_request.command = Some(key(&request_id, "POST /v1/x\nbody"));
    store.append(by_request).await.unwrap();
    let mut by_policy = append("retained-b", 0, events(2, 1));
    by_policy.command = Some(key(policy_id, "derived"));
    store.append(by_policy).await.unwrap();

    let an_hour_ago = Utc::now() - Duration::hours(1);
    assert_eq!(store.purge_request_records(an_hour_ago).await.unwrap(), 0);
    assert!(store.find_command(&request_id).await.unwrap().is_some());

    let in_an_hour = Utc::now() + Duration::hours(1);
    assert_eq!(store.purge_request_records(in_an_hour).await.unwrap(), 1);
    assert_eq!(store.find_command(&request_id).await.unwrap(), None);
    assert!(
        store.find_command(policy_id).await.unwrap().is_some(),
        "a policy's record never expires"
    );
    assert_eq!(whole_log(&store).await.len(), 2, "events are never purged");
    assert_eq!(store.purge_request_records(in_an_hour).await.unwrap(), 0);
}

infrastructure::on_both_backends!(only_request_records_older_than_the_cutoff_are_purged);

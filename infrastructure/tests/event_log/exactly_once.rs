//! Exactly-once commands through the command bus (SPEC 2): a command id executes once, even when
//! the first attempt committed and the process died before replying, and even when 20 copies
//! race; the same id with other content is refused. `AddSeats` is not idempotent by itself, so a
//! second execution would show as a second `SeatsAdded`.

use std::sync::Arc;

use application::{DispatchError, EventLog, EventLogError};
use domain::subscription::Subscription;
use infrastructure::testing::Backend;
use tokio::sync::Barrier;
use tokio::task::JoinSet;

use crate::support::{add_seats, bus, keyed, open, seats, send, trial, whole_log, ProbeLog};

async fn a_command_is_not_repeated_after_a_crash_between_commit_and_reply(backend: Backend) {
    let (db, store) = open(backend).await;
    let store = Arc::new(store);
    let probe = Arc::new(ProbeLog::new(store.clone()));
    let first_process = bus(probe.clone());
    let id = trial(&first_process, 1).await;
    let key = keyed("idem-add-1", &add_seats(1));

    // The append commits, then the reply is lost: the caller sees a failure and will retry.
    probe.lose_next_reply();
    let lost = send::<Subscription, _>(&first_process, &id, add_seats(1), Some(key.clone())).await;
    assert!(
        matches!(lost, Err(DispatchError::Storage(EventLogError::Storage(_)))),
        "{lost:?}"
    );
    let committed = store
        .find_command(&key.command_id)
        .await
        .unwrap()
        .expect("it committed");
    // The retry reaches the same process: it replays the recorded result.
    let retried = send::<Subscription, _>(&first_process, &id, add_seats(1), Some(key.clone()))
        .await
        .unwrap();
    assert!(retried.replayed);
    assert_eq!(retried.record, committed);

    // The process dies; a new one, with new connections, receives the retry again.
    drop((first_process, probe, store));
    let restarted = Arc::new(db.store().await);
    let second_process = bus(restarted.clone());
    let replayed = send::<Subscription, _>(&second_process, &id, add_seats(1), Some(key))
        .await
        .unwrap();
    assert!(replayed.replayed);
    assert_eq!(replayed.record, committed);
    assert_eq!((committed.version, committed.position.is_some()), (2, true));

    assert_eq!(
        seats(&second_process, &id).await,
        2,
        "the seat was added once"
    );
    assert_eq!(
        whole_log(&restarted).await.len(),
        2,
        "TrialStarted and one SeatsAdded"
    );
}

async fn the_same_key_for_another_command_is_refused(backend: Backend) {
    let (_db, store) = open(backend).await;
    let store = Arc::new(store);
    let bus = bus(store.clone());
    let id = trial(&bus, 1).await;
    let key = keyed("idem-add", &add_seats(1));
    let first = send::<Subscription, _>(&bus, &id, add_seats(1), Some(key.clone()))
        .await
        .unwrap();
    assert!(!first.replayed);
    let elsewhere = trial(&bus, 1).await;
    let log = whole_log(&store).await;

    // Other content for the same aggregate, and the same content for another aggregate.
    let other = keyed("idem-add", &add_seats(2));
    let reused = send::<Subscription, _>(&bus, &id, add_seats(2), Some(other)).await;
    assert!(
        matches!(reused, Err(DispatchError::KeyReused)),
        "{reused:?}"
    );
    let misdirected =
        send::<Subscription, _>(&bus, &elsewhere, add_seats(1), Some(key.clone())).await;
    assert!(
        matches!(misdirected, Err(DispatchError::KeyReused)),
        "{misdirected:?}"
    );
    assert_eq!(whole_log(&store).await, log, "nothing appended");
    assert_eq!(seats(&bus, &id).await, 2);
    assert_eq!(seats(&bus, &elsewhere).await, 1);
    assert_eq!(
        store.find_command(&key.command_id).await.unwrap(),
        Some(first.record)
    );
}

async fn twenty_concurrent_copies_of_a_command_append_once(backend: Backend) {
    const COPIES: usize = 20;
    let (_db, store) = open(backend).await;
    let store = Arc::new(store);
    let id = trial(&bus(store.clone()), 1).await;
    let key = keyed("idem-race", &add_seats(1));
    // Every copy passes the "already executed?" check and decides before any of them appends.
    let gate = Arc::new(Barrier::new(COPIES));
    let mut copies = JoinSet::new();
    for _ in 0..COPIES {
        let (store, gate, id, key) = (store.clone(), gate.clone(), id.clone(), key.clone());
        copies.spawn(async move {
            let bus = bus(Arc::new(ProbeLog::gated(store, gate)));
            send::<Subscription, _>(&bus, &id, add_seats(1), Some(key)).await
        });
    }
    let results: Vec<_> = copies
        .join_all()
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();

    let executed = results.iter().filter(|r| !r.replayed).count();
    assert_eq!(executed, 1, "exactly one copy executed");
    let record = &results[0].record;
    assert!(results.iter().all(|r| &r.record == record), "{results:?}");
    assert_eq!(record.version, 2);
    assert_eq!(seats(&bus(store.clone()), &id).await, 2);
    assert_eq!(
        whole_log(&store).await.len(),
        2,
        "TrialStarted and one SeatsAdded"
    );
}

infrastructure::on_both_backends!(
    a_command_is_not_repeated_after_a_crash_between_commit_and_reply,
    the_same_key_for_another_command_is_refused,
    twenty_concurrent_copies_of_a_command_append_once,
);

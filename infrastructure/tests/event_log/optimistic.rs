//! Optimistic concurrency through the command bus (SPEC 2): commands racing on one aggregate are
//! retried on conflict, and only a command that exhausted its retries reports `Conflict`. The
//! final state counts exactly the commands that succeeded, once each.

use std::sync::Arc;

use application::DispatchError;
use domain::subscription::Subscription;
use infrastructure::testing::Backend;
use tokio::sync::Barrier;
use tokio::task::JoinSet;

use crate::support::{add_seats, bus, open, seats, send, trial, whole_log, ProbeLog};

/// The bus's default retry budget: attempts per command in all.
const MAX_ATTEMPTS: u32 = 5;

async fn racing_commands_are_retried_and_each_success_counts_once(backend: Backend) {
    const RACERS: usize = 12;
    let (_db, store) = open(backend).await;
    let store = Arc::new(store);
    let id = trial(&bus(store.clone()), 1).await;
    // All racers decide on version 1 before any appends: only one can win the first round.
    let gate = Arc::new(Barrier::new(RACERS));
    let mut racers = JoinSet::new();
    for _ in 0..RACERS {
        let (store, gate, id) = (store.clone(), gate.clone(), id.clone());
        racers.spawn(async move {
            let probe = Arc::new(ProbeLog::gated(store, gate));
            let result =
                send::<Subscription, _>(&bus(probe.clone()), &id, add_seats(1), None).await;
            (result, probe.appends())
        });
    }
    let outcomes: Vec<_> = racers.join_all().await;

    let mut versions = Vec::new();
    let mut first_try_wins = 0;
    for (result, attempts) in &outcomes {
        match result {
            Ok(executed) => {
                assert!(!executed.replayed);
                assert!((1..=MAX_ATTEMPTS).contains(attempts), "{attempts} attempts");
                first_try_wins += usize::from(*attempts == 1);
                versions.push(executed.record.version);
            }
            Err(DispatchError::Conflict) => assert_eq!(*attempts, MAX_ATTEMPTS),
            Err(other) => panic!("unexpected failure: {other:?}"),
        }
    }
    assert_eq!(
        first_try_wins, 1,
        "one racer wins the first round, the rest retry"
    );
    versions.sort_unstable();
    let succeeded = versions.len() as i64;
    assert_eq!(
        versions,
        (2..=1 + succeeded).collect::<Vec<_>>(),
        "one version each"
    );
    assert!(
        succeeded > 1,
        "the retries let more than the first winner through"
    );
    assert_eq!(
        i64::from(seats(&bus(store.clone()), &id).await),
        1 + succeeded
    );
    assert_eq!(whole_log(&store).await.len() as i64, 1 + succeeded);
}

infrastructure::on_both_backends!(racing_commands_are_retried_and_each_success_counts_once);

//! Several claimers at once, as several replicas' workers would be: every timer is claimed by
//! exactly one of them (`FOR UPDATE SKIP LOCKED` on Postgres, the single writer on SQLite).

use std::collections::BTreeMap;
use std::sync::Arc;

use application::scheduler::Scheduler;
use infrastructure::testing::{Backend, TestDatabase};

use crate::support::*;

const TIMERS: usize = 200;
const CLAIMERS: usize = 8;

async fn concurrent_claimers_never_fire_one_timer_twice(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = Arc::new(db.store().await);
    for n in 0..TIMERS {
        schedule(&store, &format!("t{n:03}"), t0() + minutes(n as i64 % 7)).await;
    }
    let claimers: Vec<_> = (0..CLAIMERS)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let mut fired = Vec::new();
                loop {
                    let claimed = store
                        .claim_due(t0() + minutes(10), 5, LONG_LEASE)
                        .await
                        .expect("claim");
                    if claimed.is_empty() {
                        return fired;
                    }
                    for timer in claimed {
                        store.complete(timer.id).await.expect("complete");
                        fired.push(timer.dedupe_key);
                    }
                }
            })
        })
        .collect();
    let mut times_fired: BTreeMap<String, usize> = BTreeMap::new();
    let mut busy_claimers = 0;
    for claimer in claimers {
        let fired = claimer.await.expect("the claimer finishes");
        busy_claimers += usize::from(!fired.is_empty());
        for key in fired {
            *times_fired.entry(key).or_default() += 1;
        }
    }
    assert_eq!(times_fired.len(), TIMERS, "every timer fired");
    let twice: Vec<_> = times_fired.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "fired more than once: {twice:?}");
    assert!(busy_claimers > 1, "the claimers ran concurrently");
    assert_eq!(store.next_due().await.unwrap(), None);
}

infrastructure::on_both_backends!(concurrent_claimers_never_fire_one_timer_twice);

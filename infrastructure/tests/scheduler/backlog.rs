//! `timer_backlog`, behind the `timers_due` and `timers_overdue` gauges: it counts unfired
//! timers due by now, and those already due at the overdue cutoff.

use application::scheduler::Scheduler;
use infrastructure::testing::{Backend, TestDatabase};
use infrastructure::TimerBacklog;

use crate::support::*;

async fn the_backlog_counts_due_and_overdue_unfired_timers(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.store().await;
    let now = t0() + minutes(60);
    let cutoff = now - minutes(5);
    let backlog = |now, cutoff| store.timer_backlog(now, cutoff);
    assert_eq!(backlog(now, cutoff).await.unwrap(), TimerBacklog::default());

    schedule(&store, "long-overdue", t0()).await;
    let fired = schedule(&store, "fired", t0()).await;
    schedule(&store, "just-due", now - minutes(1)).await;
    schedule(&store, "due-exactly-now", now).await;
    schedule(&store, "later", now + minutes(1)).await;
    store.complete(fired.id).await.unwrap();

    let expected = TimerBacklog { due: 3, overdue: 1 };
    assert_eq!(backlog(now, cutoff).await.unwrap(), expected);
    let earlier = backlog(now - minutes(2), cutoff - minutes(2))
        .await
        .unwrap();
    assert_eq!(earlier, TimerBacklog { due: 1, overdue: 1 });
}

infrastructure::on_both_backends!(the_backlog_counts_due_and_overdue_unfired_timers);

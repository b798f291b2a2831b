//! A test-clock advance while commands keep arriving, found by the reliability harness
//! (`docs/reliability.md`): an advance used to settle only once the log head stood still between
//! two looks, which a steady stream of commands never allows, so every advance ran into its
//! timeout. It now waits for what it caused and settles under load too.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use domain::subscription::Subscription;
use infrastructure::test_stack::{context, trial, Stack};
use infrastructure::testing::Backend;
use infrastructure::SandboxGateway;
use projections::RuntimeOptions;
use sagas::{TimerOptions, Timers};
use uuid::Uuid;

use super::{AdvanceTarget, ClockAdvance};

/// Far longer than an advance with nothing due needs: the projections only have to catch up.
const ADVANCE_TIMEOUT: Duration = Duration::from_secs(20);

/// Concurrent clients: enough that a command commits between any two looks at the log head.
const CLIENTS: usize = 8;

async fn start_trials(stack: Arc<Stack>, stop: Arc<AtomicBool>) -> usize {
    let mut trials = 0;
    while !stop.load(Ordering::Relaxed) {
        let id = Uuid::new_v4();
        let command = trial(id, &format!("acct_{}", id.simple()), "starter", None);
        stack
            .bus
            .execute::<Subscription>(&id.to_string(), command, &stack.services, &context())
            .await
            .unwrap();
        trials += 1;
    }
    trials
}

async fn an_advance_settles_while_commands_keep_arriving(backend: Backend) {
    let stack = Arc::new(Stack::new(backend).await);
    let projections = projections::start(
        stack.store.clone(),
        stack.services.catalog.clone(),
        RuntimeOptions::default(),
    );
    let timers = Timers::new(
        stack.store.clone(),
        stack.bus.clone(),
        stack.services.clone(),
        Arc::new(SandboxGateway::default()),
        TimerOptions::default(),
    );
    // Clients that start one trial after another until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| tokio::spawn(start_trials(stack.clone(), stop.clone())))
        .collect();
    let advance = ClockAdvance {
        clock: &stack.clock,
        timers: &timers,
        projections: &projections,
        store: &stack.store,
        timeout: ADVANCE_TIMEOUT,
    };
    let advanced = advance
        .advance(AdvanceTarget::By(chrono::Duration::hours(1)))
        .await;
    stop.store(true, Ordering::Relaxed);
    let mut trials = 0;
    for client in clients {
        trials += client.await.unwrap();
    }
    projections.stop().await;
    assert!(
        advanced.is_ok(),
        "an advance with nothing due did not settle while {trials} trials started: {advanced:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite() {
    an_advance_settles_while_commands_keep_arriving(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres() {
    an_advance_settles_while_commands_keep_arriving(Backend::Postgres).await
}

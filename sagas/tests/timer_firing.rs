//! Firing timers against a real store on both backends: a timer fires its command once even
//! when it fires twice (a worker that died before completing it), a refused command completes
//! its timer, and a retry of a case that does not exist completes.

use std::sync::Arc;

use application::scheduler::{NewTimer, Scheduler, TimerKind};
use application::EventLog;
use chrono::Duration;
use domain::subscription::{Subscription, SubscriptionCommand};
use infrastructure::testing::Backend;
use infrastructure::{SandboxGateway, Store};
use sagas::timers_policy;
use sagas::{TimerOptions, Timers};
use uuid::Uuid;

use infrastructure::test_stack::{self, context, t0, Stack};

struct Harness {
    stack: Stack,
    timers: Timers<Store, Store>,
}

impl std::ops::Deref for Harness {
    type Target = Stack;
    fn deref(&self) -> &Stack {
        &self.stack
    }
}

async fn harness(backend: Backend) -> Harness {
    let stack = Stack::new(backend).await;
    let timers = Timers::new(
        stack.store.clone(),
        stack.bus.clone(),
        stack.services.clone(),
        Arc::new(SandboxGateway::default()),
        TimerOptions::default(),
    );
    Harness { stack, timers }
}

impl Harness {
    /// Starts a trial without billing account and schedules its expiry as the timers policy
    /// would (its trial-will-end warning is left out: these tests are about one timer).
    async fn trial(&self) -> String {
        let id = Uuid::new_v4();
        let command = test_stack::trial(id, &format!("acct_{}", id.simple()), "pro", None);
        self.send(&id.to_string(), command).await;
        let started = self.events(&id.to_string()).await;
        let event = self.bus.decode::<Subscription>(started[0].clone()).unwrap();
        let expiry = timers_policy::react(&id.to_string(), &event)
            .into_iter()
            .find(|timer| timer.kind == TimerKind::ExpireTrial)
            .expect("a trial expiry");
        self.timers.schedule(expiry).await.unwrap();
        id.to_string()
    }

    async fn send(&self, id: &str, command: SubscriptionCommand) {
        self.bus
            .execute::<Subscription>(id, command, &self.services, &context())
            .await
            .unwrap();
    }

    async fn events(&self, id: &str) -> Vec<cqrs_es::persist::SerializedEvent> {
        self.store
            .load_stream::<Subscription>(id)
            .await
            .unwrap()
            .events
    }

    async fn event_types(&self, id: &str) -> Vec<String> {
        let events = self.events(id).await;
        events.into_iter().map(|e| e.event_type).collect()
    }
}

async fn a_timer_fired_twice_appends_once(backend: Backend) {
    let h = harness(backend).await;
    let id = h.trial().await;
    assert_eq!(h.timers.fire_due_now().await.unwrap(), 0, "not due yet");
    h.clock.advance(Duration::days(14));
    // Fired twice, as when a worker dies after the command but before completing the timer and
    // another worker claims it once the lease runs out.
    let claimed = h
        .store
        .claim_due(
            domain::Clock::now(h.clock.as_ref()),
            1,
            std::time::Duration::ZERO,
        )
        .await
        .unwrap();
    h.timers.fire(&claimed[0]).await.unwrap();
    h.timers.fire(&claimed[0]).await.unwrap();
    assert_eq!(
        h.event_types(&id).await,
        ["TrialStarted", "SubscriptionCancelled"]
    );
    assert_eq!(h.timers.fire_due_now().await.unwrap(), 0, "completed");
}

async fn a_refused_command_completes_its_timer(backend: Backend) {
    let h = harness(backend).await;
    let id = h.trial().await;
    let cancel = SubscriptionCommand::CancelSubscription {
        at_period_end: false,
        comment: Some("changed my mind".into()),
    };
    h.send(&id, cancel).await;
    h.clock.advance(Duration::days(15));
    assert_eq!(h.timers.fire_due_now().await.unwrap(), 1);
    assert_eq!(
        h.event_types(&id).await,
        ["TrialStarted", "SubscriptionCancelled"]
    );
    assert_eq!(h.store.next_due().await.unwrap(), None);
}

async fn a_retry_of_a_case_that_does_not_exist_completes(backend: Backend) {
    let h = harness(backend).await;
    let timer = NewTimer {
        kind: TimerKind::DunningRetry,
        aggregate_id: Uuid::new_v4().to_string(),
        due_at: t0(),
        dedupe_key: "retry:1".into(),
    };
    h.timers.schedule(timer).await.unwrap();
    assert_eq!(h.timers.fire_due_now().await.unwrap(), 1);
    assert_eq!(h.store.next_due().await.unwrap(), None);
}

infrastructure::on_both_backends!(
    a_timer_fired_twice_appends_once,
    a_refused_command_completes_its_timer,
    a_retry_of_a_case_that_does_not_exist_completes,
);

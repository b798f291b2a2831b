//! Firing due timers: claim them by the injected clock's now, send each one's command through the
//! command bus under the id `timer:<dedupe_key>`, then mark the timer fired. A worker that dies
//! between the command and the completion leaves a claim that runs out; the timer fires again and
//! its command id appends nothing, so the effect is exactly once.
//!
//! A command the aggregate refuses is logged and its timer completed: the refusal says the timer
//! has nothing left to do (the subscription was cancelled at once, activated by hand, or its
//! period was already renewed; the dunning case closed, or its window was extended), and the
//! same command at the same state would be refused forever.
//!
//! Dunning timers: a retry collects the case's invoice ([`crate::dunning::retry`]), the window
//! expiry sends MarkSuspended and the deadline CancelDunning to the case; the process manager
//! reacts to the events these record.
//! Failures of the store are not refusals: the timer stays due and fires later.

use std::sync::Arc;
use std::time::Duration;

use application::claims::UniqueClaim;
use application::event_log::{CommandKey, EventLog};
use application::scheduler::{NewTimer, Scheduler, SchedulerError, Timer, TimerKind};
use application::{CommandBus, CommandContext, DispatchError, PaymentGateway};
use chrono::{DateTime, Utc};
use domain::dunning::{DunningCase, DunningCommand};
use domain::subscription::{Subscription, SubscriptionCommand};
use domain::{BillingServices, DomainError};
use tokio::sync::{watch, Mutex, MutexGuard, Notify};
use tokio::task::JoinHandle;

use crate::dunning;

/// The actor recorded on the events timers cause.
const ACTOR: &str = "system:scheduler";

/// How timers are claimed and how often the worker looks for due ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerOptions {
    /// Timers claimed per round trip.
    pub batch_size: u32,
    /// How long a claim keeps other workers off a timer. Long enough for a command; a crashed
    /// worker's timers wait this long before another worker fires them.
    pub lease: Duration,
    /// How often the worker looks for due timers when nothing wakes it.
    pub poll_interval: Duration,
}

impl Default for TimerOptions {
    fn default() -> Self {
        Self {
            batch_size: 16,
            lease: Duration::from_secs(15),
            poll_interval: Duration::from_millis(500),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FiringError {
    #[error(transparent)]
    Scheduler(#[from] SchedulerError),
    /// The command could not run now (the store failed, or conflicts outlasted the retries);
    /// the timer stays due and fires again once its claim runs out.
    #[error("timer `{dedupe_key}`: {reason}")]
    Unavailable { dedupe_key: String, reason: String },
    /// A defect: stored data that does not read back, or a command id reused for another
    /// command. The timer stays due, and fails again until the defect is fixed.
    #[error("timer `{dedupe_key}`: {reason}")]
    Defect { dedupe_key: String, reason: String },
}

impl FiringError {
    /// Worth retrying as is.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            FiringError::Scheduler(SchedulerError::Storage(_)) | FiringError::Unavailable { .. }
        )
    }
}

/// The timers of this process: scheduling, and firing them by the injected clock. `L` is the
/// event log the timers' commands go to and `S` the durable scheduler: on a database both are
/// the store, in tests they may be the in-memory ports. `Timers` is itself the `Scheduler` the
/// policies are given: it schedules through `S` and wakes the firing worker, so a timer that is
/// already due fires at once.
pub struct Timers<L: EventLog, S: Scheduler> {
    scheduler: Arc<S>,
    bus: Arc<CommandBus<L>>,
    services: BillingServices,
    /// Where dunning retries charge.
    gateway: Arc<dyn PaymentGateway>,
    options: TimerOptions,
    /// One firing round at a time in this process: the background worker and a test-clock
    /// advance never race for the same due timers, and timers fire in due order.
    round: Mutex<()>,
    wake: Notify,
}

impl<L: EventLog, S: Scheduler> Timers<L, S> {
    pub fn new(
        scheduler: Arc<S>,
        bus: Arc<CommandBus<L>>,
        services: BillingServices,
        gateway: Arc<dyn PaymentGateway>,
        options: TimerOptions,
    ) -> Self {
        Self {
            scheduler,
            bus,
            services,
            gateway,
            options,
            round: Mutex::new(()),
            wake: Notify::new(),
        }
    }

    /// One firing round at the clock's now; returns how many timers fired.
    pub async fn fire_due_now(&self) -> Result<usize, FiringError> {
        let _round = self.exclusive().await;
        self.fire_due(self.services.clock.now()).await
    }

    /// Keeps every other firing round of this process out while held.
    pub async fn exclusive(&self) -> MutexGuard<'_, ()> {
        self.round.lock().await
    }

    /// Fires, in due order, every timer due at `now` that this process can claim. The caller
    /// holds [`Self::exclusive`].
    pub async fn fire_due(&self, now: DateTime<Utc>) -> Result<usize, FiringError> {
        let mut fired = 0;
        loop {
            let claimed = self
                .scheduler
                .claim_due(now, self.options.batch_size, self.options.lease)
                .await?;
            let full = claimed.len() == self.options.batch_size as usize;
            for timer in &claimed {
                // On an error the rest of the batch keeps its claim until the lease runs out.
                self.fire(timer).await?;
                fired += 1;
            }
            if !full {
                return Ok(fired);
            }
        }
    }

    /// Sends `timer`'s command and marks the timer fired. Firing a timer again (after a crash, or
    /// by a worker whose claim ran out) appends nothing: the command id derives from the key.
    pub async fn fire(&self, timer: &Timer) -> Result<(), FiringError> {
        let context = context(timer);
        let outcome = match timer.kind {
            TimerKind::ExpireTrial => {
                self.send::<Subscription>(timer, SubscriptionCommand::ExpireTrial, &context)
                    .await
            }
            TimerKind::TrialWillEnd => {
                self.send::<Subscription>(timer, SubscriptionCommand::WarnTrialEnding, &context)
                    .await
            }
            TimerKind::RenewPeriod => {
                self.send::<Subscription>(timer, SubscriptionCommand::RenewPeriod, &context)
                    .await
            }
            TimerKind::DunningRetry => {
                let gateway = &*self.gateway;
                dunning::retry::fire(&self.bus, gateway, &self.services, timer, &context).await
            }
            // Refused before the window's end (it was extended: a later timer suspends).
            TimerKind::DunningWindowExpiry => {
                self.send::<DunningCase>(timer, DunningCommand::MarkSuspended, &context)
                    .await
            }
            TimerKind::DunningCancellation => {
                self.send::<DunningCase>(timer, DunningCommand::CancelDunning, &context)
                    .await
            }
        };
        let failure = |reason: String| (timer.dedupe_key.clone(), reason);
        match outcome {
            Ok(()) => tracing::debug!(timer = timer.dedupe_key, "timer fired"),
            Err(DispatchError::Rejected(refusal)) => tracing::info!(
                timer = timer.dedupe_key,
                %refusal,
                "the timer's command was refused; nothing is left for it to do"
            ),
            Err(error @ (DispatchError::Storage(_) | DispatchError::Conflict)) => {
                let (dedupe_key, reason) = failure(error.to_string());
                return Err(FiringError::Unavailable { dedupe_key, reason });
            }
            Err(defect) => {
                let (dedupe_key, reason) = failure(defect.to_string());
                return Err(FiringError::Defect { dedupe_key, reason });
            }
        }
        self.scheduler.complete(timer.id).await?;
        Ok(())
    }

    /// Sends `command` to the timer's aggregate.
    async fn send<A>(
        &self,
        timer: &Timer,
        command: A::Command,
        context: &CommandContext,
    ) -> Result<(), DispatchError<DomainError>>
    where
        A: UniqueClaim<Error = DomainError, Services = BillingServices>,
        A::Command: Clone + serde::Serialize,
    {
        let executed = self
            .bus
            .execute::<A>(&timer.aggregate_id, command, &self.services, context)
            .await?;
        tracing::debug!(
            timer = timer.dedupe_key,
            replayed = executed.replayed,
            position = executed.record.position,
            "timer command executed"
        );
        Ok(())
    }
}

impl<L: EventLog, S: Scheduler> Scheduler for Timers<L, S> {
    /// Schedules `timer` (idempotent by its dedupe key) and wakes the firing worker.
    async fn schedule(&self, timer: NewTimer) -> Result<Timer, SchedulerError> {
        let stored = self.scheduler.schedule(timer).await?;
        self.wake.notify_one();
        Ok(stored)
    }

    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<Timer>, SchedulerError> {
        self.scheduler.claim_due(now, limit, lease).await
    }

    async fn complete(&self, id: uuid::Uuid) -> Result<(), SchedulerError> {
        self.scheduler.complete(id).await
    }

    async fn cancel(&self, aggregate_id: &str) -> Result<u64, SchedulerError> {
        self.scheduler.cancel(aggregate_id).await
    }

    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, SchedulerError> {
        self.scheduler.next_due().await
    }
}

/// The metadata of a timer's command; its id derives from the dedupe key.
fn context(timer: &Timer) -> CommandContext {
    let command_id = format!("timer:{}", timer.dedupe_key);
    CommandContext {
        actor: ACTOR.to_owned(),
        correlation_id: command_id.clone(),
        causation_id: format!("timer:{}", timer.id),
        idempotency_key: None,
        key: Some(CommandKey {
            command_id,
            fingerprint: timer.kind.as_str().to_owned(),
        }),
    }
}

/// The background worker: a firing round at every poll and whenever a timer is scheduled.
pub struct TimerFiringWorker {
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl TimerFiringWorker {
    /// Starts the worker. Must be called inside a Tokio runtime.
    pub fn spawn<L: EventLog, S: Scheduler>(timers: Arc<Timers<L, S>>) -> Self {
        let shutdown = watch::channel(false).0;
        let task = tokio::spawn(run(timers, shutdown.subscribe()));
        Self { shutdown, task }
    }

    /// Stops the worker after its current round and waits for it.
    pub async fn stop(self) {
        self.shutdown.send_replace(true);
        if let Err(error) = self.task.await {
            tracing::error!(%error, "the timer firing worker panicked");
        }
    }
}

async fn run<L: EventLog, S: Scheduler>(
    timers: Arc<Timers<L, S>>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        match timers.fire_due_now().await {
            Ok(0) => {}
            Ok(fired) => tracing::debug!(fired, "timers fired"),
            Err(error) if error.is_transient() => {
                tracing::warn!(%error, "timers not fired; retrying")
            }
            Err(error) => tracing::error!(%error, "a timer cannot fire"),
        }
        tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => return,
            _ = timers.wake.notified() => {}
            _ = tokio::time::sleep(timers.options.poll_interval) => {}
        }
    }
}

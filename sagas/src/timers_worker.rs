//! Runs the timers policy on the global log: listens to subscription events, keeps no state
//! besides its checkpoint, and schedules timers.

use std::sync::Arc;

use application::event_log::{EventLog, StoredEvent};
use application::scheduler::Scheduler;
use application::CommandBus;
use application::{Policy, ReactionError};
use cqrs_es::Aggregate;
use domain::subscription::Subscription;

use crate::dispatch::decode;
use crate::timers_policy::{react, POLICY};

/// The timers policy on the ports: the event log `L` and the scheduler `S`.
pub struct TimersPolicyWorker<L, S> {
    bus: Arc<CommandBus<L>>,
    timers: Arc<S>,
}

impl<L: EventLog, S: Scheduler> TimersPolicyWorker<L, S> {
    pub fn new(bus: Arc<CommandBus<L>>, timers: Arc<S>) -> Self {
        Self { bus, timers }
    }
}

impl<L: EventLog, S: Scheduler> Policy for TimersPolicyWorker<L, S> {
    fn name(&self) -> &'static str {
        POLICY
    }

    fn listens_to(&self) -> &'static [&'static str] {
        &[Subscription::TYPE]
    }

    async fn react(&self, events: &[StoredEvent]) -> Result<(), ReactionError> {
        for cause in events {
            let event = decode::<Subscription, _>(&self.bus, cause)?;
            for timer in react(&cause.aggregate_id, &event) {
                self.timers
                    .schedule(timer)
                    .await
                    .map_err(|error| ReactionError::scheduling(cause, error))?;
            }
        }
        Ok(())
    }
}

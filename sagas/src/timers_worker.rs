//! Runs the timers policy on the global log: listens to subscription events, keeps no state
//! besides its checkpoint, and schedules timers.

use std::sync::Arc;

use application::event_log::StoredEvent;
use application::scheduler::SchedulerError;
use application::{CommandBus, EventLogError};
use cqrs_es::Aggregate;
use domain::subscription::Subscription;
use infrastructure::Store;
use projections::{Policy, ProjectionError};

use crate::dispatch::decode;
use crate::timer_firing::Timers;
use crate::timers_policy::{react, POLICY};

pub struct TimersPolicyWorker {
    bus: Arc<CommandBus<Store>>,
    timers: Arc<Timers>,
}

impl TimersPolicyWorker {
    pub fn new(bus: Arc<CommandBus<Store>>, timers: Arc<Timers>) -> Self {
        Self { bus, timers }
    }
}

impl Policy for TimersPolicyWorker {
    fn name(&self) -> &'static str {
        POLICY
    }

    fn listens_to(&self) -> &'static [&'static str] {
        &[Subscription::TYPE]
    }

    async fn react(&self, events: &[StoredEvent]) -> Result<(), ProjectionError> {
        for cause in events {
            let event = decode::<Subscription>(&self.bus, cause)?;
            if let Some(timer) = react(&cause.aggregate_id, &event) {
                self.timers
                    .schedule(timer)
                    .await
                    .map_err(|error| scheduling_failed(cause, error))?;
            }
        }
        Ok(())
    }
}

/// A store failure is retried by the runtime; a corrupt timers table stops the policy at the
/// event, like any event it cannot act on.
pub(crate) fn scheduling_failed(cause: &StoredEvent, error: SchedulerError) -> ProjectionError {
    match error {
        SchedulerError::Storage(reason) => EventLogError::Storage(reason).into(),
        SchedulerError::Corrupt(reason) => ProjectionError::Event {
            position: cause.position,
            aggregate_type: cause.aggregate_type.clone(),
            event_type: cause.event_type.clone(),
            reason,
        },
    }
}

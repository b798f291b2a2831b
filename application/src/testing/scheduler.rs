//! Durable timers in memory, to the scheduler port's contract: idempotent by dedupe key, claims
//! that last a lease on the wall clock, due order.

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::scheduler::{NewTimer, Scheduler, SchedulerError, Timer};

#[derive(Default)]
pub struct MemoryScheduler {
    timers: Mutex<Vec<Stored>>,
}

struct Stored {
    timer: Timer,
    fired: bool,
    claimed_until: Option<Instant>,
}

impl MemoryScheduler {
    /// The timers not fired (nor withdrawn) yet, in due order.
    pub fn pending(&self) -> Vec<Timer> {
        let mut pending: Vec<Timer> = self
            .lock()
            .iter()
            .filter(|stored| !stored.fired)
            .map(|stored| stored.timer.clone())
            .collect();
        pending.sort_by_key(|timer| (timer.due_at, timer.id));
        pending
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Stored>> {
        self.timers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// `at` rounded up to the microsecond, as the stores keep it: a timer never fires early.
fn to_microsecond(at: DateTime<Utc>) -> DateTime<Utc> {
    let below = i64::from(at.timestamp_subsec_nanos() % 1_000);
    if below == 0 {
        at
    } else {
        at + chrono::Duration::nanoseconds(1_000 - below)
    }
}

impl Scheduler for MemoryScheduler {
    async fn schedule(&self, timer: NewTimer) -> Result<Timer, SchedulerError> {
        let mut timers = self.lock();
        if let Some(stored) = timers
            .iter()
            .find(|stored| stored.timer.dedupe_key == timer.dedupe_key)
        {
            return Ok(stored.timer.clone());
        }
        let stored = Timer {
            id: Uuid::new_v4(),
            kind: timer.kind,
            aggregate_id: timer.aggregate_id,
            due_at: to_microsecond(timer.due_at),
            dedupe_key: timer.dedupe_key,
        };
        timers.push(Stored {
            timer: stored.clone(),
            fired: false,
            claimed_until: None,
        });
        Ok(stored)
    }

    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<Timer>, SchedulerError> {
        let mut timers = self.lock();
        let wall = Instant::now();
        let mut due: Vec<&mut Stored> = timers
            .iter_mut()
            .filter(|stored| {
                !stored.fired
                    && stored.timer.due_at <= now
                    && stored.claimed_until.is_none_or(|until| until <= wall)
            })
            .collect();
        due.sort_by_key(|stored| (stored.timer.due_at, stored.timer.id));
        Ok(due
            .into_iter()
            .take(limit as usize)
            .map(|stored| {
                stored.claimed_until = Some(wall + lease);
                stored.timer.clone()
            })
            .collect())
    }

    async fn complete(&self, id: Uuid) -> Result<(), SchedulerError> {
        for stored in self
            .lock()
            .iter_mut()
            .filter(|stored| stored.timer.id == id)
        {
            stored.fired = true;
        }
        Ok(())
    }

    async fn cancel(&self, aggregate_id: &str) -> Result<u64, SchedulerError> {
        let mut withdrawn = 0;
        for stored in self.lock().iter_mut() {
            if !stored.fired && stored.timer.aggregate_id == aggregate_id {
                stored.fired = true;
                withdrawn += 1;
            }
        }
        Ok(withdrawn)
    }

    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, SchedulerError> {
        Ok(self
            .lock()
            .iter()
            .filter(|stored| !stored.fired)
            .map(|stored| stored.timer.due_at)
            .min())
    }
}

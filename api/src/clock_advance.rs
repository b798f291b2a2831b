//! The test clock's advance (SPEC 6, only with `--test-clock`). The clock moves forward to each
//! due time in turn, never past a timer that is due: at each stop every due timer fires (in due
//! order, through the same code as the background worker) and every projection and policy
//! processes the log head, again and again until nothing more happens, because a policy may
//! schedule a timer that is already due (an activation's first renewal after a long jump).
//! While clients keep sending commands the log never stands still, so the advance then waits
//! only for what it caused (`advance_causes`). Then the clock moves on. So a 60-day jump renews
//! a monthly subscription twice, each time with the clock at that period's end, as if the time
//! had passed.

use std::time::Duration;

use application::scheduler::Scheduler;
use application::EventLogError;
use chrono::{DateTime, Utc};
use domain::{Clock, ManualClock};
use infrastructure::LogHead;
use infrastructure::Store;
use projections::{ProjectionError, Projections};

use sagas::{FiringError, Timers};

use causes::AdvanceCauses;

mod causes;
#[cfg(test)]
mod tests;

/// How long to wait before looking again at a due timer that another process has claimed.
const CLAIMED_ELSEWHERE_PAUSE: Duration = Duration::from_millis(50);

/// Where to move the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdvanceTarget {
    /// Forward by a non-negative duration from the clock's time when the advance starts.
    By(chrono::Duration),
    /// To an instant no earlier than the clock's time when the advance starts.
    To(DateTime<Utc>),
}

/// The clock after an advance and the log's highest position then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Advanced {
    pub now: DateTime<Utc>,
    pub position: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum AdvanceError {
    #[error("the clock is already at {now}; it only moves forward")]
    InThePast { now: DateTime<Utc> },
    #[error(transparent)]
    Firing(#[from] FiringError),
    #[error(transparent)]
    Projection(#[from] ProjectionError),
    #[error(transparent)]
    EventLog(#[from] EventLogError),
    #[error("timers and projections did not settle within {0:?}")]
    Timeout(Duration),
}

impl AdvanceError {
    /// Worth retrying as is (the clock has moved as far as it got).
    pub fn is_transient(&self) -> bool {
        match self {
            AdvanceError::InThePast { .. } => false,
            AdvanceError::Firing(error) => error.is_transient(),
            AdvanceError::Projection(error) => {
                error.is_transient() || matches!(error, ProjectionError::Stale { .. })
            }
            AdvanceError::EventLog(_) | AdvanceError::Timeout(_) => true,
        }
    }
}

/// What an advance moves and waits for.
pub struct ClockAdvance<'a> {
    pub clock: &'a ManualClock,
    pub timers: &'a Timers<Store, Store>,
    pub projections: &'a Projections,
    pub store: &'a Store,
    /// The longest the whole advance may take.
    pub timeout: Duration,
}

impl ClockAdvance<'_> {
    /// Moves the clock to `target`, firing every timer due on the way, and returns once the
    /// projections and policies have caught up with everything that caused.
    pub async fn advance(&self, target: AdvanceTarget) -> Result<Advanced, AdvanceError> {
        tokio::time::timeout(self.timeout, self.run(target))
            .await
            .unwrap_or(Err(AdvanceError::Timeout(self.timeout)))
    }

    async fn run(&self, target: AdvanceTarget) -> Result<Advanced, AdvanceError> {
        // Held throughout: concurrent advances queue, and the background worker waits.
        let _round = self.timers.exclusive().await;
        let start = self.clock.now();
        let target = match target {
            AdvanceTarget::By(duration) => start + duration.max(chrono::Duration::zero()),
            AdvanceTarget::To(to) if to >= start => to,
            AdvanceTarget::To(_) => return Err(AdvanceError::InThePast { now: start }),
        };
        // First let the policies catch up with the log (after a restart they may not have
        // scheduled every timer yet), so that no timer is found only once the clock is past it.
        self.settle(start).await?;
        loop {
            let stop = match self.store.next_due().await.map_err(FiringError::from)? {
                Some(due) if due <= target => due,
                _ => target,
            };
            let now = self.clock.advance_to(stop);
            let head = self.settle(now).await?;
            if now >= target {
                return Ok(Advanced {
                    now,
                    position: head.position,
                });
            }
        }
    }

    /// Fires every timer due at `now` and waits for the projections, until nothing is due and
    /// either a wait ends with no new event (a quiet log) or, while clients keep appending, a
    /// round finds no new event the advance waits for (see `AdvanceCauses`). Not before the
    /// second round: reactions to events older than the start may commit during the first wait.
    async fn settle(&self, now: DateTime<Utc>) -> Result<LogHead, AdvanceError> {
        let mut causes = AdvanceCauses::after(self.store.log_head().await?.cursor);
        let mut rounds = 0;
        loop {
            self.timers.fire_due(now).await?;
            if self.anything_due(now).await? {
                // Claimed by another process's worker, or by one that died until its lease ends.
                tokio::time::sleep(CLAIMED_ELSEWHERE_PAUSE).await;
                continue;
            }
            let head = self.store.log_head().await?;
            self.projections
                .wait_for(head.cursor.position, self.timeout)
                .await?;
            rounds += 1;
            let caused = causes.read_to(self.store, head.cursor).await?;
            if self.anything_due(now).await? {
                continue;
            }
            if self.store.log_head().await? == head || (rounds >= 2 && !caused) {
                return Ok(head);
            }
        }
    }

    async fn anything_due(&self, now: DateTime<Utc>) -> Result<bool, AdvanceError> {
        let next = self.store.next_due().await.map_err(FiringError::from)?;
        Ok(next.is_some_and(|due| due <= now))
    }
}

//! One projection's worker: take the lease, then read the log after the checkpoint in batches,
//! apply each batch and move the checkpoint in one transaction, and sleep until woken when
//! caught up. Without the lease it stands by, following the checkpoint the active worker
//! commits. A batch that fails on an event stops the projection there; a database that fails
//! is retried.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::changes::Change;
use crate::Store;
use application::event_log::{LogCursor, StoredEvent};
use tokio::sync::watch;

use super::checkpoint::{self, StoredStatus};
use super::error::ProjectionError;
use super::lease::Lease;
use super::projector::listened;
use super::state::{ProjectionStatus, StatePublisher};
use super::tail::SharedTail;
use super::wakeup::Wakeups;
use super::Projector;
use crate::portable::Tx;

/// How workers pace themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuntimeOptions {
    /// Events read and applied per transaction.
    pub batch_size: u32,
    /// How long an idle worker sleeps when no notification wakes it, and how often a standby
    /// worker retries the lease.
    pub poll_interval: Duration,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        Self {
            batch_size: 500,
            poll_interval: Duration::from_secs(1),
        }
    }
}

/// How long the checkpoint may stay behind over batches that write no row before it is stored:
/// batches without a listened event, and a policy's batches. A checkpoint lost in a crash then
/// only means reading those batches again, and reacting again to a policy's (its commands carry
/// ids derived from their causes and append nothing twice). Skipping their transactions spares a
/// commit (and a wake-up of every worker) per batch per projector. The bound keeps standby
/// workers in other processes, which show the stored checkpoint to their read-your-writes waits,
/// at most this far behind.
const SAVE_SKIPPED_AFTER: Duration = Duration::from_millis(200);

/// Why an active spell ended.
enum End {
    /// Shutdown was asked for.
    Stopped,
    /// An event could not be applied; the projection is stopped.
    Failed,
    /// The database failed or another worker moved the checkpoint: stand by and retry.
    Interrupted,
}

/// What a committed batch did.
enum Applied {
    Advanced(LogCursor),
    /// Reacted to, the checkpoint left to be stored later.
    Skipped(LogCursor),
    /// The checkpoint was not where this worker left it: someone else is active.
    Fenced,
}

pub(crate) struct Runner<P> {
    pub store: Arc<Store>,
    pub projector: P,
    pub options: RuntimeOptions,
    pub state: StatePublisher,
    pub shutdown: watch::Receiver<bool>,
    pub wakeups: Wakeups,
    pub tail: Arc<SharedTail>,
}

impl<P: Projector> Runner<P> {
    pub(crate) async fn run(mut self) {
        let mut lease = Lease::for_projection(&self.store, self.projector.name());
        while !self.stopping() {
            match lease.try_acquire().await {
                Ok(true) => {
                    let end = self.while_active().await;
                    lease.release().await;
                    match end {
                        End::Stopped => break,
                        End::Failed => return,
                        End::Interrupted => {}
                    }
                }
                Ok(false) => self.follow_stored_checkpoint().await,
                Err(error) => {
                    self.interrupted(error);
                }
            }
            tokio::select! {
                _ = self.shutdown.wait_for(|stop| *stop) => {}
                _ = self.wakeups.next() => {}
            }
        }
        self.state.set_status(ProjectionStatus::Stopped);
    }

    fn stopping(&self) -> bool {
        // A dropped sender (the runtime is gone) means stop too.
        *self.shutdown.borrow() || self.shutdown.has_changed().is_err()
    }

    async fn while_active(&mut self) -> End {
        let name = self.projector.name();
        if let Err(error) =
            checkpoint::record_status(&self.store, name, StoredStatus::Running).await
        {
            return self.interrupted(error);
        }
        let mut cursor = match checkpoint::load(&self.store, name).await {
            Ok(cursor) => cursor,
            Err(error) => return self.interrupted(error),
        };
        self.state.advance(cursor);
        self.state.set_status(ProjectionStatus::Running);
        tracing::info!(
            projection = name,
            position = cursor.position,
            "projection active"
        );
        // Where the stored checkpoint is, and since when; `cursor` runs ahead of it over batches
        // that write no row, which need no transaction (see `SAVE_SKIPPED_AFTER`).
        let mut stored = (cursor, Instant::now());
        loop {
            if self.stopping() {
                if cursor != stored.0 {
                    // Best effort: a lost skip only means reading past those events again.
                    let _ = self.apply(stored.0, cursor, Vec::new()).await;
                }
                if let Err(error) =
                    checkpoint::record_status(&self.store, name, StoredStatus::Stopped).await
                {
                    tracing::warn!(projection = name, %error, "cannot record the stop");
                }
                return End::Stopped;
            }
            self.wakeups.mark_seen();
            let batch = match self.tail.read_after(cursor, self.options.batch_size).await {
                Ok(batch) => batch,
                Err(error) => return self.interrupted(error.into()),
            };
            let save_due = stored.1 + SAVE_SKIPPED_AFTER;
            let (to, events) = match batch.last() {
                Some((to, _)) => (*to, listened(&self.projector, batch)),
                None if cursor != stored.0 && Instant::now() >= save_due => (cursor, Vec::new()),
                None => {
                    let wait = if cursor == stored.0 {
                        self.options.poll_interval
                    } else {
                        save_due.saturating_duration_since(Instant::now())
                    };
                    tokio::select! {
                        _ = self.shutdown.wait_for(|stop| *stop) => {}
                        _ = self.wakeups.next() => {}
                        _ = tokio::time::sleep(wait) => {}
                    }
                    continue;
                }
            };
            let first_position = events.first().map(|event| event.position);
            // A batch that writes no row (nothing listened to, or a policy's) needs no
            // transaction of its own.
            let writes_rows = !events.is_empty() && !self.projector.effects_are_commands_only();
            let outcome = if writes_rows || Instant::now() >= save_due {
                self.apply(stored.0, to, events).await
            } else {
                self.react_only(&events)
                    .await
                    .map(|()| Applied::Skipped(to))
            };
            match outcome {
                Ok(Applied::Skipped(to)) => {
                    cursor = to;
                    self.state.advance(to);
                }
                Ok(Applied::Advanced(to)) => {
                    cursor = to;
                    stored = (to, Instant::now());
                    self.state.advance(to);
                }
                Ok(Applied::Fenced) => {
                    tracing::warn!(projection = name, "another worker moved the checkpoint");
                    self.state.set_status(ProjectionStatus::Standby);
                    return End::Interrupted;
                }
                Err(error) if error.is_transient() => return self.interrupted(error),
                Err(error) => {
                    let position = error.position().or(first_position).unwrap_or(to.position);
                    return self.fail(error, position).await;
                }
            }
        }
    }

    async fn react_only(&self, events: &[StoredEvent]) -> Result<(), ProjectionError> {
        if events.is_empty() {
            return Ok(());
        }
        self.projector.react(events).await
    }

    /// Applies the listened `events` of a batch and moves the checkpoint from `from` to `to`,
    /// atomically.
    async fn apply(
        &self,
        from: LogCursor,
        to: LogCursor,
        events: Vec<StoredEvent>,
    ) -> Result<Applied, ProjectionError> {
        if !events.is_empty() {
            self.projector.react(&events).await?;
        }
        let mut tx = Tx::begin(&self.store).await?;
        let result = self.apply_in(&mut tx, &events, from, to).await;
        match result {
            Ok(true) => {
                // The notice may reach a cache after the checkpoint is seen to move, so reads
                // that wait for a position (read-your-writes) never use a cache.
                tx.commit_announcing(&self.store, self.changes(&events))
                    .await?;
                Ok(Applied::Advanced(to))
            }
            Ok(false) => {
                tx.rollback().await?;
                Ok(Applied::Fenced)
            }
            Err(error) => {
                // Dropping the transaction would roll it back as well; this frees the
                // connection (SQLite's only writer) before the status is recorded.
                let _ = tx.rollback().await;
                Err(error)
            }
        }
    }

    /// What the batch changed, for the caches of a read model that has a change topic: the
    /// aggregate ids of its events.
    fn changes(&self, events: &[StoredEvent]) -> Option<Change> {
        let topic = self.projector.change_topic()?;
        let ids: BTreeSet<&str> = events.iter().map(|e| e.aggregate_id.as_str()).collect();
        (!ids.is_empty()).then(|| Change::keys(topic, ids.into_iter().map(str::to_owned).collect()))
    }

    async fn apply_in(
        &self,
        tx: &mut Tx,
        events: &[StoredEvent],
        from: LogCursor,
        to: LogCursor,
    ) -> Result<bool, ProjectionError> {
        if !events.is_empty() {
            self.projector.apply_batch(tx, events).await?;
        }
        checkpoint::advance(tx, self.projector.name(), from, to).await
    }

    async fn fail(&mut self, error: ProjectionError, position: i64) -> End {
        let name = self.projector.name();
        let error = error.to_string();
        tracing::error!(projection = name, position, %error, "projection stopped at an event it cannot apply");
        let status = StoredStatus::Failed {
            error: &error,
            position,
        };
        if let Err(record) = checkpoint::record_status(&self.store, name, status).await {
            tracing::warn!(projection = name, error = %record, "cannot record the failure");
        }
        self.state
            .set_status(ProjectionStatus::Failed { error, position });
        End::Failed
    }

    fn interrupted(&mut self, error: ProjectionError) -> End {
        tracing::warn!(projection = self.projector.name(), %error, "projection interrupted; retrying");
        self.state.set_last_error(error.to_string());
        self.state.set_status(ProjectionStatus::Standby);
        End::Interrupted
    }

    /// Standing by: show the checkpoint the active worker (in another process) has committed.
    async fn follow_stored_checkpoint(&mut self) {
        match checkpoint::load(&self.store, self.projector.name()).await {
            Ok(cursor) => self.state.advance(cursor),
            Err(error) => self.state.set_last_error(error.to_string()),
        }
        self.state.set_status(ProjectionStatus::Standby);
    }
}

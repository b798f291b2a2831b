//! The shape every read model's projector has: a name, the aggregate types it listens to, and
//! `apply_batch`, which writes the read model's rows for a batch of events inside a transaction
//! the runtime hands it. The runtime adds the checkpoint to that transaction and commits.
//! Policies run on the same runtime through `react`.

use std::future::Future;

use application::event_log::StoredEvent;

use crate::error::ProjectionError;
use crate::sql::ProjectionTx;

/// A read model's writer.
///
/// Contract:
/// - `apply_batch` receives only events whose `aggregate_type` is in `listens_to`, in global log
///   order, and MUST write through `tx` alone: the runtime commits the rows and the checkpoint
///   together, or neither.
/// - It MUST return an error, never skip, when an event cannot be applied; an error about one
///   event should be `ProjectionError::Event` with its position. The projection then stops there.
/// - Rows are derived data only: applying the whole log from position 0 to empty tables gives
///   the same rows as applying it in any split into batches.
pub trait Projector: Send + Sync + 'static {
    /// Stable: it keys the checkpoint, the status row and the Postgres advisory lock.
    fn name(&self) -> &'static str;

    /// The aggregate types (`subscription`, `entitlements`, …) whose events this projector reads.
    fn listens_to(&self) -> &'static [&'static str];

    /// Every table this projector writes, and nothing else writes: what a rebuild replaces and
    /// verification compares. Empty for a policy, which writes no read model.
    fn tables(&self) -> &'static [&'static str];

    /// The change-notice topic of a read model that processes cache in memory
    /// (`infrastructure::changes`): with every batch it commits, the runtime announces the
    /// aggregate ids of the batch's events under this topic, so the read model's rows must be
    /// keyed by those ids. `None`, the default: nothing caches this read model.
    fn change_topic(&self) -> Option<&'static str> {
        None
    }

    fn apply_batch(
        &self,
        tx: &mut ProjectionTx,
        events: &[StoredEvent],
    ) -> impl Future<Output = Result<(), ProjectionError>> + Send;

    /// True when `apply_batch` writes nothing, so a batch needs no transaction and the
    /// checkpoint may be stored later (a policy: its effects are commands with ids derived from
    /// their causes, which a repeated `react` after a crash does not append twice).
    fn effects_are_commands_only(&self) -> bool {
        false
    }

    /// Effects beyond the read model, for policies and sagas: commands sent through the command
    /// bus, each with an id derived from its causing event. Runs before the batch's transaction
    /// opens (on SQLite that transaction holds the only writer connection). If the process dies
    /// after `react` but before the checkpoint commits, the batch is reacted to again and every
    /// repeated command id appends nothing: the effect is exactly once.
    fn react(
        &self,
        events: &[StoredEvent],
    ) -> impl Future<Output = Result<(), ProjectionError>> + Send {
        let _ = events;
        async { Ok(()) }
    }
}

/// A log consumer whose effects are commands, not rows: a policy or a saga. It runs on the same
/// runtime as the read models (checkpoint, one active worker, wake-ups) and writes no read model,
/// so its whole work is [`Projector::react`].
pub trait Policy: Send + Sync + 'static {
    /// Stable: it keys the checkpoint, the status row and the Postgres advisory lock.
    fn name(&self) -> &'static str;

    /// The aggregate types whose events this policy reacts to.
    fn listens_to(&self) -> &'static [&'static str];

    /// Sends the commands `events` call for, each under an id derived from its cause.
    fn react(
        &self,
        events: &[StoredEvent],
    ) -> impl Future<Output = Result<(), ProjectionError>> + Send;
}

impl<P: Policy> Projector for P {
    fn name(&self) -> &'static str {
        Policy::name(self)
    }

    fn listens_to(&self) -> &'static [&'static str] {
        Policy::listens_to(self)
    }

    fn tables(&self) -> &'static [&'static str] {
        &[]
    }

    async fn apply_batch(
        &self,
        _tx: &mut ProjectionTx,
        _events: &[StoredEvent],
    ) -> Result<(), ProjectionError> {
        Ok(())
    }

    fn effects_are_commands_only(&self) -> bool {
        true
    }

    fn react(
        &self,
        events: &[StoredEvent],
    ) -> impl Future<Output = Result<(), ProjectionError>> + Send {
        Policy::react(self, events)
    }
}

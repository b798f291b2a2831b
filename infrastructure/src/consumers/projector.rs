//! The shape every read model's projector has: a name, the aggregate types it listens to, and
//! `apply_batch`, which writes the read model's rows for a batch of events inside a transaction
//! the runtime hands it. The runtime adds the checkpoint to that transaction and commits.
//! The contract lives here, not in `application`, because that transaction is this crate's SQL
//! layer. Policies (`application::Policy`, which writes no rows) run on the same runtime.

use std::future::Future;

use application::event_log::{LogCursor, StoredEvent};
use application::Policy;

use super::error::ProjectionError;
use crate::portable::Tx;

/// A read model's writer.
///
/// Contract:
/// - `apply_batch` receives only events whose `aggregate_type` is in `listens_to`, in global log
///   order, and MUST write through `tx` alone: the runtime commits the rows and the checkpoint
///   together, or neither.
/// - It MUST return an error, never skip, when an event cannot be applied; an error about one
///   event should be `ProjectionError::Event` (`EventFailure::at`). The projection then stops there.
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
        tx: &mut Tx,
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
        _tx: &mut Tx,
        _events: &[StoredEvent],
    ) -> Result<(), ProjectionError> {
        Ok(())
    }

    fn effects_are_commands_only(&self) -> bool {
        true
    }

    async fn react(&self, events: &[StoredEvent]) -> Result<(), ProjectionError> {
        Ok(Policy::react(self, events).await?)
    }
}

/// The events of `batch` that `projector` listens to, in order.
pub fn listened<P: Projector>(
    projector: &P,
    batch: Vec<(LogCursor, StoredEvent)>,
) -> Vec<StoredEvent> {
    let listens_to = projector.listens_to();
    batch
        .into_iter()
        .map(|(_, event)| event)
        .filter(|event| listens_to.contains(&event.aggregate_type.as_str()))
        .collect()
}

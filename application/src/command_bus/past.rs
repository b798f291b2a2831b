//! Loading an aggregate as it was at a point of its past (the audit state): from the kept
//! snapshot just below that point and the events after it up to the point, decoded through the
//! upcasters like any load, so the cost is bounded by the snapshot interval, not the stream.

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;

use super::{restore, storage, CommandBus, DispatchError};
use crate::event_log::{AsOf, EventLog};

/// An aggregate as it was after the last event of a prefix of its stream.
#[derive(Debug, Clone, PartialEq)]
pub struct PastState<A> {
    pub aggregate: A,
    /// The sequence of the last event included.
    pub version: i64,
    /// The global position of the last event included.
    pub position: i64,
    /// When the last event included was recorded.
    pub as_of: DateTime<Utc>,
}

impl<L: EventLog> CommandBus<L> {
    /// Aggregate `A` with id `aggregate_id` as it was at `as_of`; `None` when its stream had no
    /// events at that point (or `AsOf::Version` lies beyond the stream).
    pub async fn load_as_of<A: Aggregate>(
        &self,
        aggregate_id: &str,
        as_of: AsOf,
    ) -> Result<Option<PastState<A>>, DispatchError<A::Error>> {
        let Some(prefix) = self
            .log
            .load_prefix(A::TYPE, aggregate_id, as_of)
            .await
            .map_err(storage)?
        else {
            return Ok(None);
        };
        let (mut aggregate, _) = restore::<A>(prefix.snapshot)?;
        let mut last = None;
        for stored in prefix.events {
            aggregate.apply(self.decode::<A>(stored.serialized())?);
            last = Some(stored);
        }
        Ok(last.map(|last| PastState {
            aggregate,
            version: last.sequence,
            position: last.position,
            as_of: last.metadata.recorded_at,
        }))
    }
}

//! The one way an aggregate's `handle` ends: every event of a command is decided, against the
//! state before any of them, before the first is written. So a refused command writes nothing,
//! and `handle` holds no rule of its own.

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;

/// Writes `decided` (all of a command's events, or its refusal) to `sink`, in order.
pub(crate) async fn write<A: Aggregate>(
    aggregate: &mut A,
    sink: &EventSink<A>,
    decided: Result<Vec<A::Event>, A::Error>,
) -> Result<(), A::Error> {
    for event in decided? {
        sink.write(event, aggregate).await;
    }
    Ok(())
}

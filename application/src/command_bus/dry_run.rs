//! Deciding a command without recording it: a preview runs the very decision the real command
//! will run and shows what it would record (SPEC 11.2), so a preview cannot drift from the real
//! thing.

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;

use super::{CommandBus, DispatchError, Loaded};
use crate::event_log::EventLog;

impl<L: EventLog> CommandBus<L> {
    /// The events `command` would record on aggregate `A` with id `aggregate_id`, decided on its
    /// current state with `services` (whose clock may stand at the instant the command would
    /// run). Nothing is appended; a refusal is the one the command would meet.
    pub async fn dry_run<A: Aggregate>(
        &self,
        aggregate_id: &str,
        command: A::Command,
        services: &A::Services,
    ) -> Result<Vec<A::Event>, DispatchError<A::Error>> {
        let Loaded { mut aggregate, .. } = self.load::<A>(aggregate_id).await?;
        let sink = EventSink::default();
        aggregate
            .handle(command, services, &sink)
            .await
            .map_err(DispatchError::Rejected)?;
        Ok(sink.collect().await)
    }
}

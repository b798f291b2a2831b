//! Runs the processor-event policy on the global log: listens to processor events, keeps no
//! state besides its checkpoint, sends the invoice command each asks for and records what it
//! did on the processor event.

use std::sync::Arc;

use application::event_log::{EventLog, StoredEvent};
use application::CommandBus;
use application::{Policy, ReactionError};
use cqrs_es::Aggregate;
use domain::invoice::Invoice;
use domain::processor_event::{ProcessorEvent, ProcessorEventCommand, ProcessorEventEvent};
use domain::BillingServices;

use crate::dispatch::{decode, execute};
use crate::processor_events::{decide, invoice_of, invoice_stream, POLICY};
use crate::reaction::Reaction;

pub struct ProcessorEventsWorker<L> {
    bus: Arc<CommandBus<L>>,
    services: BillingServices,
}

impl<L: EventLog> ProcessorEventsWorker<L> {
    pub fn new(bus: Arc<CommandBus<L>>, services: BillingServices) -> Self {
        Self { bus, services }
    }
}

impl<L: EventLog> Policy for ProcessorEventsWorker<L> {
    fn name(&self) -> &'static str {
        POLICY
    }

    fn listens_to(&self) -> &'static [&'static str] {
        &[ProcessorEvent::TYPE]
    }

    async fn react(&self, events: &[StoredEvent]) -> Result<(), ReactionError> {
        for cause in events {
            let ProcessorEventEvent::ProcessorEventReceived { event, .. } =
                decode::<ProcessorEvent, _>(&self.bus, cause)?
            else {
                continue;
            };
            let invoice = match invoice_of(&event) {
                Some(id) => {
                    let loaded = self
                        .bus
                        .load::<Invoice>(&invoice_stream(id))
                        .await
                        .map_err(|error| ReactionError::at(cause, error.to_string()))?;
                    Some(loaded.aggregate).filter(Invoice::exists)
                }
                None => None,
            };
            let decision = decide(&event, invoice.as_ref());
            for (invoice_id, command, command_id) in decision.commands {
                let reaction = Reaction {
                    aggregate_id: invoice_stream(invoice_id),
                    command,
                    command_id,
                    caused_by: cause.metadata.event_id,
                };
                execute::<Invoice, _>(&self.bus, &self.services, POLICY, cause, reaction).await?;
            }
            let effect = Reaction {
                aggregate_id: cause.aggregate_id.clone(),
                command: ProcessorEventCommand::RecordProcessorEffect {
                    effect: decision.effect,
                },
                command_id: format!("{POLICY}:effect:{}", cause.aggregate_id),
                caused_by: cause.metadata.event_id,
            };
            execute::<ProcessorEvent, _>(&self.bus, &self.services, POLICY, cause, effect).await?;
        }
        Ok(())
    }
}

//! An event a payment processor sent us (SPEC 10.2), kept once: the aggregate's id is the
//! processor's own event id (`stripe:evt_…`), so a delivery Stripe repeats finds the event
//! already received and appends nothing. What the policy made of it is recorded on it too.

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

use crate::{BillingServices, DomainError};

/// What the processor sent, as the policy needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceivedEvent {
    /// `stripe`.
    pub processor: String,
    /// The processor's event id (`evt_…`).
    pub event_id: String,
    /// The processor's event type (`payment_intent.succeeded`, …).
    pub event_type: String,
    /// The id of the object the event is about (`pi_…`, `ch_…`, `dp_…`), if it has one.
    pub object_id: Option<String>,
    /// The object, as the processor sent it (JSON text).
    pub object: String,
    /// The Ledgerline invoice the object belongs to, when the receiver could tell (from its
    /// metadata, or from the PaymentIntent a charge or dispute names).
    #[serde(default)]
    pub invoice_id: Option<uuid::Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProcessorEventCommand {
    /// Keep the event; a second delivery of the same event changes nothing.
    ReceiveProcessorEvent { event: ReceivedEvent },
    /// What the policy did about it (`payment_recorded`, `ignored: unknown type`, …); once.
    RecordProcessorEffect { effect: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProcessorEventEvent {
    ProcessorEventReceived {
        event: ReceivedEvent,
        received_at: DateTime<Utc>,
    },
    ProcessorEventActedOn {
        effect: String,
        at: DateTime<Utc>,
    },
}

impl DomainEvent for ProcessorEventEvent {
    fn event_type(&self) -> String {
        match self {
            ProcessorEventEvent::ProcessorEventReceived { .. } => "ProcessorEventReceived",
            ProcessorEventEvent::ProcessorEventActedOn { .. } => "ProcessorEventActedOn",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        crate::EVENT_VERSION_1.to_owned()
    }
}

/// The aggregate. `Default` is an event not received yet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessorEvent {
    received: Option<ReceivedEvent>,
    effect: Option<String>,
}

impl ProcessorEvent {
    /// The stream id of the processor's event `event_id`.
    pub fn stream_id(processor: &str, event_id: &str) -> String {
        format!("{processor}:{event_id}")
    }

    pub fn received(&self) -> Option<&ReceivedEvent> {
        self.received.as_ref()
    }

    pub fn effect(&self) -> Option<&str> {
        self.effect.as_deref()
    }

    fn decide(
        &self,
        command: ProcessorEventCommand,
        now: DateTime<Utc>,
    ) -> Result<Vec<ProcessorEventEvent>, DomainError> {
        match command {
            ProcessorEventCommand::ReceiveProcessorEvent { .. } if self.received.is_some() => {
                Ok(vec![])
            }
            ProcessorEventCommand::ReceiveProcessorEvent { event } => {
                Ok(vec![ProcessorEventEvent::ProcessorEventReceived {
                    event,
                    received_at: now,
                }])
            }
            ProcessorEventCommand::RecordProcessorEffect { .. } if self.received.is_none() => {
                Err(DomainError::NotFound {
                    aggregate: "processor_event",
                })
            }
            ProcessorEventCommand::RecordProcessorEffect { .. } if self.effect.is_some() => {
                Ok(vec![])
            }
            ProcessorEventCommand::RecordProcessorEffect { effect } => {
                Ok(vec![ProcessorEventEvent::ProcessorEventActedOn {
                    effect,
                    at: now,
                }])
            }
        }
    }
}

impl Aggregate for ProcessorEvent {
    const TYPE: &'static str = "processor_event";
    type Command = ProcessorEventCommand;
    type Event = ProcessorEventEvent;
    type Error = DomainError;
    type Services = BillingServices;

    async fn handle(
        &mut self,
        command: ProcessorEventCommand,
        services: &BillingServices,
        sink: &EventSink<Self>,
    ) -> Result<(), DomainError> {
        let decided = self.decide(command, services.clock.now());
        crate::decided::write(self, sink, decided).await
    }

    fn apply(&mut self, event: ProcessorEventEvent) {
        match event {
            ProcessorEventEvent::ProcessorEventReceived { event, .. } => {
                self.received = Some(event)
            }
            ProcessorEventEvent::ProcessorEventActedOn { effect, .. } => self.effect = Some(effect),
        }
    }
}

#[cfg(test)]
mod tests;

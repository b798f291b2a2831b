//! The customer a payment processor keeps for an account (SPEC 10.1: "one Stripe Customer per
//! account, created on first need and remembered (an event)"). The stream id names the processor
//! and the account (`stripe:<account_id>`); the first customer remembered stays: of two racing
//! first charges, both go on with the one the log kept.

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

use crate::{AccountId, BillingServices, DomainError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProcessorCustomerCommand {
    /// Remember the processor's customer for the account; a no-op when one is remembered.
    RememberProcessorCustomer {
        processor: String,
        account_id: AccountId,
        customer_id: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProcessorCustomerEvent {
    ProcessorCustomerCreated {
        processor: String,
        account_id: AccountId,
        customer_id: String,
        at: DateTime<Utc>,
    },
}

impl DomainEvent for ProcessorCustomerEvent {
    fn event_type(&self) -> String {
        match self {
            ProcessorCustomerEvent::ProcessorCustomerCreated { .. } => "ProcessorCustomerCreated",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        crate::EVENT_VERSION_1.to_owned()
    }
}

/// The aggregate. `Default` is an account with no customer at the processor yet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessorCustomer {
    customer_id: Option<String>,
}

impl ProcessorCustomer {
    /// The stream id of `account_id`'s customer at `processor`.
    pub fn stream_id(processor: &str, account_id: &AccountId) -> String {
        format!("{processor}:{account_id}")
    }

    /// The remembered customer, if any.
    pub fn customer_id(&self) -> Option<&str> {
        self.customer_id.as_deref()
    }

    fn decide(
        &self,
        command: ProcessorCustomerCommand,
        now: DateTime<Utc>,
    ) -> Result<Vec<ProcessorCustomerEvent>, DomainError> {
        match command {
            ProcessorCustomerCommand::RememberProcessorCustomer { .. }
                if self.customer_id.is_some() =>
            {
                Ok(vec![])
            }
            ProcessorCustomerCommand::RememberProcessorCustomer {
                processor,
                account_id,
                customer_id,
            } => Ok(vec![ProcessorCustomerEvent::ProcessorCustomerCreated {
                processor,
                account_id,
                customer_id,
                at: now,
            }]),
        }
    }
}

impl Aggregate for ProcessorCustomer {
    const TYPE: &'static str = "processor_customer";
    type Command = ProcessorCustomerCommand;
    type Event = ProcessorCustomerEvent;
    type Error = DomainError;
    type Services = BillingServices;

    async fn handle(
        &mut self,
        command: ProcessorCustomerCommand,
        services: &BillingServices,
        sink: &EventSink<Self>,
    ) -> Result<(), DomainError> {
        let decided = self.decide(command, services.clock.now());
        crate::decided::write(self, sink, decided).await
    }

    fn apply(&mut self, event: ProcessorCustomerEvent) {
        match event {
            ProcessorCustomerEvent::ProcessorCustomerCreated { customer_id, .. } => {
                self.customer_id = Some(customer_id)
            }
        }
    }
}

#[cfg(test)]
mod tests;

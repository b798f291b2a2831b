//! Gapless invoice numbers (SPEC 11.5): one stream per prefix hands out `LL-000001`,
//! `LL-000002`, … in the order its commands commit. Optimistic concurrency on that one stream
//! is what makes two racing assignments consecutive rather than equal.

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{BillingServices, DomainError, InvoicePrefix};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum InvoiceNumberingCommand {
    /// Give the issued invoice the next number of `prefix`. Sent once per invoice: its command
    /// id names the invoice, so a re-sent assignment replays instead of numbering it twice.
    AssignInvoiceNumber {
        prefix: InvoicePrefix,
        invoice_id: Uuid,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum InvoiceNumberingEvent {
    InvoiceNumberAssigned {
        invoice_id: Uuid,
        /// 1 for the prefix's first invoice, then one more for each.
        sequence: u64,
        /// As printed: the prefix, a dash and the sequence on at least six digits.
        number: String,
        at: DateTime<Utc>,
    },
}

impl DomainEvent for InvoiceNumberingEvent {
    fn event_type(&self) -> String {
        match self {
            InvoiceNumberingEvent::InvoiceNumberAssigned { .. } => "InvoiceNumberAssigned",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        crate::EVENT_VERSION_1.to_owned()
    }
}

/// The aggregate: how many numbers its prefix has handed out. It keeps no list of invoices, so
/// that neither a command nor a snapshot grows with the number of invoices ever issued.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceNumbering {
    assigned: u64,
}

impl InvoiceNumbering {
    /// The stream id of `prefix`'s numbers: the prefix itself.
    pub fn stream_id(prefix: &InvoicePrefix) -> String {
        prefix.to_string()
    }

    /// How many numbers were handed out, which is also the last sequence.
    pub fn assigned(&self) -> u64 {
        self.assigned
    }

    fn decide(
        &self,
        command: InvoiceNumberingCommand,
        now: DateTime<Utc>,
    ) -> Result<Vec<InvoiceNumberingEvent>, DomainError> {
        let InvoiceNumberingCommand::AssignInvoiceNumber { prefix, invoice_id } = command;
        let sequence = self.assigned + 1;
        Ok(vec![InvoiceNumberingEvent::InvoiceNumberAssigned {
            invoice_id,
            sequence,
            number: format_number(&prefix, sequence),
            at: now,
        }])
    }
}

/// `LL-000042`: wider sequences keep all their digits (`LL-1000000`).
pub fn format_number(prefix: &InvoicePrefix, sequence: u64) -> String {
    format!("{prefix}-{sequence:06}")
}

impl Aggregate for InvoiceNumbering {
    const TYPE: &'static str = "invoice_numbering";
    type Command = InvoiceNumberingCommand;
    type Event = InvoiceNumberingEvent;
    type Error = DomainError;
    type Services = BillingServices;

    async fn handle(
        &mut self,
        command: InvoiceNumberingCommand,
        services: &BillingServices,
        sink: &EventSink<Self>,
    ) -> Result<(), DomainError> {
        let decided = self.decide(command, services.clock.now());
        crate::decided::write(self, sink, decided).await
    }

    fn apply(&mut self, event: InvoiceNumberingEvent) {
        match event {
            InvoiceNumberingEvent::InvoiceNumberAssigned { sequence, .. } => {
                self.assigned = sequence
            }
        }
    }
}

#[cfg(test)]
mod tests;

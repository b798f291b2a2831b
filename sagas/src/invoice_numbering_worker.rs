//! Runs the invoice numbering policy on the global log: listens to invoice events, keeps no state
//! besides its checkpoint, and numbers each issued invoice on its prefix's stream. Replicas that
//! both reach an invoice race on that one stream: the loser retries and replays the winner's
//! assignment, so numbers stay consecutive and unique.

use std::sync::Arc;

use application::event_log::{EventLog, StoredEvent};
use application::CommandBus;
use application::{Policy, ReactionError};
use cqrs_es::Aggregate;
use domain::invoice::Invoice;
use domain::invoice_numbering::InvoiceNumbering;
use domain::{BillingServices, InvoicePrefix};

use crate::dispatch::{decode, execute};
use crate::invoice_numbering_policy::{react, POLICY};

pub struct InvoiceNumberingWorker<L> {
    bus: Arc<CommandBus<L>>,
    services: BillingServices,
    prefix: InvoicePrefix,
}

impl<L: EventLog> InvoiceNumberingWorker<L> {
    /// Numbers invoices under `prefix`; every replica on one database must be given the same.
    pub fn new(bus: Arc<CommandBus<L>>, services: BillingServices, prefix: InvoicePrefix) -> Self {
        Self {
            bus,
            services,
            prefix,
        }
    }
}

impl<L: EventLog> Policy for InvoiceNumberingWorker<L> {
    fn name(&self) -> &'static str {
        POLICY
    }

    fn listens_to(&self) -> &'static [&'static str] {
        &[Invoice::TYPE]
    }

    async fn react(&self, events: &[StoredEvent]) -> Result<(), ReactionError> {
        for cause in events {
            let event = decode::<Invoice, _>(&self.bus, cause)?;
            if let Some(reaction) = react(cause.metadata.event_id, &event, &self.prefix) {
                execute::<InvoiceNumbering, _>(&self.bus, &self.services, POLICY, cause, reaction)
                    .await?;
            }
        }
        Ok(())
    }
}

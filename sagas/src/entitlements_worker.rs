//! Runs the entitlements policy on the global log: listens to subscription events, keeps no state
//! besides its checkpoint, and sends Entitlements commands.

use std::sync::Arc;

use application::event_log::{EventLog, StoredEvent};
use application::CommandBus;
use application::{Policy, ReactionError};
use cqrs_es::Aggregate;
use domain::entitlements::Entitlements;
use domain::subscription::Subscription;
use domain::BillingServices;

use crate::dispatch::{decode, execute};
use crate::entitlements_policy::{react, POLICY};

pub struct EntitlementsPolicyWorker<L> {
    bus: Arc<CommandBus<L>>,
    services: BillingServices,
}

impl<L: EventLog> EntitlementsPolicyWorker<L> {
    pub fn new(bus: Arc<CommandBus<L>>, services: BillingServices) -> Self {
        Self { bus, services }
    }
}

impl<L: EventLog> Policy for EntitlementsPolicyWorker<L> {
    fn name(&self) -> &'static str {
        POLICY
    }

    fn listens_to(&self) -> &'static [&'static str] {
        &[Subscription::TYPE]
    }

    async fn react(&self, events: &[StoredEvent]) -> Result<(), ReactionError> {
        for cause in events {
            let event = decode::<Subscription, _>(&self.bus, cause)?;
            if let Some(reaction) = react(cause.metadata.event_id, &event) {
                execute::<Entitlements, _>(&self.bus, &self.services, POLICY, cause, reaction)
                    .await?;
            }
        }
        Ok(())
    }
}

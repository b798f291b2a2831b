//! Runs the entitlements policy on the global log: listens to subscription events, keeps no state
//! besides its checkpoint, and sends Entitlements commands.

use std::sync::Arc;

use application::event_log::StoredEvent;
use application::CommandBus;
use cqrs_es::Aggregate;
use domain::entitlements::Entitlements;
use domain::subscription::Subscription;
use domain::BillingServices;
use infrastructure::Store;
use projections::{Policy, ProjectionError};

use crate::dispatch::{decode, execute};
use crate::entitlements_policy::{react, POLICY};

pub struct EntitlementsPolicyWorker {
    bus: Arc<CommandBus<Store>>,
    services: BillingServices,
}

impl EntitlementsPolicyWorker {
    pub fn new(bus: Arc<CommandBus<Store>>, services: BillingServices) -> Self {
        Self { bus, services }
    }
}

impl Policy for EntitlementsPolicyWorker {
    fn name(&self) -> &'static str {
        POLICY
    }

    fn listens_to(&self) -> &'static [&'static str] {
        &[Subscription::TYPE]
    }

    async fn react(&self, events: &[StoredEvent]) -> Result<(), ProjectionError> {
        for cause in events {
            let event = decode::<Subscription>(&self.bus, cause)?;
            if let Some(reaction) = react(cause.metadata.event_id, &event) {
                execute::<Entitlements>(&self.bus, &self.services, POLICY, cause, reaction).await?;
            }
        }
        Ok(())
    }
}

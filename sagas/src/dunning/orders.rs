//! One command of the process manager, addressed to the aggregate it goes to. Each step of a
//! reaction has its own name, so that the command ids of two steps caused by the same event
//! (`dunning_saga.<step>:<event id>`) never collide.

use domain::dunning::DunningCommand;
use domain::entitlements::EntitlementsCommand;
use domain::invoice::InvoiceCommand;
use domain::subscription::SubscriptionCommand;
use uuid::Uuid;

use crate::reaction::Reaction;

#[derive(Debug, Clone, PartialEq)]
pub enum Order {
    Subscription(Reaction<SubscriptionCommand>),
    Entitlements(Reaction<EntitlementsCommand>),
    Invoice(Reaction<InvoiceCommand>),
    Dunning(Reaction<DunningCommand>),
}

impl Order {
    /// The step's name: `dunning_saga.<step>`, recorded as the command's actor and fingerprint.
    pub fn step(&self) -> &str {
        let command_id = match self {
            Order::Subscription(r) => &r.command_id,
            Order::Entitlements(r) => &r.command_id,
            Order::Invoice(r) => &r.command_id,
            Order::Dunning(r) => &r.command_id,
        };
        command_id.split(':').next().unwrap_or(command_id)
    }
}

/// A reaction of step `step` caused by `event_id`.
pub fn reaction<C>(
    step: &str,
    event_id: Uuid,
    aggregate_id: impl Into<String>,
    command: C,
) -> Reaction<C> {
    Reaction::new(
        &format!("{}.{step}", super::POLICY),
        event_id,
        aggregate_id,
        command,
    )
}

//! Placeholder: the Subscription aggregate is being written.

/// The business rules of this aggregate that can refuse a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubscriptionRule {
    #[error("placeholder")]
    Placeholder,
}

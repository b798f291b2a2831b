//! Placeholder: the Entitlements aggregate is being written.

/// The business rules of this aggregate that can refuse a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntitlementsRule {
    #[error("placeholder")]
    Placeholder,
}

//! Placeholder: the Dunning aggregate is being written.
pub mod policy;
pub use policy::DunningPolicy;

/// The business rules of this aggregate that can refuse a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DunningRule {
    #[error("placeholder")]
    Placeholder,
}

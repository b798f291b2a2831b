//! Placeholder: the Invoice aggregate is being written.
pub mod line;
pub use line::{InvoiceLine, LineKind};

/// The business rules of this aggregate that can refuse a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvoiceRule {
    #[error("placeholder")]
    Placeholder,
}

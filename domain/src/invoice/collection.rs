//! How an invoice is collected: a typed property of the invoice, decided when it is issued, so
//! that nothing downstream has to guess it from who issued it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CollectionMethod {
    /// Charged to the subscription's payment method as soon as it is issued (the invoices a
    /// subscription bills itself).
    Automatic,
    /// Collected only when asked (`attempt-payment`) or paid outside (manual invoices).
    Manual,
}

impl CollectionMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            CollectionMethod::Automatic => "automatic",
            CollectionMethod::Manual => "manual",
        }
    }
}

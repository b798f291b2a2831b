//! The dunning timeline's configuration (SPEC 3.5): when to retry, when access is suspended and
//! when the subscription is cancelled, all counted from the first failed payment.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DunningPolicy {
    /// Days after the first failure at which the payment is retried.
    pub retry_days: Vec<u32>,
    /// Days after the first failure after which entitlements may be suspended.
    pub window_days: u32,
    /// Days after the first failure at which the subscription is cancelled.
    pub cancel_after_days: u32,
}

impl Default for DunningPolicy {
    fn default() -> Self {
        Self {
            retry_days: vec![1, 3, 5, 7],
            window_days: 14,
            cancel_after_days: 30,
        }
    }
}

//! The HTTP routes, one module per resource, and the query parameters they share.

use serde::Deserialize;

pub mod accounts;
pub mod api_keys;
pub mod audit;
pub mod commands;
pub mod dunning_cases;
pub mod health;
pub mod invoices;
pub mod notifications;
pub mod plans;
pub mod projections_admin;
pub mod subscriptions;
pub mod test_clock;
pub mod usage;

/// `?min_position=N`: answer only once the read model has processed position N.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MinPosition {
    pub min_position: Option<i64>,
}

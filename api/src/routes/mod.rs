//! The HTTP routes, one module per resource, and the query parameters they share.

use serde::Deserialize;

pub mod accounts;
pub mod api_keys;
pub mod audit;
pub mod audit_log;
pub mod audit_state;
pub mod balance;
mod command_object;
pub mod commands;
pub mod coupons;
pub mod credit_notes;
pub mod dunning_cases;
pub mod dunning_queue;
pub mod entitlements;
pub mod events;
pub mod health;
pub mod invoice_documents;
pub mod invoices;
pub mod notifications;
pub mod plans;
pub mod previews;
pub mod processor_events;
pub mod projections_admin;
pub mod stripe_webhooks;
pub mod subscriptions;
pub mod test_clock;
pub mod timeline;
pub mod usage;
pub mod webhook_endpoints;

/// `?min_position=N`: answer only once the read model has processed position N.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MinPosition {
    #[param(minimum = 0)]
    pub min_position: Option<i64>,
}

//! A webhook endpoint as the REST API shows it (never its secret), and as the catalog's
//! `webhook_endpoint.disabled` carries it: from the delivery worker's table for `GET`, from the
//! log's `WebhookEndpointDisabled` for the event.

use chrono::{DateTime, SubsecRound, Utc};
use domain::webhook_endpoint::WebhookEndpoint;
use infrastructure::webhooks::{Endpoint, DISABLED_FAILING};
use serde::Serialize;

/// An endpoint, never its secret.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EndpointView {
    pub id: String,
    pub url: String,
    pub enabled_events: Vec<String>,
    pub description: Option<String>,
    /// `enabled` or `disabled`.
    pub status: &'static str,
    /// `admin` or `failing` (every delivery failed for three days).
    pub disabled_reason: Option<String>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// It receives the catalog events after this position.
    pub starts_after_position: i64,
    /// Until when the secret before the last rotation still signs.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
}

impl From<Endpoint> for EndpointView {
    fn from(e: Endpoint) -> Self {
        Self {
            status: status(e.is_disabled()),
            id: e.id,
            url: e.url,
            enabled_events: e.enabled_events,
            description: e.description,
            disabled_reason: e.disabled_reason,
            disabled_at: e.disabled_at,
            created_at: e.created_at,
            starts_after_position: e.starts_after,
            previous_secret_expires_at: e.previous_secret_expires_at,
        }
    }
}

impl EndpointView {
    /// The endpoint `id` as its last recorded disabling shows it; `None` before one.
    pub fn of_disabled(id: &str, recorded: &WebhookEndpoint) -> Option<Self> {
        let endpoint = recorded.endpoint()?;
        Some(Self {
            id: id.to_owned(),
            url: endpoint.url.clone(),
            enabled_events: endpoint.enabled_events.clone(),
            description: endpoint.description.clone(),
            status: status(true),
            disabled_reason: Some(DISABLED_FAILING.to_owned()),
            // The table the REST API reads keeps microseconds; so does this rendering.
            disabled_at: recorded.disabled_at().map(|at| at.trunc_subsecs(6)),
            created_at: endpoint.created_at,
            starts_after_position: endpoint.starts_after_position,
            previous_secret_expires_at: endpoint.previous_secret_expires_at,
        })
    }
}

fn status(disabled: bool) -> &'static str {
    if disabled {
        "disabled"
    } else {
        "enabled"
    }
}

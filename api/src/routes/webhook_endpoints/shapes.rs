//! What the webhook endpoint routes read and answer: request bodies, the endpoint and delivery
//! views (never a secret, except in the two answers that hand one out), and their lists.

use chrono::{DateTime, Utc};
use infrastructure::webhooks::DeliveryRecord;
pub use projections::resources::EndpointView;
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEndpointBody {
    /// https, or http to a private address when the server allows it.
    pub url: String,
    /// `["*"]`, or event types (`invoice.paid`), or `resource.*` (`invoice.*`).
    pub enabled_events: Vec<String>,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateEndpointBody {
    pub url: Option<String>,
    pub enabled_events: Option<Vec<String>>,
    pub description: Option<String>,
    /// `true` stops deliveries (they stay pending); `false` resumes them.
    pub disabled: Option<bool>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayBody {
    /// Re-deliver every subscribed event from this catalog position on, in order.
    pub from_position: i64,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// `pending`, `succeeded` or `failed`.
    pub status: Option<String>,
    /// Deliveries after this catalog position (the page cursor).
    #[param(minimum = 0)]
    pub after: Option<i64>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedEndpoint {
    #[serde(flatten)]
    pub endpoint: EndpointView,
    /// The signing secret (`whsec_…`): shown here once.
    pub secret: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RotatedSecret {
    pub id: String,
    /// The new signing secret: shown here once. The old one signs beside it for 24 h.
    pub secret: String,
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EndpointList {
    pub items: Vec<EndpointView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryView {
    /// The catalog position of the event.
    pub position: i64,
    /// The `webhook-id` of every attempt.
    pub event_id: String,
    pub event_type: String,
    pub account_id: String,
    pub status: String,
    pub attempts: i64,
    pub created_at: DateTime<Utc>,
    /// When the next attempt is due; only while pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_status_code: Option<i64>,
    pub last_latency_ms: Option<i64>,
    pub last_error: Option<String>,
    /// The receiver's last answer, at most 64 KiB of it.
    pub last_response_body: Option<String>,
}

impl From<DeliveryRecord> for DeliveryView {
    fn from(d: DeliveryRecord) -> Self {
        Self {
            next_attempt_at: (d.status == "pending").then_some(d.next_attempt_at),
            position: d.position,
            event_id: d.event_id,
            event_type: d.event_type,
            account_id: d.account_id,
            status: d.status,
            attempts: d.attempts,
            created_at: d.created_at,
            last_attempt_at: d.last_attempt_at,
            last_status_code: d.last_status_code,
            last_latency_ms: d.last_latency_ms,
            last_error: d.last_error,
            last_response_body: d.last_response_body,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryList {
    pub items: Vec<DeliveryView>,
    /// Pass as `after` for the next page; absent on the last one.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReplayStarted {
    pub id: String,
    pub from_position: i64,
    /// How many deliveries were queued again; later events follow as usual.
    pub requeued: u64,
}

//! `GET /v1/processor-events` (admin): the events Stripe sent, oldest first, each with what the
//! policy made of it (`effect`, null until it has acted).

use axum::extract::State;
use axum::Json;
use domain::processor_event::ProcessorEventEvent;
use serde::{Deserialize, Serialize};

use crate::auth::Principal;
use crate::extract::Query;
use crate::problem::ApiError;
use crate::routes::audit::page_limit;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProcessorEventsQuery {
    /// The `position` of the last item of the previous page.
    #[param(minimum = 0)]
    after: Option<i64>,
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProcessorEventView {
    processor: String,
    event_id: String,
    #[serde(rename = "type")]
    event_type: String,
    object_id: Option<String>,
    received_at: chrono::DateTime<chrono::Utc>,
    /// What it caused (`payment_recorded on invoice …`, `ignored: …`); null until acted on.
    effect: Option<String>,
    /// Its position in the log: pass the last one as `after` for the next page.
    position: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProcessorEventPage {
    items: Vec<ProcessorEventView>,
}

/// What the payment processor sent.
///
/// Each Stripe event recorded once, with what it caused. Admin keys only.
#[utoipa::path(
    get,
    path = "/v1/processor-events",
    tag = "processor webhooks",
    params(ProcessorEventsQuery),
    responses((status = 200, description = "OK", body = ProcessorEventPage)),
    security(("bearer" = [])),
)]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<ProcessorEventsQuery>,
) -> Result<Json<ProcessorEventPage>, ApiError> {
    principal.require_admin()?;
    let limit = page_limit(query.limit)?;
    let after = query.after.unwrap_or(0);
    if after < 0 {
        return Err(ApiError::validation("after", "must be 0 or more"));
    }
    let rows = state.store.processor_events(after, limit).await?;
    let items = rows
        .into_iter()
        .map(|row| {
            let received = serde_json::from_value::<ProcessorEventEvent>(row.received)
                .map_err(ApiError::internal)?;
            let ProcessorEventEvent::ProcessorEventReceived { event, received_at } = received
            else {
                return Err(ApiError::internal(
                    "a processor event stream starts otherwise",
                ));
            };
            let effect = row
                .acted_on
                .and_then(|acted| serde_json::from_value::<ProcessorEventEvent>(acted).ok())
                .and_then(|acted| match acted {
                    ProcessorEventEvent::ProcessorEventActedOn { effect, .. } => Some(effect),
                    ProcessorEventEvent::ProcessorEventReceived { .. } => None,
                });
            Ok(ProcessorEventView {
                processor: event.processor,
                event_id: event.event_id,
                event_type: event.event_type,
                object_id: event.object_id,
                received_at,
                effect,
                position: row.position,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(Json(ProcessorEventPage { items }))
}

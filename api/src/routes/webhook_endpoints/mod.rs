//! `/v1/webhook-endpoints` (admin only, SPEC 9.2): endpoints that receive the integration event
//! catalog as signed webhooks. Creating one or rotating its secret shows the secret once; no
//! read shows it again. Bad input is refused before anything changes.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use infrastructure::webhooks::deliveries::STATUSES;
use infrastructure::webhooks::{event_filter, EndpointChanges, WebhookError};

use crate::auth::Admin;
use crate::extract::{AdminRequest, JsonBody, PathParam, Query};
use crate::problem::ApiError;
use crate::replay::{self, Answer};
use crate::state::AppState;

mod shapes;

pub use shapes::{
    CreateEndpointBody, CreatedEndpoint, DeliveriesQuery, DeliveryList, DeliveryView, EndpointList,
    EndpointView, ReplayBody, ReplayStarted, RotatedSecret, UpdateEndpointBody,
};

/// The longest description kept.
const MAX_DESCRIPTION: usize = 500;

fn storage(error: WebhookError) -> ApiError {
    match error {
        WebhookError::Storage(error) => {
            tracing::warn!(%error, "webhook store unavailable");
            ApiError::Unavailable
        }
        other => ApiError::internal(other),
    }
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("no webhook endpoint {id}"))
}

async fn checked_url(state: &AppState, url: &str) -> Result<String, ApiError> {
    state
        .webhooks
        .url_policy
        .check(url)
        .await
        .map_err(|refused| ApiError::validation("url", refused.to_string()))?;
    Ok(url.to_owned())
}

fn checked_events(events: Vec<String>) -> Result<Vec<String>, ApiError> {
    event_filter::parse(events).map_err(|e| ApiError::validation("enabled_events", e.to_string()))
}

fn checked_description(description: Option<String>) -> Result<Option<String>, ApiError> {
    match description {
        Some(text) if text.chars().count() > MAX_DESCRIPTION => Err(ApiError::validation(
            "description",
            format!("at most {MAX_DESCRIPTION} characters"),
        )),
        other => Ok(other),
    }
}

/// Create a webhook endpoint.
///
/// The signing secret is answered once. An endpoint must be https to a public address unless
/// private addresses are allowed. Admin keys only.
#[utoipa::path(
    post,
    path = "/v1/webhook-endpoints",
    tag = "webhooks",
    request_body = CreateEndpointBody,
    responses((status = 201, description = "Created; the secret is shown only here, never in a replay", body = CreatedEndpoint)),
    security(("bearer" = [])),
)]
pub async fn create(
    State(state): State<AppState>,
    AdminRequest(request): AdminRequest,
    body: JsonBody<CreateEndpointBody>,
) -> Result<Response, ApiError> {
    let CreateEndpointBody {
        url,
        enabled_events,
        description,
    } = body.value;
    let enabled_events = checked_events(enabled_events)?;
    let description = checked_description(description)?;
    let url = checked_url(&state, &url).await?;
    let create = async {
        let (endpoint, secret) = state
            .store
            .create_webhook_endpoint(
                &url,
                &enabled_events,
                description.as_deref(),
                &state.webhooks.sealer,
                state.services.clock.now(),
            )
            .await
            .map_err(storage)?;
        tracing::info!(endpoint = endpoint.id, "webhook endpoint created");
        let reply = CreatedEndpoint {
            endpoint: endpoint.into(),
            secret: secret.expose().to_owned(),
        };
        Ok(Answer::json(StatusCode::CREATED, reply)?.unstored(&["secret"]))
    };
    replay::once(
        &state,
        &request,
        "POST /v1/webhook-endpoints",
        &body.digest,
        create,
    )
    .await
}

/// List the webhook endpoints.
///
/// Admin keys only; secrets are never shown.
#[utoipa::path(
    get,
    path = "/v1/webhook-endpoints",
    tag = "webhooks",
    responses((status = 200, description = "OK", body = EndpointList)),
    security(("bearer" = [])),
)]
pub async fn list(
    State(state): State<AppState>,
    _admin: Admin,
) -> Result<Json<EndpointList>, ApiError> {
    let endpoints = state
        .store
        .list_webhook_endpoints()
        .await
        .map_err(storage)?;
    Ok(Json(EndpointList {
        items: endpoints.into_iter().map(EndpointView::from).collect(),
        next_cursor: None,
    }))
}

/// A webhook endpoint.
///
/// Its URL, events, state and health. Admin keys only.
#[utoipa::path(
    get,
    path = "/v1/webhook-endpoints/{id}",
    tag = "webhooks",
    params(("id" = String, Path)),
    responses((status = 200, description = "OK", body = EndpointView)),
    security(("bearer" = [])),
)]
pub async fn get(
    State(state): State<AppState>,
    _admin: Admin,
    PathParam(id): PathParam<String>,
) -> Result<Json<EndpointView>, ApiError> {
    let endpoint = state.store.webhook_endpoint(&id).await.map_err(storage)?;
    endpoint
        .map(|e| Json(e.into()))
        .ok_or_else(|| not_found(&id))
}

/// Update a webhook endpoint.
///
/// Its URL, events or state. Admin keys only.
#[utoipa::path(
    post,
    path = "/v1/webhook-endpoints/{id}/update",
    tag = "webhooks",
    params(("id" = String, Path)),
    request_body = UpdateEndpointBody,
    responses((status = 200, description = "Updated", body = EndpointView)),
    security(("bearer" = [])),
)]
pub async fn update(
    State(state): State<AppState>,
    _admin: Admin,
    PathParam(id): PathParam<String>,
    body: JsonBody<UpdateEndpointBody>,
) -> Result<Json<EndpointView>, ApiError> {
    let UpdateEndpointBody {
        url,
        enabled_events,
        description,
        disabled,
    } = body.value;
    let changes = EndpointChanges {
        enabled_events: enabled_events.map(checked_events).transpose()?,
        description: checked_description(description)?,
        disabled,
        url: match url {
            Some(url) => Some(checked_url(&state, &url).await?),
            None => None,
        },
    };
    let updated = state
        .store
        .update_webhook_endpoint(&id, &changes, state.services.clock.now())
        .await
        .map_err(storage)?;
    updated
        .map(|e| Json(e.into()))
        .ok_or_else(|| not_found(&id))
}

/// Rotate a webhook endpoint's secret.
///
/// The old secret keeps signing beside the new one for a while, so receivers can switch. Admin keys
/// only.
#[utoipa::path(
    post,
    path = "/v1/webhook-endpoints/{id}/rotate-secret",
    tag = "webhooks",
    params(("id" = String, Path)),
    responses((status = 200, description = "The new secret, shown only here; the old one signs beside it for 24 h", body = RotatedSecret)),
    security(("bearer" = [])),
)]
pub async fn rotate_secret(
    State(state): State<AppState>,
    AdminRequest(request): AdminRequest,
    PathParam(id): PathParam<String>,
) -> Result<Response, ApiError> {
    let route = format!("POST /v1/webhook-endpoints/{id}/rotate-secret");
    let rotate = async {
        let now = state.services.clock.now();
        let secret = state
            .store
            .rotate_webhook_secret(&id, &state.webhooks.sealer, now)
            .await
            .map_err(storage)?
            .ok_or_else(|| not_found(&id))?;
        let endpoint = state.store.webhook_endpoint(&id).await.map_err(storage)?;
        tracing::info!(endpoint = id, "webhook secret rotated");
        let reply = RotatedSecret {
            id: id.clone(),
            secret: secret.expose().to_owned(),
            previous_secret_expires_at: endpoint.and_then(|e| e.previous_secret_expires_at),
        };
        Ok(Answer::json(StatusCode::OK, reply)?.unstored(&["secret"]))
    };
    replay::once(&state, &request, &route, "", rotate).await
}

/// Delete a webhook endpoint.
///
/// Its pending deliveries are dropped. Admin keys only.
#[utoipa::path(
    delete,
    path = "/v1/webhook-endpoints/{id}",
    tag = "webhooks",
    params(("id" = String, Path)),
    responses((status = 204, description = "Deleted, with its delivery records")),
    security(("bearer" = [])),
)]
pub async fn delete(
    State(state): State<AppState>,
    _admin: Admin,
    PathParam(id): PathParam<String>,
) -> Result<StatusCode, ApiError> {
    if state
        .store
        .delete_webhook_endpoint(&id)
        .await
        .map_err(storage)?
    {
        tracing::info!(endpoint = id, "webhook endpoint deleted");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found(&id))
    }
}

/// A webhook endpoint's deliveries.
///
/// Each with its attempts and outcome, to find the failing ones. Admin keys only.
#[utoipa::path(
    get,
    path = "/v1/webhook-endpoints/{id}/deliveries",
    tag = "webhooks",
    params(("id" = String, Path), DeliveriesQuery),
    responses((status = 200, description = "Deliveries in position order", body = DeliveryList)),
    security(("bearer" = [])),
)]
pub async fn deliveries(
    State(state): State<AppState>,
    _admin: Admin,
    PathParam(id): PathParam<String>,
    Query(query): Query<DeliveriesQuery>,
) -> Result<Json<DeliveryList>, ApiError> {
    if let Some(status) = &query.status {
        if !STATUSES.contains(&status.as_str()) {
            return Err(ApiError::validation(
                "status",
                "expected pending, succeeded or failed",
            ));
        }
    }
    let after = query.after.unwrap_or(0);
    if after < 0 {
        return Err(ApiError::validation("after", "must be 0 or more"));
    }
    let limit = query.limit.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::validation("limit", "must be 1 to 100"));
    }
    if state
        .store
        .webhook_endpoint(&id)
        .await
        .map_err(storage)?
        .is_none()
    {
        return Err(not_found(&id));
    }
    let records = state
        .store
        .list_webhook_deliveries(&id, query.status.as_deref(), after, limit)
        .await
        .map_err(storage)?;
    let next_cursor = (records.len() as i64 == limit)
        .then(|| records.last().map(|d| d.position.to_string()))
        .flatten();
    Ok(Json(DeliveryList {
        items: records.into_iter().map(DeliveryView::from).collect(),
        next_cursor,
    }))
}

/// Replay events to a webhook endpoint.
///
/// Delivers again the events after a position, in order. Admin keys only.
#[utoipa::path(
    post,
    path = "/v1/webhook-endpoints/{id}/replay",
    tag = "webhooks",
    params(("id" = String, Path)),
    request_body = ReplayBody,
    responses((status = 202, description = "Queued again; delivered in order with the same webhook-ids", body = ReplayStarted)),
    security(("bearer" = [])),
)]
pub async fn replay(
    State(state): State<AppState>,
    _admin: Admin,
    PathParam(id): PathParam<String>,
    body: JsonBody<ReplayBody>,
) -> Result<(StatusCode, Json<ReplayStarted>), ApiError> {
    let from_position = body.value.from_position;
    if from_position < 0 {
        return Err(ApiError::validation("from_position", "must be 0 or more"));
    }
    let endpoint = state
        .store
        .webhook_endpoint(&id)
        .await
        .map_err(storage)?
        .ok_or_else(|| not_found(&id))?;
    let requeued = state
        .store
        .replay_webhooks(&endpoint, from_position, state.services.clock.now())
        .await
        .map_err(storage)?;
    tracing::info!(endpoint = id, from_position, requeued, "webhook replay");
    Ok((
        StatusCode::ACCEPTED,
        Json(ReplayStarted {
            id,
            from_position,
            requeued,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use projections::integration_events::EventType;

    #[test]
    fn endpoints_filter_on_the_types_the_catalog_emits() {
        // The filter lives in infrastructure, the catalog in projections: keep them equal.
        let emitted: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(super::event_filter::EVENT_TYPES, emitted.as_slice());
    }
}

//! `GET /v1/audit/streams/{type}/{id}`: one aggregate's events exactly as stored, with their
//! sequence, global position and metadata (who, which command, which request, which cause).
//! Events are shown in the version they were stored in, never upcast: that is the audit truth.

use application::audit::check_aggregate_type;
use application::event_log::{EventLog, EventMetadata, StoredEvent};
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::auth::Principal;
use crate::extract::{PathParam, Query};
use crate::problem::ApiError;
use crate::routes::accounts::fresh_log;
use crate::state::AppState;

const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 1000;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    #[param(minimum = 0)]
    min_position: Option<i64>,
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
    /// The sequence of the last event of the previous page.
    cursor: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditEvent {
    aggregate_type: String,
    aggregate_id: String,
    sequence: i64,
    position: i64,
    event_type: String,
    event_version: String,
    #[schema(value_type = Object)]
    payload: Value,
    #[schema(value_type = Object)]
    metadata: EventMetadata,
}

impl From<StoredEvent> for AuditEvent {
    fn from(e: StoredEvent) -> Self {
        Self {
            aggregate_type: e.aggregate_type,
            aggregate_id: e.aggregate_id,
            sequence: e.sequence,
            position: e.position,
            event_type: e.event_type,
            event_version: e.event_version,
            payload: e.payload,
            metadata: e.metadata,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    items: Vec<AuditEvent>,
    next_cursor: Option<String>,
}

/// One aggregate's events.
///
/// The stream of one subscription, entitlements, invoice or dunning case, in order, with who did
/// what and why.
#[utoipa::path(
    get,
    path = "/v1/audit/streams/{type}/{id}",
    tag = "audit",
    params(
        ("type" = String, Path, description = "subscription, entitlements, invoice or dunning_case"),
        ("id" = String, Path),
        StreamQuery,
    ),
    responses((status = 200, description = "OK", body = AuditPage)),
    security(("bearer" = [])),
)]
pub async fn stream(
    State(state): State<AppState>,
    principal: Principal,
    PathParam((aggregate_type, aggregate_id)): PathParam<(String, String)>,
    Query(query): Query<StreamQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    principal.require_global_read()?;
    check_aggregate_type(&aggregate_type)?;
    // The event log is the source of truth: it is always at least at any position a client saw.
    fresh_log(&state, &principal, query.min_position).await?;
    let limit = page_limit(query.limit)?;
    let after = match query.cursor.as_deref() {
        None => 0,
        Some(cursor) => cursor
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| ApiError::InvalidRequest("cursor is not one this API issued".into()))?,
    };
    let events = state
        .store
        .read_stream(&aggregate_type, &aggregate_id, after, limit)
        .await?;
    if events.is_empty() && after == 0 {
        return Err(ApiError::NotFound(format!(
            "no {aggregate_type} with id {aggregate_id}"
        )));
    }
    let next_cursor = (events.len() == limit as usize)
        .then(|| events.last().map(|e| e.sequence.to_string()))
        .flatten();
    Ok(Json(AuditPage {
        items: events.into_iter().map(AuditEvent::from).collect(),
        next_cursor,
    }))
}

/// `limit`, 1 to [`MAX_LIMIT`], [`DEFAULT_LIMIT`] when absent.
pub fn page_limit(limit: Option<u32>) -> Result<u32, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if (1..=MAX_LIMIT).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::validation(
            "limit",
            format!("must be 1 to {MAX_LIMIT}"),
        ))
    }
}

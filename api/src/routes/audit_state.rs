//! `GET /v1/audit/streams/{type}/{id}/state?version=N | ?at=RFC3339`: an aggregate exactly as it
//! was after its first N events, or as of an instant (the longest prefix of its stream recorded
//! at or before it), rebuilt from the kept snapshot below that point plus the events after it.

use application::audit::{state_as_of, AuditState};
use application::event_log::AsOf;
use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::auth::Principal;
use crate::extract::{PathParam, Query};
use crate::problem::ApiError;
use crate::routes::accounts::fresh_log;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StateQuery {
    /// The aggregate after its first `version` events (give this or `at`).
    #[param(minimum = 1)]
    version: Option<i64>,
    /// The aggregate as of this RFC 3339 instant (give this or `version`).
    at: Option<String>,
    /// Accepted like on every query; the event log is always at any position a client saw.
    #[param(minimum = 0)]
    min_position: Option<i64>,
}

/// An aggregate as it was after the last event of a prefix of its stream.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StateView {
    aggregate_type: String,
    aggregate_id: String,
    /// The sequence of the last event included.
    version: i64,
    /// When the last event included was recorded.
    as_of: DateTime<Utc>,
    /// The global position of the last event included.
    position: i64,
    /// The aggregate, serialised as it is in snapshots.
    #[schema(value_type = Object)]
    state: Value,
}

impl From<AuditState> for StateView {
    fn from(s: AuditState) -> Self {
        Self {
            aggregate_type: s.aggregate_type,
            aggregate_id: s.aggregate_id,
            version: s.version,
            as_of: s.as_of,
            position: s.position,
            state: s.state,
        }
    }
}

impl StateQuery {
    /// Exactly one of `version` (at least 1) and `at` (RFC 3339).
    fn as_of(&self) -> Result<AsOf, ApiError> {
        match (self.version, self.at.as_deref()) {
            (Some(version), None) if version >= 1 => Ok(AsOf::Version(version)),
            (Some(_), None) => Err(ApiError::validation("version", "must be at least 1")),
            (None, Some(at)) => DateTime::parse_from_rfc3339(at)
                .map(|at| AsOf::RecordedAt(at.to_utc()))
                .map_err(|e| {
                    ApiError::validation("at", format!("must be an RFC 3339 instant: {e}"))
                }),
            _ => Err(ApiError::validation(
                "version",
                "give exactly one of `version` and `at`",
            )),
        }
    }
}

/// An aggregate as it was.
///
/// Its state at a version or an instant, replayed from the log through the kept snapshots.
#[utoipa::path(
    get,
    path = "/v1/audit/streams/{type}/{id}/state",
    tag = "audit",
    params(
        ("type" = String, Path, description = "subscription, entitlements, invoice or dunning_case"),
        ("id" = String, Path),
        StateQuery,
    ),
    responses((status = 200, description = "OK", body = StateView)),
    security(("bearer" = [])),
)]
pub async fn state(
    State(state): State<AppState>,
    principal: Principal,
    PathParam((aggregate_type, aggregate_id)): PathParam<(String, String)>,
    Query(query): Query<StateQuery>,
) -> Result<Json<StateView>, ApiError> {
    principal.require_global_read()?;
    fresh_log(&state, &principal, query.min_position).await?;
    let as_of = query.as_of()?;
    state_as_of(&state.bus, &aggregate_type, &aggregate_id, as_of)
        .await?
        .map(|found| Json(StateView::from(found)))
        .ok_or_else(|| {
            ApiError::NotFound(match as_of {
                AsOf::Version(version) => {
                    format!("{aggregate_type} {aggregate_id} has no version {version}")
                }
                AsOf::RecordedAt(at) => format!(
                    "{aggregate_type} {aggregate_id} had no events recorded at or before {}",
                    at.to_rfc3339()
                ),
            })
        })
}

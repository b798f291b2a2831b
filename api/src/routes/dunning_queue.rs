//! The Dunning Work Queue (SPEC 5 and 6): open cases that need a support agent, sorted by amount
//! due or by age, filtered by stage, in pages. Days in dunning and the next action are as of the
//! service clock. Admin, service and support keys; account keys are refused.

use axum::extract::State;
use axum::Json;
use projections::dunning_queue::parse_stage;
use projections::{DunningQueueProjector, QueueCursor, QueuePage, QueueQuery, QueueSort};
use serde::Deserialize;

use super::accounts::{foreign_cursor, fresh, page_limit, read_model_error};
use crate::auth::Principal;
use crate::extract::Query;
use crate::problem::ApiError;
use crate::state::AppState;

/// `?stage&sort&limit&cursor&min_position`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct QueueParams {
    /// `retrying`, `escalated` or `suspended`.
    stage: Option<String>,
    /// `amount` (largest first) or `age` (oldest first, the default).
    sort: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    cursor: Option<String>,
    #[param(minimum = 0)]
    min_position: Option<i64>,
}

impl QueueParams {
    fn query(&self) -> Result<QueueQuery, ApiError> {
        let stage = self
            .stage
            .as_deref()
            .map(|text| {
                parse_stage(text).ok_or_else(|| {
                    ApiError::validation("stage", "must be retrying, escalated or suspended")
                })
            })
            .transpose()?;
        let sort = self
            .sort
            .as_deref()
            .map(|text| {
                QueueSort::parse(text)
                    .ok_or_else(|| ApiError::validation("sort", "must be amount or age"))
            })
            .transpose()?
            .unwrap_or_default();
        Ok(QueueQuery { stage, sort })
    }
}

/// The dunning work queue.
///
/// Open cases with their stage, amount, days in dunning and next action, filtered and sorted as
/// asked.
#[utoipa::path(
    get,
    path = "/v1/dunning/queue",
    tag = "dunning",
    params(QueueParams),
    responses((status = 200, description = "OK", body = QueuePage)),
    security(("bearer" = [])),
)]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<QueueParams>,
) -> Result<Json<QueuePage>, ApiError> {
    principal.require_global_read()?;
    let query = params.query()?;
    let limit = page_limit(params.limit)?;
    let cursor = params
        .cursor
        .as_deref()
        .map(|text| QueueCursor::parse(text, query.sort).ok_or_else(foreign_cursor))
        .transpose()?;
    fresh(
        &state,
        &principal,
        DunningQueueProjector::NAME,
        params.min_position,
    )
    .await?;
    let now = state.services.clock.now();
    state
        .read_models
        .dunning_queue(query, limit, cursor.as_ref(), now)
        .await
        .map(Json)
        .map_err(read_model_error)
}

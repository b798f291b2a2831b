//! Liveness (`/healthz`: the process serves HTTP) and readiness (`/readyz`: the database answers
//! and its migrations are applied), for load balancers and orchestrators.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::problem::ApiError;
use crate::state::AppState;

/// Liveness.
///
/// Answers 200 while the process serves requests; it checks nothing else.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses((status = 200, description = "The process serves HTTP", body = Object)),
)]
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Readiness.
///
/// Answers 200 once the database answers and the migrations are applied, 503 otherwise.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses((status = 200, description = "The database answers and its migrations are applied", body = Object)),
)]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    match state.store.is_ready().await {
        Ok(true) => Ok(Json(
            json!({ "status": "ready", "backend": state.store.backend() }),
        )),
        Ok(false) => {
            tracing::warn!("not ready: migrations are pending");
            Err(ApiError::Unavailable)
        }
        Err(error) => {
            tracing::warn!(%error, "not ready: the database does not answer");
            Err(ApiError::Unavailable)
        }
    }
}

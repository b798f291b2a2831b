//! The test clock (only with `--test-clock`): reads the injected clock. Advancing it arrives
//! with the scheduler, which must run every timer due up to the new time.

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use domain::Clock;
use serde::Serialize;

use crate::auth::Principal;
use crate::problem::ApiError;
use crate::state::AppState;

#[derive(Debug, Serialize)]
pub struct ClockView {
    now: DateTime<Utc>,
}

pub async fn now(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<ClockView>, ApiError> {
    principal.require_admin()?;
    let clock = state
        .test_clock
        .as_ref()
        .ok_or_else(|| ApiError::NotFound("no such route".into()))?;
    Ok(Json(ClockView { now: clock.now() }))
}

//! The test clock (only with `--test-clock`; admin only): read the injected clock, and advance
//! it. An advance answers only once every timer due up to the new time has fired and the
//! projections and policies have caught up, with the log position reached (SPEC section 6).

use std::time::Duration;

use crate::clock_advance::{AdvanceError, AdvanceTarget, ClockAdvance};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use chrono::{DateTime, Utc};
use domain::{Clock, ManualClock};
use serde::{Deserialize, Serialize};

use crate::auth::Admin;
use crate::extract::{AdminRequest, JsonBody};
use crate::problem::ApiError;
use crate::replay::{self, Answer};
use crate::state::AppState;

/// The longest one advance may move the clock: ten years of days (with leap days).
const MAX_ADVANCE_SECONDS: i64 = 10 * 366 * 24 * 60 * 60;

/// The longest an advance may take to fire its timers and let the projections catch up.
const ADVANCE_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ClockView {
    now: DateTime<Utc>,
}

/// `{seconds}` or `{to}`, exactly one.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdvanceBody {
    #[schema(minimum = 0, maximum = 316_224_000)]
    seconds: Option<i64>,
    /// RFC 3339.
    to: Option<String>,
}

impl AdvanceBody {
    /// The target, checked against the clock's `now` for range (the advance itself refuses a
    /// `to` in the past, under its lock).
    fn try_into_target(self, now: DateTime<Utc>) -> Result<AdvanceTarget, ApiError> {
        let max = chrono::Duration::seconds(MAX_ADVANCE_SECONDS);
        match (self.seconds, self.to) {
            (Some(seconds), None) => {
                if !(0..=MAX_ADVANCE_SECONDS).contains(&seconds) {
                    return Err(ApiError::validation(
                        "seconds",
                        format!("must be 0 to {MAX_ADVANCE_SECONDS} (ten years)"),
                    ));
                }
                Ok(AdvanceTarget::By(chrono::Duration::seconds(seconds)))
            }
            (None, Some(to)) => {
                let to = DateTime::parse_from_rfc3339(&to)
                    .map_err(|e| ApiError::validation("to", format!("is not RFC 3339: {e}")))?
                    .to_utc();
                if to < now {
                    return Err(past(now));
                }
                if to - now > max {
                    return Err(ApiError::validation(
                        "to",
                        "must be at most ten years after the clock's time",
                    ));
                }
                Ok(AdvanceTarget::To(to))
            }
            _ => Err(ApiError::validation(
                "seconds",
                "give exactly one of `seconds` and `to`",
            )),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AdvanceView {
    now: DateTime<Utc>,
    /// The log's highest position once everything settled: pass it as `min_position`.
    position: i64,
}

/// The test clock's time.
///
/// Only with `--test-clock`. Admin keys only.
#[utoipa::path(
    get,
    path = "/v1/test-clock",
    tag = "test-clock",
    responses((status = 200, description = "OK", body = ClockView)),
    security(("bearer" = [])),
)]
pub async fn now(
    State(state): State<AppState>,
    _admin: Admin,
) -> Result<Json<ClockView>, ApiError> {
    let clock = test_clock(&state)?;
    Ok(Json(ClockView { now: clock.now() }))
}

/// Move the test clock forward.
///
/// Fires every timer that falls due on the way, and answers once every policy has caught up.
/// Only with `--test-clock`. Admin keys only.
#[utoipa::path(
    post,
    path = "/v1/test-clock/advance",
    tag = "test-clock",
    request_body = AdvanceBody,
    responses((status = 200, description = "Advanced; every timer due has run and the projections caught up", body = AdvanceView)),
    security(("bearer" = [])),
)]
#[tracing::instrument(skip_all)]
pub async fn advance(
    State(state): State<AppState>,
    AdminRequest(request): AdminRequest,
    body: JsonBody<AdvanceBody>,
) -> Result<Response, ApiError> {
    let clock = test_clock(&state)?;
    let advance = async {
        let target = body.value.try_into_target(clock.now())?;
        let advance = ClockAdvance {
            clock,
            timers: &state.timers,
            projections: &state.projections,
            store: &state.store,
            timeout: ADVANCE_TIMEOUT,
        };
        let advanced = advance.advance(target).await.map_err(advance_error)?;
        tracing::info!(now = %advanced.now, position = advanced.position, "test clock advanced");
        let view = AdvanceView {
            now: advanced.now,
            position: advanced.position,
        };
        Answer::json(StatusCode::OK, view)
    };
    let route = "POST /v1/test-clock/advance";
    replay::once(&state, &request, route, &body.digest, advance).await
}

/// The clock, present only with `--test-clock` (the route is then not even registered).
fn test_clock(state: &AppState) -> Result<&ManualClock, ApiError> {
    state
        .test_clock
        .as_deref()
        .ok_or_else(|| ApiError::NotFound("no such route".into()))
}

fn past(now: DateTime<Utc>) -> ApiError {
    ApiError::validation(
        "to",
        format!("must not be before the clock's time {now}: the clock only moves forward"),
    )
}

fn advance_error(error: AdvanceError) -> ApiError {
    match error {
        AdvanceError::InThePast { now } => past(now),
        error if error.is_transient() => {
            tracing::warn!(%error, "the test clock advance did not settle");
            ApiError::Unavailable
        }
        error => ApiError::internal(error),
    }
}

//! Operating the read models (admin only): `GET /v1/admin/projections` (where every projection
//! and policy stands), `POST /v1/admin/projections/{name}/rebuild` (replay into shadow tables
//! and swap) and `POST /v1/admin/audit/verify` (replay and compare row by row).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use infrastructure::LogHead;
use projections::{ProjectionError, ProjectionState, ProjectionStatus, ReplayProgress};
use serde::Serialize;

use crate::auth::Admin;
use crate::extract::{AdminRequest, PathParam};
use crate::problem::ApiError;
use crate::replay::{self, Answer};
use crate::routes::accounts::read_model_error;
use crate::state::AppState;

/// One projection or policy worker as this process sees it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProjectionItem {
    #[schema(value_type = String)]
    name: &'static str,
    /// The position of the last event applied.
    position: i64,
    /// The highest committed position of the log.
    head: i64,
    lag: i64,
    /// `running`, `standby`, `failed`, `rebuilding` or `stopped`.
    #[schema(value_type = String)]
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failed_position: Option<i64>,
    /// While `rebuilding`: the position the replay reached and the one it runs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    progress: Option<ReplayProgress>,
    /// The last transient failure (or failed rebuild), cleared once a batch commits.
    last_error: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProjectionList {
    items: Vec<ProjectionItem>,
}

/// Positions are not in commit order on Postgres: a projection is caught up when its checkpoint
/// has reached the head's cursor, even if a higher position committed before it. Behind, the
/// lag counts positions (at least 1).
fn lag(state: &ProjectionState, head: &LogHead) -> i64 {
    if state.checkpoint >= head.cursor {
        0
    } else {
        (head.position - state.position()).max(1)
    }
}

fn item(
    state: ProjectionState,
    head: &LogHead,
    rebuilding: Option<ReplayProgress>,
) -> ProjectionItem {
    let position = state.position();
    let lag = lag(&state, head);
    let (status, error, failed_position) = match state.status {
        _ if rebuilding.is_some() => ("rebuilding", None, None),
        ProjectionStatus::Running => ("running", None, None),
        ProjectionStatus::Standby => ("standby", None, None),
        ProjectionStatus::Stopped => ("stopped", None, None),
        ProjectionStatus::Failed { error, position } => ("failed", Some(error), Some(position)),
    };
    ProjectionItem {
        name: state.name,
        position,
        head: head.position,
        lag,
        status,
        error,
        failed_position,
        progress: rebuilding,
        last_error: state.last_error,
    }
}

async fn head(state: &AppState) -> Result<LogHead, ApiError> {
    state
        .store
        .log_head()
        .await
        .map_err(|error| read_model_error(error.into()))
}

/// List the read models and policies.
///
/// Each with its checkpoint, lag behind the log and status. Admin keys only.
#[utoipa::path(
    get,
    path = "/v1/admin/projections",
    tag = "admin",
    responses((status = 200, description = "OK", body = ProjectionList)),
    security(("bearer" = [])),
)]
pub async fn list(
    State(state): State<AppState>,
    _admin: Admin,
) -> Result<Json<ProjectionList>, ApiError> {
    let head = head(&state).await?;
    let items = state
        .projections
        .states()
        .into_iter()
        .map(|projection| {
            let rebuilding = state.projections.rebuild_progress(projection.name);
            item(projection, &head, rebuilding)
        })
        .collect();
    Ok(Json(ProjectionList { items }))
}

/// Rebuild a read model from the log.
///
/// 202: the rebuild runs in the background; `GET /v1/admin/projections` shows its progress.
#[utoipa::path(
    post,
    path = "/v1/admin/projections/{name}/rebuild",
    tag = "admin",
    params(("name" = String, Path, description = "a read model, e.g. account_summary")),
    responses((status = 202, description = "The rebuild started", body = ProjectionItem)),
    security(("bearer" = [])),
)]
pub async fn rebuild(
    State(state): State<AppState>,
    AdminRequest(request): AdminRequest,
    PathParam(name): PathParam<String>,
) -> Result<Response, ApiError> {
    let route = format!("POST /v1/admin/projections/{name}/rebuild");
    let rebuild = async {
        state
            .projections
            .start_rebuild(&name)
            .await
            .map_err(|error| match error {
                ProjectionError::UnknownProjection(name) => {
                    ApiError::NotFound(format!("no projection {name}"))
                }
                ProjectionError::NotRebuildable(_) => ApiError::RuleViolation {
                    rule: "not_a_read_model",
                    detail: error.to_string(),
                },
                ProjectionError::RebuildRunning(_) => ApiError::RuleViolation {
                    rule: "rebuild_running",
                    detail: error.to_string(),
                },
                other => read_model_error(other),
            })?;
        tracing::info!(projection = name, "rebuild started");
        let head = head(&state).await?;
        let projection = state
            .projections
            .state(&name)
            .ok_or_else(|| ApiError::internal(format!("projection {name} vanished")))?;
        let rebuilding = state.projections.rebuild_progress(projection.name);
        Answer::json(StatusCode::ACCEPTED, item(projection, &head, rebuilding))
    };
    replay::once(&state, &request, &route, "", rebuild).await
}

/// Verify every read model against a replay of the log.
///
/// Answers each projection's status and mismatches. Admin keys only.
#[utoipa::path(
    post,
    path = "/v1/admin/audit/verify",
    tag = "admin",
    responses((status = 200, description = "The report", body = projections::VerifyReport)),
    security(("bearer" = [])),
)]
pub async fn verify(
    State(state): State<AppState>,
    AdminRequest(request): AdminRequest,
) -> Result<Response, ApiError> {
    let verify = async {
        let report = projections::rebuild::verify(&state.store, state.projections.read_models())
            .await
            .map_err(read_model_error)?;
        tracing::info!(
            status = ?report.status,
            mismatches = report.mismatches,
            failed = report.failed,
            "read models verified"
        );
        Answer::json(StatusCode::OK, report)
    };
    replay::once(&state, &request, "POST /v1/admin/audit/verify", "", verify).await
}

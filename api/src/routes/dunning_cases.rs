//! The dunning case resource and its support actions (SPEC 3.5 and 6): read a case by id, and
//! assign it, add a note, extend its window or resolve it by hand. Support, service and admin
//! keys may act; the case is read from its event stream (always current).

use axum::extract::State;
use axum::response::Response;
use axum::Json;
use chrono::{DateTime, Utc};
use domain::dunning::{DunningCase, DunningCommand};
use projections::resources::DunningCaseView;
use serde::Deserialize;
use uuid::Uuid;

use super::commands::{dispatch_action, CommandResponse};
use crate::auth::Principal;
use crate::extract::{JsonBody, PathParam, PaymentRequest, Query};
use crate::problem::ApiError;
use crate::routes::accounts::fresh_log;
use crate::routes::MinPosition;
use crate::state::AppState;

/// A dunning case.
///
/// A case as it is now. An account key sees only its own account's cases; others answer 404.
#[utoipa::path(
    get,
    path = "/v1/dunning-cases/{id}",
    tag = "dunning",
    params(
        ("id" = Uuid, Path),
        MinPosition,
    ),
    responses((status = 200, description = "OK", body = DunningCaseView)),
    security(("bearer" = [])),
)]
pub async fn get_case(
    State(state): State<AppState>,
    principal: Principal,
    PathParam(id): PathParam<Uuid>,
    Query(query): Query<MinPosition>,
) -> Result<Json<DunningCaseView>, ApiError> {
    fresh_log(&state, &principal, query.min_position).await?;
    let case = state
        .bus
        .load::<DunningCase>(&id.to_string())
        .await?
        .aggregate;
    // Another account's case answers exactly as an unknown id: nothing tells it exists.
    let not_found = || ApiError::NotFound("no such dunning case".into());
    let view = DunningCaseView::of(&case, state.services.clock.now()).ok_or_else(not_found)?;
    principal
        .require_account_access(case.account_id().ok_or_else(not_found)?)
        .map_err(|_| not_found())?;
    Ok(Json(view))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    agent: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteBody {
    text: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtendBody {
    until: DateTime<Utc>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveBody {
    resolution: String,
}

async fn on_case(
    state: &AppState,
    request: &PaymentRequest,
    id: Uuid,
    action: &str,
    digest: &str,
    command: DunningCommand,
) -> Result<Response, ApiError> {
    let collection = "dunning-cases";
    dispatch_action::<DunningCase>(state, &request.0, collection, id, action, digest, command).await
}

/// Assign a dunning case to an agent.
///
/// Support, service and admin keys.
#[utoipa::path(
    post,
    path = "/v1/dunning-cases/{id}/assign",
    tag = "dunning",
    params(("id" = Uuid, Path)),
    request_body = AssignBody,
    responses((status = 200, description = "Applied, or replayed", body = CommandResponse)),
    security(("bearer" = [])),
)]
pub async fn assign(
    State(state): State<AppState>,
    PathParam(id): PathParam<Uuid>,
    request: PaymentRequest,
    body: JsonBody<AssignBody>,
) -> Result<Response, ApiError> {
    let command = DunningCommand::Assign {
        agent: body.value.agent.clone(),
    };
    on_case(&state, &request, id, "assign", &body.digest, command).await
}

/// Add a note to a dunning case.
///
/// Support, service and admin keys.
#[utoipa::path(
    post,
    path = "/v1/dunning-cases/{id}/notes",
    tag = "dunning",
    params(("id" = Uuid, Path)),
    request_body = NoteBody,
    responses((status = 200, description = "Applied, or replayed", body = CommandResponse)),
    security(("bearer" = [])),
)]
pub async fn add_note(
    State(state): State<AppState>,
    PathParam(id): PathParam<Uuid>,
    request: PaymentRequest,
    body: JsonBody<NoteBody>,
) -> Result<Response, ApiError> {
    let command = DunningCommand::AddNote {
        text: body.value.text.clone(),
        author: Some(request.0.principal.actor()),
    };
    on_case(&state, &request, id, "notes", &body.digest, command).await
}

/// Extend a dunning case's window.
///
/// Moves the suspension deadline later. Support, service and admin keys.
#[utoipa::path(
    post,
    path = "/v1/dunning-cases/{id}/extend-window",
    tag = "dunning",
    params(("id" = Uuid, Path)),
    request_body = ExtendBody,
    responses((status = 200, description = "Applied, or replayed", body = CommandResponse)),
    security(("bearer" = [])),
)]
pub async fn extend_window(
    State(state): State<AppState>,
    PathParam(id): PathParam<Uuid>,
    request: PaymentRequest,
    body: JsonBody<ExtendBody>,
) -> Result<Response, ApiError> {
    let command = DunningCommand::ExtendWindow {
        until: body.value.until,
    };
    on_case(&state, &request, id, "extend-window", &body.digest, command).await
}

/// Resolve a dunning case by hand.
///
/// Closes the case with support's resolution. Support, service and admin keys.
#[utoipa::path(
    post,
    path = "/v1/dunning-cases/{id}/resolve",
    tag = "dunning",
    params(("id" = Uuid, Path)),
    request_body = ResolveBody,
    responses((status = 200, description = "Applied, or replayed", body = CommandResponse)),
    security(("bearer" = [])),
)]
pub async fn resolve(
    State(state): State<AppState>,
    PathParam(id): PathParam<Uuid>,
    request: PaymentRequest,
    body: JsonBody<ResolveBody>,
) -> Result<Response, ApiError> {
    let command = DunningCommand::ResolveManually {
        resolution: body.value.resolution.clone(),
    };
    on_case(&state, &request, id, "resolve", &body.digest, command).await
}

//! `POST /v1/accounts/{account_id}/entitlements/suspend`: an admin cuts an account's access for
//! one of its open dunning cases, once the case's window has expired (the window rule, SPEC 3.3).

use axum::extract::State;
use axum::response::Response;
use domain::entitlements::Entitlements;
use serde::Deserialize;
use uuid::Uuid;

use super::accounts::account;
use super::commands::{answer, CommandResponse, Outcome};
use crate::extract::{AdminRequest, JsonBody, PathParam};
use crate::problem::ApiError;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuspendBody {
    /// An open dunning case of this account; its `window_expires_at` must have passed.
    dunning_case_id: Uuid,
}

/// Suspend the account's entitlements for its dunning case.
///
/// Suspends the account's entitlements for an open dunning case of its own. Admin keys only.
/// Refused with 409 `rule_violation` before the case's `window_expires_at`, when the case is
/// closed, or when another case suspended the account.
#[utoipa::path(
    post,
    path = "/v1/accounts/{account_id}/entitlements/suspend",
    tag = "accounts",
    params(("account_id" = String, Path, pattern = r"^[A-Za-z0-9_.:-]{1,64}$", max_length = 64)),
    request_body = SuspendBody,
    responses((status = 200, description = "Suspended, already suspended by this case, or replayed", body = CommandResponse)),
    security(("bearer" = [])),
)]
pub async fn suspend(
    State(state): State<AppState>,
    PathParam(raw): PathParam<String>,
    AdminRequest(request): AdminRequest,
    body: JsonBody<SuspendBody>,
) -> Result<Response, ApiError> {
    let account = account(&raw, &request.principal)?;
    let route = format!("POST /v1/accounts/{raw}/entitlements/suspend");
    let context = request.context(&route, &body.digest);
    let suspended = application::suspend_entitlements(
        &state.bus,
        &state.services,
        &account,
        body.value.dunning_case_id,
        &context,
    )
    .await;
    answer::<Entitlements>(
        &state,
        "SuspendEntitlements".into(),
        suspended,
        Outcome::Changed,
    )
    .await
}

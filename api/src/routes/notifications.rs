//! The account's notifications from the outbox (SPEC 4 and 6), oldest first, in pages; with
//! `min_position` for read-your-writes.

use axum::extract::State;
use axum::Json;
use projections::{NotificationPage, NotificationsProjector};

use super::accounts::{account, fresh, read_model_error, ListQuery};
use crate::auth::Principal;
use crate::extract::{PathParam, Query};
use crate::problem::ApiError;
use crate::state::AppState;

/// List the account's notifications.
///
/// The notification outbox of the account (failed payments, suspensions, recoveries, trial ends,
/// receipts), oldest first, each with its email delivery status.
#[utoipa::path(
    get,
    path = "/v1/accounts/{account_id}/notifications",
    tag = "accounts",
    params(
        ("account_id" = String, Path, pattern = r"^[A-Za-z0-9_.:-]{1,64}$", max_length = 64),
        ListQuery,
    ),
    responses((status = 200, description = "OK", body = NotificationPage)),
    security(("bearer" = [])),
)]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    PathParam(raw): PathParam<String>,
    Query(query): Query<ListQuery>,
) -> Result<Json<NotificationPage>, ApiError> {
    let account = account(&raw, &principal)?;
    let limit = query.limit()?;
    let cursor = query.position_cursor()?;
    fresh(
        &state,
        &principal,
        NotificationsProjector::NAME,
        query.min_position,
    )
    .await?;
    state
        .read_models
        .notifications(&account, limit, cursor)
        .await
        .map(Json)
        .map_err(read_model_error)
}

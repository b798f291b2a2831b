//! The account's Billing Timeline (SPEC 5 and 6), oldest first, in pages; with `min_position`
//! for read-your-writes. The same role rules as the account's invoices.

use axum::extract::State;
use axum::Json;
use projections::{BillingTimelineProjector, TimelinePage};

use super::accounts::{account, fresh, read_model_error, ListQuery};
use crate::auth::Principal;
use crate::extract::{PathParam, Query};
use crate::problem::ApiError;
use crate::state::AppState;

/// The account's billing timeline.
///
/// Every billing fact of the account in log order, each with the event that caused it.
#[utoipa::path(
    get,
    path = "/v1/accounts/{account_id}/timeline",
    tag = "accounts",
    params(
        ("account_id" = String, Path, pattern = r"^[A-Za-z0-9_.:-]{1,64}$", max_length = 64),
        ListQuery,
    ),
    responses((status = 200, description = "OK", body = TimelinePage)),
    security(("bearer" = [])),
)]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    PathParam(raw): PathParam<String>,
    Query(query): Query<ListQuery>,
) -> Result<Json<TimelinePage>, ApiError> {
    let account = account(&raw, &principal)?;
    let limit = query.limit()?;
    let cursor = query.position_cursor()?;
    fresh(
        &state,
        &principal,
        BillingTimelineProjector::NAME,
        query.min_position,
    )
    .await?;
    state
        .read_models
        .timeline(&account, limit, cursor)
        .await
        .map(Json)
        .map_err(read_model_error)
}

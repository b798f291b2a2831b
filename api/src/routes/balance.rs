//! An account's credit balance (SPEC 11.4): read it with its transactions, and an admin's
//! goodwill credit or correction. Credits from credit notes and downgrades, and payments of
//! invoices from the balance, are commands of the billing code, not routes.

use axum::extract::State;
use axum::response::Response;
use axum::Json;
use domain::customer_balance::{CustomerBalance, CustomerBalanceCommand};
use domain::{Currency, Money};
use projections::{BalanceStatement, CustomerBalancesProjector};
use serde::Deserialize;

use super::accounts::{account, fresh, read_model_error, ListQuery};
use super::commands::{dispatch, CommandResponse, Outcome};
use crate::auth::Principal;
use crate::extract::{AdminRequest, JsonBody, PathParam, Query};
use crate::problem::ApiError;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustBody {
    /// Signed minor units: a goodwill credit is positive, a correction negative. Not zero, at
    /// most 10^15 either way; a correction may not take the balance below zero.
    #[schema(minimum = -1_000_000_000_000_000i64, maximum = 1_000_000_000_000_000i64)]
    amount: i64,
    /// The balance's currency: the first transaction fixes it, any later one in another
    /// currency is refused (409 `rule_violation`).
    #[schema(pattern = r"^[A-Za-z]{3}$")]
    currency: String,
    /// Why, for people: 1 to 500 characters. No business decision reads it.
    #[schema(min_length = 1, max_length = 500)]
    reason: String,
}

/// Show the account's credit balance.
///
/// The balance (zero with a null `currency` for an account never credited) and a page of its
/// transactions, oldest first: adjustments, credits and payments of invoices from the balance,
/// each with its signed amount and the balance it left. `min_position` waits until the balance
/// has caught up.
#[utoipa::path(
    get,
    path = "/v1/accounts/{account_id}/balance",
    tag = "accounts",
    params(
        ("account_id" = String, Path, pattern = r"^[A-Za-z0-9_.:-]{1,64}$", max_length = 64),
        ListQuery,
    ),
    responses((status = 200, description = "OK", body = BalanceStatement)),
    security(("bearer" = [])),
)]
pub async fn get_balance(
    State(state): State<AppState>,
    principal: Principal,
    PathParam(raw): PathParam<String>,
    Query(query): Query<ListQuery>,
) -> Result<Json<BalanceStatement>, ApiError> {
    let account = account(&raw, &principal)?;
    let limit = query.limit()?;
    let cursor = query.position_cursor()?;
    let projection = CustomerBalancesProjector::NAME;
    fresh(&state, &principal, projection, query.min_position).await?;
    state
        .read_models
        .balance(&account, limit, cursor)
        .await
        .map(Json)
        .map_err(read_model_error)
}

/// Adjust the account's credit balance.
///
/// An admin's goodwill credit (positive `amount`) or correction (negative). Admin keys only.
/// A zero amount, a malformed currency or an empty reason is 422 `validation_failed`; a
/// correction below zero or a currency other than the balance's is 409 `rule_violation`. The
/// response's `object` is the balance after the adjustment, without its transactions.
#[utoipa::path(
    post,
    path = "/v1/accounts/{account_id}/balance/adjust",
    tag = "accounts",
    params(("account_id" = String, Path, pattern = r"^[A-Za-z0-9_.:-]{1,64}$", max_length = 64)),
    request_body = AdjustBody,
    responses((status = 200, description = "Adjusted, or replayed", body = CommandResponse)),
    security(("bearer" = [])),
)]
pub async fn adjust(
    State(state): State<AppState>,
    PathParam(raw): PathParam<String>,
    AdminRequest(request): AdminRequest,
    body: JsonBody<AdjustBody>,
) -> Result<Response, ApiError> {
    let account = account(&raw, &request.principal)?;
    let currency = Currency::parse(&body.value.currency)?;
    let command = CustomerBalanceCommand::AdjustBalance {
        account_id: account.clone(),
        amount: Money::new(body.value.amount, currency),
        reason: body.value.reason.clone(),
        adjustment_id: request.new_resource_id(),
    };
    let route = format!("POST /v1/accounts/{raw}/balance/adjust");
    dispatch::<CustomerBalance>(
        &state,
        &request,
        &route,
        &body.digest,
        account.as_str(),
        command,
        Outcome::Changed,
    )
    .await
}

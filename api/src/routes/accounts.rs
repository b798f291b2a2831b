//! Per-account reads from the read models: the subscription summary, feature access (the product
//! runtime's hot path) and the account's invoices. Each accepts `min_position` for
//! read-your-writes.

use std::time::Duration;

use axum::extract::State;
use axum::Json;
use domain::{AccountId, FeatureKey};
use projections::resources::FeatureList;
use projections::{
    AccountInvoicesProjector, AccountSummaryProjector, Consistency, FeatureAccessProjector,
    FeatureAccessView, InvoicePage, PositionCursor, ProjectionError, SummaryView,
};
use serde::Deserialize;

use crate::auth::{Principal, Role};
use crate::extract::{PathParam, Query};
use crate::problem::ApiError;
use crate::routes::MinPosition;
use crate::state::AppState;

/// How long a query waits for its read model to reach `min_position` (SPEC section 5).
const FRESHNESS_TIMEOUT: Duration = Duration::from_secs(5);

/// Waits until the read model `projection` has processed `min_position`, if one was asked for.
pub(crate) async fn fresh(
    state: &AppState,
    principal: &Principal,
    projection: &str,
    min_position: Option<i64>,
) -> Result<(), ApiError> {
    wait_for(state, principal, &[projection], min_position).await
}

/// Waits until the event log holds `min_position`, if one was asked for: reads from the log
/// itself (a resource by id, the audit) are at any position that exists.
pub(crate) async fn fresh_log(
    state: &AppState,
    principal: &Principal,
    min_position: Option<i64>,
) -> Result<(), ApiError> {
    wait_for(state, principal, &[], min_position).await
}

/// A position the log does not hold yet is refused at once (422) for keys that may read the
/// audit log, which shows the head anyway. To an account key it is answered like a position the
/// read models have not reached (bounded wait, then 503 `stale_read`): refusing it at once would
/// let the key find the head of the global log, the activity of every account, by trying.
async fn wait_for(
    state: &AppState,
    principal: &Principal,
    projections: &[&str],
    min_position: Option<i64>,
) -> Result<(), ApiError> {
    let Some(position) = min_position else {
        return Ok(());
    };
    if position < 0 {
        return Err(ApiError::validation("min_position", "must be 0 or more"));
    }
    let wait = |timeout| {
        state
            .projections
            .wait_for_projections(projections, position, timeout)
    };
    let result = match wait(FRESHNESS_TIMEOUT).await {
        Err(ProjectionError::UnknownPosition(_)) if matches!(principal.role, Role::Account(_)) => {
            tokio::time::sleep(FRESHNESS_TIMEOUT).await;
            wait(LAST_LOOK).await.map_err(|error| match error {
                ProjectionError::UnknownPosition(position) => ProjectionError::Stale {
                    position,
                    timeout: FRESHNESS_TIMEOUT,
                },
                other => other,
            })
        }
        result => result,
    };
    result.map_err(|error| match error {
        ProjectionError::Stale { position, .. } => ApiError::StaleRead(position),
        ProjectionError::UnknownPosition(position) => {
            ApiError::validation("min_position", format!("no event has position {position}"))
        }
        other => read_model_error(other),
    })
}

/// How long a position the log lacked after the wait may still take to be applied.
const LAST_LOOK: Duration = Duration::from_millis(100);

/// Feature access is answered from this process's cache, unless the caller asked to read its
/// own writes: then from the table, once the projector has applied them.
async fn feature_consistency(
    state: &AppState,
    principal: &Principal,
    min_position: Option<i64>,
) -> Result<Consistency, ApiError> {
    fresh(state, principal, FeatureAccessProjector::NAME, min_position).await?;
    Ok(match min_position {
        Some(_) => Consistency::ReadYourWrites,
        None => Consistency::Eventual,
    })
}

pub(crate) fn read_model_error(error: ProjectionError) -> ApiError {
    if error.is_transient() {
        tracing::warn!(%error, "read model unavailable");
        ApiError::Unavailable
    } else {
        ApiError::internal(error)
    }
}

pub(crate) fn account(raw: &str, principal: &Principal) -> Result<AccountId, ApiError> {
    // A malformed id names no account: 404, like an unknown one.
    let account =
        AccountId::parse(raw).map_err(|_| ApiError::NotFound(format!("no account {raw}")))?;
    principal.require_account_access(&account)?;
    Ok(account)
}

/// The account's subscription summary.
///
/// Plan, status, seats, period, entitlements, balance due, overpayments, dunning state, and each
/// priced feature's usage and cost so far. `min_position` waits until the summary has caught up.
#[utoipa::path(
    get,
    path = "/v1/accounts/{account_id}/summary",
    tag = "accounts",
    params(
        ("account_id" = String, Path, pattern = r"^[A-Za-z0-9_.:-]{1,64}$", max_length = 64),
        MinPosition,
    ),
    responses((status = 200, description = "OK", body = SummaryView)),
    security(("bearer" = [])),
)]
pub async fn summary(
    State(state): State<AppState>,
    principal: Principal,
    PathParam(raw): PathParam<String>,
    Query(query): Query<MinPosition>,
) -> Result<Json<SummaryView>, ApiError> {
    let account = account(&raw, &principal)?;
    fresh(
        &state,
        &principal,
        AccountSummaryProjector::NAME,
        query.min_position,
    )
    .await?;
    state
        .read_models
        .summary(&account)
        .await
        .map_err(read_model_error)?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("no subscription summary for account {account}")))
}

/// May the account use each of its features?
///
/// Every feature of the account's plan, and any other with usage this period, with its limit, usage
/// and cost so far. `min_position` waits until the view has caught up with that position.
#[utoipa::path(
    get,
    path = "/v1/accounts/{account_id}/features",
    tag = "accounts",
    params(
        ("account_id" = String, Path, pattern = r"^[A-Za-z0-9_.:-]{1,64}$", max_length = 64),
        MinPosition,
    ),
    responses((status = 200, description = "OK", body = FeatureList)),
    security(("bearer" = [])),
)]
pub async fn features(
    State(state): State<AppState>,
    principal: Principal,
    PathParam(raw): PathParam<String>,
    Query(query): Query<MinPosition>,
) -> Result<Json<FeatureList>, ApiError> {
    let account = account(&raw, &principal)?;
    let consistency = feature_consistency(&state, &principal, query.min_position).await?;
    let items = state
        .read_models
        .features(&account, consistency)
        .await
        .map_err(read_model_error)?
        .ok_or_else(|| ApiError::NotFound(format!("no entitlements for account {account}")))?;
    Ok(Json(FeatureList::of(items)))
}

/// May the account use this feature now?
///
/// Decided by the domain's own access rule from the Feature Access View: standing, plan, limit and
/// usage this period, with the cost so far of a priced feature. `min_position` waits until the view
/// has caught up.
#[utoipa::path(
    get,
    path = "/v1/accounts/{account_id}/features/{feature}",
    tag = "accounts",
    params(
        ("account_id" = String, Path, pattern = r"^[A-Za-z0-9_.:-]{1,64}$", max_length = 64),
        ("feature" = String, Path),
        MinPosition,
    ),
    responses((status = 200, description = "OK", body = FeatureAccessView)),
    security(("bearer" = [])),
)]
pub async fn feature(
    State(state): State<AppState>,
    principal: Principal,
    PathParam((raw, feature)): PathParam<(String, String)>,
    Query(query): Query<MinPosition>,
) -> Result<Json<FeatureAccessView>, ApiError> {
    let account = account(&raw, &principal)?;
    let feature = FeatureKey::parse(&feature)
        .map_err(|_| ApiError::NotFound(format!("no feature {feature}")))?;
    let consistency = feature_consistency(&state, &principal, query.min_position).await?;
    state
        .read_models
        .feature(&account, &feature, consistency)
        .await
        .map_err(read_model_error)?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("no entitlements for account {account}")))
}

/// `?limit&cursor&min_position` of a paginated account list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    #[param(minimum = 0)]
    pub min_position: Option<i64>,
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    pub cursor: Option<String>,
}

const DEFAULT_PAGE: u32 = 20;
const MAX_PAGE: u32 = 100;

impl ListQuery {
    /// The page size asked for: 1 to 100, 20 unless given.
    pub fn limit(&self) -> Result<u32, ApiError> {
        page_limit(self.limit)
    }

    /// The `cursor` of a list in log order (invoices, notifications, timeline), if one was given.
    pub fn position_cursor(&self) -> Result<Option<PositionCursor>, ApiError> {
        self.cursor
            .as_deref()
            .map(|text| PositionCursor::parse(text).ok_or_else(foreign_cursor))
            .transpose()
    }
}

/// The page size of a list: 1 to 100, 20 unless given.
pub fn page_limit(limit: Option<u32>) -> Result<u32, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::validation(
            "limit",
            format!("must be 1 to {MAX_PAGE}"),
        ));
    }
    Ok(limit)
}

/// The answer to a `cursor` this API did not issue.
pub fn foreign_cursor() -> ApiError {
    ApiError::InvalidRequest("cursor is not one this API issued".into())
}

/// List the account's invoices.
///
/// The account's invoices, newest first; an account with none has an empty list.
#[utoipa::path(
    get,
    path = "/v1/accounts/{account_id}/invoices",
    tag = "accounts",
    params(
        ("account_id" = String, Path, pattern = r"^[A-Za-z0-9_.:-]{1,64}$", max_length = 64),
        ListQuery,
    ),
    responses((status = 200, description = "OK", body = InvoicePage)),
    security(("bearer" = [])),
)]
pub async fn invoices(
    State(state): State<AppState>,
    principal: Principal,
    PathParam(raw): PathParam<String>,
    Query(query): Query<ListQuery>,
) -> Result<Json<InvoicePage>, ApiError> {
    let account = account(&raw, &principal)?;
    let limit = query.limit()?;
    let cursor = query.position_cursor()?;
    fresh(
        &state,
        &principal,
        AccountInvoicesProjector::NAME,
        query.min_position,
    )
    .await?;
    state
        .read_models
        .invoices(&account, limit, cursor)
        .await
        .map(Json)
        .map_err(read_model_error)
}

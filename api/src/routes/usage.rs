//! Usage metering and commitments on an account's entitlements: record usage (idempotent by
//! `usage_id`), commit to a feature, release a commitment.

use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use domain::entitlements::{Entitlements, EntitlementsCommand, UsageId};
use domain::FeatureKey;
use serde::Deserialize;

use super::accounts::account;
use super::commands::{dispatch, CommandResponse, NoBody, Outcome};
use crate::extract::{CommandRequest, JsonBody, PathParam};
use crate::problem::ApiError;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UsageBody {
    #[schema(pattern = r"^[a-z0-9_]{1,64}$", max_length = 64)]
    feature: String,
    /// 1 to `MAX_USAGE_QUANTITY` (checked by the domain; the schema states it for clients).
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    quantity: u64,
    usage_id: String,
    /// When the usage happened (RFC 3339; default: now). It decides the billing period: the
    /// current one, or the one before it, billed late as a `usage_adjustment` once that period
    /// was invoiced. Earlier, or more than 5 minutes ahead of the clock, is refused.
    #[serde(default)]
    timestamp: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommitmentBody {
    #[schema(pattern = r"^[a-z0-9_]{1,64}$", max_length = 64)]
    feature: String,
}

/// Runs `command` on the entitlements of account `raw`, for the route `{method} /v1/accounts/
/// {raw}/{action}`.
async fn on_entitlements(
    state: &AppState,
    request: &CommandRequest,
    raw: &str,
    route: &str,
    digest: &str,
    command: EntitlementsCommand,
) -> Result<Response, ApiError> {
    let account = account(raw, &request.principal)?;
    dispatch::<Entitlements>(
        state,
        request,
        route,
        digest,
        account.as_str(),
        command,
        Outcome::Changed,
    )
    .await
}

/// Record usage of a metered feature.
///
/// Idempotent by `usage_id`. Usage over the limit is recorded and flagged, never dropped; a
/// `timestamp` in the previous period is billed with it, or as an adjustment once it was invoiced.
#[utoipa::path(
    post,
    path = "/v1/accounts/{account_id}/usage",
    tag = "accounts",
    params(("account_id" = String, Path, pattern = r"^[A-Za-z0-9_.:-]{1,64}$", max_length = 64)),
    request_body = UsageBody,
    responses((status = 200, description = "Applied, or replayed", body = CommandResponse)),
    security(("bearer" = [])),
)]
pub async fn record_usage(
    State(state): State<AppState>,
    PathParam(raw): PathParam<String>,
    request: CommandRequest,
    body: JsonBody<UsageBody>,
) -> Result<Response, ApiError> {
    let command = EntitlementsCommand::RecordUsage {
        feature: FeatureKey::parse(&body.value.feature)?,
        quantity: body.value.quantity,
        usage_id: UsageId::parse_new(&body.value.usage_id)?,
        timestamp: body.value.timestamp,
    };
    let route = format!("POST /v1/accounts/{raw}/usage");
    on_entitlements(&state, &request, &raw, &route, &body.digest, command).await
}

/// Commit the account to a feature.
///
/// A committed feature cannot be removed by a downgrade without `confirm_feature_removal`.
/// Idempotent.
#[utoipa::path(
    post,
    path = "/v1/accounts/{account_id}/commitments",
    tag = "accounts",
    params(("account_id" = String, Path, pattern = r"^[A-Za-z0-9_.:-]{1,64}$", max_length = 64)),
    request_body = CommitmentBody,
    responses((status = 200, description = "Applied, or replayed", body = CommandResponse)),
    security(("bearer" = [])),
)]
pub async fn add_commitment(
    State(state): State<AppState>,
    PathParam(raw): PathParam<String>,
    request: CommandRequest,
    body: JsonBody<CommitmentBody>,
) -> Result<Response, ApiError> {
    let feature = FeatureKey::parse(&body.value.feature)?;
    let command = EntitlementsCommand::AddCommitment { feature };
    let route = format!("POST /v1/accounts/{raw}/commitments");
    on_entitlements(&state, &request, &raw, &route, &body.digest, command).await
}

/// Release a commitment.
///
/// Idempotent: releasing a feature that is not committed changes nothing.
#[utoipa::path(
    delete,
    path = "/v1/accounts/{account_id}/commitments/{feature}",
    tag = "accounts",
    params(
        ("account_id" = String, Path, pattern = r"^[A-Za-z0-9_.:-]{1,64}$", max_length = 64),
        ("feature" = String, Path),
    ),
    responses((status = 200, description = "Applied, or replayed", body = CommandResponse)),
    security(("bearer" = [])),
)]
pub async fn release_commitment(
    State(state): State<AppState>,
    PathParam((raw, feature)): PathParam<(String, String)>,
    request: CommandRequest,
    body: JsonBody<NoBody>,
) -> Result<Response, ApiError> {
    let route = format!("DELETE /v1/accounts/{raw}/commitments/{feature}");
    let feature = FeatureKey::parse(&feature)?;
    let command = EntitlementsCommand::ReleaseCommitment { feature };
    on_entitlements(&state, &request, &raw, &route, &body.digest, command).await
}

#[cfg(test)]
mod tests {
    use utoipa::PartialSchema;

    #[test]
    fn the_documented_quantity_range_is_the_domains() {
        let schema = serde_json::to_value(super::UsageBody::schema()).unwrap();
        let quantity = &schema["properties"]["quantity"];
        assert_eq!(quantity["minimum"].as_f64(), Some(1.0));
        let max = domain::entitlements::MAX_USAGE_QUANTITY as f64;
        assert_eq!(quantity["maximum"].as_f64(), Some(max), "{schema}");
    }
}

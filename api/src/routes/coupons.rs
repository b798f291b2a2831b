//! Coupons (SPEC 11.3): admins create and archive them; the product's backend applies one to a
//! subscription, or takes its discount off.

use axum::extract::State;
use axum::response::Response;
use axum::Json;
use chrono::{DateTime, Utc};
use domain::coupon::{
    BasisPoints, Coupon, CouponCommand, CouponDuration, CouponId, CouponTerms, Reduction,
};
use domain::subscription::{Subscription, SubscriptionCommand};
use domain::{Currency, Money, PlanId};
use projections::resources::CouponView;
use projections::CouponsProjector;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::accounts::{fresh, fresh_log, read_model_error, ListQuery};
use super::commands::{answer, dispatch, dispatch_action, CommandResponse, NoBody, Outcome};
use crate::auth::Principal;
use crate::extract::{AdminRequest, CommandRequest, JsonBody, PathParam, Query};
use crate::problem::ApiError;
use crate::routes::MinPosition;
use crate::state::AppState;

/// How long a redeemed coupon discounts.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DurationKind {
    Once,
    Repeating,
    Forever,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCouponBody {
    /// The coupon's own name, which subscriptions redeem it by.
    #[schema(
        pattern = r"^[A-Za-z0-9_-]{1,64}$",
        max_length = 64,
        example = "LAUNCH25"
    )]
    id: String,
    /// For people: shown in the console.
    #[schema(max_length = 200)]
    name: Option<String>,
    /// Percent off each discounted invoice, more than 0 and at most 100, to two decimals.
    /// Exactly one of `percent_off` and `amount_off`.
    #[schema(minimum = 0.01, maximum = 100, example = 25)]
    percent_off: Option<f64>,
    /// Minor units of `currency` off each discounted invoice, never more than it charges.
    #[schema(minimum = 1)]
    amount_off: Option<i64>,
    /// With `amount_off`: its currency, which must be the subscription's.
    #[schema(pattern = r"^[a-z]{3}$", example = "usd")]
    currency: Option<String>,
    duration: DurationKind,
    /// With `repeating`: how many period invoices (activation and renewals) it discounts.
    #[schema(minimum = 1, maximum = 120)]
    duration_in_periods: Option<u32>,
    /// How many subscriptions may redeem it in all; unlimited when absent.
    #[schema(minimum = 1)]
    max_redemptions: Option<u32>,
    /// The last instant it can be redeemed (RFC 3339), in the future.
    redeem_by: Option<DateTime<Utc>>,
    /// The plans it may be redeemed on and discounts; all plans when absent.
    applies_to_plans: Option<Vec<String>>,
}

impl CreateCouponBody {
    fn into_command(self) -> Result<CouponCommand, ApiError> {
        let coupon_id =
            CouponId::parse(&self.id).map_err(|error| ApiError::validation("id", error.reason))?;
        let reduction = match (self.percent_off, self.amount_off, self.currency) {
            (Some(percent), None, None) => Reduction::PercentOff(basis_points(percent)?),
            (None, Some(amount), Some(currency)) => {
                Reduction::amount_off(Money::new(amount, Currency::parse(&currency)?))?
            }
            (None, Some(_), None) => {
                return Err(ApiError::validation(
                    "currency",
                    "amount_off needs a currency",
                ))
            }
            _ => {
                return Err(ApiError::validation(
                    "percent_off",
                    "give exactly one of percent_off, or amount_off with currency",
                ))
            }
        };
        let kind = match self.duration {
            DurationKind::Once => "once",
            DurationKind::Repeating => "repeating",
            DurationKind::Forever => "forever",
        };
        let duration = CouponDuration::parse(kind, self.duration_in_periods)?;
        let applies_to_plans = self
            .applies_to_plans
            .map(|plans| plans.iter().map(|plan| PlanId::parse(plan)).collect())
            .transpose()
            .map_err(|error: domain::ValidationError| {
                ApiError::validation("applies_to_plans", error.reason)
            })?;
        Ok(CouponCommand::CreateCoupon {
            coupon_id,
            terms: CouponTerms {
                name: self.name,
                reduction,
                duration,
                max_redemptions: self.max_redemptions,
                redeem_by: self.redeem_by,
                applies_to_plans,
            },
        })
    }
}

/// `percent` in hundredths of a percent: refused unless it has at most two decimals.
fn basis_points(percent: f64) -> Result<BasisPoints, ApiError> {
    let points = (percent * 100.0).round();
    let refused = || {
        ApiError::validation(
            "percent_off",
            "must be more than 0 and at most 100, with at most two decimals",
        )
    };
    if !percent.is_finite() || (percent * 100.0 - points).abs() > 1e-6 || points < 1.0 {
        return Err(refused());
    }
    // Within 1..=u32::MAX here; BasisPoints refuses beyond 10,000.
    let points = points.min(f64::from(u32::MAX)) as u32;
    BasisPoints::parse(points).map_err(|_| refused())
}

/// Create a coupon.
///
/// A percentage or an amount off, once, for a number of periods or for ever, optionally limited
/// in redemptions, time and plans. Admin keys only. Its `id` is the name subscriptions redeem it
/// by; a second coupon with the same id is refused (409 `coupon_already_exists`).
#[utoipa::path(
    post,
    path = "/v1/coupons",
    tag = "coupons",
    request_body = CreateCouponBody,
    responses((status = 201, description = "Created, or replayed", body = CommandResponse)),
    security(("bearer" = [])),
)]
pub async fn create(
    State(state): State<AppState>,
    AdminRequest(request): AdminRequest,
    body: JsonBody<CreateCouponBody>,
) -> Result<Response, ApiError> {
    let id = body.value.id.clone();
    let command = body.value.into_command()?;
    let route = "POST /v1/coupons";
    dispatch::<Coupon>(
        &state,
        &request,
        route,
        &body.digest,
        &id,
        command,
        Outcome::Created,
    )
    .await
}

/// One page of coupons.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CouponList {
    items: Vec<CouponView>,
    next_cursor: Option<String>,
}

/// List the coupons.
///
/// Every coupon, oldest first, with how often it was redeemed and whether it can be redeemed now.
#[utoipa::path(
    get,
    path = "/v1/coupons",
    tag = "coupons",
    params(ListQuery),
    responses((status = 200, description = "OK", body = CouponList)),
    security(("bearer" = [])),
)]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<ListQuery>,
) -> Result<Json<CouponList>, ApiError> {
    principal.require_global_read()?;
    let limit = query.limit()?;
    let cursor = query.position_cursor()?;
    fresh(
        &state,
        &principal,
        CouponsProjector::NAME,
        query.min_position,
    )
    .await?;
    let now = state.services.clock.now();
    let (items, next_cursor) = state
        .read_models
        .coupons(limit, cursor, now)
        .await
        .map_err(read_model_error)?;
    Ok(Json(CouponList { items, next_cursor }))
}

/// A coupon.
///
/// A coupon as it stands now, read from its own stream.
#[utoipa::path(
    get,
    path = "/v1/coupons/{id}",
    tag = "coupons",
    params(
        ("id" = String, Path, pattern = r"^[A-Za-z0-9_-]{1,64}$", max_length = 64),
        MinPosition,
    ),
    responses((status = 200, description = "OK", body = CouponView)),
    security(("bearer" = [])),
)]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    PathParam(raw): PathParam<String>,
    Query(query): Query<MinPosition>,
) -> Result<Json<CouponView>, ApiError> {
    principal.require_global_read()?;
    let not_found = || ApiError::NotFound("no such coupon".into());
    let id = CouponId::parse(&raw).map_err(|_| not_found())?;
    fresh_log(&state, &principal, query.min_position).await?;
    let coupon = state.bus.load::<Coupon>(id.as_str()).await?.aggregate;
    let view = CouponView::of(&coupon, state.services.clock.now()).ok_or_else(not_found)?;
    Ok(Json(view))
}

/// Archive a coupon.
///
/// No more redemptions; the discounts already given run their course. Admin keys only.
/// Archiving an archived coupon changes nothing.
#[utoipa::path(
    post,
    path = "/v1/coupons/{id}/archive",
    tag = "coupons",
    params(("id" = String, Path, pattern = r"^[A-Za-z0-9_-]{1,64}$", max_length = 64)),
    request_body = inline(NoBody),
    responses((status = 200, description = "Archived, already archived, or replayed", body = CommandResponse)),
    security(("bearer" = [])),
)]
pub async fn archive(
    State(state): State<AppState>,
    PathParam(raw): PathParam<String>,
    AdminRequest(request): AdminRequest,
    body: JsonBody<NoBody>,
) -> Result<Response, ApiError> {
    let id = CouponId::parse(&raw).map_err(|_| ApiError::NotFound("no such coupon".into()))?;
    let route = format!("POST /v1/coupons/{id}/archive");
    dispatch::<Coupon>(
        &state,
        &request,
        &route,
        &body.digest,
        id.as_str(),
        CouponCommand::ArchiveCoupon,
        Outcome::Changed,
    )
    .await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyCouponBody {
    #[schema(
        pattern = r"^[A-Za-z0-9_-]{1,64}$",
        max_length = 64,
        example = "LAUNCH25"
    )]
    coupon_id: String,
}

/// Apply a coupon to a subscription.
///
/// Redeems the coupon (refused when archived, past `redeem_by`, out of redemptions, not for the
/// subscription's plan, or in another currency) and makes it the subscription's discount,
/// replacing any discount in force. Its `discount` line appears on the subscription's next
/// invoices for as long as its duration says.
#[utoipa::path(
    post,
    path = "/v1/subscriptions/{id}/apply-coupon",
    tag = "subscriptions",
    params(("id" = Uuid, Path)),
    request_body = ApplyCouponBody,
    responses((status = 200, description = "Applied, or replayed", body = CommandResponse)),
    security(("bearer" = [])),
)]
pub async fn apply_coupon(
    State(state): State<AppState>,
    PathParam(id): PathParam<Uuid>,
    request: CommandRequest,
    body: JsonBody<ApplyCouponBody>,
) -> Result<Response, ApiError> {
    let coupon_id = CouponId::parse(&body.value.coupon_id)?;
    let route = format!("POST /v1/subscriptions/{id}/apply-coupon");
    let context = request.context(&route, &body.digest);
    let applied = application::coupon_redemption::apply_coupon(
        &state.bus,
        &state.services,
        id,
        &coupon_id,
        &context,
    )
    .await;
    answer::<Subscription>(&state, "ApplyDiscount".into(), applied, Outcome::Changed).await
}

/// Remove a subscription's discount.
///
/// Its next invoices are no longer discounted. Refused (409 `no_discount`) when it has none.
#[utoipa::path(
    post,
    path = "/v1/subscriptions/{id}/remove-discount",
    tag = "subscriptions",
    params(("id" = Uuid, Path)),
    request_body = inline(NoBody),
    responses((status = 200, description = "Removed, or replayed", body = CommandResponse)),
    security(("bearer" = [])),
)]
pub async fn remove_discount(
    State(state): State<AppState>,
    PathParam(id): PathParam<Uuid>,
    request: CommandRequest,
    body: JsonBody<NoBody>,
) -> Result<Response, ApiError> {
    dispatch_action::<Subscription>(
        &state,
        &request,
        "subscriptions",
        id,
        "remove-discount",
        &body.digest,
        SubscriptionCommand::RemoveDiscount,
    )
    .await
}

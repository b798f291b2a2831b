//! SPEC 11.3's coupon, as `GET /v1/coupons/{id}` answers it: from the aggregate for one coupon,
//! from the coupons read model for the list; both through [`CouponView::new`].

use chrono::{DateTime, Utc};
use domain::coupon::{Coupon, CouponId, CouponTerms, Reduction};
use domain::PlanId;
use serde::Serialize;

/// A coupon. `percent_off` xor `amount_off` (with `currency`) is set.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CouponView {
    #[schema(example = "LAUNCH25")]
    id: String,
    name: Option<String>,
    /// Percent off each discounted invoice, to two decimals.
    #[schema(example = 25.0)]
    percent_off: Option<f64>,
    /// Minor units of `currency` off each discounted invoice, never more than it charges.
    amount_off: Option<i64>,
    currency: Option<String>,
    /// `once`, `repeating` or `forever`.
    duration: &'static str,
    /// For `repeating`: how many period invoices it discounts.
    duration_in_periods: Option<u32>,
    max_redemptions: Option<u32>,
    redeem_by: Option<DateTime<Utc>>,
    /// The plans it may be redeemed on and discounts; `null` for every plan.
    applies_to_plans: Option<Vec<String>>,
    times_redeemed: u32,
    /// Whether it can be redeemed now: not archived, not past `redeem_by`, redemptions left.
    valid: bool,
    archived: bool,
    created_at: DateTime<Utc>,
}

impl CouponView {
    /// A coupon with `terms`, redeemed `times_redeemed` times, as it stands at `now`.
    pub fn new(
        id: &CouponId,
        terms: &CouponTerms,
        times_redeemed: u32,
        created_at: DateTime<Utc>,
        archived: bool,
        now: DateTime<Utc>,
    ) -> Self {
        let (percent_off, amount_off, currency) = reduction_fields(&terms.reduction);
        let exhausted = terms
            .max_redemptions
            .is_some_and(|max| times_redeemed >= max);
        let expired = terms.redeem_by.is_some_and(|by| now > by);
        Self {
            id: id.to_string(),
            name: terms.name.clone(),
            percent_off,
            amount_off,
            currency,
            duration: terms.duration.as_str(),
            duration_in_periods: terms.duration.periods(),
            max_redemptions: terms.max_redemptions,
            redeem_by: terms.redeem_by,
            applies_to_plans: terms
                .applies_to_plans
                .as_ref()
                .map(|plans| plans.iter().map(PlanId::to_string).collect()),
            times_redeemed,
            valid: !archived && !exhausted && !expired,
            archived,
            created_at,
        }
    }

    /// `coupon` at `now`; `None` before it was created.
    pub fn of(coupon: &Coupon, now: DateTime<Utc>) -> Option<Self> {
        Some(Self::new(
            coupon.coupon_id()?,
            coupon.terms()?,
            coupon.redemptions(),
            coupon.created_at()?,
            coupon.archived_at().is_some(),
            now,
        ))
    }

    pub fn id(&self) -> &str {
        &self.id
    }
}

/// How a discount is shown on a subscription: the coupon, what it takes off, and for how long.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DiscountView {
    coupon_id: String,
    percent_off: Option<f64>,
    amount_off: Option<i64>,
    currency: Option<String>,
    duration: &'static str,
    /// Period invoices it still discounts; `null` for `forever`.
    periods_left: Option<u32>,
    applied_at: DateTime<Utc>,
}

impl DiscountView {
    pub fn of(active: &domain::subscription::ActiveDiscount) -> Self {
        let terms = &active.terms;
        let (percent_off, amount_off, currency) = reduction_fields(&terms.discount.reduction);
        Self {
            coupon_id: terms.discount.coupon_id.to_string(),
            percent_off,
            amount_off,
            currency,
            duration: terms.duration.as_str(),
            periods_left: active.periods_left(),
            applied_at: active.applied_at,
        }
    }
}

/// `percent_off`, or `amount_off` and its `currency`, as the API shows a reduction.
fn reduction_fields(reduction: &Reduction) -> (Option<f64>, Option<i64>, Option<String>) {
    match reduction {
        Reduction::PercentOff(points) => (Some(f64::from(points.get()) / 100.0), None, None),
        Reduction::AmountOff(amount) => {
            (None, Some(amount.amount), Some(amount.currency.to_string()))
        }
    }
}

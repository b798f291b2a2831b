//! The business rules that can refuse a coupon command (409 `rule_violation`), each with a
//! stable code.

use chrono::{DateTime, Utc};

use crate::money::Currency;
use crate::values::PlanId;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CouponRule {
    #[error("a coupon with this id already exists")]
    AlreadyExists,
    #[error("the coupon is archived: it can no longer be redeemed")]
    Archived,
    #[error("the coupon could be redeemed until {redeem_by}")]
    RedeemByPassed { redeem_by: DateTime<Utc> },
    #[error("the coupon has been redeemed {max_redemptions} times, its maximum")]
    RedemptionsExhausted { max_redemptions: u32 },
    #[error("the coupon does not apply to plan {plan_id}")]
    PlanNotEligible { plan_id: PlanId },
    #[error(
        "the coupon takes an amount off in {coupon}; the subscription is billed in {subscription}"
    )]
    CurrencyMismatch {
        coupon: Currency,
        subscription: Currency,
    },
}

impl CouponRule {
    /// A stable snake_case name for the rule, for clients to match on.
    pub fn code(&self) -> &'static str {
        match self {
            CouponRule::AlreadyExists => "coupon_already_exists",
            CouponRule::Archived => "coupon_archived",
            CouponRule::RedeemByPassed { .. } => "coupon_expired",
            CouponRule::RedemptionsExhausted { .. } => "coupon_redemptions_exhausted",
            CouponRule::PlanNotEligible { .. } => "coupon_not_for_plan",
            CouponRule::CurrencyMismatch { .. } => "coupon_currency_mismatch",
        }
    }
}

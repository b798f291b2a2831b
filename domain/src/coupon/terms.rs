//! What a coupon gives (SPEC 11.3): a percentage or a fixed amount off, for one invoice, a number
//! of periods, or for ever, on some plans or all of them. Parsed once, at the edge.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

use crate::catalog::PlanCatalog;
use crate::error::{DomainError, ValidationError};
use crate::money::Money;
use crate::values::{parsed_string, require_text, PlanId};

parsed_string!(
    /// The operator's own name for a coupon, such as `LAUNCH25`: its stream id.
    CouponId,
    "coupon_id",
    |v| !v.is_empty()
        && v.len() <= 64
        && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-".contains(&b)),
    "1 to 64 letters, digits, `_` or `-`"
);

/// A percentage in hundredths of a percent: 2500 is 25 %, 1250 is 12.5 %. Integer, so that the
/// same percentage always discounts the same amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct BasisPoints(u32);

impl BasisPoints {
    /// 1 (0.01 %) to 10,000 (100 %).
    pub fn parse(value: u32) -> Result<Self, ValidationError> {
        if (1..=10_000).contains(&value) {
            Ok(Self(value))
        } else {
            Err(ValidationError::new(
                "percent_off",
                "must be more than 0 and at most 100, in steps of 0.01",
            ))
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl TryFrom<u32> for BasisPoints {
    type Error = ValidationError;
    fn try_from(value: u32) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<BasisPoints> for u32 {
    fn from(value: BasisPoints) -> Self {
        value.0
    }
}

/// How much a discount takes off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reduction {
    PercentOff(BasisPoints),
    /// At most this much off each discounted invoice, in the coupon's currency.
    AmountOff(Money),
}

impl Reduction {
    /// An amount off must be positive and within the bound.
    pub fn amount_off(amount: Money) -> Result<Self, DomainError> {
        if amount.amount <= 0 {
            return Err(ValidationError::new("amount_off", "must be positive").into());
        }
        amount.check_bound("amount_off")?;
        Ok(Self::AmountOff(amount))
    }
}

/// For how long a redeemed coupon keeps discounting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CouponDuration {
    /// The next invoice of the subscription, whatever it bills.
    Once,
    /// The next `periods` period invoices (activation or renewal), and any proration invoice
    /// issued while they last.
    Repeating { periods: u32 },
    /// Every invoice of the subscription.
    Forever,
}

impl CouponDuration {
    /// `repeating` needs 1 to 120 periods; the others take none.
    pub fn parse(kind: &str, periods: Option<u32>) -> Result<Self, ValidationError> {
        match (kind, periods) {
            ("once", None) => Ok(Self::Once),
            ("forever", None) => Ok(Self::Forever),
            ("repeating", Some(periods)) if (1..=120).contains(&periods) => {
                Ok(Self::Repeating { periods })
            }
            ("repeating", _) => Err(ValidationError::new(
                "duration_in_periods",
                "a repeating coupon needs 1 to 120 periods",
            )),
            ("once" | "forever", Some(_)) => Err(ValidationError::new(
                "duration_in_periods",
                "only a repeating coupon takes a number of periods",
            )),
            _ => Err(ValidationError::new(
                "duration",
                "must be once, repeating or forever",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CouponDuration::Once => "once",
            CouponDuration::Repeating { .. } => "repeating",
            CouponDuration::Forever => "forever",
        }
    }

    pub fn periods(self) -> Option<u32> {
        match self {
            CouponDuration::Repeating { periods } => Some(periods),
            _ => None,
        }
    }
}

/// Everything a coupon is created with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CouponTerms {
    /// For people: shown on invoice lines and in the console.
    pub name: Option<String>,
    pub reduction: Reduction,
    pub duration: CouponDuration,
    /// How many subscriptions may redeem it in all; unlimited when absent.
    pub max_redemptions: Option<u32>,
    /// The last instant it can be redeemed.
    pub redeem_by: Option<DateTime<Utc>>,
    /// The plans it may be redeemed on and discounts; all plans when absent.
    pub applies_to_plans: Option<BTreeSet<PlanId>>,
}

/// The longest coupon name kept, in characters.
pub const MAX_NAME_CHARS: usize = 200;

impl CouponTerms {
    /// What a new coupon's terms must hold at `now`: a name that is not blank, at least one
    /// redemption, a `redeem_by` still ahead, and plans that are in `catalog`.
    pub(super) fn check(
        &self,
        catalog: &PlanCatalog,
        now: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        if let Some(name) = &self.name {
            require_text("name", name, MAX_NAME_CHARS)?;
        }
        if self.max_redemptions == Some(0) {
            return Err(ValidationError::new("max_redemptions", "must be at least 1").into());
        }
        if self.redeem_by.is_some_and(|by| by <= now) {
            return Err(ValidationError::new("redeem_by", "must be in the future").into());
        }
        if let Some(plans) = &self.applies_to_plans {
            if plans.is_empty() {
                return Err(ValidationError::new(
                    "applies_to_plans",
                    "name at least one plan, or leave it out for all plans",
                )
                .into());
            }
            if let Some(unknown) = plans.iter().find(|plan| catalog.get(plan).is_none()) {
                return Err(ValidationError::new(
                    "applies_to_plans",
                    format!("no plan `{unknown}` in the catalog"),
                )
                .into());
            }
        }
        Ok(())
    }
}

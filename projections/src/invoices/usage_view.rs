//! How a usage line was rated, as clients see it: the period, the quantity billed so far, what
//! earlier lines billed of it, and each tier crossed. Decimal amounts are strings (exact).

use chrono::{DateTime, Utc};
use domain::invoice::UsageDetail;
use domain::pricing::RatedTier;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UsageLineView {
    pub feature: String,
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    /// The period's usage billed up to and including this line.
    pub quantity: u64,
    /// Units of the same period earlier lines billed (0 on a `usage` line).
    pub previously_billed: u64,
    /// What those earlier lines charged, in minor units.
    pub previously_charged: i64,
    /// Free units of the period, subtracted once.
    pub included: u64,
    pub tiers: Vec<RatedTierView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RatedTierView {
    /// The tier's upper bound in billable units; null for the last, unbounded tier.
    pub up_to: Option<u64>,
    pub units: u64,
    /// Per unit (per package for `package` prices), minor units, exact.
    #[schema(example = "0.05")]
    pub unit_amount: String,
    /// Packages started, for `package` prices.
    pub packages: Option<u64>,
    pub flat_amount: i64,
    /// What the tier costs, minor units, exact (the line rounds the sum once).
    #[schema(example = "1250")]
    pub amount: String,
}

impl From<&UsageDetail> for UsageLineView {
    fn from(detail: &UsageDetail) -> Self {
        Self {
            feature: detail.feature.to_string(),
            period_start: detail.period.start,
            period_end: detail.period.end,
            quantity: detail.quantity,
            previously_billed: detail.previously_billed,
            previously_charged: detail.previously_charged,
            included: detail.rating.included,
            tiers: detail
                .rating
                .tiers
                .iter()
                .map(RatedTierView::from)
                .collect(),
        }
    }
}

impl From<&RatedTier> for RatedTierView {
    fn from(tier: &RatedTier) -> Self {
        Self {
            up_to: tier.up_to,
            units: tier.units,
            unit_amount: tier.unit_amount.normalize().to_string(),
            packages: tier.packages,
            flat_amount: tier.flat_amount,
            amount: tier.amount.normalize().to_string(),
        }
    }
}

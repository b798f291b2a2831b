//! What this period's usage of a feature costs so far (SPEC 11.1): rated at the plan's usage
//! price by the very function that rates it on the invoice at period end.

use domain::{FeatureKey, PlanCatalog, PlanId};
use serde::Serialize;

use super::table::AccountRows;

/// A priced feature's usage this period, and its cost so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct UsageSoFarView {
    pub feature: String,
    /// Units used this period.
    pub used: u64,
    /// What they cost at the plan's usage price, in minor units of `currency`, free units
    /// subtracted: what the invoice at period end bills for them.
    pub cost_so_far: i64,
    pub currency: String,
}

/// The cost of `used` units of `feature` on `plan_id`; `None` when that plan prices no usage of
/// it (or no longer exists).
pub(super) fn cost_so_far(
    catalog: &PlanCatalog,
    plan_id: &str,
    feature: &str,
    used: u64,
) -> Option<UsageSoFarView> {
    let plan = catalog.get(&PlanId::parse(plan_id).ok()?)?;
    let price = plan.usage_prices.get(&FeatureKey::parse(feature).ok()?)?;
    let rating = price.rate(used).ok()?;
    Some(UsageSoFarView {
        feature: feature.to_owned(),
        used,
        cost_so_far: rating.amount,
        currency: plan.currency.to_string(),
    })
}

/// The account's priced features, in key order.
pub(super) fn usage_so_far(catalog: &PlanCatalog, rows: &AccountRows) -> Vec<UsageSoFarView> {
    rows.features
        .iter()
        .filter_map(|row| {
            let used = u64::try_from(row.used).ok()?;
            cost_so_far(catalog, &rows.plan_id, &row.feature, used)
        })
        .collect()
}

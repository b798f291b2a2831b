//! `GET /v1/plans`: the plan catalog loaded at start, in rank order.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::Json;
use domain::pricing::{PriceModel, Tier, UsagePrice};
use domain::Plan;
use serde::Serialize;

use crate::state::AppState;

/// A plan on the wire. Prices are integer minor units of `currency` per `interval`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PlanView {
    id: String,
    name: String,
    currency: String,
    #[schema(value_type = String, example = "month")]
    interval: domain::BillingInterval,
    base_price: i64,
    seat_limit: u32,
    overage_seat_price: i64,
    trial_days: u32,
    features: Vec<String>,
    /// Per-period ceilings of metered features; `null` means unlimited.
    limits: BTreeMap<String, Option<u64>>,
    rank: u32,
    /// How metered features' usage is priced per period, billed in arrears, as the catalog
    /// file writes it (docs/billing.md, "Usage prices").
    usage_prices: BTreeMap<String, UsagePriceView>,
}

/// A feature's usage price. Unit amounts are exact decimal strings in minor units; the fields
/// present depend on `model`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UsagePriceView {
    /// `per_unit`, `graduated`, `volume` or `package`.
    model: &'static str,
    /// Free units per period; tiers count the units after them.
    included: u64,
    /// `per_unit`: per unit, in minor units (`"0.1"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    unit_amount_decimal: Option<String>,
    /// `graduated` and `volume`.
    #[serde(skip_serializing_if = "Option::is_none")]
    tiers: Option<Vec<TierView>>,
    /// `package`: units per package.
    #[serde(skip_serializing_if = "Option::is_none")]
    package_size: Option<u64>,
    /// `package`: minor units per started package.
    #[serde(skip_serializing_if = "Option::is_none")]
    unit_amount: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TierView {
    /// The tier's last unit; `null` for the last, unbounded tier.
    up_to: Option<u64>,
    unit_amount_decimal: String,
    /// Once per tier used, in minor units.
    flat_amount: i64,
}

impl From<&UsagePrice> for UsagePriceView {
    fn from(price: &UsagePrice) -> Self {
        let mut view = Self {
            model: price.model.name(),
            included: price.included,
            unit_amount_decimal: None,
            tiers: None,
            package_size: None,
            unit_amount: None,
        };
        match &price.model {
            PriceModel::PerUnit { unit_amount } => {
                view.unit_amount_decimal = Some(unit_amount.to_string())
            }
            PriceModel::Graduated { tiers } | PriceModel::Volume { tiers } => {
                view.tiers = Some(tiers.iter().map(TierView::from).collect())
            }
            PriceModel::Package { size, unit_amount } => {
                view.package_size = Some(*size);
                view.unit_amount = Some(*unit_amount);
            }
        }
        view
    }
}

impl From<&Tier> for TierView {
    fn from(tier: &Tier) -> Self {
        Self {
            up_to: tier.up_to,
            unit_amount_decimal: tier.unit_amount.to_string(),
            flat_amount: tier.flat_amount,
        }
    }
}

impl From<&Plan> for PlanView {
    fn from(plan: &Plan) -> Self {
        Self {
            id: plan.id.to_string(),
            name: plan.name.clone(),
            currency: plan.currency.to_string(),
            interval: plan.interval,
            base_price: plan.base_price.amount,
            seat_limit: plan.seat_limit,
            overage_seat_price: plan.overage_seat_price.amount,
            trial_days: plan.trial_days,
            features: plan.features.iter().map(ToString::to_string).collect(),
            limits: plan
                .limits
                .iter()
                .map(|(feature, limit)| (feature.to_string(), limit.units()))
                .collect(),
            rank: plan.rank,
            usage_prices: plan
                .usage_prices
                .iter()
                .map(|(feature, price)| (feature.to_string(), UsagePriceView::from(price)))
                .collect(),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PlanList {
    items: Vec<PlanView>,
    /// The catalog is small and returned whole, so there is never a next page.
    next_cursor: Option<String>,
}

/// The plan catalog.
///
/// Every plan of the catalog file with its prices, features, limits and usage prices. No key
/// needed.
#[utoipa::path(
    get,
    path = "/v1/plans",
    tag = "plans",
    responses((status = 200, description = "OK", body = PlanList)),
)]
#[tracing::instrument(skip_all)]
pub async fn list_plans(State(state): State<AppState>) -> Json<PlanList> {
    Json(PlanList {
        items: state.catalog.plans().map(PlanView::from).collect(),
        next_cursor: None,
    })
}

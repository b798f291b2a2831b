//! `GET /v1/plans`: the plan catalog loaded at start, in rank order.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::Json;
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
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PlanList {
    items: Vec<PlanView>,
    /// The catalog is small and returned whole, so there is never a next page.
    next_cursor: Option<String>,
}

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

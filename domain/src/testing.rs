//! Fixtures shared by the aggregate tests: the shipped catalog, a fixed clock and helpers.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::catalog::{PlanCatalog, PlanDefinition};
use crate::clock::ManualClock;
use crate::dunning::DunningPolicy;
use crate::money::{Currency, Money};
use crate::services::BillingServices;
use crate::values::{AccountId, FeatureKey, PlanId};

#[derive(serde::Deserialize)]
struct CatalogFile {
    plans: Vec<PlanDefinition>,
}

/// The default catalog exactly as shipped in `config/plans.toml`.
pub fn shipped_catalog() -> PlanCatalog {
    let file: CatalogFile =
        toml::from_str(include_str!("../../config/plans.toml")).expect("config/plans.toml parses");
    PlanCatalog::from_definitions(file.plans).expect("config/plans.toml is valid")
}

pub fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339).unwrap().to_utc()
}

/// The instant every test starts at unless it says otherwise.
pub fn t0() -> DateTime<Utc> {
    at("2026-03-01T00:00:00Z")
}

/// Services whose clock reads `now`.
pub fn services_at(now: DateTime<Utc>) -> BillingServices {
    BillingServices::new(
        Arc::new(ManualClock::starting_at(now)),
        Arc::new(shipped_catalog()),
        DunningPolicy::default(),
    )
}

pub fn services() -> BillingServices {
    services_at(t0())
}

pub fn usd(amount: i64) -> Money {
    Money::new(amount, Currency::parse("usd").unwrap())
}

pub fn plan(id: &str) -> PlanId {
    PlanId::parse(id).unwrap()
}

pub fn feature(key: &str) -> FeatureKey {
    FeatureKey::parse(key).unwrap()
}

pub fn account() -> AccountId {
    AccountId::parse("acct_1").unwrap()
}

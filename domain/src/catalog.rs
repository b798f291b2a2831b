//! The plan catalog: what each plan costs, how many seats it covers, and which features and
//! usage limits it grants. Parsed from a definition (the file format is the infrastructure's
//! business) into plans that are known to be valid.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::money::{Currency, Money, MAX_AMOUNT};
use crate::period::BillingInterval;
use crate::pricing::{UsagePrice, UsagePriceDefinition};
use crate::values::{FeatureKey, PlanId};

/// A per-period ceiling on a metered feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Limit {
    Units(u64),
    Unlimited(UnlimitedMarker),
}

/// The literal `"unlimited"` in a catalog file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnlimitedMarker {
    Unlimited,
}

impl Limit {
    pub const UNLIMITED: Limit = Limit::Unlimited(UnlimitedMarker::Unlimited);

    /// The ceiling, or `None` when unlimited.
    pub fn units(self) -> Option<u64> {
        match self {
            Limit::Units(n) => Some(n),
            Limit::Unlimited(_) => None,
        }
    }
}

/// A validated plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub id: PlanId,
    pub name: String,
    pub currency: Currency,
    pub interval: BillingInterval,
    /// Price per period; covers `seat_limit` seats.
    pub base_price: Money,
    pub seat_limit: u32,
    /// Price per period of each seat beyond `seat_limit`.
    pub overage_seat_price: Money,
    pub trial_days: u32,
    /// Every feature key the plan grants, metered or not.
    pub features: BTreeSet<FeatureKey>,
    /// Metered features and their per-period ceilings. Each is also in `features`.
    pub limits: BTreeMap<FeatureKey, Limit>,
    /// Orders plans: a higher rank is an upgrade.
    pub rank: u32,
    /// Metered features whose usage is billed in arrears (SPEC 11.1). Each is also in
    /// `features`; a feature may have a price, a limit, or both.
    #[serde(default)]
    pub usage_prices: BTreeMap<FeatureKey, UsagePrice>,
}

impl Plan {
    pub fn grants(&self, feature: &FeatureKey) -> bool {
        self.features.contains(feature)
    }

    /// The per-period ceiling of a feature; `None` when it is unlimited or not metered.
    pub fn limit_of(&self, feature: &FeatureKey) -> Option<u64> {
        self.limits.get(feature).and_then(|l| l.units())
    }
}

/// One plan as written in the catalog file: every field optional here so that a missing one is
/// reported by name, with the plan it belongs to.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanDefinition {
    pub id: Option<String>,
    pub name: Option<String>,
    pub currency: Option<String>,
    pub interval: Option<BillingInterval>,
    pub base_price: Option<i64>,
    pub seat_limit: Option<u32>,
    pub overage_seat_price: Option<i64>,
    pub trial_days: Option<u32>,
    #[serde(default)]
    pub features: Vec<String>,
    #[serde(default)]
    pub limits: BTreeMap<String, Limit>,
    pub rank: Option<u32>,
    /// `[plans.usage_prices.<feature>]` tables.
    #[serde(default)]
    pub usage_prices: BTreeMap<String, UsagePriceDefinition>,
}

/// What is wrong with a catalog, naming the plan and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("plan `{plan}`, field `{field}`: {reason}")]
pub struct CatalogError {
    pub plan: String,
    pub field: String,
    pub reason: String,
}

/// The longest trial the catalog accepts; anything longer is almost certainly a typo.
const MAX_TRIAL_DAYS: u32 = 366;

/// The set of plans offered, keyed by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanCatalog {
    plans: BTreeMap<PlanId, Plan>,
}

impl PlanCatalog {
    pub fn from_definitions(definitions: Vec<PlanDefinition>) -> Result<Self, CatalogError> {
        if definitions.is_empty() {
            return Err(CatalogError {
                plan: "*".into(),
                field: "plans".into(),
                reason: "the catalog defines no plan".into(),
            });
        }
        let mut plans = BTreeMap::new();
        let mut ranks = BTreeMap::new();
        for (index, definition) in definitions.into_iter().enumerate() {
            let plan = parse_plan(index, definition)?;
            if let Some(other) = ranks.insert(plan.rank, plan.id.clone()) {
                return Err(error(
                    plan.id.as_str(),
                    "rank",
                    format!("rank {} is already used by plan `{other}`", plan.rank),
                ));
            }
            if plans.contains_key(&plan.id) {
                return Err(error(plan.id.as_str(), "id", "defined twice"));
            }
            plans.insert(plan.id.clone(), plan);
        }
        Ok(Self { plans })
    }

    pub fn get(&self, id: &PlanId) -> Option<&Plan> {
        self.plans.get(id)
    }

    /// Plans in rank order.
    pub fn plans(&self) -> impl Iterator<Item = &Plan> {
        let mut plans: Vec<&Plan> = self.plans.values().collect();
        plans.sort_by_key(|p| p.rank);
        plans.into_iter()
    }
}

fn error(plan: &str, field: &str, reason: impl Into<String>) -> CatalogError {
    CatalogError {
        plan: plan.to_owned(),
        field: field.to_owned(),
        reason: reason.into(),
    }
}

fn required<T>(value: Option<T>, plan: &str, field: &str) -> Result<T, CatalogError> {
    value.ok_or_else(|| error(plan, field, "is missing"))
}

fn parse_plan(index: usize, d: PlanDefinition) -> Result<Plan, CatalogError> {
    let label = d.id.clone().unwrap_or_else(|| format!("#{}", index + 1));
    let plan = label.as_str();
    let id =
        PlanId::parse(&required(d.id, plan, "id")?).map_err(|e| error(plan, "id", e.reason))?;
    let name = required(d.name, plan, "name")?;
    if name.trim().is_empty() {
        return Err(error(plan, "name", "is empty"));
    }
    let currency = Currency::parse(&required(d.currency, plan, "currency")?)
        .map_err(|e| error(plan, "currency", e.reason))?;
    let base_price = price(
        required(d.base_price, plan, "base_price")?,
        plan,
        "base_price",
    )?;
    let overage = price(
        required(d.overage_seat_price, plan, "overage_seat_price")?,
        plan,
        "overage_seat_price",
    )?;
    let seat_limit = required(d.seat_limit, plan, "seat_limit")?;
    if seat_limit == 0 {
        return Err(error(plan, "seat_limit", "must be at least 1"));
    }
    let trial_days = required(d.trial_days, plan, "trial_days")?;
    if trial_days > MAX_TRIAL_DAYS {
        return Err(error(
            plan,
            "trial_days",
            format!("must be at most {MAX_TRIAL_DAYS}"),
        ));
    }
    let mut features = BTreeSet::new();
    for raw in d.features {
        let key = FeatureKey::parse(&raw).map_err(|e| error(plan, "features", e.reason))?;
        if !features.insert(key) {
            return Err(error(plan, "features", format!("`{raw}` is listed twice")));
        }
    }
    let mut limits = BTreeMap::new();
    for (raw, limit) in d.limits {
        let key = FeatureKey::parse(&raw).map_err(|e| error(plan, "limits", e.reason))?;
        // A metered feature with a limit is granted by the plan even if `features` omits it.
        features.insert(key.clone());
        limits.insert(key, limit);
    }
    let mut usage_prices = BTreeMap::new();
    for (raw, definition) in d.usage_prices {
        let field = format!("usage_prices.{raw}");
        let key = FeatureKey::parse(&raw).map_err(|e| error(plan, &field, e.reason))?;
        if !features.contains(&key) {
            return Err(error(
                plan,
                &field,
                "the plan does not grant this feature (list it in `features` or `limits`)",
            ));
        }
        usage_prices.insert(key, definition.validate(plan, &raw)?);
    }
    Ok(Plan {
        id,
        name,
        base_price: Money::new(base_price, currency.clone()),
        overage_seat_price: Money::new(overage, currency.clone()),
        currency,
        interval: required(d.interval, plan, "interval")?,
        seat_limit,
        trial_days,
        features,
        limits,
        rank: required(d.rank, plan, "rank")?,
        usage_prices,
    })
}

/// A price: from 0 to [`MAX_AMOUNT`], the bound of every amount an invoice line may carry.
fn price(value: i64, plan: &str, field: &str) -> Result<i64, CatalogError> {
    if value < 0 {
        Err(error(plan, field, "must not be negative"))
    } else if value > MAX_AMOUNT {
        Err(error(plan, field, format!("must be at most {MAX_AMOUNT}")))
    } else {
        Ok(value)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn definition(id: &str, rank: u32) -> PlanDefinition {
        PlanDefinition {
            id: Some(id.into()),
            name: Some(id.to_uppercase()),
            currency: Some("usd".into()),
            interval: Some(BillingInterval::Month),
            base_price: Some(1900),
            seat_limit: Some(5),
            overage_seat_price: Some(500),
            trial_days: Some(14),
            features: vec!["projects".into()],
            limits: BTreeMap::from([("api_calls".into(), Limit::Units(10))]),
            rank: Some(rank),
            usage_prices: BTreeMap::new(),
        }
    }

    #[test]
    fn a_valid_definition_becomes_a_plan() {
        let catalog = PlanCatalog::from_definitions(vec![definition("starter", 1)]).unwrap();
        let plan = catalog.get(&PlanId::parse("starter").unwrap()).unwrap();
        assert_eq!(plan.base_price.amount, 1900);
        assert!(plan.grants(&FeatureKey::parse("api_calls").unwrap()));
        assert_eq!(
            plan.limit_of(&FeatureKey::parse("api_calls").unwrap()),
            Some(10)
        );
        assert_eq!(plan.limit_of(&FeatureKey::parse("projects").unwrap()), None);
    }

    #[test]
    fn a_missing_field_is_named_with_its_plan() {
        let mut d = definition("starter", 1);
        d.seat_limit = None;
        let err = PlanCatalog::from_definitions(vec![d]).unwrap_err();
        assert_eq!(
            (err.plan.as_str(), err.field.as_str()),
            ("starter", "seat_limit")
        );
    }

    #[test]
    fn bad_values_are_named() {
        type Mutation = fn(&mut PlanDefinition);
        let cases: Vec<(Mutation, &str)> = vec![
            (|d| d.base_price = Some(-1), "base_price"),
            (|d| d.overage_seat_price = Some(-1), "overage_seat_price"),
            (|d| d.base_price = Some(MAX_AMOUNT + 1), "base_price"),
            (
                |d| d.overage_seat_price = Some(MAX_AMOUNT + 1),
                "overage_seat_price",
            ),
            (|d| d.seat_limit = Some(0), "seat_limit"),
            (|d| d.currency = Some("dollars".into()), "currency"),
            (|d| d.features = vec!["Bad Key".into()], "features"),
            (|d| d.features = vec!["a".into(), "a".into()], "features"),
            (|d| d.trial_days = Some(1000), "trial_days"),
            (|d| d.name = Some(" ".into()), "name"),
            (|d| d.id = Some("Pro Plan".into()), "id"),
        ];
        for (mutate, field) in cases {
            let mut d = definition("pro", 1);
            mutate(&mut d);
            let err = PlanCatalog::from_definitions(vec![d]).unwrap_err();
            assert_eq!(err.field, field, "{err}");
        }
    }

    #[test]
    fn ids_and_ranks_are_unique() {
        let err = PlanCatalog::from_definitions(vec![definition("a", 1), definition("a", 2)])
            .unwrap_err();
        assert_eq!(err.field, "id");
        let err = PlanCatalog::from_definitions(vec![definition("a", 1), definition("b", 1)])
            .unwrap_err();
        assert_eq!((err.plan.as_str(), err.field.as_str()), ("b", "rank"));
    }

    #[test]
    fn an_empty_catalog_is_refused() {
        assert!(PlanCatalog::from_definitions(vec![]).is_err());
    }

    #[test]
    fn plans_are_listed_by_rank() {
        let catalog =
            PlanCatalog::from_definitions(vec![definition("b", 2), definition("a", 1)]).unwrap();
        let ids: Vec<&str> = catalog.plans().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
    }
}

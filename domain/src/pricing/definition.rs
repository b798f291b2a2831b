//! A usage price as written in the catalog file, and its validation: every error names the
//! plan and the field, down to the tier (`usage_prices.api_calls.tiers[2].up_to`).

use rust_decimal::Decimal;
use serde::Deserialize;

use super::{PriceModel, Tier, UsagePrice};
use crate::catalog::CatalogError;
use crate::money::MAX_AMOUNT;

/// One feature's price as the catalog file writes it: every field optional here, so that a
/// missing or misplaced one is reported by name.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsagePriceDefinition {
    /// `per_unit`, `graduated`, `volume` or `package`.
    pub model: Option<String>,
    pub included: Option<u64>,
    /// `per_unit`: minor units per unit, a decimal string (`"0.05"`).
    #[serde(default, deserialize_with = "decimal_text")]
    pub unit_amount_decimal: Option<Decimal>,
    /// `graduated` and `volume`.
    pub tiers: Option<Vec<TierDefinition>>,
    /// `package`: units per package.
    pub package_size: Option<u64>,
    /// `package`: minor units per started package.
    pub unit_amount: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierDefinition {
    pub up_to: Option<UpTo>,
    #[serde(default, deserialize_with = "decimal_text")]
    pub unit_amount_decimal: Option<Decimal>,
    pub flat_amount: Option<i64>,
}

/// A decimal written as a string (`"0.05"`): a float such as `0.05` is refused, since it may
/// already have lost the exact value on its way through binary floating point.
fn decimal_text<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Decimal>, D::Error> {
    let text = String::deserialize(deserializer)?;
    text.parse::<Decimal>()
        .map(Some)
        .map_err(|e| serde::de::Error::custom(format!("`{text}` is not a decimal: {e}")))
}

/// A tier's upper bound: a number of units, or `"inf"` for the last tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum UpTo {
    Units(u64),
    Inf(InfMarker),
}

/// The literal `"inf"` in a catalog file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InfMarker {
    Inf,
}

/// Where an error is: the plan, and the path of the field under `usage_prices.<feature>`.
struct At<'a> {
    plan: &'a str,
    feature: &'a str,
}

impl At<'_> {
    fn error(&self, field: &str, reason: impl Into<String>) -> CatalogError {
        CatalogError {
            plan: self.plan.to_owned(),
            field: format!("usage_prices.{}.{field}", self.feature),
            reason: reason.into(),
        }
    }

    fn absent<T>(&self, value: &Option<T>, field: &str, model: &str) -> Result<(), CatalogError> {
        match value {
            Some(_) => Err(self.error(field, format!("is not used by the `{model}` model"))),
            None => Ok(()),
        }
    }

    fn decimal(&self, value: Option<Decimal>, field: &str) -> Result<Decimal, CatalogError> {
        let value = value.ok_or_else(|| self.error(field, "is missing"))?;
        if value.is_sign_negative() && !value.is_zero() {
            return Err(self.error(field, "must not be negative"));
        }
        if value > Decimal::from(MAX_AMOUNT) {
            return Err(self.error(field, format!("must be at most {MAX_AMOUNT}")));
        }
        Ok(value)
    }

    fn amount(&self, value: i64, field: &str) -> Result<i64, CatalogError> {
        if !(0..=MAX_AMOUNT).contains(&value) {
            return Err(self.error(field, format!("must be from 0 to {MAX_AMOUNT}")));
        }
        Ok(value)
    }
}

impl UsagePriceDefinition {
    /// The price of `feature` on `plan`, validated.
    pub fn validate(self, plan: &str, feature: &str) -> Result<UsagePrice, CatalogError> {
        let at = At { plan, feature };
        let model = self.model.ok_or_else(|| at.error("model", "is missing"))?;
        let priced = match model.as_str() {
            "per_unit" => {
                at.absent(&self.tiers, "tiers", &model)?;
                at.absent(&self.package_size, "package_size", &model)?;
                at.absent(&self.unit_amount, "unit_amount", &model)?;
                PriceModel::PerUnit {
                    unit_amount: at.decimal(self.unit_amount_decimal, "unit_amount_decimal")?,
                }
            }
            "graduated" | "volume" => {
                at.absent(&self.unit_amount_decimal, "unit_amount_decimal", &model)?;
                at.absent(&self.package_size, "package_size", &model)?;
                at.absent(&self.unit_amount, "unit_amount", &model)?;
                let tiers = tiers(&at, self.tiers)?;
                if model == "graduated" {
                    PriceModel::Graduated { tiers }
                } else {
                    PriceModel::Volume { tiers }
                }
            }
            "package" => {
                at.absent(&self.unit_amount_decimal, "unit_amount_decimal", &model)?;
                at.absent(&self.tiers, "tiers", &model)?;
                let size = self
                    .package_size
                    .ok_or_else(|| at.error("package_size", "is missing"))?;
                if size == 0 {
                    return Err(at.error("package_size", "must be at least 1"));
                }
                let unit_amount = self
                    .unit_amount
                    .ok_or_else(|| at.error("unit_amount", "is missing"))?;
                PriceModel::Package {
                    size,
                    unit_amount: at.amount(unit_amount, "unit_amount")?,
                }
            }
            other => {
                return Err(at.error(
                    "model",
                    format!("`{other}` is not one of per_unit, graduated, volume, package"),
                ))
            }
        };
        Ok(UsagePrice {
            included: self.included.unwrap_or(0),
            model: priced,
        })
    }
}

/// Tiers in increasing order of `up_to`, the last one unbounded (`"inf"`).
fn tiers(at: &At<'_>, raw: Option<Vec<TierDefinition>>) -> Result<Vec<Tier>, CatalogError> {
    let raw = raw.ok_or_else(|| at.error("tiers", "is missing"))?;
    if raw.is_empty() {
        return Err(at.error("tiers", "needs at least one tier"));
    }
    let last = raw.len() - 1;
    let mut below = 0u64;
    let mut tiers = Vec::with_capacity(raw.len());
    for (index, tier) in raw.into_iter().enumerate() {
        let field = |name: &str| format!("tiers[{}].{name}", index + 1);
        let up_to = match tier.up_to {
            None => return Err(at.error(&field("up_to"), "is missing")),
            Some(UpTo::Inf(_)) if index == last => None,
            Some(UpTo::Inf(_)) => {
                return Err(at.error(&field("up_to"), "only the last tier may be \"inf\""))
            }
            Some(UpTo::Units(_)) if index == last => {
                return Err(at.error(
                    &field("up_to"),
                    "the last tier must be \"inf\", so that every quantity has a price",
                ))
            }
            Some(UpTo::Units(units)) if units <= below => {
                return Err(at.error(
                    &field("up_to"),
                    format!("must be more than the tier before it ({below})"),
                ))
            }
            Some(UpTo::Units(units)) => {
                below = units;
                Some(units)
            }
        };
        tiers.push(Tier {
            up_to,
            unit_amount: at.decimal(tier.unit_amount_decimal, &field("unit_amount_decimal"))?,
            flat_amount: at.amount(tier.flat_amount.unwrap_or(0), &field("flat_amount"))?,
        });
    }
    Ok(tiers)
}

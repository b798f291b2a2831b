//! Usage-based prices (SPEC 11.1): how a plan charges for a metered feature's usage in a period,
//! billed in arrears. Four models, as Stripe, Kill Bill and Lago name them: `per_unit`,
//! `graduated` (each tier prices the units that fall in it), `volume` (the tier the total falls in
//! prices every unit) and `package` (per started package), each after `included` free units.
//! Unit amounts are exact decimals in minor units (sub-cent prices are normal for API calls);
//! a rating is rounded half-up to the minor unit once, for the whole line.

mod definition;
mod rating;

pub use definition::{TierDefinition, UpTo, UsagePriceDefinition};
pub use rating::{RatedTier, Rating, RatingError};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A validated usage price of one feature of one plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsagePrice {
    /// Free units per period, subtracted once from the period's usage before rating.
    pub included: u64,
    pub model: PriceModel,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "model")]
pub enum PriceModel {
    /// Every billable unit at `unit_amount` (minor units, exact).
    PerUnit { unit_amount: Decimal },
    /// Each tier prices the units that fall in it, plus its flat amount once it is entered.
    Graduated { tiers: Vec<Tier> },
    /// The tier the billable total falls in prices every unit, plus its flat amount.
    Volume { tiers: Vec<Tier> },
    /// `unit_amount` (minor units) per started package of `size` units.
    Package { size: u64, unit_amount: i64 },
}

/// One tier: the units up to `up_to` (inclusive; `None` is the last, unbounded tier).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tier {
    pub up_to: Option<u64>,
    /// Per unit, in minor units, exact.
    pub unit_amount: Decimal,
    /// Once per tier used, in minor units.
    pub flat_amount: i64,
}

impl PriceModel {
    /// The name used in the catalog file.
    pub fn name(&self) -> &'static str {
        match self {
            PriceModel::PerUnit { .. } => "per_unit",
            PriceModel::Graduated { .. } => "graduated",
            PriceModel::Volume { .. } => "volume",
            PriceModel::Package { .. } => "package",
        }
    }
}

#[cfg(test)]
mod tests;

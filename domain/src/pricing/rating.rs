//! Rating: what a period's usage of a feature costs under its price, with the tiers it crossed
//! (the invoice line describes them). Exact decimal throughout; rounded half-up to the minor
//! unit once, at the end.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use super::{PriceModel, Tier, UsagePrice};
use crate::money::MAX_AMOUNT;

/// The cost of a period's usage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rating {
    /// The usage rated.
    pub quantity: u64,
    /// The free units subtracted (at most `quantity`).
    pub included: u64,
    /// The tiers (or the one price, or the packages) the billable units fell in, in order.
    pub tiers: Vec<RatedTier>,
    /// The exact cost, in minor units.
    pub exact: Decimal,
    /// `exact` rounded half-up to the minor unit: the line's amount.
    pub amount: i64,
}

/// The billable units one tier (or price) took, and what they cost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatedTier {
    /// The tier's upper bound in billable units; `None` when unbounded.
    pub up_to: Option<u64>,
    pub units: u64,
    /// Per unit, or per package for the `package` model.
    pub unit_amount: Decimal,
    /// Packages started (the `package` model only).
    pub packages: Option<u64>,
    pub flat_amount: i64,
    /// What this tier costs, exact, in minor units.
    pub amount: Decimal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RatingError {
    #[error("the usage costs more than the largest amount an invoice line may carry ({MAX_AMOUNT} minor units)")]
    TooLarge,
    /// Only a price that skipped validation (the last tier is always unbounded) lacks one.
    #[error("no tier of the price covers this quantity")]
    NoTier,
}

impl UsagePrice {
    /// What `quantity` units in one period cost.
    pub fn rate(&self, quantity: u64) -> Result<Rating, RatingError> {
        let included = self.included.min(quantity);
        let billable = quantity - included;
        let tiers = match &self.model {
            PriceModel::PerUnit { unit_amount } => {
                vec![tier_charge(None, billable, *unit_amount, 0)?]
            }
            PriceModel::Graduated { tiers } => graduated(tiers, billable)?,
            PriceModel::Volume { tiers } => volume(tiers, billable)?,
            PriceModel::Package { size, unit_amount } => {
                let packages = billable.div_ceil(*size);
                let unit_amount = Decimal::from(*unit_amount);
                let amount = unit_amount
                    .checked_mul(Decimal::from(packages))
                    .ok_or(RatingError::TooLarge)?;
                vec![RatedTier {
                    up_to: None,
                    units: billable,
                    unit_amount,
                    packages: Some(packages),
                    flat_amount: 0,
                    amount,
                }]
            }
        };
        let exact = tiers
            .iter()
            .try_fold(Decimal::ZERO, |sum, tier| sum.checked_add(tier.amount))
            .ok_or(RatingError::TooLarge)?;
        let rounded = exact.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
        let amount = i64::try_from(rounded)
            .ok()
            .filter(|amount| *amount <= MAX_AMOUNT)
            .ok_or(RatingError::TooLarge)?;
        Ok(Rating {
            quantity,
            included,
            tiers,
            exact,
            amount,
        })
    }
}

/// Each tier prices the billable units that fall in it; a tier no unit reaches is not listed.
/// Units beyond the last bounded tier of a price that skipped validation are not priced.
fn graduated(tiers: &[Tier], billable: u64) -> Result<Vec<RatedTier>, RatingError> {
    let mut rated = Vec::new();
    let mut below = 0u64;
    for tier in tiers {
        if billable <= below {
            break;
        }
        let top = tier.up_to.map_or(billable, |up_to| up_to.min(billable));
        rated.push(tier_charge(
            tier.up_to,
            top - below,
            tier.unit_amount,
            tier.flat_amount,
        )?);
        below = top;
    }
    Ok(rated)
}

/// The tier the billable total falls in prices every unit; no usage costs nothing.
fn volume(tiers: &[Tier], billable: u64) -> Result<Vec<RatedTier>, RatingError> {
    if billable == 0 {
        return Ok(Vec::new());
    }
    let tier = tiers
        .iter()
        .find(|tier| tier.up_to.is_none_or(|up_to| billable <= up_to))
        .ok_or(RatingError::NoTier)?;
    Ok(vec![tier_charge(
        tier.up_to,
        billable,
        tier.unit_amount,
        tier.flat_amount,
    )?])
}

fn tier_charge(
    up_to: Option<u64>,
    units: u64,
    unit_amount: Decimal,
    flat_amount: i64,
) -> Result<RatedTier, RatingError> {
    let amount = unit_amount
        .checked_mul(Decimal::from(units))
        .and_then(|amount| amount.checked_add(Decimal::from(flat_amount)))
        .ok_or(RatingError::TooLarge)?;
    Ok(RatedTier {
        up_to,
        units,
        unit_amount,
        packages: None,
        flat_amount,
        amount,
    })
}

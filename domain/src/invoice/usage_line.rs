//! Usage lines (SPEC 11.1): a priced feature's usage in a closed period, rated once per line, and
//! the adjustment for usage that arrived after its period was invoiced. A line's amount is the
//! rating of the period's usage so far less what earlier lines of that period charged, so a
//! period is never billed twice whatever order its records arrive in.

use serde::{Deserialize, Serialize};

use super::line::{InvoiceLine, LineKind};
use crate::error::DomainError;
use crate::money::{Currency, Money};
use crate::period::BillingPeriod;
use crate::pricing::{Rating, UsagePrice};
use crate::values::FeatureKey;

/// How a usage line was rated: kept on the line, so the invoice explains itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageDetail {
    pub feature: FeatureKey,
    /// The period the usage belongs to.
    pub period: BillingPeriod,
    /// The period's usage billed up to and including this line.
    pub quantity: u64,
    /// Units of the same period that earlier lines billed (0 on a `usage` line).
    pub previously_billed: u64,
    /// What those earlier lines charged, in minor units.
    pub previously_charged: i64,
    /// The rating of `quantity`: the free units subtracted and the tiers crossed.
    pub rating: Rating,
}

impl InvoiceLine {
    /// The line that bills `feature`'s usage in `period` under `price`, from the
    /// `previously_billed` units earlier lines covered up to `quantity`. A first billing is a
    /// `usage` line; a later one a `usage_adjustment`. When more usage costs less (a volume
    /// price crossing into a cheaper tier) the adjustment is 0: an issued invoice is never
    /// lowered by a late record.
    pub fn usage(
        feature: &FeatureKey,
        period: BillingPeriod,
        price: &UsagePrice,
        previously_billed: u64,
        quantity: u64,
        currency: &Currency,
    ) -> Result<Self, DomainError> {
        let rate = |units| {
            price
                .rate(units)
                .map_err(|error| DomainError::invalid("usage", error.to_string()))
        };
        let rating = rate(quantity)?;
        let previously_charged = rate(previously_billed)?.amount;
        let amount = Money::new(
            (rating.amount - previously_charged).max(0),
            currency.clone(),
        );
        let (kind, description) = if previously_billed == 0 {
            (
                LineKind::Usage,
                usage_description(feature, &period, &rating),
            )
        } else {
            let late = quantity.saturating_sub(previously_billed);
            let description = format!(
                "{feature}: {late} units recorded late for {}, billed {previously_billed}, now {quantity}",
                span(&period)
            );
            (LineKind::UsageAdjustment, description)
        };
        let mut line = InvoiceLine::new(description, kind, 1, amount)?;
        line.usage = Some(UsageDetail {
            feature: feature.clone(),
            period,
            quantity,
            previously_billed,
            previously_charged,
            rating,
        });
        Ok(line)
    }
}

/// `api_calls: 150000 units, 2026-01-01 – 2026-02-01 (50000 included; 25000 × 0.05; …)`.
fn usage_description(feature: &FeatureKey, period: &BillingPeriod, rating: &Rating) -> String {
    let mut parts = Vec::new();
    if rating.included > 0 {
        parts.push(format!("{} included", rating.included));
    }
    for tier in &rating.tiers {
        let mut part = match tier.packages {
            Some(packages) => format!("{packages} packages × {}", tier.unit_amount),
            None => format!("{} × {}", tier.units, tier.unit_amount.normalize()),
        };
        if tier.flat_amount > 0 {
            part.push_str(&format!(" + {} flat", tier.flat_amount));
        }
        parts.push(part);
    }
    let detail = if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join("; "))
    };
    format!(
        "{feature}: {} units, {}{detail}",
        rating.quantity,
        span(period)
    )
}

fn span(period: &BillingPeriod) -> String {
    format!(
        "{} – {}",
        period.start.format("%Y-%m-%d"),
        period.end.format("%Y-%m-%d")
    )
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use rust_decimal::Decimal;

    use super::*;
    use crate::pricing::{PriceModel, Tier};

    fn january() -> BillingPeriod {
        BillingPeriod {
            start: chrono::Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            end: chrono::Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).unwrap(),
        }
    }

    fn graduated() -> UsagePrice {
        UsagePrice {
            included: 50_000,
            model: PriceModel::Graduated {
                tiers: vec![
                    Tier {
                        up_to: Some(25_000),
                        unit_amount: Decimal::new(5, 2),
                        flat_amount: 0,
                    },
                    Tier {
                        up_to: None,
                        unit_amount: Decimal::new(3, 2),
                        flat_amount: 0,
                    },
                ],
            },
        }
    }

    fn usd() -> Currency {
        Currency::parse("usd").unwrap()
    }

    fn api_calls() -> FeatureKey {
        FeatureKey::parse("api_calls").unwrap()
    }

    #[test]
    fn a_usage_line_carries_its_rating_and_names_the_tiers() {
        let line =
            InvoiceLine::usage(&api_calls(), january(), &graduated(), 0, 150_000, &usd()).unwrap();
        // 25,000 × 0.05 + 75,000 × 0.03 = 1,250 + 2,250 minor units.
        assert_eq!(line.amount.amount, 3_500);
        assert_eq!((line.kind, line.quantity), (LineKind::Usage, 1));
        assert_eq!(
            line.description,
            "api_calls: 150000 units, 2026-01-01 – 2026-02-01 (50000 included; 25000 × 0.05; 75000 × 0.03)"
        );
        let detail = line.usage.unwrap();
        assert_eq!((detail.quantity, detail.previously_billed), (150_000, 0));
        assert_eq!(detail.rating.tiers.len(), 2);
    }

    #[test]
    fn an_adjustment_charges_the_difference_of_two_ratings() {
        let line = InvoiceLine::usage(
            &api_calls(),
            january(),
            &graduated(),
            70_000,
            80_000,
            &usd(),
        )
        .unwrap();
        // 70,000: 20,000 × 0.05 = 1,000. 80,000: 25,000 × 0.05 + 5,000 × 0.03 = 1,400.
        assert_eq!(line.kind, LineKind::UsageAdjustment);
        assert_eq!(line.amount.amount, 400);
        assert_eq!(line.usage.unwrap().previously_charged, 1_000);
    }

    #[test]
    fn a_late_record_never_lowers_what_was_billed() {
        let volume = UsagePrice {
            included: 0,
            model: PriceModel::Volume {
                tiers: vec![
                    Tier {
                        up_to: Some(100),
                        unit_amount: Decimal::new(10, 0),
                        flat_amount: 0,
                    },
                    Tier {
                        up_to: None,
                        unit_amount: Decimal::new(1, 0),
                        flat_amount: 0,
                    },
                ],
            },
        };
        let line = InvoiceLine::usage(&api_calls(), january(), &volume, 100, 101, &usd()).unwrap();
        assert_eq!(
            line.amount.amount, 0,
            "1,000 billed; 101 units now rate 101"
        );
    }

    #[test]
    fn usage_lines_survive_serialisation_and_other_lines_do_not_grow_a_usage_field() {
        let line =
            InvoiceLine::usage(&api_calls(), january(), &graduated(), 0, 60_000, &usd()).unwrap();
        let json = serde_json::to_value(&line).unwrap();
        assert_eq!(serde_json::from_value::<InvoiceLine>(json).unwrap(), line);
        let base = InvoiceLine::new("Pro", LineKind::Base, 1, Money::new(4900, usd())).unwrap();
        let json = serde_json::to_value(&base).unwrap();
        assert!(json.get("usage").is_none(), "{json}");
    }
}

use proptest::prelude::*;
use rust_decimal::Decimal;

use super::*;

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn tier(up_to: Option<u64>, unit: &str, flat: i64) -> Tier {
    Tier {
        up_to,
        unit_amount: dec(unit),
        flat_amount: flat,
    }
}

/// SPEC 11.1's example: 100,000 free, then 0.05 up to 1,000,000, then 0.02.
fn spec_tiers() -> Vec<Tier> {
    vec![tier(Some(1_000_000), "0.05", 0), tier(None, "0.02", 0)]
}

fn price(included: u64, model: PriceModel) -> UsagePrice {
    UsagePrice { included, model }
}

#[test]
fn graduated_prices_each_tier_and_lists_the_tiers_crossed() {
    let rating = price(
        100_000,
        PriceModel::Graduated {
            tiers: spec_tiers(),
        },
    )
    .rate(1_150_000)
    .unwrap();
    // 1,050,000 billable: 1,000,000 at 0.05 and 50,000 at 0.02.
    assert_eq!(rating.included, 100_000);
    let units: Vec<u64> = rating.tiers.iter().map(|t| t.units).collect();
    assert_eq!(units, [1_000_000, 50_000]);
    assert_eq!(rating.exact, dec("51000"));
    assert_eq!(rating.amount, 51_000);
}

#[test]
fn volume_prices_every_unit_at_the_tier_the_total_falls_in() {
    let volume = price(
        0,
        PriceModel::Volume {
            tiers: spec_tiers(),
        },
    );
    assert_eq!(volume.rate(1_000_000).unwrap().amount, 50_000);
    let above = volume.rate(1_000_001).unwrap();
    assert_eq!(above.tiers.len(), 1);
    assert_eq!(above.tiers[0].unit_amount, dec("0.02"));
    assert_eq!(above.amount, 20_000);
    assert_eq!(volume.rate(0).unwrap().amount, 0);
}

#[test]
fn package_pricing_charges_each_started_package() {
    let package = price(
        0,
        PriceModel::Package {
            size: 1000,
            unit_amount: 100,
        },
    );
    assert_eq!(package.rate(1).unwrap().amount, 100);
    assert_eq!(package.rate(1000).unwrap().amount, 100);
    let rating = package.rate(1001).unwrap();
    assert_eq!((rating.tiers[0].packages, rating.amount), (Some(2), 200));
    assert_eq!(package.rate(0).unwrap().amount, 0);
}

#[test]
fn rounding_is_half_up_once_per_line() {
    let per_unit = |unit: &str| {
        price(
            0,
            PriceModel::PerUnit {
                unit_amount: dec(unit),
            },
        )
    };
    // 0.5 of a minor unit rounds up; just below it rounds down.
    assert_eq!(per_unit("0.005").rate(100).unwrap().amount, 1);
    assert_eq!(per_unit("0.0049").rate(100).unwrap().amount, 0);
    // Rounded once for the line, not per unit: 3 × 0.4 = 1.2 → 1, not 3 × 0 = 0.
    assert_eq!(per_unit("0.4").rate(3).unwrap().amount, 1);
}

#[test]
fn included_units_are_free_and_subtracted_once() {
    let graduated = price(
        100,
        PriceModel::Graduated {
            tiers: spec_tiers(),
        },
    );
    assert_eq!(graduated.rate(100).unwrap().amount, 0);
    assert_eq!(graduated.rate(60).unwrap().included, 60);
    assert_eq!(graduated.rate(300).unwrap().exact, dec("10"));
}

#[test]
fn an_amount_too_large_is_an_error_not_a_panic() {
    let dear = price(
        0,
        PriceModel::PerUnit {
            unit_amount: Decimal::from(crate::MAX_AMOUNT),
        },
    );
    assert_eq!(dear.rate(u64::MAX), Err(RatingError::TooLarge));
    let packages = price(
        0,
        PriceModel::Package {
            size: 1,
            unit_amount: crate::MAX_AMOUNT,
        },
    );
    assert_eq!(packages.rate(u64::MAX), Err(RatingError::TooLarge));
}

/// Tiers with increasing bounds, sub-cent unit amounts and small flat amounts.
fn arbitrary_tiers() -> impl Strategy<Value = Vec<Tier>> {
    prop::collection::vec((1u64..10_000, 0u32..100_000, 0i64..500), 1..5).prop_map(|raw| {
        let mut bound = 0;
        let last = raw.len() - 1;
        raw.into_iter()
            .enumerate()
            .map(|(index, (step, unit, flat))| {
                bound += step;
                let up_to = (index != last).then_some(bound);
                Tier {
                    up_to,
                    unit_amount: Decimal::new(i64::from(unit), 4),
                    flat_amount: flat,
                }
            })
            .collect()
    })
}

proptest! {
    #[test]
    fn graduated_equals_the_sum_of_its_tiers(tiers in arbitrary_tiers(), quantity in 0u64..100_000) {
        let rating = price(0, PriceModel::Graduated { tiers: tiers.clone() }).rate(quantity).unwrap();
        // By hand: each tier's share of the units, at its price, plus its flat amount if used.
        let mut expected = Decimal::ZERO;
        let mut below = 0;
        for tier in &tiers {
            let top = tier.up_to.unwrap_or(u64::MAX).min(quantity);
            if top > below {
                expected += tier.unit_amount * Decimal::from(top - below) + Decimal::from(tier.flat_amount);
                below = top;
            }
        }
        prop_assert_eq!(rating.exact, expected);
        prop_assert_eq!(rating.tiers.iter().map(|t| t.units).sum::<u64>(), quantity);
    }

    #[test]
    fn volume_uses_the_one_tier_the_total_falls_in(tiers in arbitrary_tiers(), quantity in 1u64..100_000) {
        let rating = price(0, PriceModel::Volume { tiers: tiers.clone() }).rate(quantity).unwrap();
        let tier = tiers.iter().find(|t| t.up_to.is_none_or(|up_to| quantity <= up_to)).unwrap();
        prop_assert_eq!(rating.tiers.len(), 1);
        prop_assert_eq!(
            rating.exact,
            tier.unit_amount * Decimal::from(quantity) + Decimal::from(tier.flat_amount)
        );
    }

    #[test]
    fn the_cost_never_decreases_as_the_quantity_grows(
        tiers in arbitrary_tiers(),
        included in 0u64..1000,
        quantity in 0u64..100_000,
        more in 1u64..10_000,
        size in 1u64..5000,
        package_amount in 0i64..10_000,
    ) {
        // Volume pricing may drop at a tier boundary (as in Stripe): it is left out on purpose.
        let unit_amount = tiers[0].unit_amount;
        for model in [
            PriceModel::PerUnit { unit_amount },
            PriceModel::Graduated { tiers },
            PriceModel::Package { size, unit_amount: package_amount },
        ] {
            let price = price(included, model);
            let less = price.rate(quantity).unwrap();
            let greater = price.rate(quantity + more).unwrap();
            prop_assert!(greater.exact >= less.exact && greater.amount >= less.amount);
        }
    }

    #[test]
    fn packages_round_up_per_started_package(size in 1u64..5000, quantity in 0u64..1_000_000, amount in 0i64..10_000) {
        let rating = price(0, PriceModel::Package { size, unit_amount: amount }).rate(quantity).unwrap();
        let packages = quantity / size + u64::from(quantity % size != 0);
        prop_assert_eq!(rating.amount, amount * packages as i64);
    }

    #[test]
    fn included_is_subtracted_once(tiers in arbitrary_tiers(), included in 0u64..10_000, quantity in 0u64..100_000) {
        let with = price(included, PriceModel::Graduated { tiers: tiers.clone() }).rate(quantity).unwrap();
        let without = price(0, PriceModel::Graduated { tiers }).rate(quantity.saturating_sub(included)).unwrap();
        prop_assert_eq!(with.exact, without.exact);
        prop_assert_eq!(with.included, included.min(quantity));
    }

    #[test]
    fn extreme_quantities_never_panic(tiers in arbitrary_tiers(), quantity in any::<u64>(), included in any::<u64>()) {
        for model in [PriceModel::Graduated { tiers: tiers.clone() }, PriceModel::Volume { tiers }] {
            match price(included, model).rate(quantity) {
                Ok(rating) => prop_assert!(rating.amount >= 0 && rating.amount <= crate::MAX_AMOUNT),
                Err(error) => prop_assert_eq!(error, RatingError::TooLarge),
            }
        }
    }
}

mod validation {
    use std::collections::BTreeMap;

    use super::*;
    use crate::catalog::tests::definition;
    use crate::{FeatureKey, PlanCatalog, PlanId};

    fn priced(feature: &str, price: UsagePriceDefinition) -> Result<PlanCatalog, String> {
        let mut plan = definition("pro", 1);
        plan.usage_prices = BTreeMap::from([(feature.to_owned(), price)]);
        PlanCatalog::from_definitions(vec![plan]).map_err(|e| format!("{} {}", e.plan, e.field))
    }

    fn graduated(tiers: Vec<TierDefinition>) -> UsagePriceDefinition {
        UsagePriceDefinition {
            model: Some("graduated".into()),
            tiers: Some(tiers),
            ..UsagePriceDefinition::default()
        }
    }

    fn tier_to(up_to: UpTo, unit: &str) -> TierDefinition {
        TierDefinition {
            up_to: Some(up_to),
            unit_amount_decimal: Some(dec(unit)),
            flat_amount: None,
        }
    }

    const INF: UpTo = UpTo::Inf(super::super::definition::InfMarker::Inf);

    #[test]
    fn a_valid_price_is_kept_on_its_plan() {
        let catalog = priced(
            "api_calls",
            UsagePriceDefinition {
                included: Some(100),
                ..graduated(vec![
                    tier_to(UpTo::Units(1000), "0.05"),
                    tier_to(INF, "0.02"),
                ])
            },
        )
        .unwrap();
        let plan = catalog.get(&PlanId::parse("pro").unwrap()).unwrap();
        let price = &plan.usage_prices[&FeatureKey::parse("api_calls").unwrap()];
        assert_eq!(price.included, 100);
        assert_eq!(price.model.name(), "graduated");
    }

    #[test]
    fn each_mistake_names_the_plan_the_feature_and_the_field() {
        let per_unit = |unit: Option<&str>| UsagePriceDefinition {
            model: Some("per_unit".into()),
            unit_amount_decimal: unit.map(dec),
            ..UsagePriceDefinition::default()
        };
        let cases: Vec<(&str, UsagePriceDefinition, &str)> = vec![
            (
                "api_calls",
                UsagePriceDefinition::default(),
                "usage_prices.api_calls.model",
            ),
            (
                "api_calls",
                UsagePriceDefinition {
                    model: Some("stairs".into()),
                    ..UsagePriceDefinition::default()
                },
                "usage_prices.api_calls.model",
            ),
            (
                "api_calls",
                per_unit(None),
                "usage_prices.api_calls.unit_amount_decimal",
            ),
            (
                "api_calls",
                per_unit(Some("-0.01")),
                "usage_prices.api_calls.unit_amount_decimal",
            ),
            (
                "api_calls",
                UsagePriceDefinition {
                    package_size: Some(10),
                    ..per_unit(Some("1"))
                },
                "usage_prices.api_calls.package_size",
            ),
            (
                "api_calls",
                graduated(vec![]),
                "usage_prices.api_calls.tiers",
            ),
            (
                "api_calls",
                graduated(vec![tier_to(UpTo::Units(10), "1")]),
                "usage_prices.api_calls.tiers[1].up_to",
            ),
            (
                "api_calls",
                graduated(vec![
                    tier_to(UpTo::Units(10), "1"),
                    tier_to(UpTo::Units(10), "1"),
                    tier_to(INF, "1"),
                ]),
                "usage_prices.api_calls.tiers[2].up_to",
            ),
            (
                "api_calls",
                graduated(vec![tier_to(INF, "1"), tier_to(INF, "1")]),
                "usage_prices.api_calls.tiers[1].up_to",
            ),
            (
                "api_calls",
                UsagePriceDefinition {
                    model: Some("package".into()),
                    package_size: Some(0),
                    unit_amount: Some(100),
                    ..UsagePriceDefinition::default()
                },
                "usage_prices.api_calls.package_size",
            ),
            (
                "api_calls",
                UsagePriceDefinition {
                    model: Some("package".into()),
                    package_size: Some(1000),
                    ..UsagePriceDefinition::default()
                },
                "usage_prices.api_calls.unit_amount",
            ),
            // The plan grants `projects` and `api_calls` only.
            ("storage_gb", per_unit(Some("1")), "usage_prices.storage_gb"),
        ];
        for (feature, price, field) in cases {
            let error = priced(feature, price).unwrap_err();
            assert_eq!(error, format!("pro {field}"));
        }
    }
}

/// The worked examples of docs/billing.md ("Usage prices"), 150,000 units each.
#[test]
fn the_documented_examples_rate_as_documented() {
    let at = |price: UsagePrice, quantity| price.rate(quantity).unwrap().amount;
    let per_unit = price(
        5000,
        PriceModel::PerUnit {
            unit_amount: dec("0.1"),
        },
    );
    assert_eq!(at(per_unit, 150_000), 14_500);
    let graduated = price(
        50_000,
        PriceModel::Graduated {
            tiers: vec![tier(Some(25_000), "0.05", 0), tier(None, "0.03", 0)],
        },
    );
    assert_eq!(at(graduated.clone(), 150_000), 3_500);
    assert_eq!(at(graduated, 100_000), 2_000);
    let volume = price(
        0,
        PriceModel::Volume {
            tiers: vec![tier(Some(100_000), "0.05", 0), tier(None, "0.03", 500)],
        },
    );
    assert_eq!(at(volume.clone(), 150_000), 5_000);
    assert_eq!(at(volume, 100_000), 5_000);
    let package = price(
        0,
        PriceModel::Package {
            size: 1000,
            unit_amount: 100,
        },
    );
    assert_eq!(at(package.clone(), 150_000), 15_000);
    assert_eq!(at(package, 150_001), 15_100);
}

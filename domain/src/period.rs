//! Billing periods and proration. Proration follows SPEC 3.2:
//! `amount × remaining_seconds / period_seconds`, rounded half-up (away from zero) to the minor
//! unit. Charges for adjacent slices of one period are computed by difference of cumulative
//! roundings, so the slices always add up to exactly the whole.

use chrono::{DateTime, Months, Utc};
use serde::{Deserialize, Serialize};

use crate::error::ValidationError;
use crate::money::{Money, MoneyError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BillingInterval {
    Month,
    Year,
}

impl BillingInterval {
    fn months(self) -> Months {
        match self {
            BillingInterval::Month => Months::new(1),
            BillingInterval::Year => Months::new(12),
        }
    }
}

/// A half-open billing period `[start, end)` with `start < end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingPeriod {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl BillingPeriod {
    /// The period of one `interval` beginning at `start`. Month ends follow the calendar
    /// (Jan 31 + 1 month = Feb 28/29), as Stripe does.
    pub fn starting(
        start: DateTime<Utc>,
        interval: BillingInterval,
    ) -> Result<Self, ValidationError> {
        let end = start
            .checked_add_months(interval.months())
            .ok_or_else(|| ValidationError::new("period", "period end is out of range"))?;
        Ok(Self { start, end })
    }

    /// The period that follows this one.
    pub fn next(&self, interval: BillingInterval) -> Result<Self, ValidationError> {
        Self::starting(self.end, interval)
    }

    pub fn seconds(&self) -> i64 {
        (self.end - self.start).num_seconds()
    }

    /// Seconds from `at` to the period end, clamped to the period.
    pub fn remaining_seconds(&self, at: DateTime<Utc>) -> i64 {
        (self.end - at).num_seconds().clamp(0, self.seconds())
    }

    /// The share of `amount` for the rest of the period from `at` (SPEC's proration formula).
    pub fn prorate_remaining(
        &self,
        amount: &Money,
        at: DateTime<Utc>,
    ) -> Result<Money, MoneyError> {
        prorate(amount, self.remaining_seconds(at), self.seconds())
    }

    /// The share of `amount` for the slice `[from, to)` of this period. Slices that tile the
    /// period add up to exactly `amount`.
    pub fn prorate_between(
        &self,
        amount: &Money,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Money, MoneyError> {
        let until_end_from_start = self.prorate_remaining(amount, from)?;
        let until_end_from_end = self.prorate_remaining(amount, to.max(from))?;
        until_end_from_start.checked_sub(&until_end_from_end)
    }
}

/// `amount × part / whole`, rounded half away from zero. `part` is clamped to `0..=whole`;
/// a non-positive `whole` prorates to zero.
pub fn prorate(amount: &Money, part: i64, whole: i64) -> Result<Money, MoneyError> {
    if whole <= 0 {
        return Ok(Money::zero(amount.currency.clone()));
    }
    let part = i128::from(part.clamp(0, whole));
    let whole = i128::from(whole);
    let numerator = i128::from(amount.amount) * part;
    let (quotient, remainder) = (numerator.abs() / whole, numerator.abs() % whole);
    let magnitude = if 2 * remainder >= whole {
        quotient + 1
    } else {
        quotient
    };
    let rounded = if numerator < 0 { -magnitude } else { magnitude };
    let amount_out = i64::try_from(rounded).map_err(|_| MoneyError::Overflow)?;
    Ok(Money::new(amount_out, amount.currency.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use chrono::Duration;
    use proptest::prelude::*;

    fn usd(amount: i64) -> Money {
        Money::new(amount, Currency::parse("usd").unwrap())
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn monthly_period_follows_the_calendar() {
        let p = BillingPeriod::starting(t("2026-01-31T10:00:00Z"), BillingInterval::Month).unwrap();
        assert_eq!(p.end, t("2026-02-28T10:00:00Z"));
        let y = BillingPeriod::starting(t("2026-03-01T00:00:00Z"), BillingInterval::Year).unwrap();
        assert_eq!(y.end, t("2027-03-01T00:00:00Z"));
    }

    #[test]
    fn proration_is_exact_on_period_boundaries() {
        let p = BillingPeriod::starting(t("2026-04-01T00:00:00Z"), BillingInterval::Month).unwrap();
        assert_eq!(p.prorate_remaining(&usd(4900), p.start).unwrap(), usd(4900));
        assert_eq!(p.prorate_remaining(&usd(4900), p.end).unwrap(), usd(0));
        assert_eq!(
            p.prorate_remaining(&usd(4900), p.end + Duration::days(3))
                .unwrap(),
            usd(0)
        );
        assert_eq!(
            p.prorate_remaining(&usd(4900), p.start - Duration::days(3))
                .unwrap(),
            usd(4900)
        );
    }

    #[test]
    fn proration_rounds_half_up_at_the_boundary() {
        assert_eq!(prorate(&usd(1), 1, 2).unwrap(), usd(1)); // 0.5 -> 1
        assert_eq!(prorate(&usd(3), 1, 2).unwrap(), usd(2)); // 1.5 -> 2
        assert_eq!(prorate(&usd(5), 1, 4).unwrap(), usd(1)); // 1.25 -> 1
        assert_eq!(prorate(&usd(7), 1, 4).unwrap(), usd(2)); // 1.75 -> 2
        assert_eq!(prorate(&usd(-3), 1, 2).unwrap(), usd(-2)); // credits mirror charges
    }

    #[test]
    fn half_a_thirty_day_month_of_pro_is_half_the_price() {
        let p = BillingPeriod::starting(t("2026-04-01T00:00:00Z"), BillingInterval::Month).unwrap();
        let mid = p.start + Duration::days(15);
        assert_eq!(p.prorate_remaining(&usd(3000), mid).unwrap(), usd(1500));
    }

    proptest! {
        #[test]
        fn rounding_is_half_up(amount in 0i64..1_000_000_000, part in 0i64..10_000_000, extra in 1i64..10_000_000) {
            let whole = part + extra;
            let exact = amount as f64 * part as f64 / whole as f64;
            let got = prorate(&usd(amount), part, whole).unwrap().amount;
            // Integer check of |got - exact| <= 1/2, with ties going up.
            let twice_error = 2 * (got as i128 * whole as i128 - amount as i128 * part as i128);
            prop_assert!(twice_error <= whole as i128, "{got} vs {exact}");
            prop_assert!(twice_error > -(whole as i128), "{got} vs {exact}: a tie rounded down");
        }

        #[test]
        fn a_prorated_part_never_exceeds_the_whole(amount in any::<i64>(), part in any::<i64>(), whole in any::<i64>()) {
            let got = prorate(&usd(amount), part, whole).unwrap().amount;
            prop_assert!(got.unsigned_abs() <= amount.unsigned_abs());
            prop_assert_eq!(got.signum() * amount.signum() >= 0, true);
        }

        #[test]
        fn slices_of_a_period_add_up_to_exactly_the_whole(
            amount in 0i64..10_000_000_000,
            mut cuts in proptest::collection::vec(0i64..2_678_400, 0..8),
        ) {
            let p = BillingPeriod::starting(t("2026-01-01T00:00:00Z"), BillingInterval::Month).unwrap();
            cuts.sort_unstable();
            let mut bounds = vec![p.start];
            bounds.extend(cuts.iter().map(|s| p.start + Duration::seconds(*s)));
            bounds.push(p.end);
            let mut total = 0i64;
            for w in bounds.windows(2) {
                let slice = p.prorate_between(&usd(amount), w[0], w[1]).unwrap().amount;
                prop_assert!(slice >= 0, "a slice was negative");
                total += slice;
            }
            prop_assert_eq!(total, amount);
        }
    }
}

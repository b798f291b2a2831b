//! What a discount takes off an invoice (SPEC 11.3): one `discount` line, computed from the
//! invoice's other lines, never more than they add up to, so no invoice goes below zero.

use serde::{Deserialize, Serialize};

use super::{CouponId, Reduction};
use crate::error::DomainError;
use crate::invoice::InvoiceLine;
use crate::money::Money;
use crate::period::prorate;

/// The discount an invoice carries: the coupon it came from and what it takes off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discount {
    pub coupon_id: CouponId,
    pub reduction: Reduction,
}

impl Discount {
    /// How much comes off an invoice whose other lines add up to `subtotal`: the percentage,
    /// rounded half up once, or the amount off, and never more than `subtotal`. Zero for an
    /// amount in another currency (redemption refuses that pairing; a plan change cannot make
    /// one, since plans change within a currency).
    pub fn amount_off(&self, subtotal: &Money) -> Result<Money, DomainError> {
        if subtotal.amount <= 0 {
            return Ok(Money::zero(subtotal.currency.clone()));
        }
        let off = match &self.reduction {
            Reduction::PercentOff(points) => prorate(subtotal, i64::from(points.get()), 10_000)?,
            Reduction::AmountOff(amount) if amount.currency == subtotal.currency => {
                Money::new(amount.amount.min(subtotal.amount), amount.currency.clone())
            }
            Reduction::AmountOff(_) => Money::zero(subtotal.currency.clone()),
        };
        Ok(off)
    }

    /// The `discount` line for an invoice of `lines`, or `None` when it takes nothing off.
    pub fn line_for(&self, lines: &[InvoiceLine]) -> Result<Option<InvoiceLine>, DomainError> {
        let Some(first) = lines.first() else {
            return Ok(None);
        };
        let subtotal = Money::sum(
            &first.amount.currency,
            lines.iter().map(|line| &line.amount),
        )?;
        let off = self.amount_off(&subtotal)?;
        if off.is_zero() {
            return Ok(None);
        }
        InvoiceLine::discount(self.description(), off).map(Some)
    }

    fn description(&self) -> String {
        match &self.reduction {
            Reduction::PercentOff(points) => {
                let percent = f64::from(points.get()) / 100.0;
                format!("Coupon {}: {percent}% off", self.coupon_id)
            }
            Reduction::AmountOff(amount) => format!("Coupon {}: {amount} off", self.coupon_id),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::coupon::BasisPoints;
    use crate::invoice::LineKind;
    use crate::testing::usd;

    fn percent(points: u32) -> Discount {
        Discount {
            coupon_id: CouponId::parse("LAUNCH").unwrap(),
            reduction: Reduction::PercentOff(BasisPoints::parse(points).unwrap()),
        }
    }

    fn amount(off: i64) -> Discount {
        Discount {
            coupon_id: CouponId::parse("TENOFF").unwrap(),
            reduction: Reduction::amount_off(usd(off)).unwrap(),
        }
    }

    fn lines(amounts: &[i64]) -> Vec<InvoiceLine> {
        amounts
            .iter()
            .map(|amount| InvoiceLine::new("x", LineKind::Base, 1, usd(*amount)).unwrap())
            .collect()
    }

    #[test]
    fn a_percentage_is_rounded_half_up_once_over_the_whole_invoice() {
        // 12.5 % of 1900 + 500 = 300; of 1 + 2 = 0.375, rounded to 0: no line at all.
        let line = percent(1250)
            .line_for(&lines(&[1900, 500]))
            .unwrap()
            .unwrap();
        assert_eq!(line.amount, usd(-300));
        assert_eq!(line.kind, LineKind::Discount);
        assert_eq!(line.description, "Coupon LAUNCH: 12.5% off");
        assert_eq!(percent(1250).line_for(&lines(&[1, 2])).unwrap(), None);
        // 25 % of 2 = 0.5, rounded up to 1.
        let half = percent(2500).line_for(&lines(&[2])).unwrap().unwrap();
        assert_eq!(half.amount, usd(-1));
    }

    #[test]
    fn an_amount_off_stops_at_the_invoice_total() {
        let line = amount(1000).line_for(&lines(&[400, 300])).unwrap().unwrap();
        assert_eq!(line.amount, usd(-700));
        let line = amount(1000).line_for(&lines(&[4900])).unwrap().unwrap();
        assert_eq!(line.amount, usd(-1000));
    }

    #[test]
    fn an_amount_in_another_currency_takes_nothing_off() {
        let eur = Money::new(500, crate::Currency::parse("eur").unwrap());
        let discount = Discount {
            coupon_id: CouponId::parse("EURO").unwrap(),
            reduction: Reduction::amount_off(eur).unwrap(),
        };
        assert_eq!(discount.line_for(&lines(&[1900])).unwrap(), None);
    }

    proptest! {
        /// A discount never makes an invoice, or its own line, go the wrong way.
        #[test]
        fn a_discount_never_takes_an_invoice_below_zero(
            amounts in prop::collection::vec(0i64..=10_000_000, 1..6),
            points in 1u32..=10_000,
            off in 1i64..=100_000_000,
        ) {
            let lines = lines(&amounts);
            let subtotal: i64 = amounts.iter().sum();
            for discount in [percent(points), amount(off)] {
                match discount.line_for(&lines).unwrap() {
                    Some(line) => {
                        prop_assert!(line.amount.amount < 0);
                        prop_assert!(subtotal + line.amount.amount >= 0);
                        prop_assert_eq!(line.quantity, 1);
                        prop_assert_eq!(&line.unit_amount, &line.amount);
                    }
                    None => prop_assert!(
                        subtotal == 0 || discount.amount_off(&usd(subtotal)).unwrap().is_zero()
                    ),
                }
            }
        }
    }
}

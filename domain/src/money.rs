//! Money is an integer count of minor units plus a currency. Arithmetic is checked: it returns an
//! error on overflow or on mixed currencies, and never wraps or panics. Every amount a command
//! accepts is bounded by [`MAX_AMOUNT`] (SPEC 3).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;

/// A lower-case ISO 4217 alphabetic code such as `usd`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(String);

impl Currency {
    /// Accepts three ASCII letters in any case and stores them lower-case.
    pub fn parse(code: &str) -> Result<Self, ValidationError> {
        if code.len() == 3 && code.bytes().all(|b| b.is_ascii_alphabetic()) {
            Ok(Self(code.to_ascii_lowercase()))
        } else {
            Err(ValidationError::new(
                "currency",
                format!("`{code}` is not a three-letter ISO 4217 code"),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Currency {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Currency {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Currency> for String {
    fn from(value: Currency) -> Self {
        value.0
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("amount overflows the representable range")]
    Overflow,
    #[error("cannot combine {left} with {right}")]
    CurrencyMismatch { left: Currency, right: Currency },
}

/// The largest magnitude of an amount a command accepts, per invoice line and per invoice, and
/// of a payment, refund or amount due (SPEC 3): 10^15 minor units, ten trillion dollars. It keeps
/// every sum of a few amounts (a line times its quantity, an invoice's lines, what was paid and
/// refunded) far inside `i64`; read models that add up an unbounded number of them (an account's
/// balance over all its invoices) still sum in a wider type.
pub const MAX_AMOUNT: i64 = 1_000_000_000_000_000;

/// An amount in minor units (cents for usd) of one currency. May be negative (credits).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    pub amount: i64,
    pub currency: Currency,
}

impl Money {
    pub fn new(amount: i64, currency: Currency) -> Self {
        Self { amount, currency }
    }

    pub fn zero(currency: Currency) -> Self {
        Self::new(0, currency)
    }

    pub fn is_zero(&self) -> bool {
        self.amount == 0
    }

    pub fn is_negative(&self) -> bool {
        self.amount < 0
    }

    /// Refuses an amount beyond ±[`MAX_AMOUNT`] as an invalid `field`.
    pub fn check_bound(&self, field: &str) -> Result<(), ValidationError> {
        if self.amount.unsigned_abs() <= MAX_AMOUNT.unsigned_abs() {
            Ok(())
        } else {
            Err(ValidationError::new(
                field,
                format!(
                    "{} is beyond the limit of {MAX_AMOUNT} minor units",
                    self.amount
                ),
            ))
        }
    }

    pub fn checked_add(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let amount = self
            .amount
            .checked_add(other.amount)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, self.currency.clone()))
    }

    pub fn checked_sub(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let amount = self
            .amount
            .checked_sub(other.amount)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, self.currency.clone()))
    }

    pub fn checked_mul(&self, factor: i64) -> Result<Money, MoneyError> {
        let amount = self
            .amount
            .checked_mul(factor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, self.currency.clone()))
    }

    /// Sums amounts of one currency; an empty iterator sums to zero in `currency`.
    pub fn sum<'a>(
        currency: &Currency,
        items: impl IntoIterator<Item = &'a Money>,
    ) -> Result<Money, MoneyError> {
        items
            .into_iter()
            .try_fold(Money::zero(currency.clone()), |acc, m| acc.checked_add(m))
    }

    fn same_currency(&self, other: &Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch {
                left: self.currency.clone(),
                right: other.currency.clone(),
            })
        }
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn usd(amount: i64) -> Money {
        Money::new(amount, Currency::parse("usd").unwrap())
    }

    #[test]
    fn currency_is_normalised_to_lower_case() {
        assert_eq!(Currency::parse("USD").unwrap().as_str(), "usd");
    }

    #[test]
    fn currency_rejects_anything_but_three_letters() {
        for bad in ["", "us", "usdd", "us1", "€ur"] {
            assert!(Currency::parse(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn currency_deserialisation_validates() {
        assert!(serde_json::from_str::<Currency>("\"eur\"").is_ok());
        assert!(serde_json::from_str::<Currency>("\"euro\"").is_err());
    }

    #[test]
    fn mixing_currencies_is_refused() {
        let eur = Money::new(1, Currency::parse("eur").unwrap());
        assert!(matches!(
            usd(1).checked_add(&eur),
            Err(MoneyError::CurrencyMismatch { .. })
        ));
    }

    #[test]
    fn amounts_up_to_the_bound_are_accepted_either_way() {
        for amount in [0, 1, -1, MAX_AMOUNT, -MAX_AMOUNT] {
            assert_eq!(usd(amount).check_bound("amount"), Ok(()), "{amount}");
        }
    }

    #[test]
    fn amounts_beyond_the_bound_are_refused_with_their_field() {
        for amount in [MAX_AMOUNT + 1, -MAX_AMOUNT - 1, i64::MAX, i64::MIN] {
            let refused = usd(amount).check_bound("unit_amount").unwrap_err();
            assert_eq!(refused.field, "unit_amount", "{amount}");
        }
    }

    #[test]
    fn sum_of_nothing_is_zero() {
        assert_eq!(Money::sum(&usd(0).currency, []).unwrap(), usd(0));
    }

    proptest! {
        #[test]
        fn arithmetic_never_panics_and_matches_i128(a in any::<i64>(), b in any::<i64>()) {
            let exact_sum = a as i128 + b as i128;
            match usd(a).checked_add(&usd(b)) {
                Ok(m) => prop_assert_eq!(m.amount as i128, exact_sum),
                Err(e) => {
                    prop_assert_eq!(e, MoneyError::Overflow);
                    prop_assert!(exact_sum > i64::MAX as i128 || exact_sum < i64::MIN as i128);
                }
            }
            let exact_diff = a as i128 - b as i128;
            match usd(a).checked_sub(&usd(b)) {
                Ok(m) => prop_assert_eq!(m.amount as i128, exact_diff),
                Err(_) => prop_assert!(exact_diff > i64::MAX as i128 || exact_diff < i64::MIN as i128),
            }
            let exact_product = a as i128 * b as i128;
            match usd(a).checked_mul(b) {
                Ok(m) => prop_assert_eq!(m.amount as i128, exact_product),
                Err(_) => prop_assert!(exact_product > i64::MAX as i128 || exact_product < i64::MIN as i128),
            }
        }
    }
}

//! Invoice lines: what is charged, how many, at what unit price. The amount is always
//! `quantity × unit_amount`, computed with checked arithmetic.

use serde::{Deserialize, Serialize};

use crate::error::{DomainError, ValidationError};
use crate::money::{Money, MoneyError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    Base,
    Overage,
    Proration,
    Manual,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceLine {
    pub description: String,
    pub kind: LineKind,
    pub quantity: u32,
    pub unit_amount: Money,
    pub amount: Money,
}

impl InvoiceLine {
    /// A line of `quantity ≥ 1` at a non-negative `unit_amount`, with a non-empty description.
    pub fn new(
        description: impl Into<String>,
        kind: LineKind,
        quantity: u32,
        unit_amount: Money,
    ) -> Result<Self, DomainError> {
        let description = description.into();
        if description.trim().is_empty() || description.len() > 500 {
            return Err(ValidationError::new("description", "must be 1 to 500 characters").into());
        }
        if quantity == 0 {
            return Err(ValidationError::new("quantity", "must be at least 1").into());
        }
        if unit_amount.is_negative() {
            return Err(ValidationError::new("unit_amount", "must not be negative").into());
        }
        let amount = unit_amount
            .checked_mul(i64::from(quantity))
            .map_err(|_: MoneyError| MoneyError::Overflow)?;
        Ok(Self {
            description,
            kind,
            quantity,
            unit_amount,
            amount,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::usd;

    #[test]
    fn amount_is_quantity_times_unit() {
        let line = InvoiceLine::new("Seats", LineKind::Overage, 3, usd(500)).unwrap();
        assert_eq!(line.amount, usd(1500));
    }

    #[test]
    fn bad_lines_are_refused() {
        assert!(InvoiceLine::new("", LineKind::Manual, 1, usd(1)).is_err());
        assert!(InvoiceLine::new("x", LineKind::Manual, 0, usd(1)).is_err());
        assert!(InvoiceLine::new("x", LineKind::Manual, 1, usd(-1)).is_err());
        assert!(matches!(
            InvoiceLine::new("x", LineKind::Manual, u32::MAX, usd(i64::MAX)),
            Err(DomainError::Money(MoneyError::Overflow))
        ));
    }
}

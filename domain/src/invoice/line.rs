//! Invoice lines: what is charged, how many, at what unit price. The amount is always
//! `quantity × unit_amount`, computed with checked arithmetic, and within [`MAX_AMOUNT`].

use serde::{Deserialize, Serialize};

use super::usage_line::UsageDetail;
use crate::error::{DomainError, ValidationError};
use crate::money::{Money, MAX_AMOUNT};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    Base,
    Overage,
    Proration,
    Manual,
    /// A priced feature's usage in the period that closed, billed in arrears (SPEC 11.1).
    Usage,
    /// Usage recorded late for a period already invoiced, billed on the next invoice.
    UsageAdjustment,
    /// A coupon's reduction (SPEC 11.3): the one kind whose amount is negative.
    Discount,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceLine {
    pub description: String,
    pub kind: LineKind,
    pub quantity: u32,
    pub unit_amount: Money,
    pub amount: Money,
    /// How a `usage` or `usage_adjustment` line was rated; absent on every other kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<UsageDetail>,
}

impl InvoiceLine {
    /// A line of `quantity ≥ 1` at a non-negative `unit_amount`, with a non-empty description,
    /// whose amount is at most [`MAX_AMOUNT`].
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
        unit_amount.check_bound("unit_amount")?;
        let amount = match unit_amount.checked_mul(i64::from(quantity)) {
            Ok(amount) if amount.check_bound("amount").is_ok() => amount,
            _ => {
                let reason = format!(
                    "quantity × unit_amount is beyond the limit of {MAX_AMOUNT} minor units"
                );
                return Err(ValidationError::new("amount", reason).into());
            }
        };
        Ok(Self {
            description,
            kind,
            quantity,
            unit_amount,
            amount,
            usage: None,
        })
    }

    /// A `discount` line taking `off` (positive, within the bound) off the invoice: one unit of
    /// `-off`.
    pub fn discount(description: impl Into<String>, off: Money) -> Result<Self, DomainError> {
        if off.amount <= 0 {
            return Err(
                ValidationError::new("amount", "a discount must take something off").into(),
            );
        }
        let positive = Self::new(description, LineKind::Discount, 1, off)?;
        let negative = Money::new(-positive.amount.amount, positive.amount.currency.clone());
        Ok(Self {
            unit_amount: negative.clone(),
            amount: negative,
            ..positive
        })
    }

    /// The line as its constructor would build it from its own description, kind, quantity and
    /// unit amount: how deserialised lines are checked again.
    pub fn rebuilt(&self) -> Result<Self, DomainError> {
        match self.kind {
            LineKind::Discount if self.unit_amount.is_negative() => Self::discount(
                self.description.clone(),
                Money::new(-self.unit_amount.amount, self.unit_amount.currency.clone()),
            ),
            LineKind::Discount => Err(ValidationError::new(
                "unit_amount",
                "a discount line takes a negative amount off",
            )
            .into()),
            kind => Self::new(
                self.description.clone(),
                kind,
                self.quantity,
                self.unit_amount.clone(),
            ),
        }
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
    }

    #[test]
    fn a_line_is_bounded_by_its_unit_amount_and_its_amount() {
        assert!(InvoiceLine::new("x", LineKind::Manual, 1, usd(MAX_AMOUNT)).is_ok());
        assert!(InvoiceLine::new("x", LineKind::Manual, 1_000, usd(MAX_AMOUNT / 1_000)).is_ok());
        let refused_field =
            |quantity, unit| match InvoiceLine::new("x", LineKind::Manual, quantity, usd(unit)) {
                Err(DomainError::Invalid(invalid)) => invalid.field,
                other => panic!("{quantity} × {unit} gave {other:?}"),
            };
        assert_eq!(refused_field(1, MAX_AMOUNT + 1), "unit_amount");
        // The probe's amount: two of these overflowed an account's balance.
        assert_eq!(refused_field(1, 4_611_686_018_427_387_904), "unit_amount");
        assert_eq!(refused_field(2, MAX_AMOUNT / 2 + 1), "amount");
        assert_eq!(refused_field(u32::MAX, MAX_AMOUNT), "amount");
    }
}

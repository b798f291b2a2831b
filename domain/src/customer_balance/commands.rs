//! What can be asked of a customer balance, and the typed reasons it is credited: a business
//! decision is never keyed on the free-text `reason` of an adjustment.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{AccountId, Money, ValidationError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CustomerBalanceCommand {
    /// An admin's goodwill credit (positive) or correction (negative). A negative adjustment
    /// may not take the balance below zero.
    AdjustBalance {
        account_id: AccountId,
        amount: Money,
        reason: BalanceReason,
        adjustment_id: Uuid,
    },
    /// Credit owed to the customer by the system (a credit note, a downgrade taking effect now).
    CreditBalance {
        account_id: AccountId,
        amount: Money,
        source: CreditSource,
    },
    /// Pays what it can of an invoice from the balance: `min(balance, amount_due)`. Records
    /// nothing when the balance is zero, and nothing for an invoice it already paid from.
    ApplyBalanceToInvoice {
        account_id: AccountId,
        invoice_id: Uuid,
        amount_due: Money,
    },
}

/// Why the system credited the balance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CreditSource {
    /// A credit note whose outcome is `credit_balance` (SPEC 11.4).
    CreditNote {
        credit_note_id: Uuid,
        invoice_id: Uuid,
    },
    /// The unused part of the old plan, on a downgrade with `effective: "now"`; the event id of
    /// the plan change it comes from.
    PlanDowngrade {
        subscription_id: Uuid,
        plan_change_event: Uuid,
    },
}

/// The most characters an adjustment's reason may have.
pub const MAX_REASON_CHARS: usize = 500;

/// Why an admin adjusted a balance: 1 to 500 characters of free text, for people only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BalanceReason(String);

impl BalanceReason {
    /// Refuses a reason that is blank or longer than [`MAX_REASON_CHARS`] characters.
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        if text.trim().is_empty() {
            return Err(ValidationError::new("reason", "must not be empty"));
        }
        if text.chars().count() > MAX_REASON_CHARS {
            return Err(ValidationError::new(
                "reason",
                format!("must be at most {MAX_REASON_CHARS} characters"),
            ));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for BalanceReason {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<BalanceReason> for String {
    fn from(value: BalanceReason) -> Self {
        value.0
    }
}

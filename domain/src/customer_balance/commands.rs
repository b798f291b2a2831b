//! What can be asked of a customer balance, and the typed reasons it is credited: a business
//! decision is never keyed on the free-text `reason` of an adjustment.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{AccountId, Money};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CustomerBalanceCommand {
    /// An admin's goodwill credit (positive) or correction (negative). A negative adjustment
    /// may not take the balance below zero. `reason` (1 to [`MAX_REASON_CHARS`] characters) is
    /// free text for people: no rule reads it.
    AdjustBalance {
        account_id: AccountId,
        amount: Money,
        reason: String,
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

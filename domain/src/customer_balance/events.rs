//! What happened to a customer balance. Every event carries the signed amount of its transaction
//! (a credit positive, a debit negative) and the balance it left, so a reader needs no fold.

use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::CreditSource;
use crate::{AccountId, Money};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CustomerBalanceEvent {
    BalanceAdjusted {
        account_id: AccountId,
        adjustment_id: Uuid,
        amount: Money,
        balance_after: Money,
        reason: String,
        at: DateTime<Utc>,
    },
    BalanceCredited {
        account_id: AccountId,
        amount: Money,
        balance_after: Money,
        source: CreditSource,
        at: DateTime<Utc>,
    },
    /// Part or all of an invoice was paid from the balance; `amount` is negative.
    BalanceApplied {
        account_id: AccountId,
        invoice_id: Uuid,
        amount: Money,
        balance_after: Money,
        at: DateTime<Utc>,
    },
}

impl CustomerBalanceEvent {
    /// The signed amount of the transaction.
    pub fn amount(&self) -> &Money {
        match self {
            CustomerBalanceEvent::BalanceAdjusted { amount, .. }
            | CustomerBalanceEvent::BalanceCredited { amount, .. }
            | CustomerBalanceEvent::BalanceApplied { amount, .. } => amount,
        }
    }

    /// The balance after the transaction.
    pub fn balance_after(&self) -> &Money {
        match self {
            CustomerBalanceEvent::BalanceAdjusted { balance_after, .. }
            | CustomerBalanceEvent::BalanceCredited { balance_after, .. }
            | CustomerBalanceEvent::BalanceApplied { balance_after, .. } => balance_after,
        }
    }

    pub fn account_id(&self) -> &AccountId {
        match self {
            CustomerBalanceEvent::BalanceAdjusted { account_id, .. }
            | CustomerBalanceEvent::BalanceCredited { account_id, .. }
            | CustomerBalanceEvent::BalanceApplied { account_id, .. } => account_id,
        }
    }

    pub fn at(&self) -> DateTime<Utc> {
        match self {
            CustomerBalanceEvent::BalanceAdjusted { at, .. }
            | CustomerBalanceEvent::BalanceCredited { at, .. }
            | CustomerBalanceEvent::BalanceApplied { at, .. } => *at,
        }
    }
}

impl DomainEvent for CustomerBalanceEvent {
    fn event_type(&self) -> String {
        match self {
            CustomerBalanceEvent::BalanceAdjusted { .. } => "BalanceAdjusted",
            CustomerBalanceEvent::BalanceCredited { .. } => "BalanceCredited",
            CustomerBalanceEvent::BalanceApplied { .. } => "BalanceApplied",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        crate::EVENT_VERSION_1.to_owned()
    }
}

//! The business rules that can refuse a customer balance command (409 `rule_violation`), each
//! with a stable code and a message in billing words.

use crate::money::{Currency, Money};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CustomerBalanceRule {
    #[error("the balance is kept in {balance}: a transaction in {currency} cannot change it")]
    CurrencyMismatch {
        balance: Currency,
        currency: Currency,
    },
    #[error("a debit of {amount} would take the balance of {balance} below zero")]
    BalanceWouldGoNegative { balance: Money, amount: Money },
    #[error("the balance of {balance} cannot grow by {amount}: it would exceed the limit of {limit} minor units")]
    BalanceLimitExceeded {
        balance: Money,
        amount: Money,
        limit: i64,
    },
    #[error("this command is for account {command}, not for the balance of account {balance}")]
    WrongAccount { balance: String, command: String },
}

impl CustomerBalanceRule {
    /// A stable snake_case name for the rule, for clients to match on.
    pub fn code(&self) -> &'static str {
        match self {
            CustomerBalanceRule::CurrencyMismatch { .. } => "balance_currency_mismatch",
            CustomerBalanceRule::BalanceWouldGoNegative { .. } => "balance_would_go_negative",
            CustomerBalanceRule::BalanceLimitExceeded { .. } => "balance_limit_exceeded",
            CustomerBalanceRule::WrongAccount { .. } => "balance_wrong_account",
        }
    }
}

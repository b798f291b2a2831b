//! An account's credit balance as a command answers it and as `customer_balance.updated`
//! carries it: rendered from the CustomerBalance aggregate, without its transactions (those are
//! listed by `GET /v1/accounts/{account_id}/balance`, from the read model).

use chrono::{DateTime, Utc};
use domain::customer_balance::CustomerBalance;
use serde::Serialize;

use crate::summary::BalanceView;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CustomerBalanceView {
    pub account_id: String,
    /// What the account holds, in minor units; `currency` is null until the first transaction
    /// fixes it.
    pub balance: BalanceView,
    /// When the last transaction happened; null when there was none.
    pub updated_at: Option<DateTime<Utc>>,
}

impl CustomerBalanceView {
    /// `None` before the aggregate's first event.
    pub fn of(balance: &CustomerBalance) -> Option<Self> {
        let account_id = balance.account_id()?;
        Some(Self {
            account_id: account_id.to_string(),
            balance: BalanceView {
                amount: balance.balance().map_or(0, |b| b.amount),
                currency: balance.balance().map(|b| b.currency.to_string()),
            },
            updated_at: balance.updated_at(),
        })
    }
}

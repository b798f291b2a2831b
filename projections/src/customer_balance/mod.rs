//! Customer balances (SPEC 11.4): each account's credit balance and its transactions, for
//! `GET /v1/accounts/{account_id}/balance`.
//!
//! Listens to: `customer_balance` events (BalanceAdjusted, BalanceCredited, BalanceApplied).
//! Keeps: `customer_balances` (one row per account: the balance after its last transaction) and
//! `customer_balance_transactions` (one row per event, keyed by its position).
//! Writes: per batch, with no read at all (every event carries the balance it left): one
//! multi-row insert of the transactions and one upsert of each account's latest balance.

mod table;

use std::collections::BTreeMap;

use application::event_log::StoredEvent;
use chrono::{DateTime, Utc};
use domain::customer_balance::CustomerBalanceEvent;
use domain::AccountId;
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::columns::{parse_timestamp, timestamp};
use crate::event::{payload, CUSTOMER_BALANCE};
use crate::page::{self, PositionCursor};
use crate::summary::BalanceView;
use infrastructure::consumers::{ProjectionError, Projector};
use infrastructure::portable::{Pool, Tx};

pub use table::{BalanceRow, TransactionRow};

/// Every table this projector owns (for rebuild and verification).
pub const TABLES: [&str; 2] = ["customer_balances", "customer_balance_transactions"];

/// `kind` of a transaction: an admin's adjustment, a credit from the system, a payment of an
/// invoice from the balance.
pub const ADJUSTMENT: &str = "adjustment";
pub const CREDIT: &str = "credit";
pub const INVOICE_PAYMENT: &str = "invoice_payment";

#[derive(Debug, Default)]
pub struct CustomerBalancesProjector;

impl CustomerBalancesProjector {
    pub const NAME: &'static str = "customer_balances";
}

impl Projector for CustomerBalancesProjector {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn listens_to(&self) -> &'static [&'static str] {
        &[CUSTOMER_BALANCE]
    }

    fn tables(&self) -> &'static [&'static str] {
        &TABLES
    }

    async fn apply_batch(
        &self,
        tx: &mut Tx,
        events: &[StoredEvent],
    ) -> Result<(), ProjectionError> {
        let mut balances = BTreeMap::new();
        let mut transactions = Vec::new();
        for stored in events
            .iter()
            .filter(|e| e.aggregate_type == CUSTOMER_BALANCE)
        {
            let event: CustomerBalanceEvent = payload(stored)?;
            let row = transaction(stored, &event)?;
            balances.insert(
                row.account_id.clone(),
                BalanceRow {
                    account_id: row.account_id.clone(),
                    amount: row.balance_after,
                    currency: row.currency.clone(),
                    updated_at: row.at.clone(),
                    position: row.position,
                },
            );
            transactions.push(row);
        }
        table::insert_transactions(tx, transactions).await?;
        table::save_balances(tx, balances.into_values().collect()).await?;
        Ok(())
    }
}

/// The transaction `stored` records.
fn transaction(
    stored: &StoredEvent,
    event: &CustomerBalanceEvent,
) -> Result<TransactionRow, ProjectionError> {
    use CustomerBalanceEvent as E;
    let (kind, reason, invoice_id, source) = match event {
        E::BalanceAdjusted { reason, .. } => (ADJUSTMENT, Some(reason.clone()), None, None),
        E::BalanceCredited { source, .. } => {
            let source = serde_json::to_string(source).map_err(|e| {
                crate::event::event_error(stored, format!("the source does not encode: {e}"))
            })?;
            (CREDIT, None, None, Some(source))
        }
        E::BalanceApplied { invoice_id, .. } => {
            (INVOICE_PAYMENT, None, Some(invoice_id.to_string()), None)
        }
    };
    Ok(TransactionRow {
        position: stored.position,
        id: stored.metadata.event_id.to_string(),
        account_id: event.account_id().to_string(),
        kind: kind.to_owned(),
        amount: event.amount().amount,
        balance_after: event.balance_after().amount,
        currency: event.amount().currency.to_string(),
        reason,
        invoice_id,
        source,
        at: timestamp(event.at()),
    })
}

/// One transaction of a balance. Amounts are signed minor units of `currency`: a credit is
/// positive, a debit negative.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BalanceTransactionView {
    /// The id of the event that recorded it.
    pub id: Uuid,
    /// `adjustment` (an admin's credit or correction), `credit` (a credit note, a downgrade
    /// taking effect now) or `invoice_payment` (the balance paid part of an invoice).
    pub kind: String,
    pub amount: i64,
    pub balance_after: i64,
    pub currency: String,
    /// An adjustment's reason, as the admin wrote it.
    pub reason: Option<String>,
    /// The invoice an `invoice_payment` paid.
    pub invoice_id: Option<Uuid>,
    /// Why the system credited it: `{"kind": "credit_note", "credit_note_id", "invoice_id"}`
    /// or `{"kind": "plan_downgrade", "subscription_id", "plan_change_event"}`.
    #[schema(value_type = Option<Object>)]
    pub source: Option<Value>,
    pub at: DateTime<Utc>,
    /// The event's global position: the list's order.
    pub position: i64,
}

impl TryFrom<TransactionRow> for BalanceTransactionView {
    type Error = ProjectionError;

    fn try_from(row: TransactionRow) -> Result<Self, Self::Error> {
        let corrupt = |what: &str, e: &dyn std::fmt::Display| {
            ProjectionError::Corrupt(format!("balance transaction {}: {what}: {e}", row.position))
        };
        let invoice_id = row.invoice_id.as_deref().map(str::parse::<Uuid>);
        let source = row.source.as_deref().map(serde_json::from_str::<Value>);
        Ok(Self {
            id: row.id.parse().map_err(|e| corrupt("id", &e))?,
            invoice_id: invoice_id
                .transpose()
                .map_err(|e| corrupt("invoice_id", &e))?,
            source: source.transpose().map_err(|e| corrupt("source", &e))?,
            at: parse_timestamp(&row.at)?,
            kind: row.kind,
            amount: row.amount,
            balance_after: row.balance_after,
            currency: row.currency,
            reason: row.reason,
            position: row.position,
        })
    }
}

/// One page of a balance's transactions, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BalanceTransactionPage {
    pub items: Vec<BalanceTransactionView>,
    /// Pass it back as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// `GET /v1/accounts/{account_id}/balance`: the balance and a page of its transactions. An
/// account never credited has a zero balance with a null currency and no transactions.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BalanceStatement {
    pub account_id: String,
    pub balance: BalanceView,
    /// When the last transaction happened; null when there was none.
    pub updated_at: Option<DateTime<Utc>>,
    pub transactions: BalanceTransactionPage,
}

/// The account's credit balance alone, as the summary shows it: zero with a null currency for an
/// account never credited.
pub async fn credit_balance(
    pool: &Pool,
    account_id: &AccountId,
) -> Result<BalanceView, ProjectionError> {
    let row = table::balance(pool, account_id.as_str()).await?;
    Ok(balance_view(row.as_ref()))
}

/// The balance a row holds: zero with a null currency when there is none.
fn balance_view(row: Option<&table::BalanceRow>) -> BalanceView {
    BalanceView {
        amount: row.map_or(0, |row| row.amount),
        currency: row.map(|row| row.currency.clone()),
    }
}

/// The account's balance and up to `limit` of its transactions, oldest first, after `cursor`.
pub async fn statement(
    pool: &Pool,
    account_id: &AccountId,
    limit: u32,
    cursor: Option<PositionCursor>,
) -> Result<BalanceStatement, ProjectionError> {
    let row = table::balance(pool, account_id.as_str()).await?;
    let (items, next_cursor) = page::oldest_first(
        pool,
        table::LIST,
        account_id,
        limit,
        cursor,
        |row: &TransactionRow| row.position,
        BalanceTransactionView::try_from,
    )
    .await?;
    let updated_at = row
        .as_ref()
        .map(|row| parse_timestamp(&row.updated_at))
        .transpose()?;
    Ok(BalanceStatement {
        account_id: account_id.to_string(),
        balance: balance_view(row.as_ref()),
        updated_at,
        transactions: BalanceTransactionPage { items, next_cursor },
    })
}

//! The balances' tables: each account's balance after its last transaction, and every
//! transaction, inserted once per event position.

use infrastructure::portable::{query, Pool, Tx, Value};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BalanceRow {
    pub account_id: String,
    pub amount: i64,
    pub currency: String,
    pub updated_at: String,
    /// The position of the last transaction.
    pub position: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TransactionRow {
    pub position: i64,
    /// The id of the event that recorded the transaction.
    pub id: String,
    pub account_id: String,
    pub kind: String,
    pub amount: i64,
    pub balance_after: i64,
    pub currency: String,
    pub reason: Option<String>,
    pub invoice_id: Option<String>,
    /// JSON object: why the system credited the balance (`kind` and its ids).
    pub source: Option<String>,
    pub at: String,
}

const BALANCE_COLUMNS: &str = "account_id, amount, currency, updated_at, position";
const COLUMNS: &str =
    "position, id, account_id, kind, amount, balance_after, currency, reason, invoice_id, source, at";

/// The table and its columns, for the page query (`page::oldest_first`).
pub(super) const LIST: (&str, &str) = ("customer_balance_transactions", COLUMNS);

/// Sets each account's balance (one row per account in `rows`).
pub(super) async fn save_balances(tx: &mut Tx, rows: Vec<BalanceRow>) -> Result<(), sqlx::Error> {
    let rows = rows
        .into_iter()
        .map(|row| -> Vec<Value<'static>> {
            vec![
                row.account_id.into(),
                row.amount.into(),
                row.currency.into(),
                row.updated_at.into(),
                row.position.into(),
            ]
        })
        .collect();
    tx.upsert(
        &format!("INSERT INTO customer_balances ({BALANCE_COLUMNS})"),
        "ON CONFLICT (account_id) DO UPDATE SET amount = excluded.amount, \
         currency = excluded.currency, updated_at = excluded.updated_at, \
         position = excluded.position",
        rows,
    )
    .await
}

/// Writes `rows`; a transaction already written at a position stays as it is.
pub(super) async fn insert_transactions(
    tx: &mut Tx,
    rows: Vec<TransactionRow>,
) -> Result<(), sqlx::Error> {
    let rows = rows
        .into_iter()
        .map(|row| -> Vec<Value<'static>> {
            vec![
                row.position.into(),
                row.id.into(),
                row.account_id.into(),
                row.kind.into(),
                row.amount.into(),
                row.balance_after.into(),
                row.currency.into(),
                row.reason.into(),
                row.invoice_id.into(),
                row.source.into(),
                row.at.into(),
            ]
        })
        .collect();
    tx.upsert(
        &format!("INSERT INTO customer_balance_transactions ({COLUMNS})"),
        "ON CONFLICT (position) DO NOTHING",
        rows,
    )
    .await
}

/// The account's balance; `None` before its first transaction.
pub(super) async fn balance(
    pool: &Pool,
    account_id: &str,
) -> Result<Option<BalanceRow>, sqlx::Error> {
    let sql = format!("SELECT {BALANCE_COLUMNS} FROM customer_balances WHERE account_id = $1");
    query(&sql).bind(account_id).fetch_optional_as(pool).await
}

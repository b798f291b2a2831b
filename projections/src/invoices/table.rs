//! The `account_invoices` table: loading the rows a batch touches, writing them back in
//! multi-row upserts, and the reads behind the invoice list.

use std::collections::{BTreeMap, BTreeSet};

use infrastructure::portable::{query, Pool, Tx, Value};

use super::row::InvoiceRow;

const COLUMNS: &str = "invoice_id, account_id, subscription_id, status, currency, total, \
    amount_paid, amount_refunded, attempts, issued_at, due_at, lines, issued_position, number";

/// Only what events change; the rest is written once, by `InvoiceIssued`.
const ON_CONFLICT: &str = "ON CONFLICT (invoice_id) DO UPDATE SET \
    status = excluded.status, amount_paid = excluded.amount_paid, \
    amount_refunded = excluded.amount_refunded, attempts = excluded.attempts, \
    number = excluded.number";

/// The stored rows of `invoices`, by invoice id.
pub(super) async fn load(
    tx: &mut Tx,
    invoices: &BTreeSet<String>,
) -> Result<BTreeMap<String, InvoiceRow>, sqlx::Error> {
    let keys: Vec<String> = invoices.iter().cloned().collect();
    let select = format!("SELECT {COLUMNS} FROM account_invoices WHERE invoice_id IN");
    let rows: Vec<InvoiceRow> = tx.fetch_in(&select, &keys).await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.invoice_id.clone(), row))
        .collect())
}

pub(super) async fn save(tx: &mut Tx, rows: Vec<InvoiceRow>) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let insert = format!("INSERT INTO account_invoices ({COLUMNS})");
    tx.upsert(&insert, ON_CONFLICT, rows.into_iter().map(params).collect())
        .await
}

fn params(row: InvoiceRow) -> Vec<Value<'static>> {
    vec![
        row.invoice_id.into(),
        row.account_id.into(),
        row.subscription_id.into(),
        row.status.into(),
        row.currency.into(),
        row.total.into(),
        row.amount_paid.into(),
        row.amount_refunded.into(),
        row.attempts.into(),
        row.issued_at.into(),
        row.due_at.into(),
        row.lines.into(),
        row.issued_position.into(),
        row.number.into(),
    ]
}

/// Up to `limit` of the account's invoices issued before position `before`, newest first.
pub(super) async fn page(
    pool: &Pool,
    account_id: &str,
    before: i64,
    limit: i64,
) -> Result<Vec<InvoiceRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM account_invoices \
          WHERE account_id = $1 AND issued_position < $2 \
          ORDER BY issued_position DESC LIMIT $3"
    );
    query(&sql)
        .bind(account_id)
        .bind(before)
        .bind(limit)
        .fetch_all_as(pool)
        .await
}

/// The number of one invoice, if it has a row and the row a number.
pub(super) async fn number(pool: &Pool, invoice_id: &str) -> Result<Option<String>, sqlx::Error> {
    let found: Option<(Option<String>,)> =
        query("SELECT number FROM account_invoices WHERE invoice_id = $1")
            .bind(invoice_id)
            .fetch_optional_as(pool)
            .await?;
    Ok(found.and_then(|(number,)| number))
}

/// Every row, by invoice id: for audit verification and rebuild comparisons, not for requests.
pub(super) async fn all(pool: &Pool) -> Result<Vec<InvoiceRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM account_invoices ORDER BY invoice_id");
    query(&sql).fetch_all_as(pool).await
}

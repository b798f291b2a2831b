//! The outbox's tables: the case facts a notification names, and the notifications themselves,
//! inserted once per dedupe key.

use std::collections::{BTreeMap, BTreeSet};

use crate::sql::ProjectionTx;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CaseRow {
    pub case_id: String,
    pub account_id: String,
    pub subscription_id: Option<String>,
    pub invoice_id: String,
    pub amount_due: i64,
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct NotificationRow {
    pub id: String,
    pub account_id: String,
    pub kind: String,
    pub dedupe_key: String,
    pub payload: String,
    pub created_at: String,
    pub sent_at: Option<String>,
    pub position: i64,
}

const CASE_COLUMNS: &str = "case_id, account_id, subscription_id, invoice_id, amount_due, currency";
/// The table and its columns, for the page query (`page::oldest_first`).
pub(super) const LIST: (&str, &str) = ("notifications", COLUMNS);

const COLUMNS: &str = "id, account_id, kind, dedupe_key, payload, created_at, sent_at, position";

pub(super) async fn save_cases(
    tx: &mut ProjectionTx,
    rows: Vec<CaseRow>,
) -> Result<(), sqlx::Error> {
    let insert = format!("INSERT INTO notification_cases ({CASE_COLUMNS})");
    let rows = rows
        .into_iter()
        .map(|row| {
            vec![
                row.case_id.into(),
                row.account_id.into(),
                row.subscription_id.into(),
                row.invoice_id.into(),
                row.amount_due.into(),
                row.currency.into(),
            ]
        })
        .collect();
    tx.upsert(&insert, "ON CONFLICT (case_id) DO NOTHING", rows)
        .await
}

/// The stored cases of `case_ids`, by case id.
pub(super) async fn cases(
    tx: &mut ProjectionTx,
    case_ids: &BTreeSet<String>,
) -> Result<BTreeMap<String, CaseRow>, sqlx::Error> {
    let keys: Vec<String> = case_ids.iter().cloned().collect();
    let select = format!("SELECT {CASE_COLUMNS} FROM notification_cases WHERE case_id IN");
    let rows: Vec<CaseRow> = tx.fetch_in(&select, &keys).await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.case_id.clone(), row))
        .collect())
}

/// Writes each of `rows` unless a notification with its dedupe key exists.
pub(super) async fn insert_notifications(
    tx: &mut ProjectionTx,
    rows: Vec<NotificationRow>,
) -> Result<(), sqlx::Error> {
    let insert = format!("INSERT INTO notifications ({COLUMNS})");
    let rows = rows
        .into_iter()
        .map(|row| {
            vec![
                row.id.into(),
                row.account_id.into(),
                row.kind.into(),
                row.dedupe_key.into(),
                row.payload.into(),
                row.created_at.into(),
                row.sent_at.into(),
                row.position.into(),
            ]
        })
        .collect();
    tx.upsert(&insert, "ON CONFLICT (dedupe_key) DO NOTHING", rows)
        .await
}

//! The outbox's tables: the case facts a notification names, and the notifications themselves,
//! inserted once per dedupe key.

use infrastructure::consumers::sql::{Param, ProjectionTx};

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

pub(super) async fn save_case(tx: &mut ProjectionTx, row: CaseRow) -> Result<(), sqlx::Error> {
    let insert = format!("INSERT INTO notification_cases ({CASE_COLUMNS})");
    let params: Vec<Param> = vec![
        row.case_id.into(),
        row.account_id.into(),
        row.subscription_id.into(),
        row.invoice_id.into(),
        row.amount_due.into(),
        row.currency.into(),
    ];
    tx.upsert(&insert, "ON CONFLICT (case_id) DO NOTHING", vec![params])
        .await
}

pub(super) async fn case(
    tx: &mut ProjectionTx,
    case_id: &str,
) -> Result<Option<CaseRow>, sqlx::Error> {
    let select = format!("SELECT {CASE_COLUMNS} FROM notification_cases WHERE case_id = $1");
    let rows: Vec<CaseRow> = tx.fetch_all(&select, &[case_id.into()]).await?;
    Ok(rows.into_iter().next())
}

/// Writes `row` unless a notification with its dedupe key exists.
pub(super) async fn insert_notification(
    tx: &mut ProjectionTx,
    row: NotificationRow,
) -> Result<(), sqlx::Error> {
    let insert = format!("INSERT INTO notifications ({COLUMNS})");
    let params: Vec<Param> = vec![
        row.id.into(),
        row.account_id.into(),
        row.kind.into(),
        row.dedupe_key.into(),
        row.payload.into(),
        row.created_at.into(),
        row.sent_at.into(),
        row.position.into(),
    ];
    tx.upsert(&insert, "ON CONFLICT (dedupe_key) DO NOTHING", vec![params])
        .await
}

//! The outbox's tables: the case facts a notification names, and the notifications themselves,
//! inserted once per dedupe key.

use infrastructure::portable::{Tx, Value};

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

/// Writes the cases of `rows` not written yet.
pub(super) async fn save_cases(tx: &mut Tx, rows: Vec<CaseRow>) -> Result<(), sqlx::Error> {
    let rows = rows.into_iter().map(CaseRow::params).collect();
    insert_new(tx, "notification_cases", CASE_COLUMNS, "case_id", rows).await
}

/// The stored cases among `case_ids`.
pub(super) async fn cases(tx: &mut Tx, case_ids: &[String]) -> Result<Vec<CaseRow>, sqlx::Error> {
    let select = format!("SELECT {CASE_COLUMNS} FROM notification_cases WHERE case_id IN");
    tx.fetch_in(&select, case_ids).await
}

/// Writes each of `rows` unless a notification with its dedupe key exists.
pub(super) async fn insert_notifications(
    tx: &mut Tx,
    rows: Vec<NotificationRow>,
) -> Result<(), sqlx::Error> {
    let rows = rows.into_iter().map(NotificationRow::params).collect();
    insert_new(tx, "notifications", COLUMNS, "dedupe_key", rows).await
}

/// Multi-row inserts into `table` that leave a row whose `key` exists as it is.
async fn insert_new(
    tx: &mut Tx,
    table: &str,
    columns: &str,
    key: &str,
    rows: Vec<Vec<Value<'static>>>,
) -> Result<(), sqlx::Error> {
    let insert = format!("INSERT INTO {table} ({columns})");
    let on_conflict = format!("ON CONFLICT ({key}) DO NOTHING");
    tx.upsert(&insert, &on_conflict, rows).await
}

impl CaseRow {
    fn params(self) -> Vec<Value<'static>> {
        vec![
            self.case_id.into(),
            self.account_id.into(),
            self.subscription_id.into(),
            self.invoice_id.into(),
            self.amount_due.into(),
            self.currency.into(),
        ]
    }
}

impl NotificationRow {
    fn params(self) -> Vec<Value<'static>> {
        vec![
            self.id.into(),
            self.account_id.into(),
            self.kind.into(),
            self.dedupe_key.into(),
            self.payload.into(),
            self.created_at.into(),
            self.sent_at.into(),
            self.position.into(),
        ]
    }
}

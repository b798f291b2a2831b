//! The outbox's tables: the notifications themselves (inserted once per dedupe key) and the facts
//! they name: cases, invoices and each account's billing email.

use infrastructure::portable::{Tx, Value};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CaseRow {
    pub case_id: String,
    pub account_id: String,
    pub subscription_id: Option<String>,
    pub invoice_id: String,
    pub amount_due: i64,
    pub currency: String,
    /// When access is suspended if the case is not recovered (NULL for cases projected before
    /// migration 0016 and not rebuilt since).
    pub window_expires_at: Option<String>,
    pub cancel_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct InvoiceRow {
    pub invoice_id: String,
    pub account_id: String,
    pub subscription_id: Option<String>,
    pub total: i64,
    pub currency: String,
    pub due_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RecipientRow {
    pub account_id: String,
    pub email: Option<String>,
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
    pub recipient: Option<String>,
}

const CASE_COLUMNS: &str = "case_id, account_id, subscription_id, invoice_id, amount_due, \
                            currency, window_expires_at, cancel_at";
const INVOICE_COLUMNS: &str = "invoice_id, account_id, subscription_id, total, currency, due_at";
/// The table and its columns, for the page query (`page::oldest_first`).
pub(super) const LIST: (&str, &str) = ("notifications", COLUMNS);

const COLUMNS: &str =
    "id, account_id, kind, dedupe_key, payload, created_at, sent_at, position, recipient";

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

/// Writes the invoices of `rows` not written yet.
pub(super) async fn save_invoices(tx: &mut Tx, rows: Vec<InvoiceRow>) -> Result<(), sqlx::Error> {
    let rows = rows.into_iter().map(InvoiceRow::params).collect();
    insert_new(
        tx,
        "notification_invoices",
        INVOICE_COLUMNS,
        "invoice_id",
        rows,
    )
    .await
}

/// The stored invoices among `invoice_ids`.
pub(super) async fn invoices(
    tx: &mut Tx,
    invoice_ids: &[String],
) -> Result<Vec<InvoiceRow>, sqlx::Error> {
    let select = format!("SELECT {INVOICE_COLUMNS} FROM notification_invoices WHERE invoice_id IN");
    tx.fetch_in(&select, invoice_ids).await
}

/// The stored billing emails of `account_ids`.
pub(super) async fn recipients(
    tx: &mut Tx,
    account_ids: &[String],
) -> Result<Vec<RecipientRow>, sqlx::Error> {
    let select = "SELECT account_id, email FROM notification_recipients WHERE account_id IN";
    tx.fetch_in(select, account_ids).await
}

/// Sets each account's billing email (one row per account in `rows`).
pub(super) async fn save_recipients(
    tx: &mut Tx,
    rows: Vec<RecipientRow>,
) -> Result<(), sqlx::Error> {
    let rows = rows
        .into_iter()
        .map(|row| vec![row.account_id.into(), row.email.into()])
        .collect();
    tx.upsert(
        "INSERT INTO notification_recipients (account_id, email)",
        "ON CONFLICT (account_id) DO UPDATE SET email = excluded.email",
        rows,
    )
    .await
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
            self.window_expires_at.into(),
            self.cancel_at.into(),
        ]
    }
}

impl InvoiceRow {
    fn params(self) -> Vec<Value<'static>> {
        vec![
            self.invoice_id.into(),
            self.account_id.into(),
            self.subscription_id.into(),
            self.total.into(),
            self.currency.into(),
            self.due_at.into(),
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
            self.recipient.into(),
        ]
    }
}

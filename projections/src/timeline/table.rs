//! The timeline's tables: its entries, inserted once per event position, and its own lookups of
//! which account an invoice or a dunning case belongs to.

use std::collections::{BTreeMap, BTreeSet};

use infrastructure::portable::{query, Pool, Tx, Value};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EntryRow {
    pub position: i64,
    pub account_id: String,
    pub kind: String,
    pub at: String,
    pub amount: Option<i64>,
    pub currency: Option<String>,
    pub event_id: String,
    pub causation_id: String,
    /// A JSON object.
    pub details: String,
}

/// The account an invoice or a case belongs to.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub(super) struct Owner {
    pub id: String,
    pub account_id: String,
}

/// An owner lookup table: `timeline_invoices` or `timeline_cases`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Lookup {
    table: &'static str,
    key: &'static str,
}

pub(super) const INVOICES: Lookup = Lookup {
    table: "timeline_invoices",
    key: "invoice_id",
};

pub(super) const CASES: Lookup = Lookup {
    table: "timeline_cases",
    key: "case_id",
};

/// The table and its columns, for the page query (`page::oldest_first`).
pub(super) const LIST: (&str, &str) = ("timeline_entries", COLUMNS);

const COLUMNS: &str =
    "position, account_id, kind, at, amount, currency, event_id, causation_id, details";

impl Lookup {
    /// The stored owners of `ids`, by id.
    pub(super) async fn load(
        self,
        tx: &mut Tx,
        ids: &BTreeSet<String>,
    ) -> Result<BTreeMap<String, Owner>, sqlx::Error> {
        let keys: Vec<String> = ids.iter().cloned().collect();
        let select = format!(
            "SELECT {key} AS id, account_id FROM {table} WHERE {key} IN",
            key = self.key,
            table = self.table
        );
        let rows: Vec<Owner> = tx.fetch_in(&select, &keys).await?;
        Ok(rows.into_iter().map(|row| (row.id.clone(), row)).collect())
    }

    pub(super) async fn save(self, tx: &mut Tx, owners: Vec<Owner>) -> Result<(), sqlx::Error> {
        if owners.is_empty() {
            return Ok(());
        }
        let insert = format!(
            "INSERT INTO {table} ({key}, account_id)",
            key = self.key,
            table = self.table
        );
        let rows = owners
            .into_iter()
            .map(|owner| vec![owner.id.into(), owner.account_id.into()])
            .collect();
        let on_conflict = format!("ON CONFLICT ({}) DO NOTHING", self.key);
        tx.upsert(&insert, &on_conflict, rows).await
    }
}

/// Writes `rows`; an entry already written at a position stays as it is.
pub(super) async fn insert_entries(tx: &mut Tx, rows: Vec<EntryRow>) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let insert = format!("INSERT INTO timeline_entries ({COLUMNS})");
    let rows = rows
        .into_iter()
        .map(|row| -> Vec<Value<'static>> {
            vec![
                row.position.into(),
                row.account_id.into(),
                row.kind.into(),
                row.at.into(),
                row.amount.into(),
                row.currency.into(),
                row.event_id.into(),
                row.causation_id.into(),
                row.details.into(),
            ]
        })
        .collect();
    tx.upsert(&insert, "ON CONFLICT (position) DO NOTHING", rows)
        .await
}

/// Every entry, in position order: for audit verification and rebuild comparisons.
pub(super) async fn all(pool: &Pool) -> Result<Vec<EntryRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM timeline_entries ORDER BY position");
    query(&sql).fetch_all_as(pool).await
}

//! Account invoices (SPEC 5 and 6): every invoice of an account, newest first, paginated, for
//! `GET /v1/accounts/{account_id}/invoices`.
//!
//! Listens to: `invoice` events, and `invoice_numbering` events for each invoice's number.
//! Keeps: `account_invoices`, one row per invoice (see [`InvoiceRow`]); `InvoiceIssued` names
//! the account and later events only the invoice, so the row keeps the mapping.
//! Writes: per batch, loads the rows of the invoices the batch touches, folds the events into
//! them in memory and upserts the rows that changed.

mod row;
mod table;
mod usage_view;
mod view;

use std::collections::BTreeMap;

use application::event_log::StoredEvent;
use domain::AccountId;
use uuid::Uuid;

use crate::event::{InvoiceChange, NumberAssignment, INVOICE, INVOICE_NUMBERING};
use crate::page::{self, PositionCursor};
use infrastructure::consumers::ProjectionError;
use infrastructure::consumers::Projector;
use infrastructure::portable::{Pool, Tx};

pub use row::InvoiceRow;
pub use usage_view::{RatedTierView, UsageLineView};
pub use view::{InvoiceLineView, InvoicePage, InvoiceView};

/// The projector of the account invoices list.
#[derive(Debug, Default)]
pub struct AccountInvoicesProjector;

impl AccountInvoicesProjector {
    pub const NAME: &'static str = "account_invoices";
}

/// The tables this projector owns.
pub const TABLES: [&str; 1] = ["account_invoices"];

impl Projector for AccountInvoicesProjector {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn listens_to(&self) -> &'static [&'static str] {
        &[INVOICE, INVOICE_NUMBERING]
    }

    fn tables(&self) -> &'static [&'static str] {
        &TABLES
    }

    async fn apply_batch(
        &self,
        tx: &mut Tx,
        events: &[StoredEvent],
    ) -> Result<(), ProjectionError> {
        let changes = InvoiceChange::decode_all(events)?;
        let numbers = NumberAssignment::decode_all(events)?;
        let mut touched = InvoiceChange::invoices(&changes);
        touched.extend(numbers.iter().map(|assigned| assigned.invoice_id.clone()));
        let stored = table::load(tx, &touched).await?;
        let mut rows: BTreeMap<String, InvoiceRow> = stored.clone();
        for change in &changes {
            let position = change.stored.position;
            let issued = InvoiceRow::issued(&change.invoice_id, position, &change.event)
                .map_err(|reason| change.error(reason))?;
            match (issued, rows.get_mut(&change.invoice_id)) {
                (Some(row), None) => {
                    rows.insert(change.invoice_id.clone(), row);
                }
                (None, Some(row)) => row.apply(&change.event),
                (Some(_), Some(_)) => return Err(change.error("the invoice was already issued")),
                (None, None) => return Err(change.error("no InvoiceIssued precedes it")),
            }
        }
        // A number is assigned after its invoice's `InvoiceIssued`, and touches nothing else.
        for assigned in &numbers {
            let row = rows
                .get_mut(&assigned.invoice_id)
                .ok_or_else(|| assigned.error("no InvoiceIssued precedes it"))?;
            row.number = Some(assigned.number.clone());
        }
        let changed = rows
            .into_values()
            .filter(|row| stored.get(&row.invoice_id) != Some(row))
            .collect();
        table::save(tx, changed).await?;
        Ok(())
    }
}

/// Up to `limit` of the account's invoices, newest first, after `cursor`. An account with no
/// invoice has an empty first page.
pub async fn page(
    pool: &Pool,
    account_id: &AccountId,
    limit: u32,
    cursor: Option<PositionCursor>,
) -> Result<InvoicePage, ProjectionError> {
    let before = cursor.map_or(i64::MAX, PositionCursor::position);
    let rows = table::page(
        pool,
        account_id.as_str(),
        before,
        page::rows_to_fetch(limit),
    )
    .await?;
    let (items, next_cursor) = page::split(
        rows,
        limit,
        |row| Ok(row.issued_position.to_string()),
        InvoiceView::try_from,
    )?;
    Ok(InvoicePage { items, next_cursor })
}

/// The number of invoice `invoice_id`; `None` until one is assigned (or for no such invoice).
pub async fn number(pool: &Pool, invoice_id: Uuid) -> Result<Option<String>, ProjectionError> {
    Ok(table::number(pool, &invoice_id.to_string()).await?)
}

/// Every stored row, by invoice id: for audit verification and rebuild comparisons.
pub async fn all_rows(pool: &Pool) -> Result<Vec<InvoiceRow>, ProjectionError> {
    Ok(table::all(pool).await?)
}

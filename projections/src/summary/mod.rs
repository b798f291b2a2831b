//! Account Subscription Summary (SPEC 5): one row per account with its subscription's plan,
//! status, periods, seats and scheduled changes, its entitlement standing, its balance due and
//! its open dunning case.
//!
//! Listens to: `subscription`, `entitlements`, `invoice` and `dunning_case` events.
//! Keeps: `account_summaries`, one row per account (see [`SummaryRow`]), and the per-invoice
//! amounts due behind the balance in `account_summary_invoices` (see `balance`).
//! Writes: per batch, records the invoices' amounts due, loads the rows of the accounts the batch
//! touches, folds the events into them in memory, sets their balances and upserts the rows that
//! changed, a few statements per batch.

mod balance;
mod dunning;
mod row;
mod table;
mod view;

use std::collections::BTreeMap;
use std::sync::Arc;

use application::event_log::StoredEvent;
use domain::{AccountId, PlanCatalog};

use crate::event::{
    AccountEvent, InvoiceChange, DUNNING_CASE, ENTITLEMENTS, INVOICE, SUBSCRIPTION,
};
use infrastructure::consumers::ProjectionError;
use infrastructure::consumers::Projector;
use infrastructure::portable::{Pool, Tx};

pub use row::SummaryRow;
pub use view::{
    BalanceView, EntitlementsView, OverpaymentsView, ScheduledChangeView, SeatsView, SummaryView,
};

/// The projector of the Account Subscription Summary. It reads seat limits from the catalog, so a
/// rebuild after a catalog change reflects the catalog of the rebuild.
pub struct AccountSummaryProjector {
    catalog: Arc<PlanCatalog>,
}

impl AccountSummaryProjector {
    pub const NAME: &'static str = "account_summary";

    pub fn new(catalog: Arc<PlanCatalog>) -> Self {
        Self { catalog }
    }
}

/// The tables this projector owns.
pub const TABLES: [&str; 2] = ["account_summaries", "account_summary_invoices"];

impl Projector for AccountSummaryProjector {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn listens_to(&self) -> &'static [&'static str] {
        &[SUBSCRIPTION, ENTITLEMENTS, INVOICE, DUNNING_CASE]
    }

    fn tables(&self) -> &'static [&'static str] {
        &TABLES
    }

    async fn apply_batch(
        &self,
        tx: &mut Tx,
        events: &[StoredEvent],
    ) -> Result<(), ProjectionError> {
        let invoice_changes = InvoiceChange::decode_all(events)?;
        let case_changes = dunning::changes(tx, events).await?;
        let events = AccountEvent::decode_all(events)?;
        let mut accounts = AccountEvent::accounts(&events);
        accounts.extend(case_changes.iter().map(|c| c.account_id.clone()));
        accounts.extend(balance::record(tx, &invoice_changes).await?);
        let stored = table::load(tx, &accounts).await?;
        let mut rows: BTreeMap<String, SummaryRow> = stored.clone();
        for AccountEvent {
            account_id, event, ..
        } in &events
        {
            rows.entry(account_id.clone())
                .or_insert_with(|| SummaryRow::new(account_id))
                .apply(event, &self.catalog);
        }
        // Only the case's events touch these two columns, so their order among the rest is moot.
        for change in case_changes {
            let row = rows
                .entry(change.account_id.clone())
                .or_insert_with(|| SummaryRow::new(&change.account_id));
            row.in_dunning = change.open_case.is_some();
            row.dunning_case_id = change.open_case;
        }
        // Every account of the batch, not only those with invoice events: a new subscription
        // changes the currency the balance is counted in.
        let mut invoices = balance::invoices_of(tx, &accounts).await?;
        for account_id in &accounts {
            let row = rows
                .entry(account_id.clone())
                .or_insert_with(|| SummaryRow::new(account_id));
            let dues = invoices.remove(account_id).unwrap_or_default();
            let totals = balance::totals(row.currency.as_deref(), &dues);
            row.balance_due_amount = totals.balance_due;
            row.balance_due_currency = totals.currency;
            row.overpaid_held_amount = totals.overpaid_held;
            row.overpaid_refunded_amount = totals.overpaid_refunded;
        }
        let changed = rows
            .into_values()
            .filter(|row| {
                stored.get(&row.account_id).map_or_else(
                    || *row != SummaryRow::new(&row.account_id),
                    |before| before != row,
                )
            })
            .collect();
        table::save(tx, changed).await?;
        Ok(())
    }
}

/// The summary of `account_id`; `None` when no event has named the account.
pub async fn summary(
    pool: &Pool,
    account_id: &AccountId,
) -> Result<Option<SummaryView>, ProjectionError> {
    table::find(pool, account_id.as_str())
        .await?
        .map(SummaryView::try_from)
        .transpose()
}

/// Every stored row, by account id: for audit verification and rebuild comparisons.
pub async fn all_rows(pool: &Pool) -> Result<Vec<SummaryRow>, ProjectionError> {
    Ok(table::all(pool).await?)
}

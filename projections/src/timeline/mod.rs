//! Billing Timeline (SPEC 5 and 6): every account's billing story, oldest first, one entry per
//! event that tells it, paginated, for `GET /v1/accounts/{account_id}/timeline`.
//!
//! Listens to: `subscription`, `entitlements`, `invoice`, `dunning_case` and `customer_balance`
//! events.
//! Keeps: `timeline_entries` (one row per event with an entry, keyed by its position) and its own
//! lookups `timeline_invoices` and `timeline_cases`: only `InvoiceIssued` and `DunningStarted`
//! name the account, later events of those aggregates only their own id.
//! Writes: per batch, loads the lookups of the invoices and cases the batch touches, maps every
//! event to its entry in memory, and inserts the new lookups and entries in multi-row statements
//! (`ON CONFLICT DO NOTHING`: an entry is written once per position).

mod entry;
mod table;

use std::collections::{BTreeMap, BTreeSet};

use application::event_log::StoredEvent;
use chrono::{DateTime, Utc};
use domain::customer_balance::CustomerBalanceEvent;
use domain::dunning::DunningEvent;
use domain::entitlements::EntitlementsEvent;
use domain::invoice::InvoiceEvent;
use domain::subscription::SubscriptionEvent;
use domain::AccountId;
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::columns::{parse_timestamp, timestamp};
use crate::event::{
    event_error, payload, subscription_account, CUSTOMER_BALANCE, DUNNING_CASE, ENTITLEMENTS,
    INVOICE, SUBSCRIPTION,
};
use crate::page::{self, PositionCursor};
use infrastructure::consumers::ProjectionError;
use infrastructure::consumers::Projector;
use infrastructure::portable::{Pool, Tx};

use entry::Entry;
pub use table::EntryRow;
use table::Owner;

/// Every table this projector owns (for rebuild and verification).
pub const TABLES: &[&str] = &["timeline_entries", "timeline_invoices", "timeline_cases"];

/// The projector of the Billing Timeline.
#[derive(Debug, Default)]
pub struct BillingTimelineProjector;

impl BillingTimelineProjector {
    pub const NAME: &'static str = "billing_timeline";
}

impl Projector for BillingTimelineProjector {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn tables(&self) -> &'static [&'static str] {
        TABLES
    }

    fn listens_to(&self) -> &'static [&'static str] {
        &[
            SUBSCRIPTION,
            ENTITLEMENTS,
            INVOICE,
            DUNNING_CASE,
            CUSTOMER_BALANCE,
        ]
    }

    async fn apply_batch(
        &self,
        tx: &mut Tx,
        events: &[StoredEvent],
    ) -> Result<(), ProjectionError> {
        let mut invoices = Owners::new(table::INVOICES.load(tx, &ids(events, INVOICE)).await?);
        let mut cases = Owners::new(table::CASES.load(tx, &ids(events, DUNNING_CASE)).await?);
        let mut rows = Vec::new();
        for stored in events {
            if let Some((account_id, entry)) = place(stored, &mut invoices, &mut cases)? {
                rows.push(row(stored, account_id, entry));
            }
        }
        table::INVOICES.save(tx, invoices.added).await?;
        table::CASES.save(tx, cases.added).await?;
        table::insert_entries(tx, rows).await?;
        Ok(())
    }
}

/// The ids of the `aggregate_type` aggregates among `events`.
fn ids(events: &[StoredEvent], aggregate_type: &str) -> BTreeSet<String> {
    events
        .iter()
        .filter(|stored| stored.aggregate_type == aggregate_type)
        .map(|stored| stored.aggregate_id.clone())
        .collect()
}

/// The accounts of invoices or cases: those stored, and those this batch introduces.
struct Owners {
    known: BTreeMap<String, Owner>,
    added: Vec<Owner>,
}

impl Owners {
    fn new(known: BTreeMap<String, Owner>) -> Self {
        Self {
            known,
            added: Vec::new(),
        }
    }

    fn add(&mut self, id: &str, account_id: &AccountId) {
        let owner = Owner {
            id: id.to_owned(),
            account_id: account_id.to_string(),
        };
        self.known.insert(owner.id.clone(), owner.clone());
        self.added.push(owner);
    }

    /// The account of `stored`'s aggregate; an error when its first event was never seen.
    fn account(&self, stored: &StoredEvent, first: &str) -> Result<String, ProjectionError> {
        self.known
            .get(&stored.aggregate_id)
            .map(|owner| owner.account_id.clone())
            .ok_or_else(|| event_error(stored, format!("no {first} precedes it")))
    }
}

/// The account `stored` belongs to and its entry; `None` for an event with no entry.
fn place(
    stored: &StoredEvent,
    invoices: &mut Owners,
    cases: &mut Owners,
) -> Result<Option<(String, Entry)>, ProjectionError> {
    let id = stored.aggregate_id.as_str();
    Ok(match stored.aggregate_type.as_str() {
        SUBSCRIPTION => {
            let event: SubscriptionEvent = payload(stored)?;
            let account_id = subscription_account(&event).to_string();
            entry::subscription(id, &event).map(|entry| (account_id, entry))
        }
        ENTITLEMENTS => {
            let event: EntitlementsEvent = payload(stored)?;
            entry::entitlements(&event).map(|entry| (id.to_owned(), entry))
        }
        INVOICE => {
            let event: InvoiceEvent = payload(stored)?;
            if let InvoiceEvent::InvoiceIssued { account_id, .. } = &event {
                invoices.add(id, account_id);
            }
            let account_id = invoices.account(stored, "InvoiceIssued")?;
            entry::invoice(id, &event).map(|entry| (account_id, entry))
        }
        DUNNING_CASE => {
            let event: DunningEvent = payload(stored)?;
            if let DunningEvent::DunningStarted { account_id, .. } = &event {
                cases.add(id, account_id);
            }
            let account_id = cases.account(stored, "DunningStarted")?;
            Some((account_id, entry::dunning(id, &event)))
        }
        CUSTOMER_BALANCE => {
            let event: CustomerBalanceEvent = payload(stored)?;
            Some((id.to_owned(), entry::customer_balance(&event)))
        }
        _ => None,
    })
}

fn row(stored: &StoredEvent, account_id: String, entry: Entry) -> EntryRow {
    EntryRow {
        position: stored.position,
        account_id,
        kind: entry.kind.to_owned(),
        at: timestamp(stored.metadata.recorded_at),
        amount: entry.amount.as_ref().map(|money| money.amount),
        currency: entry.amount.map(|money| money.currency.to_string()),
        event_id: stored.metadata.event_id.to_string(),
        causation_id: stored.metadata.causation_id.clone(),
        details: entry.details.to_string(),
    }
}

/// SPEC 6's "Timeline entry". `amount` is in minor units of `currency`; both are null when the
/// entry is not about an amount.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TimelineEntryView {
    /// snake_case and stable: `invoice_issued`, `payment_failed`, `dunning_started`, …
    pub kind: String,
    /// When the event was recorded.
    pub at: DateTime<Utc>,
    pub amount: Option<i64>,
    pub currency: Option<String>,
    /// The event's global position.
    pub position: i64,
    pub event_id: Uuid,
    /// The request id, or the id of the event that caused this one.
    pub causation_id: String,
    #[schema(value_type = Object)]
    pub details: Value,
}

impl TryFrom<EntryRow> for TimelineEntryView {
    type Error = ProjectionError;

    fn try_from(row: EntryRow) -> Result<Self, Self::Error> {
        let corrupt = |what: &str, e: &dyn std::fmt::Display| {
            ProjectionError::Corrupt(format!("timeline entry {}: {what}: {e}", row.position))
        };
        Ok(Self {
            at: parse_timestamp(&row.at)?,
            event_id: row.event_id.parse().map_err(|e| corrupt("event_id", &e))?,
            details: serde_json::from_str(&row.details).map_err(|e| corrupt("details", &e))?,
            kind: row.kind,
            amount: row.amount,
            currency: row.currency,
            position: row.position,
            causation_id: row.causation_id,
        })
    }
}

/// One page of an account's timeline, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TimelinePage {
    pub items: Vec<TimelineEntryView>,
    /// Pass it back as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Up to `limit` of the account's entries, oldest first, after `cursor`. An account with no
/// entry has an empty first page.
pub async fn page(
    pool: &Pool,
    account_id: &AccountId,
    limit: u32,
    cursor: Option<PositionCursor>,
) -> Result<TimelinePage, ProjectionError> {
    let (items, next_cursor) = page::oldest_first(
        pool,
        table::LIST,
        account_id,
        limit,
        cursor,
        |row: &EntryRow| row.position,
        TimelineEntryView::try_from,
    )
    .await?;
    Ok(TimelinePage { items, next_cursor })
}

/// Every stored entry, in position order: for audit verification and rebuild comparisons.
pub async fn all_rows(pool: &Pool) -> Result<Vec<EntryRow>, ProjectionError> {
    Ok(table::all(pool).await?)
}

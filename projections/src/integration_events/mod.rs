//! The public event catalog (SPEC 9.1): one integration event per domain event that matters, in
//! log order, kept forever. Webhook delivery, the NATS sink and `GET /v1/events` read it.
//!
//! Listens to: subscription, invoice, entitlements, dunning case, webhook endpoint and customer
//! balance events, and invoice numbers (an invoice's later objects carry its number; the assignment tells nothing).
//! Keeps: `integration_events` (the events, by position) and `integration_event_resources`
//! (each resource's aggregate state, folded event by event as the aggregate folds its stream,
//! and the object last sent about it). An event's `object` is rendered by the same function the
//! REST API answers `GET` with, at that event's position; `previous_attributes` are the fields
//! that changed since the last event about the same resource.
//! Writes: set-based, in the checkpoint's transaction: one read of the batch's resources, one
//! multi-row insert of the events, one upsert of the resources. The id `evt_<event id>` is
//! stable, so a receiver deduplicates by it.

mod catalog;
mod diff;
mod resource;
mod table;

use std::collections::btree_map::{BTreeMap, Entry};
use std::sync::Arc;

use application::event_log::StoredEvent;
use domain::{AccountId, PlanCatalog};
use serde::Serialize;
use serde_json::{json, Value};

use crate::columns::timestamp;
use crate::event::{
    NumberAssignment, CUSTOMER_BALANCE, DUNNING_CASE, ENTITLEMENTS, INVOICE, INVOICE_NUMBERING,
    SUBSCRIPTION, WEBHOOK_ENDPOINT,
};
use crate::page::{rows_to_fetch, split};
use infrastructure::consumers::{ProjectionError, Projector};
use infrastructure::portable::{Pool, Tx};

pub use catalog::{EventType, API_VERSION};
use resource::Resource;
use table::{EventRow, ResourceRow};

/// The projector of the public event catalog. It renders features with the cost so far of
/// their usage, so it reads usage prices from the catalog, as the summary reads seat limits.
#[derive(Debug)]
pub struct IntegrationEventsProjector {
    catalog: Arc<PlanCatalog>,
}

impl IntegrationEventsProjector {
    pub const NAME: &'static str = "integration_events";

    pub fn new(catalog: Arc<PlanCatalog>) -> Self {
        Self { catalog }
    }
}

/// The tables this projector owns.
pub const TABLES: [&str; 2] = ["integration_events", "integration_event_resources"];

impl Projector for IntegrationEventsProjector {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn listens_to(&self) -> &'static [&'static str] {
        &[
            SUBSCRIPTION,
            INVOICE,
            ENTITLEMENTS,
            DUNNING_CASE,
            WEBHOOK_ENDPOINT,
            INVOICE_NUMBERING,
            CUSTOMER_BALANCE,
        ]
    }

    fn tables(&self) -> &'static [&'static str] {
        &TABLES
    }

    async fn apply_batch(
        &self,
        tx: &mut Tx,
        events: &[StoredEvent],
    ) -> Result<(), ProjectionError> {
        let mut ids: Vec<String> = events.iter().map(|e| e.aggregate_id.clone()).collect();
        // A number is about the invoice it names, not about the prefix's stream.
        let numbered = NumberAssignment::decode_all(events)?;
        ids.extend(numbered.into_iter().map(|assigned| assigned.invoice_id));
        ids.sort();
        ids.dedup();
        // Keyed by type and id: an account's entitlements may share a subscription's id.
        let mut known = BTreeMap::new();
        for row in table::resources(tx, &ids).await? {
            let resource = Resource::restore(&row.aggregate_type, &row.state)?;
            let object = row.object.as_deref().map(parse_object).transpose()?;
            known.insert((row.aggregate_type, row.aggregate_id), (resource, object));
        }
        let mut told = Vec::new();
        for stored in events {
            if let Some(assigned) = NumberAssignment::decode(stored)? {
                let key = (INVOICE.to_owned(), assigned.invoice_id.clone());
                let numbered = known
                    .get_mut(&key)
                    .is_some_and(|(resource, _)| resource.number(&assigned.number));
                if !numbered {
                    return Err(assigned.error("no InvoiceIssued precedes it"));
                }
                continue;
            }
            let key = (stored.aggregate_type.clone(), stored.aggregate_id.clone());
            let (resource, last_object) = match known.entry(key) {
                Entry::Occupied(entry) => entry.into_mut(),
                Entry::Vacant(entry) => {
                    let Some(fresh) = Resource::new(&stored.aggregate_type) else {
                        continue;
                    };
                    entry.insert((fresh, None))
                }
            };
            let Some(news) = resource.apply(stored, &self.catalog)? else {
                continue;
            };
            let previous = news
                .whole
                .then(|| diff::previous_attributes(last_object.as_ref(), &news.object))
                .flatten();
            told.push(envelope(stored, &news, previous));
            if news.whole {
                *last_object = Some(news.object);
            }
        }
        let resources = known
            .into_iter()
            .map(|((aggregate_type, aggregate_id), (resource, object))| {
                Ok(ResourceRow {
                    aggregate_id,
                    aggregate_type,
                    state: resource.state()?,
                    object: object.map(|object| object.to_string()),
                })
            })
            .collect::<Result<Vec<_>, ProjectionError>>()?;
        table::insert_events(tx, told).await?;
        table::save_resources(tx, resources).await?;
        Ok(())
    }
}

/// The catalog row of `news`, told by `stored`.
fn envelope(stored: &StoredEvent, news: &resource::Told, previous: Option<Value>) -> EventRow {
    let id = format!("evt_{}", stored.metadata.event_id.simple());
    let created_at = timestamp(stored.metadata.recorded_at);
    let mut data = json!({"object": news.object});
    if let Some(previous) = previous {
        data["previous_attributes"] = previous;
    }
    let body = json!({
        "id": id,
        "type": news.kind.as_str(),
        "api_version": API_VERSION,
        "created_at": created_at,
        "position": stored.position,
        "account_id": news.account_id,
        "data": data,
    });
    EventRow {
        position: stored.position,
        id,
        kind: news.kind.as_str().to_owned(),
        // The column is the account filter's index: an event about no account is under "".
        account_id: news.account_id.clone().unwrap_or_default(),
        created_at,
        body: body.to_string(),
    }
}

fn parse_object(text: &str) -> Result<Value, ProjectionError> {
    serde_json::from_str(text)
        .map_err(|e| ProjectionError::Corrupt(format!("integration event object: {e}")))
}

/// One page of the catalog, in log order.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct EventPage {
    /// Each event exactly as webhooks deliver it.
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<Value>,
    /// Pass it back as `after` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Which events a page lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Only this account's events.
    pub account_id: Option<AccountId>,
    /// Only these types; every type when empty.
    pub types: Vec<EventType>,
}

/// Up to `limit` events after position `after`, in log order, that `filter` lets through.
pub async fn page(
    pool: &Pool,
    after: i64,
    limit: u32,
    filter: &EventFilter,
) -> Result<EventPage, ProjectionError> {
    let kinds: Vec<&str> = filter.types.iter().map(|kind| kind.as_str()).collect();
    let account = filter.account_id.as_ref().map(AccountId::as_str);
    let rows = table::after(pool, after, rows_to_fetch(limit), account, &kinds).await?;
    let (items, next_cursor) = split(
        rows,
        limit,
        |row| Ok(row.position.to_string()),
        |row| {
            serde_json::from_str(&row.body)
                .map_err(|e| ProjectionError::Corrupt(format!("integration event {}: {e}", row.id)))
        },
    )?;
    Ok(EventPage { items, next_cursor })
}

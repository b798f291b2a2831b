//! Dunning Work Queue (SPEC 5 and 6): the open dunning cases that need a support agent
//! (escalated, or suspended), sortable by amount due and by age, for `GET /v1/dunning/queue`.
//!
//! Listens to: `dunning_case` events.
//! Keeps: `dunning_queue_cases`, one row per case, open or closed (see [`QueueRow`]); the queue is
//! the open ones at stage escalated or suspended. Closed cases keep their row so that an event
//! after the close (a last notification) still finds its case.
//! Writes: per batch, loads the rows of the cases the batch touches, folds the events into them
//! in memory and upserts the rows that changed.
//! Days in dunning and the next scheduled action depend on the time of the query: they are
//! computed when it is answered, from the service clock.

mod row;
mod table;
mod view;

use std::collections::BTreeMap;

use application::event_log::StoredEvent;
use chrono::{DateTime, Utc};
use domain::dunning::{DunningEvent, DunningStage};

use crate::event::{event_error, payload, DUNNING_CASE};
use crate::page;
use infrastructure::consumers::ProjectionError;
use infrastructure::consumers::Projector;
use infrastructure::portable::{Pool, Tx};

pub use row::{parse_stage, stage_name, QueueRow};
pub use view::{NextAction, QueueCursor, QueueItemView, QueuePage, QueueSort};

/// Every table this projector owns (for rebuild and verification).
pub const TABLES: &[&str] = &["dunning_queue_cases"];

/// The projector of the Dunning Work Queue.
#[derive(Debug, Default)]
pub struct DunningQueueProjector;

impl DunningQueueProjector {
    pub const NAME: &'static str = "dunning_queue";
}

impl Projector for DunningQueueProjector {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn tables(&self) -> &'static [&'static str] {
        TABLES
    }

    fn listens_to(&self) -> &'static [&'static str] {
        &[DUNNING_CASE]
    }

    async fn apply_batch(
        &self,
        tx: &mut Tx,
        events: &[StoredEvent],
    ) -> Result<(), ProjectionError> {
        let cases = events
            .iter()
            .filter(|stored| stored.aggregate_type == DUNNING_CASE)
            .map(|stored| stored.aggregate_id.clone())
            .collect();
        let stored_rows = table::load(tx, &cases).await?;
        let mut rows: BTreeMap<String, QueueRow> = stored_rows.clone();
        for stored in events {
            let event: DunningEvent = payload(stored)?;
            match (
                QueueRow::started(&event),
                rows.get_mut(&stored.aggregate_id),
            ) {
                (Some(row), None) => {
                    rows.insert(stored.aggregate_id.clone(), row);
                }
                (None, Some(row)) => row.apply(&event)?,
                (Some(_), Some(_)) => {
                    return Err(event_error(stored, "the case was already started".into()))
                }
                (None, None) => {
                    return Err(event_error(stored, "no DunningStarted precedes it".into()))
                }
            }
        }
        let changed = rows
            .into_values()
            .filter(|row| stored_rows.get(&row.case_id) != Some(row))
            .collect();
        table::save(tx, changed).await?;
        Ok(())
    }
}

/// Which cases a page lists and in what order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueQuery {
    /// Only cases at this stage; every queued case when `None`.
    pub stage: Option<DunningStage>,
    pub sort: QueueSort,
}

/// Up to `limit` queued cases in the query's order after `cursor`, as of `now`.
pub async fn page(
    pool: &Pool,
    query: QueueQuery,
    limit: u32,
    cursor: Option<&QueueCursor>,
    now: DateTime<Utc>,
) -> Result<QueuePage, ProjectionError> {
    let stage = query.stage.map(stage_name);
    let rows = table::page(pool, stage, query.sort, cursor, page::rows_to_fetch(limit)).await?;
    view::page_of(rows, limit, query.sort, now)
}

/// Every stored case, by case id: for audit verification and rebuild comparisons.
pub async fn all_rows(pool: &Pool) -> Result<Vec<QueueRow>, ProjectionError> {
    Ok(table::all(pool).await?)
}

//! The processor events received (`GET /v1/processor-events`), read straight from the log: the
//! first event of each `processor_event` stream (what was received) with its second, if any
//! (what the policy made of it). The events table's key starts with the aggregate type, so the
//! read touches only these streams.

use application::event_log::EventLogError;
use serde_json::Value;

use super::{storage_error, Store};
use crate::portable;

/// One received event and what it caused.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessorEventRow {
    /// The global position of its `ProcessorEventReceived`: the cursor for `after`.
    pub position: i64,
    pub aggregate_id: String,
    /// The `ProcessorEventReceived` payload.
    pub received: Value,
    /// The `ProcessorEventActedOn` payload, once the policy has acted.
    pub acted_on: Option<Value>,
}

impl Store {
    /// Up to `limit` received processor events whose position is after `after`, oldest first.
    pub async fn processor_events(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<ProcessorEventRow>, EventLogError> {
        let rows = portable::query(
            "SELECT r.position, r.aggregate_id, r.payload, a.payload AS acted_on
               FROM events r
               LEFT JOIN events a
                 ON a.aggregate_type = r.aggregate_type AND a.aggregate_id = r.aggregate_id
                AND a.sequence = 2
              WHERE r.aggregate_type = 'processor_event' AND r.sequence = 1 AND r.position > $1
              ORDER BY r.position LIMIT $2",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(self.reader())
        .await
        .map_err(storage_error)?;
        Ok(rows
            .iter()
            .map(|row| ProcessorEventRow {
                position: row.get("position"),
                aggregate_id: row.get("aggregate_id"),
                received: row.get("payload"),
                acted_on: row.get("acted_on"),
            })
            .collect())
    }
}

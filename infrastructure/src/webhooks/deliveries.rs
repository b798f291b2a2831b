//! Delivery records: queued from the catalog (fan-out), taken per account in position order
//! (from the queue heads), and marked with each attempt's outcome. Every step is one idempotent
//! statement or guarded by the row's `generation`, so a crash between any two of them repeats
//! work (a send, an insert that finds its row) and never skips an event.

use chrono::{DateTime, Utc};

use crate::portable::{self, Row, Tx, Value};
use crate::store::Store;

use super::backoff;
use super::endpoints::{Endpoint, DISABLED_FAILING};
use super::event_filter;
use super::WebhookError;

/// A delivery whose turn it is: due, and nothing before it in its account is waiting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueDelivery {
    pub position: i64,
    /// `evt_…`: the `webhook-id`.
    pub event_id: String,
    pub account_id: String,
    pub attempts: i64,
    pub created_at: DateTime<Utc>,
    pub generation: i64,
    /// The JSON to POST, exactly as the catalog holds it.
    pub body: String,
}

/// What one attempt got back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttemptReport {
    /// The HTTP status, when an answer came.
    pub status_code: Option<u16>,
    pub latency_ms: i64,
    /// Why it failed when no answer came (timeout, refused destination…).
    pub error: Option<String>,
    /// The answer's body, at most 64 KiB of it.
    pub response_body: Option<String>,
}

impl AttemptReport {
    /// Success is any 2xx (within the sender's 10 s).
    pub fn succeeded(&self) -> bool {
        self.status_code
            .is_some_and(|code| (200..300).contains(&code))
    }
}

/// What became of a delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    Succeeded,
    RetryAt(DateTime<Utc>),
    /// Failed for three days: given up, the account's queue moves on.
    GaveUp,
    /// A replay or another worker changed the row meanwhile; nothing was recorded.
    Superseded,
}

/// A delivery as the deliveries route shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    pub position: i64,
    pub event_id: String,
    pub event_type: String,
    pub account_id: String,
    pub status: String,
    pub attempts: i64,
    pub created_at: DateTime<Utc>,
    /// Meaningful while pending.
    pub next_attempt_at: DateTime<Utc>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_status_code: Option<i64>,
    pub last_latency_ms: Option<i64>,
    pub last_error: Option<String>,
    pub last_response_body: Option<String>,
}

/// Delivery statuses.
pub const STATUSES: [&str; 3] = ["pending", "succeeded", "failed"];

/// How many catalog rows one fan-out step reads.
const FAN_OUT_BATCH: i64 = 500;

/// New deliveries; [`Store::queue_deliveries`] writes their rows: pending, due at once.
const QUEUE: &str = "INSERT INTO webhook_deliveries (endpoint_id, position, event_id, event_type,
        account_id, status, attempts, created_at, next_attempt_at, generation)";

struct CatalogEntry {
    position: i64,
    id: String,
    event_type: String,
    account_id: String,
}

impl Store {
    async fn catalog_page(
        &self,
        after: i64,
        up_to: i64,
        limit: i64,
    ) -> Result<Vec<CatalogEntry>, sqlx::Error> {
        let sql = "SELECT position, id, type, account_id FROM integration_events
                   WHERE position > $1 AND position <= $2 ORDER BY position LIMIT $3";
        let rows = portable::query(sql)
            .bind(after)
            .bind(up_to)
            .bind(limit)
            .fetch_all(self.reader())
            .await?;
        Ok(rows
            .iter()
            .map(|row| CatalogEntry {
                position: row.get("position"),
                id: row.get("id"),
                event_type: row.get("type"),
                account_id: row.get("account_id"),
            })
            .collect())
    }

    /// Queues, inside `tx`, a delivery of each entry of `page` the endpoint subscribes to, with
    /// multi-row statements ending in `on_conflict`; answers how many it queued or changed.
    async fn queue_deliveries(
        tx: &mut Tx,
        on_conflict: &str,
        endpoint: &Endpoint,
        page: &[CatalogEntry],
        now: DateTime<Utc>,
    ) -> Result<u64, sqlx::Error> {
        let rows: Vec<Vec<Value<'_>>> = page
            .iter()
            .filter(|entry| event_filter::matches(&endpoint.enabled_events, &entry.event_type))
            .map(|entry| {
                vec![
                    Value::from(endpoint.id.as_str()),
                    entry.position.into(),
                    entry.id.as_str().into(),
                    entry.event_type.as_str().into(),
                    entry.account_id.as_str().into(),
                    "pending".into(),
                    0_i64.into(),
                    now.into(),
                    now.into(),
                    0_i64.into(),
                ]
            })
            .collect();
        let queued = rows.len() as u64;
        tx.upsert(QUEUE, on_conflict, rows).await?;
        Ok(queued)
    }

    /// Queues a pending delivery for each catalog row after the endpoint's cursor that it
    /// subscribes to, then moves the cursor; answers how many catalog rows it went through.
    /// The catalog grows in position order, so nothing is ever inserted behind the cursor. A
    /// crash before the cursor moves only finds the rows already queued next time.
    pub async fn fan_out_webhooks(
        &self,
        endpoint: &Endpoint,
        now: DateTime<Utc>,
    ) -> Result<usize, WebhookError> {
        let page = self
            .catalog_page(endpoint.fanned_out_to, i64::MAX, FAN_OUT_BATCH)
            .await?;
        let Some(last) = page.last().map(|entry| entry.position) else {
            return Ok(0);
        };
        // The deliveries and the cursor move together.
        let mut tx = Tx::begin(self).await?;
        let on_conflict = "ON CONFLICT (endpoint_id, position) DO NOTHING";
        Self::queue_deliveries(&mut tx, on_conflict, endpoint, &page, now).await?;
        let sql = "UPDATE webhook_endpoints SET fanned_out_to = $2
                   WHERE id = $1 AND fanned_out_to < $2";
        portable::query(sql)
            .bind(&endpoint.id)
            .bind(last)
            .execute(&mut tx)
            .await?;
        tx.commit().await?;
        Ok(page.len())
    }

    /// The deliveries whose turn it is at `now`, oldest first: of at most `accounts` accounts
    /// whose oldest pending delivery is due, that one and the account's next pending ones (up
    /// to `per_account` in all, and only while each is due). A later event of an account never
    /// comes before an earlier pending one, even when the earlier one waits for its retry. The
    /// worker sends each account's list in order and stops it at the first failure.
    pub async fn due_webhook_deliveries(
        &self,
        endpoint_id: &str,
        now: DateTime<Utc>,
        accounts: i64,
        per_account: i64,
    ) -> Result<Vec<DueDelivery>, WebhookError> {
        // `waiting` counts the account's deliveries up to this one that are not due yet: a
        // delivery is offered only when nothing before it in its account is waiting.
        let sql = "WITH queued AS (
                       SELECT position, account_id,
                              ROW_NUMBER() OVER account_order AS n,
                              SUM(CASE WHEN next_attempt_at <= $2 THEN 0 ELSE 1 END)
                                  OVER account_order AS waiting
                       FROM webhook_deliveries
                       WHERE endpoint_id = $1 AND status = 'pending'
                       WINDOW account_order AS (PARTITION BY account_id ORDER BY position)),
                   turn AS (
                       SELECT account_id FROM queued WHERE n = 1 AND waiting = 0
                       ORDER BY position LIMIT $3)
                   SELECT d.position, d.event_id, d.account_id, d.attempts, d.created_at,
                          d.generation, e.body
                   FROM queued q
                   JOIN turn t ON t.account_id = q.account_id
                   JOIN webhook_deliveries d ON d.endpoint_id = $1 AND d.position = q.position
                   JOIN integration_events e ON e.position = q.position
                   WHERE q.n <= $4 AND q.waiting = 0
                   ORDER BY q.position";
        let rows = portable::query(sql)
            .bind(endpoint_id)
            .bind(now)
            .bind(accounts)
            .bind(per_account)
            .fetch_all(self.reader())
            .await?;
        rows.iter()
            .map(|row| {
                Ok(DueDelivery {
                    position: row.get("position"),
                    event_id: row.get("event_id"),
                    account_id: row.get("account_id"),
                    attempts: row.get("attempts"),
                    created_at: row.time("created_at").map_err(WebhookError::Corrupt)?,
                    generation: row.get("generation"),
                    body: row.get("body"),
                })
            })
            .collect()
    }

    /// Records an attempt at `delivery` made at `now`, and what follows from it: done, retried
    /// later (backoff), or given up after three days, which disables an endpoint that failed
    /// everything for three days. Nothing is recorded when a replay changed the row meanwhile.
    pub async fn record_webhook_attempt(
        &self,
        endpoint_id: &str,
        delivery: &DueDelivery,
        report: &AttemptReport,
        now: DateTime<Utc>,
    ) -> Result<AttemptOutcome, WebhookError> {
        let failures = u32::try_from(delivery.attempts + 1).unwrap_or(u32::MAX);
        let outcome = if report.succeeded() {
            AttemptOutcome::Succeeded
        } else {
            match backoff::next_attempt(delivery.created_at, failures, now) {
                Some(at) => AttemptOutcome::RetryAt(at),
                None => AttemptOutcome::GaveUp,
            }
        };
        let (status, next_attempt_at) = match outcome {
            AttemptOutcome::Succeeded => ("succeeded", now),
            AttemptOutcome::RetryAt(at) => ("pending", at),
            _ => ("failed", now),
        };
        // The delivery and the endpoint's health move together.
        let mut tx = Tx::begin(self).await?;
        let sql = "UPDATE webhook_deliveries SET status = $4, attempts = attempts + 1,
                       next_attempt_at = $5, last_attempt_at = $6, last_status_code = $7,
                       last_latency_ms = $8, last_error = $9, last_response_body = $10
                   WHERE endpoint_id = $1 AND position = $2 AND generation = $3
                     AND status = 'pending' AND attempts = $11";
        let changed = portable::query(sql)
            .bind(endpoint_id)
            .bind(delivery.position)
            .bind(delivery.generation)
            .bind(status)
            .bind(next_attempt_at)
            .bind(now)
            .bind(portable::Value::Int(report.status_code.map(i64::from)))
            .bind(report.latency_ms)
            .bind(report.error.as_deref())
            .bind(report.response_body.as_deref())
            .bind(delivery.attempts)
            .execute(&mut tx)
            .await?;
        if changed == 0 {
            tx.rollback().await?;
            return Ok(AttemptOutcome::Superseded);
        }
        let health = if report.succeeded() {
            portable::query("UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1")
                .bind(endpoint_id)
        } else {
            let sql = "UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, $2)
                       WHERE id = $1";
            portable::query(sql).bind(endpoint_id).bind(now)
        };
        health.execute(&mut tx).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// Disables the endpoint when it has failed everything for three days (since its last
    /// success); answers whether it did.
    pub async fn disable_webhook_endpoint_if_failing(
        &self,
        endpoint_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, WebhookError> {
        let sql = "UPDATE webhook_endpoints SET disabled_at = $2, disabled_reason = $4
                   WHERE id = $1 AND disabled_at IS NULL AND failing_since <= $3";
        let disabled = portable::query(sql)
            .bind(endpoint_id)
            .bind(now)
            .bind(now - backoff::give_up_after())
            .bind(DISABLED_FAILING)
            .execute(self.writer())
            .await?;
        Ok(disabled == 1)
    }

    /// Queues again, as new pending deliveries with their original ids, every event from
    /// `from_position` that the endpoint subscribes to and has already queued (later ones are
    /// queued by the fan-out as usual); answers how many. Each account's queue then delivers
    /// them in position order.
    pub async fn replay_webhooks(
        &self,
        endpoint: &Endpoint,
        from_position: i64,
        now: DateTime<Utc>,
    ) -> Result<u64, WebhookError> {
        let on_conflict = "ON CONFLICT (endpoint_id, position) DO UPDATE SET status = 'pending',
                 attempts = 0, created_at = EXCLUDED.created_at,
                 next_attempt_at = EXCLUDED.next_attempt_at,
                 generation = webhook_deliveries.generation + 1";
        let mut after = from_position.saturating_sub(1);
        let mut replayed = 0;
        loop {
            let page = self
                .catalog_page(after, endpoint.fanned_out_to, FAN_OUT_BATCH)
                .await?;
            let Some(last) = page.last().map(|entry| entry.position) else {
                return Ok(replayed);
            };
            let mut tx = Tx::begin(self).await?;
            replayed += Self::queue_deliveries(&mut tx, on_conflict, endpoint, &page, now).await?;
            tx.commit().await?;
            after = last;
        }
    }

    /// The endpoint's deliveries after `after_position`, in position order, optionally of one
    /// status.
    pub async fn list_webhook_deliveries(
        &self,
        endpoint_id: &str,
        status: Option<&str>,
        after_position: i64,
        limit: i64,
    ) -> Result<Vec<DeliveryRecord>, WebhookError> {
        let sql = "SELECT position, event_id, event_type, account_id, status, attempts, created_at,
                          next_attempt_at, last_attempt_at, last_status_code, last_latency_ms,
                          last_error, last_response_body
                   FROM webhook_deliveries
                   WHERE endpoint_id = $1 AND ($2 IS NULL OR status = $2) AND position > $3
                   ORDER BY position LIMIT $4";
        let rows = portable::query(sql)
            .bind(endpoint_id)
            .bind(status)
            .bind(after_position)
            .bind(limit)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(delivery_record).collect()
    }

    /// How many deliveries of the endpoint are pending, and since when the oldest is queued.
    pub async fn pending_webhooks(
        &self,
        endpoint_id: &str,
    ) -> Result<(i64, Option<DateTime<Utc>>), WebhookError> {
        let sql = "SELECT COUNT(*) AS pending, MIN(created_at) AS oldest FROM webhook_deliveries
                   WHERE endpoint_id = $1 AND status = 'pending'";
        let row = portable::query(sql)
            .bind(endpoint_id)
            .fetch_one(self.reader())
            .await?;
        let oldest = row.optional_time("oldest").map_err(WebhookError::Corrupt)?;
        Ok((row.get("pending"), oldest))
    }
}

fn delivery_record(row: &Row) -> Result<DeliveryRecord, WebhookError> {
    let time = |column| row.time(column).map_err(WebhookError::Corrupt);
    Ok(DeliveryRecord {
        position: row.get("position"),
        event_id: row.get("event_id"),
        event_type: row.get("event_type"),
        account_id: row.get("account_id"),
        status: row.get("status"),
        attempts: row.get("attempts"),
        created_at: time("created_at")?,
        next_attempt_at: time("next_attempt_at")?,
        last_attempt_at: row
            .optional_time("last_attempt_at")
            .map_err(WebhookError::Corrupt)?,
        last_status_code: row.get("last_status_code"),
        last_latency_ms: row.get("last_latency_ms"),
        last_error: row.get("last_error"),
        last_response_body: row.get("last_response_body"),
    })
}

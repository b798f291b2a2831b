//! The `email_deliveries` table (migration 0016): what the sender did with each notification,
//! keyed by its dedupe key. Not a read model: a rebuild of the notifications leaves it alone, so
//! nothing is sent twice because the outbox was rebuilt. Every write is one statement, as the
//! scheduler's are, so no transaction is held across an await (SQLite has one writer).

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::portable::{self, placeholders, Pool, Row, Value};
use crate::store::Store;

/// Where a notification's email stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// To be sent: not tried yet, or tried and to be retried at `next_attempt_at`.
    Pending,
    Sent,
    /// Given up: the server refused it for good, or it could not be sent for too long.
    Failed,
    /// Never sent: no recipient, or already old when the sender first saw it.
    Skipped,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Skipped => "skipped",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Pending, Self::Sent, Self::Failed, Self::Skipped]
            .into_iter()
            .find(|status| status.as_str() == text)
    }
}

/// A notification's email delivery, as the notifications list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailDelivery {
    pub dedupe_key: String,
    pub status: DeliveryStatus,
    pub recipient: Option<String>,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub next_attempt_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str =
    "dedupe_key, status, recipient, attempts, last_error, next_attempt_at, sent_at";
/// Keys per statement: far below either backend's bound-parameter limit.
const KEYS_PER_STATEMENT: usize = 200;

/// The deliveries of the notifications with `dedupe_keys`, by key; a key with none is absent.
pub async fn deliveries(
    pool: &Pool,
    dedupe_keys: &[String],
) -> Result<HashMap<String, EmailDelivery>, sqlx::Error> {
    let mut found = HashMap::with_capacity(dedupe_keys.len());
    for chunk in dedupe_keys.chunks(KEYS_PER_STATEMENT) {
        let sql = format!(
            "SELECT {COLUMNS} FROM email_deliveries WHERE dedupe_key IN ({})",
            placeholders(1, chunk.len())
        );
        let keys = chunk.iter().map(Value::from);
        for row in portable::query(&sql).bind_all(keys).fetch_all(pool).await? {
            let delivery = delivery_from(&row)?;
            found.insert(delivery.dedupe_key.clone(), delivery);
        }
    }
    Ok(found)
}

fn delivery_from(row: &Row) -> Result<EmailDelivery, sqlx::Error> {
    let status: String = row.get("status");
    Ok(EmailDelivery {
        status: DeliveryStatus::parse(&status)
            .ok_or_else(|| corrupt(format!("unknown email delivery status `{status}`")))?,
        dedupe_key: row.get("dedupe_key"),
        recipient: row.get("recipient"),
        attempts: row.get("attempts"),
        last_error: row.get("last_error"),
        next_attempt_at: row.time("next_attempt_at").map_err(corrupt)?,
        sent_at: row.optional_time("sent_at").map_err(corrupt)?,
    })
}

fn corrupt(reason: String) -> sqlx::Error {
    sqlx::Error::Decode(reason.into())
}

/// A delivery this sender claimed, with the notification it sends.
#[derive(Debug, Clone)]
pub(super) struct Claimed {
    pub dedupe_key: String,
    /// The notification's id (the id of the event that recorded it): stable across rebuilds.
    pub notification_id: String,
    pub recipient: Option<String>,
    pub attempts: i64,
    pub created_at: DateTime<Utc>,
    pub kind: String,
    pub account_id: String,
    pub payload: String,
}

/// When this database started sending email: `now` the first time it is asked, and the stored
/// instant ever after (every replica agrees on it).
pub(super) async fn enabled_since(
    store: &Store,
    now: DateTime<Utc>,
) -> Result<String, sqlx::Error> {
    portable::query(
        "INSERT INTO email_enabled (id, since) VALUES (1, $1) ON CONFLICT (id) DO NOTHING",
    )
    .bind(crate::portable::timestamp(now))
    .execute(store.writer())
    .await?;
    Ok(
        portable::query("SELECT since FROM email_enabled WHERE id = 1")
            .fetch_one(store.writer())
            .await?
            .get("since"),
    )
}

/// Creates the delivery of every notification that has none yet (up to `limit`, oldest first):
/// pending, or skipped when it has no recipient or was recorded before `since` (when this
/// database started sending email: turning email on, or replaying the outbox, does not mail the
/// past). Returns how many it created.
pub(super) async fn discover(
    store: &Store,
    now: DateTime<Utc>,
    since: &str,
    limit: u32,
) -> Result<u64, sqlx::Error> {
    // Notification times are stored as RFC 3339 text in UTC; compared as text to the cutoff in
    // the same form they order as times to within the second.
    // Only past the highest position seen (an index read), so a round costs the new
    // notifications, not the whole outbox: the projector commits them in position order, and a
    // rebuild gives every notification its old position back.
    portable::query(
        "INSERT INTO email_deliveries
                (dedupe_key, notification_id, notification_position, status, recipient, attempts,
                 next_attempt_at, last_error, created_at)
         SELECT n.dedupe_key, n.id, n.position,
                CASE WHEN n.recipient IS NULL OR n.created_at < $1 THEN 'skipped'
                     ELSE 'pending' END,
                n.recipient, 0, $2,
                CASE WHEN n.recipient IS NULL THEN 'the account has no billing email'
                     WHEN n.created_at < $1 THEN 'recorded before email was sent for it'
                END,
                $2
           FROM notifications n
           LEFT JOIN email_deliveries d ON d.dedupe_key = n.dedupe_key
          WHERE n.position > (SELECT coalesce(max(notification_position), 0)
                                FROM email_deliveries)
            AND d.dedupe_key IS NULL
          ORDER BY n.position
          LIMIT $3
         ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(since)
    .bind(now)
    .bind(i64::from(limit))
    .execute(store.writer())
    .await
}

/// Claims up to `limit` pending deliveries due at `now` for `lease`, as `claimer`. A claim held
/// by another sender is skipped until its lease runs out (then that sender is presumed dead).
pub(super) async fn claim(
    store: &Store,
    now: DateTime<Utc>,
    limit: u32,
    lease: Duration,
    claimer: &str,
) -> Result<Vec<Claimed>, sqlx::Error> {
    match store {
        // Leases on the database's clock, the one clock every replica shares.
        Store::Postgres(log) => {
            portable::query(
                "WITH due AS (
                     SELECT dedupe_key FROM email_deliveries
                      WHERE status = 'pending' AND next_attempt_at <= $1
                        AND (claimed_until IS NULL OR claimed_until <= clock_timestamp())
                      ORDER BY next_attempt_at, dedupe_key
                      LIMIT $2
                        FOR UPDATE SKIP LOCKED
                 )
                 UPDATE email_deliveries d
                    SET claimed_by = $3,
                        claimed_until = clock_timestamp() + make_interval(secs => $4)
                   FROM due
                  WHERE d.dedupe_key = due.dedupe_key",
            )
            .bind(now)
            .bind(i64::from(limit))
            .bind(claimer)
            .postgres()
            .bind(lease.as_secs_f64())
            .execute(log.pool())
            .await?;
        }
        // One writer connection: the statement is atomic by itself. Leases on this process's
        // clock (SQLite serves one process).
        Store::Sqlite(_) => {
            let wall = Utc::now();
            let until = wall + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
            portable::query(
                "UPDATE email_deliveries SET claimed_by = $1, claimed_until = $2
                  WHERE dedupe_key IN (
                        SELECT dedupe_key FROM email_deliveries
                         WHERE status = 'pending' AND next_attempt_at <= $3
                           AND (claimed_until IS NULL OR claimed_until <= $4)
                         ORDER BY next_attempt_at, dedupe_key
                         LIMIT $5)",
            )
            .bind(claimer)
            .bind(until)
            .bind(now)
            .bind(wall)
            .bind(i64::from(limit))
            .execute(store.writer())
            .await?;
        }
    }
    let rows = portable::query(
        "SELECT d.dedupe_key, d.notification_id, d.recipient, d.attempts, d.created_at,
                n.kind, n.account_id, n.payload
           FROM email_deliveries d
           JOIN notifications n ON n.dedupe_key = d.dedupe_key
          WHERE d.claimed_by = $1 AND d.status = 'pending'
          ORDER BY d.next_attempt_at, d.dedupe_key",
    )
    .bind(claimer)
    .fetch_all(store.writer())
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Claimed {
                dedupe_key: row.get("dedupe_key"),
                notification_id: row.get("notification_id"),
                recipient: row.get("recipient"),
                attempts: row.get("attempts"),
                created_at: row.time("created_at").map_err(corrupt)?,
                kind: row.get("kind"),
                account_id: row.get("account_id"),
                payload: row.get("payload"),
            })
        })
        .collect()
}

/// What became of one attempt.
pub(super) enum Outcome {
    Sent {
        at: DateTime<Utc>,
    },
    /// Try again at `next_attempt_at`.
    Retry {
        error: String,
        next_attempt_at: DateTime<Utc>,
    },
    /// Given up.
    Failed {
        error: String,
    },
}

/// Records `outcome` for a delivery `claimer` holds, and releases it. Answers false when the
/// claim was lost meanwhile (its lease ran out and another sender took it).
pub(super) async fn record(
    store: &Store,
    dedupe_key: &str,
    claimer: &str,
    outcome: Outcome,
) -> Result<bool, sqlx::Error> {
    let release = "attempts = attempts + 1, claimed_by = NULL, claimed_until = NULL";
    let query = match &outcome {
        Outcome::Sent { .. } => format!(
            "UPDATE email_deliveries SET status = 'sent', last_error = NULL, sent_at = $3, {release}
              WHERE dedupe_key = $1 AND claimed_by = $2"
        ),
        Outcome::Retry { .. } => format!(
            "UPDATE email_deliveries
                SET status = 'pending', last_error = $3, next_attempt_at = $4, {release}
              WHERE dedupe_key = $1 AND claimed_by = $2"
        ),
        Outcome::Failed { .. } => format!(
            "UPDATE email_deliveries SET status = 'failed', last_error = $3, {release}
              WHERE dedupe_key = $1 AND claimed_by = $2"
        ),
    };
    let statement = portable::query(&query).bind(dedupe_key).bind(claimer);
    let statement = match outcome {
        Outcome::Sent { at } => statement.bind(at),
        Outcome::Retry {
            error,
            next_attempt_at,
        } => statement.bind(error).bind(next_attempt_at),
        Outcome::Failed { error } => statement.bind(error),
    };
    Ok(statement.execute(store.writer()).await? == 1)
}

/// How many deliveries are pending, for the gauge.
pub(super) async fn pending(store: &Store) -> Result<i64, sqlx::Error> {
    Ok(
        portable::query(
            "SELECT count(*) AS pending FROM email_deliveries WHERE status = 'pending'",
        )
        .fetch_one(store.reader())
        .await?
        .get("pending"),
    )
}

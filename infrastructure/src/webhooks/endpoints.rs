//! The endpoint store: endpoints with their sealed secrets, created, listed, changed, rotated
//! and deleted. Reads never return a secret; only creation and rotation hand one out, once.

use chrono::{DateTime, Duration, Utc};
use rand::RngCore;

use crate::portable::{self, Row};
use crate::secret::Secret;
use crate::store::Store;

use super::sealing::SecretSealer;
use super::signing;
use super::WebhookError;

/// How long the secret before a rotation keeps signing.
pub fn rotation_overlap() -> Duration {
    Duration::hours(24)
}

/// An endpoint as stored, without its secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub id: String,
    pub url: String,
    pub enabled_events: Vec<String>,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The catalog head when it was created: it receives the events after it.
    pub starts_after: i64,
    /// The catalog position up to which its deliveries are queued.
    pub fanned_out_to: i64,
    pub disabled_at: Option<DateTime<Utc>>,
    /// `admin` or `failing`.
    pub disabled_reason: Option<String>,
    /// Until when the secret before the last rotation still signs.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// Since when every attempt failed; `None` after any success.
    pub failing_since: Option<DateTime<Utc>>,
}

impl Endpoint {
    pub fn is_disabled(&self) -> bool {
        self.disabled_at.is_some()
    }
}

/// `disabled_reason` of an endpoint disabled because every delivery failed for three days.
pub const DISABLED_FAILING: &str = "failing";

/// What the update route may change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct EndpointChanges {
    pub url: Option<String>,
    pub enabled_events: Option<Vec<String>>,
    pub description: Option<String>,
    pub disabled: Option<bool>,
}

const COLUMNS: &str = "id, url, enabled_events, description, created_at, starts_after, \
    fanned_out_to, disabled_at, disabled_reason, previous_secret_expires_at, failing_since";

fn new_id() -> String {
    let mut bytes = [0u8; 8];
    rand::thread_rng().fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("we_{hex}")
}

fn endpoint(row: &Row) -> Result<Endpoint, WebhookError> {
    let events: String = row.get("enabled_events");
    Ok(Endpoint {
        id: row.get("id"),
        url: row.get("url"),
        enabled_events: serde_json::from_str(&events)
            .map_err(|e| WebhookError::Corrupt(format!("enabled_events `{events}`: {e}")))?,
        description: row.get("description"),
        created_at: row.time("created_at").map_err(WebhookError::Corrupt)?,
        starts_after: row.get("starts_after"),
        fanned_out_to: row.get("fanned_out_to"),
        disabled_at: row
            .optional_time("disabled_at")
            .map_err(WebhookError::Corrupt)?,
        disabled_reason: row.get("disabled_reason"),
        previous_secret_expires_at: row
            .optional_time("previous_secret_expires_at")
            .map_err(WebhookError::Corrupt)?,
        failing_since: row
            .optional_time("failing_since")
            .map_err(WebhookError::Corrupt)?,
    })
}

fn events_json(events: &[String]) -> String {
    serde_json::Value::from(events.to_vec()).to_string()
}

impl Store {
    /// The newest position of the integration event catalog (0 when it is empty).
    pub async fn catalog_head(&self) -> Result<i64, sqlx::Error> {
        let sql = "SELECT COALESCE(MAX(position), 0) AS head FROM integration_events";
        Ok(portable::query(sql)
            .fetch_one(self.reader())
            .await?
            .get("head"))
    }

    /// Creates an endpoint that receives the catalog events after the current head, and answers
    /// it with its new secret, which is shown nowhere else. `url` and `enabled_events` must have
    /// been checked (`UrlPolicy`, `event_filter::parse`).
    pub async fn create_webhook_endpoint(
        &self,
        url: &str,
        enabled_events: &[String],
        description: Option<&str>,
        sealer: &SecretSealer,
        now: DateTime<Utc>,
    ) -> Result<(Endpoint, Secret), WebhookError> {
        let secret = signing::new_secret();
        let id = new_id();
        let head = self.catalog_head().await?;
        let sql = "INSERT INTO webhook_endpoints (id, url, enabled_events, description, created_at,
                       starts_after, fanned_out_to, secret)
                   VALUES ($1, $2, $3, $4, $5, $6, $6, $7)";
        portable::query(sql)
            .bind(&id)
            .bind(url)
            .bind(events_json(enabled_events))
            .bind(description)
            .bind(now)
            .bind(head)
            .bind(sealer.seal(&secret))
            .execute(self.writer())
            .await?;
        let created = self.webhook_endpoint(&id).await?;
        let created = created.ok_or_else(|| WebhookError::Corrupt(format!("{id} vanished")))?;
        Ok((created, secret))
    }

    pub async fn webhook_endpoint(&self, id: &str) -> Result<Option<Endpoint>, WebhookError> {
        let sql = format!("SELECT {COLUMNS} FROM webhook_endpoints WHERE id = $1");
        let row = portable::query(&sql)
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(endpoint).transpose()
    }

    /// Every endpoint, oldest first.
    pub async fn list_webhook_endpoints(&self) -> Result<Vec<Endpoint>, WebhookError> {
        let sql = format!("SELECT {COLUMNS} FROM webhook_endpoints ORDER BY created_at, id");
        let rows = portable::query(&sql).fetch_all(self.reader()).await?;
        rows.iter().map(endpoint).collect()
    }

    /// Applies `changes`; `None` when there is no such endpoint. Disabling stops deliveries
    /// (they stay pending); enabling again resumes them where they were.
    pub async fn update_webhook_endpoint(
        &self,
        id: &str,
        changes: &EndpointChanges,
        now: DateTime<Utc>,
    ) -> Result<Option<Endpoint>, WebhookError> {
        let events = changes.enabled_events.as_deref().map(events_json);
        let sql = "UPDATE webhook_endpoints SET
                       url = COALESCE($2, url),
                       enabled_events = COALESCE($3, enabled_events),
                       description = COALESCE($4, description)
                   WHERE id = $1";
        let changed = portable::query(sql)
            .bind(id)
            .bind(changes.url.as_deref())
            .bind(&events)
            .bind(changes.description.as_deref())
            .execute(self.writer())
            .await?;
        if changed == 0 {
            return Ok(None);
        }
        match changes.disabled {
            Some(true) => {
                let sql = "UPDATE webhook_endpoints SET disabled_at = $2, disabled_reason = 'admin'
                           WHERE id = $1 AND disabled_at IS NULL";
                portable::query(sql)
                    .bind(id)
                    .bind(now)
                    .execute(self.writer())
                    .await?;
            }
            Some(false) => {
                let sql = "UPDATE webhook_endpoints
                           SET disabled_at = NULL, disabled_reason = NULL, failing_since = NULL
                           WHERE id = $1";
                portable::query(sql).bind(id).execute(self.writer()).await?;
            }
            None => {}
        }
        self.webhook_endpoint(id).await
    }

    /// Gives the endpoint a new secret; the current one keeps signing for
    /// [`rotation_overlap`]. `None` when there is no such endpoint.
    pub async fn rotate_webhook_secret(
        &self,
        id: &str,
        sealer: &SecretSealer,
        now: DateTime<Utc>,
    ) -> Result<Option<Secret>, WebhookError> {
        let secret = signing::new_secret();
        let sql = "UPDATE webhook_endpoints
                   SET previous_secret = secret, previous_secret_expires_at = $2, secret = $3
                   WHERE id = $1";
        let changed = portable::query(sql)
            .bind(id)
            .bind(now + rotation_overlap())
            .bind(sealer.seal(&secret))
            .execute(self.writer())
            .await?;
        Ok((changed == 1).then_some(secret))
    }

    /// Deletes the endpoint and its delivery records; `false` when there was none.
    pub async fn delete_webhook_endpoint(&self, id: &str) -> Result<bool, WebhookError> {
        // The foreign key cascades too; deleting explicitly does not depend on SQLite's pragma.
        portable::query("DELETE FROM webhook_deliveries WHERE endpoint_id = $1")
            .bind(id)
            .execute(self.writer())
            .await?;
        let deleted = portable::query("DELETE FROM webhook_endpoints WHERE id = $1")
            .bind(id)
            .execute(self.writer())
            .await?;
        Ok(deleted == 1)
    }

    /// The secrets that sign a delivery at `now`: the current one first, then the one before
    /// the last rotation while it has not expired.
    pub async fn webhook_signing_secrets(
        &self,
        id: &str,
        sealer: &SecretSealer,
        now: DateTime<Utc>,
    ) -> Result<Vec<Secret>, WebhookError> {
        let sql = "SELECT secret, previous_secret, previous_secret_expires_at
                   FROM webhook_endpoints WHERE id = $1";
        let Some(row) = portable::query(sql)
            .bind(id)
            .fetch_optional(self.reader())
            .await?
        else {
            return Ok(Vec::new());
        };
        let mut secrets = vec![sealer.open(&row.get::<String>("secret"))?];
        let expires = row
            .optional_time("previous_secret_expires_at")
            .map_err(WebhookError::Corrupt)?;
        if let (Some(previous), Some(expires)) =
            (row.get::<Option<String>>("previous_secret"), expires)
        {
            if now < expires {
                secrets.push(sealer.open(&previous)?);
            }
        }
        Ok(secrets)
    }
}

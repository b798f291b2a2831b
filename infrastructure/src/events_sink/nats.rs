//! Publishing the catalog to NATS JetStream with async-nats.

use std::sync::Arc;
use std::time::Duration;

use application::event_log::{EventLogError, StoredEvent};
use application::{Policy, ReactionError};
use async_nats::jetstream::{self, stream};
use async_nats::HeaderMap;

use crate::consumers::{recorded_checkpoint, ProjectionError};
use crate::portable;
use crate::Store;

/// The consumer name: it keys the sink's checkpoint and lease.
const NAME: &str = "nats_sink";
/// The read model that writes the catalog the sink publishes.
const CATALOG: &str = "integration_events";
/// Every aggregate type the catalog derives events from.
const LISTENS_TO: [&str; 4] = ["subscription", "invoice", "entitlements", "dunning_case"];
/// How long a batch waits for the catalog to reach it before the runtime retries it.
const CATALOG_WAIT: Duration = Duration::from_secs(10);
/// How long JetStream remembers a message id: a batch published again after a crash and a
/// restart within this window adds nothing to the stream.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);

/// `--events-nats-url` and `--events-nats-stream`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsSinkOptions {
    pub url: String,
    /// The JetStream stream, created with subjects `<subject_prefix>.>` when missing.
    pub stream: String,
    /// Events go to `<subject_prefix>.<type>`: `ledgerline.events` unless several deployments
    /// share one NATS server (two streams cannot hold the same subjects).
    pub subject_prefix: String,
}

#[derive(Debug, thiserror::Error)]
pub enum NatsSinkError {
    /// The URL is left out: it may hold credentials.
    #[error("cannot connect to NATS (--events-nats-url): {reason}")]
    Connect { reason: String },
    #[error("cannot create or open the JetStream stream `{stream}`: {reason}")]
    Stream { stream: String, reason: String },
}

/// The sink: a policy of the log-consumer runtime whose effect is publishing.
pub struct NatsSink {
    store: Arc<Store>,
    jetstream: jetstream::Context,
    subject_prefix: String,
}

impl NatsSink {
    /// Connects and makes sure the stream exists.
    pub async fn connect(
        store: Arc<Store>,
        options: &NatsSinkOptions,
    ) -> Result<Self, NatsSinkError> {
        let client =
            async_nats::connect(&options.url)
                .await
                .map_err(|e| NatsSinkError::Connect {
                    reason: e.to_string(),
                })?;
        let jetstream = jetstream::new(client);
        jetstream
            .get_or_create_stream(stream::Config {
                name: options.stream.clone(),
                subjects: vec![format!("{}.>", options.subject_prefix)],
                duplicate_window: DUPLICATE_WINDOW,
                ..Default::default()
            })
            .await
            .map_err(|e| NatsSinkError::Stream {
                stream: options.stream.clone(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            store,
            jetstream,
            subject_prefix: options.subject_prefix.clone(),
        })
    }

    /// Waits until the catalog has committed `position`.
    async fn catalog_reached(&self, position: i64) -> Result<(), ReactionError> {
        let deadline = tokio::time::Instant::now() + CATALOG_WAIT;
        loop {
            let at = recorded_checkpoint(&self.store, CATALOG)
                .await
                .map_err(storage)?;
            if at.position >= position {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(unavailable(format!(
                    "the event catalog is at {}, not yet at {position}",
                    at.position
                )));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn publish(&self, id: String, kind: &str, body: String) -> Result<(), ReactionError> {
        let mut headers = HeaderMap::new();
        headers.insert("Nats-Msg-Id", id.as_str());
        let subject = format!("{}.{kind}", self.subject_prefix);
        let ack = self
            .jetstream
            .publish_with_headers(subject, headers, body.into())
            .await
            .map_err(|e| unavailable(format!("publishing {id}: {e}")))?;
        ack.await
            .map_err(|e| unavailable(format!("JetStream did not acknowledge {id}: {e}")))?;
        metrics::counter!("ledgerline_nats_published_total").increment(1);
        Ok(())
    }
}

impl Policy for NatsSink {
    fn name(&self) -> &'static str {
        NAME
    }

    fn listens_to(&self) -> &'static [&'static str] {
        &LISTENS_TO
    }

    async fn react(&self, events: &[StoredEvent]) -> Result<(), ReactionError> {
        let (Some(first), Some(last)) = (events.first(), events.last()) else {
            return Ok(());
        };
        self.catalog_reached(last.position).await?;
        let rows = portable::query(
            "SELECT id, type, body FROM integration_events \
              WHERE position >= $1 AND position <= $2 ORDER BY position",
        )
        .bind(first.position)
        .bind(last.position)
        .fetch_all(self.store.reader())
        .await
        .map_err(|e| unavailable(e.to_string()))?;
        for row in rows {
            self.publish(row.get("id"), &row.get::<String>("type"), row.get("body"))
                .await?;
        }
        Ok(())
    }
}

fn storage(error: ProjectionError) -> ReactionError {
    unavailable(error.to_string())
}

/// A failure worth retrying: the runtime tries the batch again later.
fn unavailable(reason: String) -> ReactionError {
    EventLogError::Storage(reason).into()
}

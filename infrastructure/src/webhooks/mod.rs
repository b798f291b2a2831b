//! Webhook endpoints and their delivery (SPEC 9.2): the endpoint store, Standard Webhooks
//! signatures, secrets sealed at rest, the URL guard, the retry schedule, the HTTP sender and
//! the worker that delivers each account's events in position order, at least once.
//!
//! Reads go to the store's readers: on SQLite they see every committed write at once (WAL), and
//! the worker's polling then never queues behind commands on the single writer connection.

pub mod backoff;
pub mod deliveries;
pub mod endpoints;
pub mod event_filter;
pub mod sealing;
pub mod sender;
pub mod signing;
pub mod url_guard;
pub mod worker;

pub use deliveries::{AttemptOutcome, AttemptReport, DeliveryRecord, DueDelivery};
pub use endpoints::{Endpoint, EndpointChanges, DISABLED_FAILING};
pub use sealing::{SealError, SecretSealer};
pub use url_guard::{UrlPolicy, UrlRefused};
pub use worker::{WebhookOptions, WebhookWorker};

/// Why a webhook operation failed.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error(transparent)]
    Storage(#[from] sqlx::Error),
    #[error(transparent)]
    Seal(#[from] SealError),
    #[error("a stored webhook row cannot be read: {0}")]
    Corrupt(String),
    #[error("the webhook lease: {0}")]
    Lease(#[from] crate::consumers::ProjectionError),
    #[error("recording the endpoint's disabling in the log: {0}")]
    Record(String),
}

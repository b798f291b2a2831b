//! What every handler may reach, built once at start.

use std::sync::Arc;

use application::{CommandBus, PaymentGateway};
use domain::{BillingServices, ManualClock, PlanCatalog};
use infrastructure::api_keys::ApiKeyLookup;
use infrastructure::webhooks::{SecretSealer, UrlPolicy};
use infrastructure::Store;
use projections::{Projections, ReadModels};
use sagas::Timers;

#[derive(Clone)]
pub struct AppState {
    pub catalog: Arc<PlanCatalog>,
    pub services: BillingServices,
    pub store: Arc<Store>,
    /// Finds the API key of a request, through this process's key cache where it is safe.
    pub keys: ApiKeyLookup,
    pub bus: Arc<CommandBus<Store>>,
    /// Where invoices are charged: the sandbox gateway unless another is wired.
    pub gateway: Arc<dyn PaymentGateway>,
    /// The running projections, for read-your-writes waits.
    pub projections: Arc<Projections>,
    pub read_models: ReadModels,
    /// Renders the Prometheus metrics.
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    /// Present only with `--test-clock`.
    pub test_clock: Option<Arc<ManualClock>>,
    /// Scheduling and firing timers; the test clock's advance fires them directly.
    pub timers: Arc<Timers<Store, Store>>,
    pub webhooks: WebhookSettings,
    /// The signing secrets `POST /v1/webhooks/stripe` accepts (several during a rotation).
    pub stripe_webhook_secrets: Arc<Vec<infrastructure::Secret>>,
    /// Who issues the invoices, as their documents print it (`--seller-*`).
    pub seller: Arc<crate::document::Seller>,
}

/// How webhook endpoints are checked and their secrets kept.
#[derive(Clone, Debug)]
pub struct WebhookSettings {
    /// Seals secrets at rest with `LEDGERLINE_SECRETS_KEY`, when it is set.
    pub sealer: SecretSealer,
    /// Which URLs endpoints may have (`--webhook-allow-private`).
    pub url_policy: UrlPolicy,
}

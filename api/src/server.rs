//! `ledgerline serve`: opens (and migrates) the store, builds the application state and the
//! router, and serves until SIGTERM or ctrl-c, letting requests in flight finish.

use std::net::SocketAddr;
use std::sync::Arc;

use application::{CommandBus, PaymentGateway};
use axum::Router;
use chrono::SubsecRound;
use domain::{BillingServices, Clock, ManualClock};
use infrastructure::api_keys::ApiKeyLookup;
use infrastructure::changes::ChangeFeed;
use infrastructure::webhooks::{WebhookOptions, WebhookWorker};
use infrastructure::{
    load_catalog, CatalogFileError, SandboxGateway, Store, StoreError, StripeConfig, StripeGateway,
    SystemClock,
};
use projections::{ReadModels, RuntimeOptions};
use sagas::{
    BillingPolicyWorker, DunningWorker, EntitlementsPolicyWorker, InvoiceNumberingWorker,
    ProcessorEventsWorker, TimerFiringWorker, TimerOptions, Timers, TimersPolicyWorker,
};
use tokio::net::TcpListener;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::cli::{GatewayKind, PaymentGatewayArgs, ServeArgs};
use crate::extract::request_id;
use crate::openapi::ApiDoc;
use crate::problem::ApiError;
use crate::routes::{
    accounts, api_keys, audit, audit_log, audit_state, balance, coupons, credit_notes,
    dunning_cases, dunning_queue, entitlements, events, health, invoice_documents, invoices,
    notifications, plans, previews, processor_events, projections_admin, stripe_webhooks,
    subscriptions, test_clock, timeline, usage, webhook_endpoints,
};
use crate::state::AppState;
use infrastructure::email::{EmailConfigError, EmailOptions, EmailSender, SmtpMailer};
use infrastructure::events_sink::NatsSink;

/// The largest request body accepted; the largest real one (a manual invoice) is far smaller.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Why the service could not start or keep serving.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Catalog(#[from] CatalogFileError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot install the metrics recorder: {0}")]
    Metrics(String),
    #[error("cannot start webhook delivery: {0}")]
    Webhooks(String),
    #[error("cannot install the admin key: {0}")]
    Keys(sqlx::Error),
    #[error(
        "the bootstrap admin key (key id `bootstrap-admin`) was revoked and stays revoked: \
         unset LEDGERLINE_ADMIN_KEY and use an admin key made with `ledgerline keys create --role admin`"
    )]
    BootstrapRevoked,
    #[error(transparent)]
    Nats(#[from] infrastructure::events_sink::NatsSinkError),
    #[error("--payment-gateway stripe needs STRIPE_API_KEY (Stripe's secret key, sk_test_… or sk_live_…)")]
    NoStripeKey,
    #[error("cannot build the Stripe client: {0}")]
    StripeClient(String),
    #[error(transparent)]
    Email(#[from] EmailConfigError),
    #[error(
        "cannot listen on {addr}: {source} (choose another address with --bind or LEDGERLINE_BIND)"
    )]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// The gateway `--payment-gateway` names. The dunning retries charge through the same one, so
/// that it deduplicates their payment refs.
fn payment_gateway(
    args: &PaymentGatewayArgs,
    store: &Arc<Store>,
    bus: &Arc<CommandBus<Store>>,
    services: &BillingServices,
) -> Result<Arc<dyn PaymentGateway>, ServeError> {
    match args.payment_gateway {
        GatewayKind::Sandbox => {
            tracing::info!("payment gateway: sandbox (decides by test token, moves no money)");
            Ok(Arc::new(SandboxGateway::default()))
        }
        GatewayKind::Stripe => {
            let key = args
                .stripe_api_key
                .clone()
                .filter(|key| !key.is_empty())
                .ok_or(ServeError::NoStripeKey)?;
            let config = StripeConfig::new(&args.stripe_api_base, key);
            tracing::info!(api_base = %config.api_base, "payment gateway: stripe");
            let gateway = StripeGateway::new(config, store.clone(), bus.clone(), services.clone())
                .map_err(|error| ServeError::StripeClient(error.to_string()))?;
            Ok(Arc::new(gateway))
        }
    }
}

/// The router. Every route is registered once, through `routes!`, which mounts the handler and
/// adds its OpenAPI description: the served document is the route table (see `openapi`).
pub fn router(state: AppState) -> Router {
    let mut api = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(crate::metrics::render))
        .routes(routes!(plans::list_plans))
        .routes(routes!(subscriptions::start_trial))
        .routes(routes!(subscriptions::get_subscription))
        .routes(routes!(subscriptions::attach_billing_account))
        .routes(routes!(subscriptions::activate))
        .routes(routes!(subscriptions::add_seats))
        .routes(routes!(subscriptions::remove_seats))
        .routes(routes!(subscriptions::set_overage_billing))
        .routes(routes!(subscriptions::change_plan))
        .routes(routes!(previews::change_plan_preview))
        .routes(routes!(previews::upcoming_invoice))
        .routes(routes!(subscriptions::cancel))
        .routes(routes!(coupons::apply_coupon))
        .routes(routes!(coupons::remove_discount))
        .routes(routes!(coupons::create, coupons::list))
        .routes(routes!(coupons::get))
        .routes(routes!(coupons::archive))
        .routes(routes!(invoices::issue_invoice))
        .routes(routes!(invoices::get_invoice))
        .routes(routes!(invoice_documents::document))
        .routes(routes!(invoices::attempt_payment))
        .routes(routes!(invoices::record_payment))
        .routes(routes!(invoices::record_payment_failure))
        .routes(routes!(invoices::refund))
        .routes(routes!(credit_notes::issue))
        .routes(routes!(invoices::void))
        .routes(routes!(dunning_cases::get_case))
        .routes(routes!(dunning_cases::assign))
        .routes(routes!(dunning_cases::add_note))
        .routes(routes!(dunning_cases::extend_window))
        .routes(routes!(dunning_cases::resolve))
        .routes(routes!(accounts::summary))
        .routes(routes!(notifications::list))
        .routes(routes!(accounts::invoices))
        .routes(routes!(accounts::features))
        .routes(routes!(accounts::feature))
        .routes(routes!(usage::record_usage))
        .routes(routes!(usage::add_commitment))
        .routes(routes!(usage::release_commitment))
        .routes(routes!(entitlements::suspend))
        .routes(routes!(balance::get_balance))
        .routes(routes!(balance::adjust))
        .routes(routes!(timeline::list))
        .routes(routes!(events::list))
        .routes(routes!(dunning_queue::list))
        .routes(routes!(audit::stream))
        .routes(routes!(audit_state::state))
        .routes(routes!(audit_log::events))
        .routes(routes!(api_keys::create, api_keys::list))
        .routes(routes!(api_keys::revoke))
        .routes(routes!(projections_admin::list))
        .routes(routes!(projections_admin::rebuild))
        .routes(routes!(projections_admin::verify))
        .routes(routes!(webhook_endpoints::create, webhook_endpoints::list))
        .routes(routes!(stripe_webhooks::receive))
        .routes(routes!(processor_events::list))
        .routes(routes!(webhook_endpoints::get, webhook_endpoints::delete))
        .routes(routes!(webhook_endpoints::update))
        .routes(routes!(webhook_endpoints::rotate_secret))
        .routes(routes!(webhook_endpoints::deliveries))
        .routes(routes!(webhook_endpoints::replay));
    if state.test_clock.is_some() {
        api = api
            .routes(routes!(test_clock::now))
            .routes(routes!(test_clock::advance));
    }
    let (router, mut document) = api.split_for_parts();
    crate::openapi::complete(&mut document);
    router
        .merge(crate::openapi::routes(&document))
        // Inside the metrics layer, so that a refused credential is counted under its route.
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::auth::authenticate,
        ))
        .fallback(|| async { ApiError::NotFound("no such route".into()) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .route_layer(axum::middleware::from_fn(crate::metrics::track))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(
            crate::extract::check_idempotency_key,
        ))
        .layer(axum::middleware::from_fn(crate::head_limits::limit_head))
        .layer(axum::middleware::from_fn(request_id))
        .layer(axum::middleware::from_fn(
            crate::connections::close_after_refusal,
        ))
        .with_state(state)
}

/// How long one SMTP command may take, connecting included.
const SMTP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The service's state, and the email sender to start beside it when `--smtp-url` is given.
async fn build_state(args: &ServeArgs) -> Result<(AppState, Option<EmailSender>), ServeError> {
    let catalog = Arc::new(load_catalog(&args.plans)?);
    tracing::info!(
        plans = catalog.plans().count(),
        path = %args.plans.display(),
        "plan catalog loaded"
    );
    let store = Arc::new(Store::open(&args.database.database_url).await?);
    tracing::info!(
        backend = store.backend(),
        "event store open, migrations applied"
    );
    let system_clock = SystemClock::default();
    // Whole seconds: every time derived from the test clock is then exact in storage, which
    // keeps microseconds, and a renewal fires with the clock exactly at its period's end.
    let test_clock = args.test_clock.then(|| {
        Arc::new(ManualClock::starting_at(
            system_clock.now().trunc_subsecs(0),
        ))
    });
    let clock: Arc<dyn Clock> = match &test_clock {
        Some(clock) => clock.clone(),
        None => Arc::new(system_clock),
    };
    match args.admin_key.as_ref().filter(|key| !key.is_empty()) {
        Some(secret) => {
            let installed = store
                .install_bootstrap_admin(secret)
                .await
                .map_err(ServeError::Keys)?;
            if !installed {
                return Err(ServeError::BootstrapRevoked);
            }
        }
        None => {
            tracing::info!("LEDGERLINE_ADMIN_KEY is not set; only stored API keys are accepted")
        }
    }
    let services = BillingServices::new(clock.clone(), catalog.clone(), args.dunning.policy());
    let email_sender = match (&args.email.smtp_url, &args.email.email_from) {
        (Some(url), Some(from)) => {
            let mailer = SmtpMailer::new(url, from, SMTP_TIMEOUT)?;
            tracing::info!(%from, "sending notifications to customers by email");
            let options = EmailOptions::default();
            Some(EmailSender::new(
                store.clone(),
                clock.clone(),
                mailer,
                options,
            ))
        }
        _ => {
            tracing::info!("no --smtp-url: notifications are recorded, not emailed");
            None
        }
    };
    let bus = Arc::new(CommandBus::new(store.clone(), clock));
    let gateway = payment_gateway(&args.payments, &store, &bus, &services)?;
    let timers = Arc::new(Timers::new(
        store.clone(),
        bus.clone(),
        services.clone(),
        gateway.clone(),
        TimerOptions::default(),
    ));
    let mut projections =
        projections::start(store.clone(), catalog.clone(), RuntimeOptions::default());
    projections.spawn(EntitlementsPolicyWorker::new(bus.clone(), services.clone()));
    projections.spawn(TimersPolicyWorker::new(bus.clone(), timers.clone()));
    projections.spawn(BillingPolicyWorker::new(
        bus.clone(),
        store.clone(),
        services.clone(),
        gateway.clone(),
    ));
    projections.spawn(ProcessorEventsWorker::new(bus.clone(), services.clone()));
    projections.spawn(InvoiceNumberingWorker::new(
        bus.clone(),
        services.clone(),
        args.invoicing.invoice_prefix.clone(),
    ));
    projections.spawn(DunningWorker::new(
        bus.clone(),
        services.clone(),
        store.clone(),
        timers.clone(),
    ));
    if let Some(options) = args.event_sinks.nats() {
        let sink = NatsSink::connect(store.clone(), &options).await?;
        tracing::info!(stream = %options.stream, "publishing integration events to NATS JetStream");
        projections.spawn(sink);
    }
    let changes = ChangeFeed::start(&store);
    let state = AppState {
        keys: ApiKeyLookup::new(store.clone(), &changes),
        metrics: crate::metrics::install().map_err(ServeError::Metrics)?,
        services,
        bus,
        read_models: ReadModels::new(&store, &changes, catalog.clone())
            .with_email(email_sender.is_some()),
        projections: Arc::new(projections),
        catalog,
        store,
        gateway,
        test_clock,
        timers,
        webhooks: args.webhooks.settings(),
        stripe_webhook_secrets: Arc::new(args.payments.stripe_webhook_secret.clone()),
        seller: Arc::new(args.invoicing.seller()),
    };
    Ok((state, email_sender))
}

pub async fn run(args: ServeArgs) -> Result<(), ServeError> {
    let (state, email_sender) = build_state(&args).await?;
    let projections = state.projections.clone();
    let bind_error = |source| ServeError::Bind {
        addr: args.bind,
        source,
    };
    let listener = TcpListener::bind(args.bind).await.map_err(bind_error)?;
    let addr = listener.local_addr().map_err(bind_error)?;
    let shutdown = shutdown_signal();
    let firing = TimerFiringWorker::spawn(state.timers.clone());
    let webhooks = WebhookWorker::spawn(
        state.store.clone(),
        state.bus.clone(),
        state.services.clone(),
        state.webhooks.sealer.clone(),
        WebhookOptions {
            url_policy: state.webhooks.url_policy,
            ..WebhookOptions::default()
        },
    )
    .map_err(|e| ServeError::Webhooks(e.to_string()))?;
    let emailing = email_sender.map(EmailSender::spawn);
    let sweep = crate::retention::spawn(state.store.clone(), args.idempotency_retention_hours);
    // Black-box tests and scripts read this line to learn the port when binding to port 0.
    tracing::info!("listening on http://{addr}");
    crate::connections::serve(
        listener,
        router(state),
        &args.connections.limits(),
        shutdown,
    )
    .await;
    // The router and its clones of the state are gone: stop the workers cleanly (each finishes
    // its round or batch; projections record `stopped`). Timers first: they send commands.
    sweep.abort();
    webhooks.stop().await;
    firing.stop().await;
    if let Some(emailing) = emailing {
        emailing.stop().await;
    }
    match Arc::try_unwrap(projections) {
        Ok(projections) => projections.stop().await,
        Err(_) => tracing::warn!("projections still referenced at shutdown; not stopped cleanly"),
    }
    tracing::info!("stopped");
    Ok(())
}

/// `ledgerline migrate`: apply pending migrations and exit.
pub async fn migrate(url: &str) -> Result<(), ServeError> {
    let store = Store::open(url).await?;
    tracing::info!(backend = store.backend(), "migrations applied");
    Ok(())
}

/// Resolves on ctrl-c (SIGINT) or SIGTERM, whichever comes first. The handlers are installed
/// when this is called, not when the future is first polled, so a signal that arrives right
/// after the "listening" line is not lost to the default action.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, SignalKind};
    let interrupt = signal(SignalKind::interrupt());
    let terminate = signal(SignalKind::terminate());
    async move {
        let (mut interrupt, mut terminate) = match (interrupt, terminate) {
            (Ok(interrupt), Ok(terminate)) => (interrupt, terminate),
            (Err(error), _) | (_, Err(error)) => {
                tracing::warn!(%error, "cannot listen for shutdown signals");
                return std::future::pending().await;
            }
        };
        tokio::select! {
            _ = interrupt.recv() => tracing::info!("ctrl-c received, shutting down"),
            _ = terminate.recv() => tracing::info!("SIGTERM received, shutting down"),
        }
    }
}

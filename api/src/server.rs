//! `ledgerline serve`: builds the application state and the router, and serves until SIGTERM or
//! ctrl-c, letting requests in flight finish.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use domain::PlanCatalog;
use infrastructure::{load_catalog, CatalogFileError};
use tokio::net::TcpListener;

use crate::cli::ServeArgs;
use crate::problem::ApiError;
use crate::routes;

/// Why the service could not start or keep serving.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Catalog(#[from] CatalogFileError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("the HTTP server failed: {0}")]
    Serve(std::io::Error),
}

/// What every handler may reach.
#[derive(Clone)]
pub struct AppState {
    pub catalog: Arc<PlanCatalog>,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(routes::health::healthz))
        .route("/v1/plans", get(routes::plans::list_plans))
        .fallback(|| async { ApiError::NotFound("no such route".into()) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .with_state(state)
}

pub async fn run(args: ServeArgs) -> Result<(), ServeError> {
    let catalog = load_catalog(&args.plans)?;
    tracing::info!(
        plans = catalog.plans().count(),
        path = %args.plans.display(),
        "plan catalog loaded"
    );
    let state = AppState {
        catalog: Arc::new(catalog),
    };
    let bind_error = |source| ServeError::Bind {
        addr: args.bind,
        source,
    };
    let listener = TcpListener::bind(args.bind).await.map_err(bind_error)?;
    let addr = listener.local_addr().map_err(bind_error)?;
    // Black-box tests and scripts read this line to learn the port when binding to port 0.
    tracing::info!("listening on http://{addr}");
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(ServeError::Serve)?;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on ctrl-c or SIGTERM, whichever comes first.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("ctrl-c received, shutting down"),
        () = terminate => tracing::info!("SIGTERM received, shutting down"),
    }
}

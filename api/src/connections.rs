//! Serving HTTP/1 connections with the limits `axum::serve` cannot set: hyper's header-read
//! timeout (which also closes idle keep-alive connections), a body-read timeout (tower-http), a
//! cap on concurrent connections, and `Connection: close` after a refusal whose body was unread.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::body::HttpBody;
use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower_http::timeout::RequestBodyTimeoutLayer;

/// How long and how many connections a client may hold.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// From the moment a connection waits for a request until its headers are complete; so also
    /// how long an idle keep-alive connection stays open.
    pub header_read_timeout: Duration,
    /// From the moment a handler starts reading a body until it has all of it.
    pub body_read_timeout: Duration,
    /// Connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
}

/// How many header fields hyper parses; [`crate::head_limits`] refuses more than its own, lower,
/// limit with problem+json before hyper would answer a bare 431.
const HYPER_MAX_HEADERS: usize = 256;

/// Serves `router` on `listener` until `shutdown` resolves, then lets the open connections
/// finish their requests.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: &ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let router = router.layer(RequestBodyTimeoutLayer::new(limits.body_read_timeout));
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_headers(HYPER_MAX_HEADERS);
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = accept(&listener, &permits) => accepted,
        };
        let Some((stream, permit)) = accepted else {
            continue;
        };
        let service = TowerToHyperService::new(router.clone());
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection closed with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// The next connection, once fewer than the cap are open. `None` when accepting failed (for
/// example out of file descriptors): logged, and retried after a pause.
async fn accept(
    listener: &TcpListener,
    permits: &Arc<Semaphore>,
) -> Option<(TcpStream, OwnedSemaphorePermit)> {
    let permit = permits.clone().acquire_owned().await.ok()?;
    match listener.accept().await {
        Ok((stream, _)) => Some((stream, permit)),
        Err(error) => {
            tracing::warn!(%error, "cannot accept a connection");
            tokio::time::sleep(Duration::from_millis(100)).await;
            None
        }
    }
}

/// Middleware: an error answered to a request that came with a body says `Connection: close`.
/// Auth and size are judged before the body is read, and hyper does not reuse a connection whose
/// body is unread; saying so keeps the client from sending its next request on a closing socket.
pub async fn close_after_refusal(request: Request, next: Next) -> Response {
    let has_body = !request.body().is_end_stream();
    let mut response = next.run(request).await;
    let status = response.status();
    if has_body && (status.is_client_error() || status.is_server_error()) {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

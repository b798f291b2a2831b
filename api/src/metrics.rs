//! Prometheus metrics: a recorder installed at start, a middleware that counts and times every
//! request by route and status, and `GET /metrics` rendering the text format. Other modules record
//! through the `metrics` macros (commands by type and outcome); projection positions and lag and
//! the timers due and overdue are sampled when `/metrics` is scraped.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::state::AppState;

/// Latency buckets in seconds, from a cached feature check to a slow command.
const LATENCY_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// Installs the process-wide recorder (once) and returns the handle that renders it.
pub fn install() -> Result<PrometheusHandle, String> {
    PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full("http_request_duration_seconds".into()),
            &LATENCY_BUCKETS,
        )
        .map_err(|e| e.to_string())?
        .install_recorder()
        .map_err(|e| e.to_string())
}

/// A timer still unfired this long after it fell due is overdue: well past the firing worker's
/// poll interval and claim lease, so the worker is behind, stuck or not running.
const TIMER_OVERDUE_AFTER: chrono::Duration = chrono::Duration::seconds(60);

/// Samples, at scrape time, what is waiting: each projection's position and lag (the log's head
/// minus its position), and the timers due and overdue on the service's clock. A gauge the
/// database cannot answer for keeps its last value; the failure is logged.
async fn sample_backlogs(state: &AppState) {
    let head = match state.store.log_head().await {
        Ok(head) => Some(head.position),
        Err(error) => {
            tracing::warn!(%error, "metrics: cannot read the log head");
            None
        }
    };
    for projection in state.projections.states() {
        let position = projection.position();
        metrics::gauge!("projection_position", "projection" => projection.name)
            .set(position as f64);
        if let Some(head) = head {
            metrics::gauge!("projection_lag", "projection" => projection.name)
                .set(head.saturating_sub(position).max(0) as f64);
        }
    }
    let now = state.services.clock.now();
    match state
        .store
        .timer_backlog(now, now - TIMER_OVERDUE_AFTER)
        .await
    {
        Ok(backlog) => {
            metrics::gauge!("timers_due").set(backlog.due as f64);
            metrics::gauge!("timers_overdue").set(backlog.overdue as f64);
        }
        Err(error) => tracing::warn!(%error, "metrics: cannot count due timers"),
    }
}

/// Middleware: counts and times each request under its route template (never the raw path, so
/// ids do not explode the label set).
pub async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let labels = [
        ("method", method),
        ("route", route),
        ("status", response.status().as_u16().to_string()),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
}

/// Prometheus metrics.
///
/// Requests, commands by outcome, projection lag, timers due and overdue, in the Prometheus text
/// format. No key needed.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain")),
)]
pub async fn render(State(state): State<AppState>) -> Response {
    sample_backlogs(&state).await;
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

//! The OpenAPI document and the interactive docs. The document is not written by hand: every
//! route is registered once, through `utoipa_axum`'s `routes!` in `server::router`, which both
//! mounts the handler and adds its `#[utoipa::path]` description. So `/openapi.json` lists exactly
//! the routes this server answers (the role × route test walks it for that reason).

use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::OpenApi as Document;
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Ledgerline",
        description = "Event-sourced subscription billing. Send `Authorization: Bearer <key>`; \
            every error is RFC 9457 `application/problem+json` with a stable `code`; every POST \
            honours `Idempotency-Key`."
    ),
    modifiers(&BearerKey),
    tags(
        (name = "subscriptions"), (name = "invoices"), (name = "dunning"),
        (name = "accounts", description = "One account's read models, usage and commitments"),
        (name = "audit"), (name = "admin"), (name = "plans"),
        (name = "test-clock", description = "Only with `--test-clock`"),
        (name = "operations", description = "Health, readiness, metrics")
    )
)]
pub struct ApiDoc;

/// Declares the `bearer` scheme the routes' `security(("bearer" = []))` refer to.
struct BearerKey;

impl Modify for BearerKey {
    fn modify(&self, document: &mut Document) {
        let components = document.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The interactive docs: Scalar's API reference reading `/openapi.json`. Its script is loaded by
/// the browser from a CDN at view time, so the binary embeds no web assets (and builds offline).
const DOCS_PAGE: &str = r#"<!doctype html>
<html>
<head>
  <title>Ledgerline API</title>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
</head>
<body>
  <script id="api-reference" data-url="/openapi.json"></script>
  <script src="https://cdn.jsdelivr.net/npm/@scalar/api-reference"></script>
</body>
</html>
"#;

/// `GET /openapi.json` (the document, serialised once) and `GET /docs`; both public.
pub fn routes<S: Clone + Send + Sync + 'static>(document: &Document) -> Router<S> {
    let json = document.to_json().unwrap_or_else(|error| {
        tracing::error!(%error, "cannot serialise the OpenAPI document");
        "{}".to_owned()
    });
    Router::new()
        .route(
            "/openapi.json",
            get(move || async move { ([(header::CONTENT_TYPE, "application/json")], json) }),
        )
        .route("/docs", get(|| async { Html(DOCS_PAGE).into_response() }))
}

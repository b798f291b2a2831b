//! The OpenAPI document and the interactive docs. The document is not written by hand: every
//! route is registered once, through `utoipa_axum`'s `routes!` in `server::router`, which both
//! mounts the handler and adds its `#[utoipa::path]` description. So `/openapi.json` lists exactly
//! the routes this server answers (the role × route test walks it for that reason).

use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use swagger_ui_dist::{ApiDefinition, OpenApiSource};
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{OpenApi as Document, Ref, Required};
use utoipa::{Modify, OpenApi};

use crate::problem::ProblemBody;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Ledgerline",
        description = "Event-sourced subscription billing. Send `Authorization: Bearer <key>`; \
            every error is RFC 9457 `application/problem+json` with a stable `code`; every POST \
            honours `Idempotency-Key`."
    ),
    components(schemas(ProblemBody)),
    modifiers(&BearerKey),
    tags(
        (name = "subscriptions"), (name = "invoices"), (name = "dunning"),
        (name = "accounts", description = "One account's read models, usage and commitments"),
        (name = "audit"), (name = "admin"), (name = "plans"),
        (name = "coupons", description = "Discounts that subscriptions redeem (admin creates them)"),
        (name = "events", description = "The public event catalog, in log order"),
        (name = "webhooks", description = "Signed, ordered webhooks of the event catalog (admin)"),
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

/// What every operation shares, added once here rather than on each route: the problem+json
/// error responses, and on every POST and DELETE (the commands) the `Idempotency-Key` header.
pub fn complete(document: &mut Document) {
    for item in document.paths.paths.values_mut() {
        let commands = [&mut item.post, &mut item.delete];
        for operation in commands.into_iter().flatten() {
            operation
                .parameters
                .get_or_insert_with(Vec::new)
                .push(idempotency_key());
        }
        for operation in [&mut item.get, &mut item.post, &mut item.delete]
            .into_iter()
            .flatten()
        {
            add_problems(operation);
        }
    }
}

fn idempotency_key() -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name("Idempotency-Key")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "Replays the first response (with `Idempotent-Replayed: true`) for the same key and \
             body, for at least the retention (24 h by default); the same key with another body \
             answers 422 `idempotency_key_reused`. Scoped by API key.",
        ))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(255))
                // Visible ASCII, no space: what `extract::idempotency_key` accepts.
                .pattern(Some("^[!-~]{1,255}$")),
        ))
        .build()
}

fn add_problems(operation: &mut Operation) {
    for (status, description) in [
        ("4XX", "A problem (RFC 9457) with a stable `code`"),
        ("5XX", "A server-side problem; never internals"),
    ] {
        let problem = ResponseBuilder::new()
            .description(description)
            .content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build();
        operation
            .responses
            .responses
            .insert(status.to_owned(), problem.into());
    }
}

/// Where the Swagger UI assets are served, from the `swagger-ui-dist` crate, which carries them
/// in its own source: the binary embeds them, so `/docs` works with no internet access.
const ASSETS: &str = "/docs/assets";

/// The interactive docs: Swagger UI reading `/openapi.json`. Every script and stylesheet comes
/// from this server; `validatorUrl: null` keeps the page from calling the online validator.
const DOCS_PAGE: &str = r##"<!doctype html>
<html lang="en">
<head>
  <title>Ledgerline API</title>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", validatorUrl: null });
  </script>
</body>
</html>
"##;

/// `GET /openapi.json` (the document, serialised once), `GET /docs` and the two assets the page
/// loads; all public.
pub fn routes<S: Clone + Send + Sync + 'static>(document: &Document) -> Router<S> {
    let json = document.to_json().unwrap_or_else(|error| {
        tracing::error!(%error, "cannot serialise the OpenAPI document");
        "{}".to_owned()
    });
    // Only the assets of the crate's router are mounted, not its own index page.
    let assets = swagger_ui_dist::generate_routes(ApiDefinition {
        uri_prefix: ASSETS,
        api_definition: OpenApiSource::Uri("/openapi.json"),
        title: None,
    });
    Router::new()
        .route(
            "/openapi.json",
            get(move || async move { ([(header::CONTENT_TYPE, "application/json")], json) }),
        )
        .route("/docs", get(|| async { Html(DOCS_PAGE).into_response() }))
        .route_service(&format!("{ASSETS}/swagger-ui.css"), assets.clone())
        .route_service(&format!("{ASSETS}/swagger-ui-bundle.js"), assets)
}

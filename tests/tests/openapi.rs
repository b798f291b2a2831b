//! `GET /openapi.json` and `GET /docs` from the real binary: the document lists every route of
//! SPEC 6 this server serves, each with its responses and resolvable schemas, only routes the
//! server answers, and the docs page renders it.

mod support;

use infrastructure::testing::{Backend, TestDatabase};
use serde_json::{json, Value};
use support::{Api, Server};

/// SPEC 6's routes served today (the matrix in `role_matrix.rs` covers whatever is added).
const SPEC_ROUTES: &[&str] = &[
    "GET /healthz",
    "GET /readyz",
    "GET /metrics",
    "GET /v1/plans",
    "POST /v1/subscriptions",
    "GET /v1/subscriptions/{id}",
    "POST /v1/subscriptions/{id}/attach-billing-account",
    "POST /v1/subscriptions/{id}/activate",
    "POST /v1/subscriptions/{id}/add-seats",
    "POST /v1/subscriptions/{id}/remove-seats",
    "POST /v1/subscriptions/{id}/set-overage-billing",
    "POST /v1/subscriptions/{id}/change-plan",
    "POST /v1/subscriptions/{id}/cancel",
    "POST /v1/invoices",
    "GET /v1/invoices/{id}",
    "POST /v1/invoices/{id}/attempt-payment",
    "POST /v1/invoices/{id}/record-payment",
    "POST /v1/invoices/{id}/record-payment-failure",
    "POST /v1/invoices/{id}/refund",
    "POST /v1/invoices/{id}/void",
    "GET /v1/dunning-cases/{id}",
    "POST /v1/dunning-cases/{id}/assign",
    "POST /v1/dunning-cases/{id}/notes",
    "POST /v1/dunning-cases/{id}/extend-window",
    "POST /v1/dunning-cases/{id}/resolve",
    "GET /v1/accounts/{account_id}/summary",
    "GET /v1/accounts/{account_id}/features",
    "GET /v1/accounts/{account_id}/features/{feature}",
    "GET /v1/accounts/{account_id}/invoices",
    "GET /v1/accounts/{account_id}/notifications",
    "POST /v1/accounts/{account_id}/usage",
    "POST /v1/accounts/{account_id}/commitments",
    "DELETE /v1/accounts/{account_id}/commitments/{feature}",
    "GET /v1/audit/streams/{type}/{id}",
    "GET /v1/admin/api-keys",
    "POST /v1/admin/api-keys",
    "POST /v1/admin/api-keys/{key_id}/revoke",
    "GET /v1/test-clock",
    "POST /v1/test-clock/advance",
];

fn operations(document: &Value) -> Vec<(String, String, Value)> {
    let mut operations = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("a path item") {
            operations.push((method.to_uppercase(), path.clone(), operation.clone()));
        }
    }
    operations
}

/// Every `$ref` in `value`, e.g. `#/components/schemas/Problem`.
fn references(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("$ref") {
                found.push(target.clone());
            }
            map.values().for_each(|v| references(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, found)),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_lists_every_route_and_only_served_ones() {
    let db = TestDatabase::create(Backend::Sqlite).await;
    let server = Server::on(&db.url, &["--test-clock"]);
    let anonymous = Api::with_key(&server.base_url, None);
    let reply = anonymous.get("/openapi.json").await;
    reply.assert_status(200);
    assert_eq!(reply.headers["content-type"], "application/json");
    let document = reply.body;
    assert!(document["openapi"]
        .as_str()
        .expect("a version")
        .starts_with("3."));

    let listed: Vec<String> = operations(&document)
        .iter()
        .map(|(method, path, _)| format!("{method} {path}"))
        .collect();
    for route in SPEC_ROUTES {
        assert!(
            listed.contains(&route.to_string()),
            "{route} is not in /openapi.json"
        );
    }

    let mut refs = Vec::new();
    references(&document, &mut refs);
    for target in refs {
        let name = target
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected $ref {target}"));
        assert!(
            document["components"]["schemas"].get(name).is_some(),
            "{target} does not resolve"
        );
    }
    for schema in ["Problem", "CommandResponse", "SummaryView", "InvoiceView"] {
        assert!(
            document["components"]["schemas"].get(schema).is_some(),
            "{schema}"
        );
    }

    let admin = Api::admin(&server.base_url);
    for (method, path, operation) in operations(&document) {
        let responses = operation["responses"].as_object().expect("responses");
        assert!(
            responses.contains_key("4XX"),
            "{method} {path} documents no problem"
        );
        // A summary of one line, and a description that says more (issue #19, point 6).
        let summary = operation["summary"].as_str().unwrap_or_default();
        assert!(
            !summary.is_empty() && !summary.contains('\n'),
            "{method} {path}: summary {summary:?}"
        );
        let description = operation["description"].as_str().unwrap_or_default();
        assert!(
            !description.is_empty() && description != summary,
            "{method} {path} has no description"
        );
        if method == "POST" {
            let parameters = operation["parameters"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            assert!(
                parameters
                    .iter()
                    .any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header"),
                "{method} {path} does not document Idempotency-Key"
            );
        }
        // The router answers the documented method: never its fallback or a 405.
        let concrete = path
            .replace("{account_id}", "acct_doc")
            .replace("{id}", "00000000-0000-4000-8000-000000000000")
            .replace("{type}", "subscription")
            .replace("{feature}", "projects")
            .replace("{key_id}", "key_none");
        let reply = match method.as_str() {
            "GET" => admin.get(&concrete).await,
            "POST" => admin.post(&concrete, json!({})).await,
            "DELETE" => admin.delete(&concrete).await,
            other => panic!("{other} {path}"),
        };
        assert_ne!(reply.status, 405, "{method} {path}: {reply:?}");
        assert_ne!(reply.body["detail"], "no such route", "{method} {path}");
    }
}

/// The `src` of every script and the `href` of every link (stylesheets) of an HTML page.
fn asset_sources(page: &str) -> Vec<String> {
    ["src=\"", "href=\""]
        .iter()
        .flat_map(|attribute| page.split(attribute).skip(1))
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_docs_page_renders_the_document() {
    let db = TestDatabase::create(Backend::Sqlite).await;
    let server = Server::on(&db.url, &[]);
    let docs = Api::with_key(&server.base_url, None).get("/docs").await;
    docs.assert_status(200);
    assert!(docs.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let page = docs.body.as_str().expect("an HTML page");
    assert!(page.contains("/openapi.json"), "{page}");

    // Works with no internet: every script and stylesheet comes from this server.
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "{page}"
    );
    let sources = asset_sources(page);
    assert!(sources.len() >= 2, "a script and a stylesheet: {page}");
    for source in &sources {
        assert!(
            source.starts_with('/') && !source.starts_with("//"),
            "{source} is not served by this server"
        );
        let asset = Api::with_key(&server.base_url, None).get(source).await;
        asset.assert_status(200);
        let length = asset.body.as_str().map_or(0, str::len);
        assert!(length > 10_000, "{source} is {length} bytes");
    }

    // Without --test-clock, the clock's routes are neither served nor documented.
    let document = Api::with_key(&server.base_url, None)
        .get("/openapi.json")
        .await
        .body;
    assert!(document["paths"].get("/v1/test-clock").is_none());
}

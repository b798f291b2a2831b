//! The fake's HTTP side: connections served with hyper (so a connection can be dropped without
//! an answer), the key check, the failure switches, idempotent replay by `Idempotency-Key`, and
//! Stripe-shaped errors.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};

use super::api::{execute, intent_json};
use super::{DropConnection, Failure, Ledger, Seen, INTENTS_PATH, STRIPE_KEY};

/// Accepts connections and serves each with hyper, so that a handler's `DropConnection` can
/// close the connection without an answer (which `axum::serve` cannot do).
pub(super) async fn serve(router: Router, address: std::sync::mpsc::Sender<String>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let local = listener.local_addr().expect("an address");
    address
        .send(format!("http://{local}"))
        .expect("the test waits");
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let service = hyper_util::service::TowerToHyperService::new(router.clone());
        tokio::spawn(async move {
            let dropping = hyper::service::service_fn(move |request| {
                let answer = hyper::service::Service::call(&service, request);
                async move {
                    let response: Response = answer.await.expect("infallible");
                    if response.extensions().get::<DropConnection>().is_some() {
                        return Err("the fake drops this connection");
                    }
                    Ok(response)
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), dropping)
                .await;
        });
    }
}

pub(super) type Form = Vec<(String, String)>;

pub(super) fn param<'f>(form: &'f Form, name: &str) -> Option<&'f str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

pub(super) fn stripe_error(
    status: u16,
    kind: &str,
    code: Option<&str>,
    decline_code: Option<&str>,
    message: &str,
) -> (u16, Value) {
    let mut error = json!({"type": kind, "message": message});
    if let Some(code) = code {
        error["code"] = json!(code);
    }
    if let Some(decline_code) = decline_code {
        error["decline_code"] = json!(decline_code);
    }
    (status, json!({"error": error}))
}

pub(super) async fn handle(
    State(ledger): State<Arc<Mutex<Ledger>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut ledger = ledger.lock().unwrap_or_else(|e| e.into_inner());
    ledger.seen.push(Seen {
        path: path.clone(),
        idempotency_key: key.clone(),
    });
    let authorized = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {STRIPE_KEY}"));
    if !authorized {
        let (status, body) = stripe_error(
            401,
            "invalid_request_error",
            None,
            None,
            "Invalid API Key provided",
        );
        return answer(status, body, false);
    }
    let failure = match ledger.failures.front() {
        Some((prefix, failure)) if path.starts_with(prefix.as_str()) => {
            let failure = *failure;
            ledger.failures.pop_front();
            Some(failure)
        }
        _ => None,
    };
    if failure == Some(Failure::ServerError) {
        let (status, body) =
            stripe_error(500, "api_error", None, None, "An unknown error occurred");
        return answer(status, body, false);
    }
    let drop = failure == Some(Failure::DropAfterExecuting);
    let Ok(mut form) = serde_urlencoded::from_bytes::<Form>(&body) else {
        let (status, body) = stripe_error(
            400,
            "invalid_request_error",
            None,
            None,
            "Invalid form body",
        );
        return answer(status, body, drop);
    };
    form.sort();
    let asked = format!("{method} {path} {form:?}");
    if let Some(key) = &key {
        if let Some((first, status, body)) = ledger.replies.get(key).cloned() {
            if first != asked {
                let (status, body) = stripe_error(
                    400,
                    "idempotency_error",
                    None,
                    None,
                    "Keys for idempotent requests can only be used with the same parameters they were first used with.",
                );
                return answer(status, body, drop);
            }
            let mut response = answer(status, body, drop);
            response.headers_mut().insert(
                "idempotent-replayed",
                "true".parse().expect("a header value"),
            );
            return response;
        }
    }
    let (status, body) = if method == Method::GET && path == INTENTS_PATH {
        let intents: Vec<Value> = ledger.intents.values().map(intent_json).collect();
        (200, json!({"data": intents}))
    } else if method != Method::POST {
        stripe_error(
            404,
            "invalid_request_error",
            None,
            None,
            "Unrecognized request URL",
        )
    } else {
        execute(&mut ledger, &path, &form)
    };
    if let Some(key) = key {
        ledger.replies.insert(key, (asked, status, body.clone()));
    }
    answer(status, body, drop)
}

fn answer(status: u16, body: Value, drop: bool) -> Response {
    let status = StatusCode::from_u16(status).expect("a status");
    let mut response = (status, axum::Json(body)).into_response();
    if drop {
        response.extensions_mut().insert(DropConnection);
    }
    response
}

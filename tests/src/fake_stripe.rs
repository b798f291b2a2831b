//! A fake Stripe for the tests (never shipped): an HTTP server on loopback, on its own thread,
//! that speaks the part of Stripe's v1 API the gateway uses (docs/stripe.md lists it):
//! form-encoded POSTs, Stripe-shaped objects and errors, idempotent replay of a repeated
//! `Idempotency-Key`, Stripe's test payment methods, switches that make the next call fail, and
//! signed webhook events posted the way Stripe posts them. Beyond Stripe's API, the fake answers
//! `GET /_fake/payment_intents` with every PaymentIntent it created (the crash test's record of
//! the money taken).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

/// The secret key the fake accepts (any other is a 401, as Stripe answers).
pub const STRIPE_KEY: &str = "sk_test_fake_ledgerline_key";

/// Where the fake lists every PaymentIntent it created (not a Stripe route).
pub const INTENTS_PATH: &str = "/_fake/payment_intents";

/// What the next matching request suffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// A 500 `api_error` before anything is done or remembered (Stripe's edge failing).
    ServerError,
    /// The request is carried out and remembered, then the connection is dropped before the
    /// answer: the caller cannot know what happened.
    DropAfterExecuting,
}

/// A PaymentIntent the fake created.
#[derive(Debug, Clone)]
pub struct Intent {
    pub id: String,
    pub status: String,
    pub amount: i64,
    pub currency: String,
    pub customer: String,
    pub metadata: BTreeMap<String, String>,
    pub amount_refunded: i64,
}

/// A request the fake received: its path and `Idempotency-Key`.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub idempotency_key: Option<String>,
}

#[derive(Default)]
struct Ledger {
    next_id: u64,
    customers: Vec<String>,
    /// An attached PaymentMethod's id → the test token it copies.
    attached: HashMap<String, String>,
    intents: BTreeMap<String, Intent>,
    refunds: Vec<Value>,
    /// Idempotency key → (what was asked, status, body).
    replies: HashMap<String, (String, u16, Value)>,
    seen: Vec<Seen>,
    failures: VecDeque<(String, Failure)>,
}

impl Ledger {
    fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}_fake{:06}", self.next_id)
    }
}

#[derive(Clone)]
pub struct FakeStripe {
    pub base_url: String,
    ledger: Arc<Mutex<Ledger>>,
}

/// Marks a response whose connection is dropped instead of answered.
#[derive(Clone, Copy)]
struct DropConnection;

impl FakeStripe {
    /// Starts the fake on a free loopback port, on a thread of its own (so that it answers
    /// whatever the test's runtime does).
    pub fn start() -> FakeStripe {
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        let router = Router::new().fallback(handle).with_state(ledger.clone());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("a runtime for the fake");
            runtime.block_on(serve(router, tx));
        });
        let base_url = rx.recv().expect("the fake Stripe listens");
        FakeStripe { base_url, ledger }
    }

    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next request to a path starting with `path` suffers `failure`.
    pub fn fail_next(&self, path: &str, failure: Failure) {
        self.ledger().failures.push_back((path.to_owned(), failure));
    }

    /// Every PaymentIntent created for `invoice_id` (its `ledgerline_invoice_id` metadata).
    pub fn intents_for(&self, invoice_id: &str) -> Vec<Intent> {
        self.ledger()
            .intents
            .values()
            .filter(|i| {
                i.metadata.get("ledgerline_invoice_id").map(String::as_str) == Some(invoice_id)
            })
            .cloned()
            .collect()
    }

    /// The money taken for `invoice_id`: its succeeded PaymentIntents.
    pub fn charges_for(&self, invoice_id: &str) -> Vec<Intent> {
        self.intents_for(invoice_id)
            .into_iter()
            .filter(|i| i.status == "succeeded")
            .collect()
    }

    /// Every succeeded PaymentIntent, whatever its invoice.
    pub fn all_charges(&self) -> Vec<Intent> {
        let ledger = self.ledger();
        ledger
            .intents
            .values()
            .filter(|i| i.status == "succeeded")
            .cloned()
            .collect()
    }

    /// Every refund made, as Stripe's refund objects.
    pub fn refunds(&self) -> Vec<Value> {
        self.ledger().refunds.clone()
    }

    pub fn customers(&self) -> Vec<String> {
        self.ledger().customers.clone()
    }

    /// Every request received, in order (retries and replays included).
    pub fn seen(&self) -> Vec<Seen> {
        self.ledger().seen.clone()
    }

    /// Builds a Stripe event of `event_type` about `object`, signs it with `secret` at unix time
    /// `timestamp` as Stripe does (`t=…,v1=HMAC-SHA256(secret, "t.body")`) and returns
    /// (the raw body, the `Stripe-Signature` header).
    pub fn signed_event(
        event_id: &str,
        event_type: &str,
        object: Value,
        secret: &str,
        timestamp: i64,
    ) -> (String, String) {
        let body = json!({
            "id": event_id,
            "object": "event",
            "api_version": "2024-06-20",
            "created": timestamp,
            "livemode": false,
            "type": event_type,
            "data": {"object": object},
        })
        .to_string();
        let header = format!("t={timestamp},v1={}", signature(secret, timestamp, &body));
        (body, header)
    }
}

/// Stripe's `v1` scheme: hex HMAC-SHA256 of `"{timestamp}.{body}"` under the endpoint's secret.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(format!("{timestamp}.{body}").as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Accepts connections and serves each with hyper, so that a handler's `DropConnection` can
/// close the connection without an answer (which `axum::serve` cannot do).
async fn serve(router: Router, address: std::sync::mpsc::Sender<String>) {
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

type Form = Vec<(String, String)>;

fn param<'f>(form: &'f Form, name: &str) -> Option<&'f str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn stripe_error(
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

async fn handle(
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

/// The Stripe test payment methods (SPEC 4, plus authentication): what charging each does.
fn decide(token: &str) -> Result<&'static str, (&'static str, &'static str)> {
    match token {
        "pm_card_visa" => Ok("succeeded"),
        "pm_card_authenticationRequired" => Ok("requires_action"),
        "pm_card_chargeDeclined" => Err(("card_declined", "generic_decline")),
        "pm_card_chargeDeclinedInsufficientFunds" => Err(("card_declined", "insufficient_funds")),
        "pm_card_chargeDeclinedLostCard" => Err(("card_declined", "lost_card")),
        "pm_card_chargeDeclinedStolenCard" => Err(("card_declined", "stolen_card")),
        _ => Err(("resource_missing", "")),
    }
}

fn known_token(token: &str) -> bool {
    !matches!(decide(token), Err(("resource_missing", _)))
}

fn execute(ledger: &mut Ledger, path: &str, form: &Form) -> (u16, Value) {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["v1", "customers"] => {
            let id = ledger.id("cus");
            ledger.customers.push(id.clone());
            (
                200,
                json!({"id": id, "object": "customer", "metadata": metadata(form)}),
            )
        }
        ["v1", "payment_methods", token, "attach"] => {
            let Some(customer) =
                param(form, "customer").filter(|c| ledger.customers.iter().any(|k| k == c))
            else {
                return stripe_error(
                    400,
                    "invalid_request_error",
                    Some("resource_missing"),
                    None,
                    "No such customer",
                );
            };
            if !known_token(token) {
                return stripe_error(
                    400,
                    "invalid_request_error",
                    Some("resource_missing"),
                    None,
                    &format!("No such PaymentMethod: '{token}'"),
                );
            }
            let id = ledger.id("pm");
            ledger.attached.insert(id.clone(), (*token).to_owned());
            (
                200,
                json!({"id": id, "object": "payment_method", "type": "card", "customer": customer}),
            )
        }
        ["v1", "payment_intents"] => create_intent(ledger, form),
        ["v1", "refunds"] => refund(ledger, form),
        _ => stripe_error(
            404,
            "invalid_request_error",
            None,
            None,
            "Unrecognized request URL",
        ),
    }
}

fn metadata(form: &Form) -> BTreeMap<String, String> {
    form.iter()
        .filter_map(|(k, v)| {
            let name = k.strip_prefix("metadata[")?.strip_suffix(']')?;
            Some((name.to_owned(), v.clone()))
        })
        .collect()
}

/// The PaymentIntent as Stripe shows it (in answers and in webhook events).
pub fn intent_json(intent: &Intent) -> Value {
    json!({
        "id": intent.id, "object": "payment_intent", "status": intent.status,
        "amount": intent.amount, "currency": intent.currency, "customer": intent.customer,
        "metadata": intent.metadata, "latest_charge": format!("ch_{}", intent.id),
        "amount_refunded": intent.amount_refunded,
    })
}

fn create_intent(ledger: &mut Ledger, form: &Form) -> (u16, Value) {
    let (Some(amount), Some(currency), Some(customer), Some(method)) = (
        param(form, "amount").and_then(|a| a.parse::<i64>().ok()),
        param(form, "currency"),
        param(form, "customer"),
        param(form, "payment_method"),
    ) else {
        return stripe_error(
            400,
            "invalid_request_error",
            Some("parameter_missing"),
            None,
            "amount, currency, customer and payment_method are required",
        );
    };
    if param(form, "confirm") != Some("true") || param(form, "off_session") != Some("true") {
        return stripe_error(
            400,
            "invalid_request_error",
            Some("parameter_invalid"),
            None,
            "the fake only confirms off-session at creation",
        );
    }
    let Some(token) = ledger.attached.get(method).cloned() else {
        return stripe_error(
            400,
            "invalid_request_error",
            Some("resource_missing"),
            None,
            "No such PaymentMethod",
        );
    };
    let mut intent = Intent {
        id: ledger.id("pi"),
        status: String::new(),
        amount,
        currency: currency.to_owned(),
        customer: customer.to_owned(),
        metadata: metadata(form),
        amount_refunded: 0,
    };
    match decide(&token) {
        Ok(status) => {
            intent.status = status.to_owned();
            ledger.intents.insert(intent.id.clone(), intent.clone());
            (200, intent_json(&intent))
        }
        Err((code, decline_code)) => {
            intent.status = "requires_payment_method".to_owned();
            ledger.intents.insert(intent.id.clone(), intent.clone());
            let (status, mut body) = stripe_error(
                402,
                "card_error",
                Some(code),
                Some(decline_code),
                "Your card was declined.",
            );
            body["error"]["payment_intent"] = intent_json(&intent);
            (status, body)
        }
    }
}

fn refund(ledger: &mut Ledger, form: &Form) -> (u16, Value) {
    let Some(intent_id) = param(form, "payment_intent") else {
        return stripe_error(
            400,
            "invalid_request_error",
            Some("parameter_missing"),
            None,
            "payment_intent is required",
        );
    };
    let id = ledger.id("re");
    let Some(intent) = ledger.intents.get_mut(intent_id) else {
        return stripe_error(
            400,
            "invalid_request_error",
            Some("resource_missing"),
            None,
            "No such payment_intent",
        );
    };
    let remaining = intent.amount - intent.amount_refunded;
    let amount = param(form, "amount")
        .and_then(|a| a.parse::<i64>().ok())
        .unwrap_or(remaining);
    if intent.status != "succeeded" || remaining == 0 {
        return stripe_error(
            400,
            "invalid_request_error",
            Some("charge_already_refunded"),
            None,
            "This charge has no money left to refund",
        );
    }
    if amount <= 0 || amount > remaining {
        return stripe_error(
            400,
            "invalid_request_error",
            Some("amount_too_large"),
            None,
            "Refund amount is greater than unrefunded amount on charge",
        );
    }
    intent.amount_refunded += amount;
    let refund = json!({
        "id": id, "object": "refund", "status": "succeeded", "amount": amount,
        "currency": intent.currency, "payment_intent": intent.id, "metadata": metadata(form),
    });
    ledger.refunds.push(refund.clone());
    (200, refund)
}

//! A fake Stripe for the tests (never shipped): an HTTP server on loopback, on its own thread,
//! that speaks the part of Stripe's v1 API the gateway uses (docs/stripe.md lists it):
//! form-encoded POSTs, Stripe-shaped objects and errors, idempotent replay of a repeated
//! `Idempotency-Key`, Stripe's test payment methods, switches that make the next call fail, and
//! signed webhook events posted the way Stripe posts them. Beyond Stripe's API, the fake answers
//! `GET /_fake/payment_intents` with every PaymentIntent it created (the crash test's record of
//! the money taken).

mod api;
mod server;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use server::{handle, serve};

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

pub use api::intent_json;

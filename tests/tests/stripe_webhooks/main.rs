//! `POST /v1/webhooks/stripe` on both backends: an event signed with any configured secret is
//! recorded once in the log (a repeated delivery records nothing more), and a bad, missing or
//! stale signature is 400 `invalid_signature` with nothing recorded. Events are signed as Stripe
//! signs them, by the fake Stripe's `signed_event`. The policy then acts on payment events once
//! per PaymentIntent: a late success of an invoice we recorded changes nothing, a failure then a
//! success ends paid, a refund made in Stripe's dashboard is recorded once, a dispute shows on
//! the timeline and escalates the account into the work queue, and an unknown type acts on
//! nothing.

#[path = "../support/mod.rs"]
mod support;

mod reactions;
mod signatures;

use blackbox_tests::fake_stripe::{self, intent_json, FakeStripe};
use chrono::Utc;
use infrastructure::testing::{Backend, TestDatabase};
use serde_json::{json, Value};
use support::client::Reply;
use support::stripe::{attempt_payment, invoice_for, StripeRun};
use support::{Api, Server};

const OLD_SECRET: &str = "whsec_old_test_secret";
const NEW_SECRET: &str = "whsec_new_test_secret";

fn serve(db: &TestDatabase) -> Server {
    Server::on(
        &db.url,
        &[
            "--test-clock",
            "--stripe-webhook-secret",
            OLD_SECRET,
            "--stripe-webhook-secret",
            NEW_SECRET,
        ],
    )
}

/// The flags of a server charging through the fake Stripe and taking its webhooks.
const WEBHOOK_SECRET: &[&str] = &["--stripe-webhook-secret", NEW_SECRET];

/// Lets every policy and projection catch up with the log.
async fn settle(api: &Api) {
    api.post("/v1/test-clock/advance", json!({"seconds": 0}))
        .await
        .assert_status(200);
}

async fn send(server: &Server, event_id: &str, event_type: &str, object: Value) {
    let (body, signature) = FakeStripe::signed_event(
        event_id,
        event_type,
        object,
        NEW_SECRET,
        Utc::now().timestamp(),
    );
    deliver(server, &body, Some(&signature))
        .await
        .assert_status(200);
}

/// What the policy recorded that the event caused.
async fn effect(api: &Api, event_id: &str) -> Value {
    let events = recorded(api, event_id).await;
    events
        .iter()
        .find(|e| e["event_type"] == "ProcessorEventActedOn")
        .map(|e| e["payload"]["ProcessorEventActedOn"]["effect"].clone())
        .unwrap_or_else(|| panic!("no effect recorded for {event_id}: {events:?}"))
}

async fn invoice_events(api: &Api, invoice: &str) -> Vec<String> {
    api.event_types("invoice", invoice).await
}

fn succeeded(id: &str) -> Value {
    json!({"id": id, "object": "payment_intent", "status": "succeeded", "amount": 3800,
           "currency": "usd", "metadata": {}})
}

async fn deliver(server: &Server, body: &str, signature: Option<&str>) -> Reply {
    let mut request = reqwest::Client::new()
        .post(server.url("/v1/webhooks/stripe"))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(signature) = signature {
        request = request.header("stripe-signature", signature);
    }
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.json().await.unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
    }
}

/// The events recorded for Stripe's event `event_id` (none: the stream does not exist).
async fn recorded(api: &Api, event_id: &str) -> Vec<Value> {
    let reply = api
        .get(&format!(
            "/v1/audit/streams/processor_event/stripe:{event_id}"
        ))
        .await;
    if reply.status == 404 {
        return Vec::new();
    }
    reply.assert_status(200);
    reply.body["items"].as_array().expect("items").clone()
}

/// The `ProcessorEventReceived` events recorded for Stripe's event `event_id`.
async fn received(api: &Api, event_id: &str) -> Vec<Value> {
    recorded(api, event_id)
        .await
        .into_iter()
        .filter(|e| e["event_type"] == "ProcessorEventReceived")
        .collect()
}

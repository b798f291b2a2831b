//! `POST /v1/webhooks/stripe` (SPEC 10.2): Stripe's events, authenticated by their
//! `Stripe-Signature` rather than an API key. Each accepted event is kept once in the log, as
//! the `ProcessorEvent` stream `stripe:<event id>`; a repeated delivery appends nothing.

use application::event_log::CommandKey;
use application::CommandContext;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::{Extension, Json};
use domain::processor_event::{ProcessorEvent, ProcessorEventCommand, ReceivedEvent};
use infrastructure::stripe::signature;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::extract::RequestId;
use crate::problem::ApiError;
use crate::state::AppState;

/// Stripe's event envelope, the fields kept.
#[derive(Deserialize)]
struct StripeEvent {
    id: String,
    #[serde(rename = "type")]
    event_type: String,
    data: EventData,
}

#[derive(Deserialize)]
struct EventData {
    object: Value,
}

/// The answer Stripe gets (it reads only the status).
#[derive(Serialize, utoipa::ToSchema)]
pub struct Received {
    /// Stripe's event id.
    event_id: String,
    /// False when this event had been received before: nothing new was recorded.
    recorded: bool,
}

/// The invoice the object belongs to: its `metadata.ledgerline_invoice_id` (PaymentIntents and
/// their charges), else the invoice whose attempt created the PaymentIntent it names (a dispute
/// or a charge without metadata), from the gateway's records.
async fn invoice_of(state: &AppState, object: &Value) -> Result<Option<uuid::Uuid>, ApiError> {
    if let Some(id) = object["metadata"]["ledgerline_invoice_id"]
        .as_str()
        .and_then(|id| uuid::Uuid::parse_str(id).ok())
    {
        return Ok(Some(id));
    }
    let Some(intent) = object["payment_intent"].as_str() else {
        return Ok(None);
    };
    let payment_ref = infrastructure::stripe::records::payment_ref_of(&state.store, intent)
        .await
        .map_err(ApiError::internal)?;
    Ok(payment_ref
        .and_then(|r| r.split_once(":attempt:").map(|(id, _)| id.to_owned()))
        .and_then(|id| uuid::Uuid::parse_str(&id).ok()))
}

/// The longest event id or type kept; Stripe's are far shorter.
const MAX_ID_LEN: usize = 255;

/// Receive a Stripe event.
///
/// Receives one Stripe event. 400 `invalid_signature` when the signature is missing, malformed,
/// older or newer than 300 s, or made with no configured secret; nothing is recorded then.
#[utoipa::path(
    post,
    path = "/v1/webhooks/stripe",
    tag = "processor webhooks",
    request_body(content = Object, description = "A Stripe event, as Stripe sends it"),
    params(("Stripe-Signature" = String, Header, description = "t=<unix time>,v1=<hex HMAC-SHA256>")),
    responses(
        (status = 200, description = "Recorded (or received before)", body = Received),
        (status = 400, description = "Bad signature or not a Stripe event", body = crate::problem::ProblemBody),
    ),
)]
pub async fn receive(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Received>, ApiError> {
    let header = headers
        .get("stripe-signature")
        .map(|value| value.to_str().unwrap_or_default());
    signature::verify(
        header,
        &body,
        &state.stripe_webhook_secrets,
        state.services.clock.now(),
    )
    .map_err(|error| ApiError::InvalidSignature(error.to_string()))?;
    let event: StripeEvent = serde_json::from_slice(&body)
        .map_err(|error| ApiError::InvalidRequest(format!("not a Stripe event: {error}")))?;
    for (field, value) in [("id", &event.id), ("type", &event.event_type)] {
        if value.is_empty() || value.len() > MAX_ID_LEN {
            return Err(ApiError::validation(
                field,
                format!("must be 1 to {MAX_ID_LEN} characters"),
            ));
        }
    }
    let object_id = event
        .data
        .object
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let invoice_id = invoice_of(&state, &event.data.object).await?;
    let stream = ProcessorEvent::stream_id("stripe", &event.id);
    let command = ProcessorEventCommand::ReceiveProcessorEvent {
        event: ReceivedEvent {
            processor: "stripe".into(),
            event_id: event.id.clone(),
            event_type: event.event_type,
            object_id,
            object: event.data.object.to_string(),
            invoice_id,
        },
    };
    let context = CommandContext {
        actor: "processor:stripe".into(),
        correlation_id: request_id.0.clone(),
        causation_id: request_id.0,
        idempotency_key: None,
        key: Some(CommandKey {
            command_id: format!("processor_event:{stream}"),
            fingerprint: "processor_event".into(),
        }),
    };
    let executed = state
        .bus
        .execute::<ProcessorEvent>(&stream, command, &state.services, &context)
        .await?;
    Ok(Json(Received {
        event_id: event.id,
        recorded: !executed.replayed && executed.record.position.is_some(),
    }))
}

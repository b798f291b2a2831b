//! Request extraction that answers in problem+json: JSON bodies (strict: `application/json`, one
//! object, unique keys, no control characters, unknown fields refused), the `Idempotency-Key` and
//! `X-Request-Id` headers, query strings and path parameters (no control characters either).

use application::event_log::CommandKey;
use application::CommandContext;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use tracing::Instrument;

use crate::auth::Principal;
use crate::problem::ApiError;
use crate::strict_json::{self, Refusal};

/// The longest accepted `Idempotency-Key` / `X-Request-Id`.
const MAX_HEADER_ID: usize = 255;

/// A JSON request body: `application/json`, one JSON object with unique keys and no control
/// characters in its strings ([`strict_json`]). An empty body reads as `{}` so that commands
/// without fields may omit it. Keeps a canonical digest of the body for idempotency checks.
pub struct JsonBody<T> {
    pub value: T,
    pub digest: String,
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let json_type = is_json(request.headers().get(header::CONTENT_TYPE));
        // Refused before waiting for a body that is announced too large.
        let announced = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|length| length.to_str().ok()?.parse::<u64>().ok());
        if announced.is_some_and(|length| length > crate::server::MAX_BODY_BYTES as u64) {
            return Err(ApiError::PayloadTooLarge(crate::server::MAX_BODY_BYTES));
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(body_rejection)?;
        let json = if bytes.iter().all(u8::is_ascii_whitespace) {
            serde_json::Value::Object(serde_json::Map::new())
        } else if !json_type {
            return Err(ApiError::UnsupportedMediaType);
        } else {
            strict_json::parse(&bytes).map_err(|error| match error {
                Ok(Refusal::DuplicateKey(key)) => {
                    ApiError::validation(key, "appears twice in one object")
                }
                Ok(Refusal::ControlCharacter(field)) => control_character(field),
                Err(e) => ApiError::InvalidRequest(format!("the body is not valid JSON: {e}")),
            })?
        };
        if !json.is_object() {
            return Err(ApiError::InvalidRequest(
                "the body must be a JSON object".into(),
            ));
        }
        // serde_json's map is ordered, so this text is the same for equal documents.
        let digest = format!("{:x}", Sha256::digest(json.to_string().as_bytes()));
        let value = serde_json::from_value(json)
            .map_err(|e| ApiError::InvalidRequest(format!("the body does not fit: {e}")))?;
        Ok(Self { value, digest })
    }
}

/// `application/json` or `application/…+json`, with any parameters (`; charset=utf-8`).
fn is_json(content_type: Option<&HeaderValue>) -> bool {
    let Some(essence) = content_type
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
    else {
        return false;
    };
    let essence = essence.trim().to_ascii_lowercase();
    essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|subtype| subtype.ends_with("+json"))
}

/// A body that could not be read: too large, too slow (the body-read timeout), or cut off.
fn body_rejection(rejection: BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::PayloadTooLarge(crate::server::MAX_BODY_BYTES);
    }
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&rejection);
    while let Some(error) = cause {
        if error.is::<tower_http::timeout::TimeoutError>() {
            return ApiError::RequestTimeout;
        }
        cause = error.source();
    }
    ApiError::InvalidRequest(rejection.body_text())
}

fn control_character(field: impl Into<String>) -> ApiError {
    ApiError::validation(
        field,
        "must not contain control characters (tab and newline aside)",
    )
}

/// The request's id: `X-Request-Id` when the caller sent a usable one, else a new UUID.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Middleware: assigns the request id and echoes it on the response.
pub async fn request_id(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_header_id(v))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    request.extensions_mut().insert(RequestId(id.clone()));
    // Everything logged while serving the request carries its id (and so do its events, as
    // their correlation id).
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        path = %request.uri().path(),
    );
    let mut response = next.run(request).instrument(span).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

fn is_header_id(value: &str) -> bool {
    !value.is_empty() && value.len() <= MAX_HEADER_ID && value.bytes().all(|b| b.is_ascii_graphic())
}

/// The request's `Idempotency-Key`, if it sent one: 1 to 255 printable ASCII characters.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .filter(|v| is_header_id(v))
        .map(|v| Some(v.to_owned()))
        .ok_or_else(|| {
            ApiError::InvalidRequest(format!(
                "Idempotency-Key must be 1 to {MAX_HEADER_ID} printable ASCII characters"
            ))
        })
}

/// Middleware: refuses an invalid `Idempotency-Key` on every route, the same way, whether or not
/// the route reads it.
pub async fn check_idempotency_key(request: Request, next: Next) -> Response {
    match idempotency_key(request.headers()) {
        Ok(_) => next.run(request).await,
        Err(error) => error.into_response(),
    }
}

/// Everything about a command request other than its body: who, which request, which key.
pub struct CommandRequest {
    pub principal: Principal,
    pub request_id: String,
    pub idempotency_key: Option<String>,
}

impl CommandRequest {
    /// The metadata context for a command on `route` (e.g. `POST /v1/subscriptions/{id}/add-seats`
    /// with the id filled in) whose body digest is `digest`.
    pub fn context(&self, route: &str, digest: &str) -> CommandContext {
        CommandContext {
            actor: self.principal.actor(),
            correlation_id: self.request_id.clone(),
            causation_id: self.request_id.clone(),
            idempotency_key: self.idempotency_key.clone(),
            key: self.command_key(route, digest),
        }
    }

    /// The id and fingerprint of this request, when it has an `Idempotency-Key`: the key scoped
    /// by the API key, and the route with the body's digest.
    pub fn command_key(&self, route: &str, digest: &str) -> Option<CommandKey> {
        self.idempotency_key.as_ref().map(|key| CommandKey {
            command_id: CommandKey::request_command_id(&self.principal.key_id, key),
            fingerprint: format!("{route}\n{digest}"),
        })
    }
}

impl CommandRequest {
    /// The id of a resource this request creates. With an `Idempotency-Key` it is derived from
    /// the key (UUID v5), so a retried request addresses the same resource and replays; without
    /// one, every request creates a new resource.
    pub fn new_resource_id(&self) -> uuid::Uuid {
        match &self.idempotency_key {
            Some(key) => {
                let name = format!("{}:{key}", self.principal.actor());
                uuid::Uuid::new_v5(&RESOURCE_ID_NAMESPACE, name.as_bytes())
            }
            None => uuid::Uuid::new_v4(),
        }
    }
}

/// The namespace of resource ids derived from idempotency keys.
const RESOURCE_ID_NAMESPACE: uuid::Uuid =
    uuid::Uuid::from_u128(0x6c65_6467_6572_6c69_6e65_0000_0000_0001);

impl FromRequestParts<crate::state::AppState> for CommandRequest {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &crate::state::AppState,
    ) -> Result<Self, ApiError> {
        Self::authorised(parts, state, Principal::require_command_rights).await
    }
}

/// A command request that support keys may send too: `attempt-payment` and the dunning-case
/// actions (SPEC 6, Auth).
pub struct PaymentRequest(pub CommandRequest);

impl FromRequestParts<crate::state::AppState> for PaymentRequest {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &crate::state::AppState,
    ) -> Result<Self, ApiError> {
        CommandRequest::authorised(parts, state, Principal::require_payment_rights)
            .await
            .map(PaymentRequest)
    }
}

/// An admin request (admin keys only) that may carry an `Idempotency-Key`: the admin commands
/// (entitlement suspension) and the POST routes that append no event ([`crate::replay`]).
pub struct AdminRequest(pub CommandRequest);

impl FromRequestParts<crate::state::AppState> for AdminRequest {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &crate::state::AppState,
    ) -> Result<Self, ApiError> {
        CommandRequest::authorised(parts, state, Principal::require_admin)
            .await
            .map(AdminRequest)
    }
}

impl CommandRequest {
    /// The request, once `allowed` accepts its caller.
    async fn authorised(
        parts: &mut Parts,
        state: &crate::state::AppState,
        allowed: fn(&Principal) -> Result<(), ApiError>,
    ) -> Result<Self, ApiError> {
        let principal = Principal::from_request_parts(parts, state).await?;
        allowed(&principal)?;
        let idempotency_key = idempotency_key(&parts.headers)?;
        let request_id = parts
            .extensions
            .get::<RequestId>()
            .map(|id| id.0.clone())
            .unwrap_or_default();
        Ok(Self {
            principal,
            request_id,
            idempotency_key,
        })
    }
}

/// A query string, refused with 400 `invalid_request` when it does not fit, and with 422 when a
/// value holds a control character.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let pairs = axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map_err(|e| ApiError::InvalidRequest(e.body_text()))?;
        if let Some((name, _)) = pairs.0.iter().find(|(name, value)| {
            strict_json::has_control_character(name) || strict_json::has_control_character(value)
        }) {
            return Err(control_character(name.clone()));
        }
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|e| ApiError::InvalidRequest(e.body_text()))
    }
}

/// A path parameter, refused with 422 when it holds a control character (`%00`), and with 404
/// when it does not parse (a malformed id names no resource).
pub struct PathParam<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathParam<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        if let Ok(raw) = RawPathParams::from_request_parts(parts, state).await {
            if let Some((name, _)) = raw
                .iter()
                .find(|(_, value)| strict_json::has_control_character(value))
            {
                return Err(control_character(name));
            }
        }
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| PathParam(p.0))
            .map_err(|_| ApiError::NotFound("no such resource".into()))
    }
}

//! RFC 9457 problem details: the one error type of the HTTP layer. Every error answers
//! `application/problem+json` with a stable machine `code`; server errors log their cause and
//! answer a generic body, never internals.

use application::audit::AuditError;
use application::{AttemptPaymentError, DispatchError, EventLogError, RefundInvoiceError};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::{DomainError, ErrorClass};
use serde::Serialize;

/// An HTTP error; each variant documents its status and code.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 `invalid_request`: malformed JSON, unknown fields, wrong types, bad query strings.
    #[error("{0}")]
    InvalidRequest(String),
    /// 422 `validation_failed`: well-formed, but a value is out of range or does not parse.
    #[error("{field}: {reason}")]
    Validation { field: String, reason: String },
    /// 413 `payload_too_large`: the body exceeds the limit.
    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// 408 `request_timeout`: the body did not arrive within the body-read timeout.
    #[error("the request body did not arrive in time")]
    RequestTimeout,
    /// 414 `uri_too_long`.
    #[error("the request URI is longer than {0} bytes")]
    UriTooLong(usize),
    /// 415 `unsupported_media_type`: a body that is not `application/json`.
    #[error("the request body must be application/json")]
    UnsupportedMediaType,
    /// 431 `request_header_fields_too_large`.
    #[error("the request headers are larger than {0} bytes or more than {1} fields")]
    HeadersTooLarge(usize, usize),
    /// 401 `unauthorized`: no key, or an unknown one.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// 403 `forbidden`: the key's role does not allow this.
    #[error("this API key's role does not allow this request")]
    Forbidden,
    /// 404 `not_found`.
    #[error("{0}")]
    NotFound(String),
    /// 405 `method_not_allowed`.
    #[error("this route does not accept that method")]
    MethodNotAllowed,
    /// 409 `rule_violation`: a business rule refused the command; `rule` names it.
    #[error("{detail}")]
    RuleViolation { rule: &'static str, detail: String },
    /// 409 `concurrency_conflict`: retries were exhausted.
    #[error("the resource kept changing concurrently; retry the request")]
    ConcurrencyConflict,
    /// 422 `idempotency_key_reused`.
    #[error("this Idempotency-Key was already used with a different request")]
    IdempotencyKeyReused,
    /// 503 `stale_read`: the read model did not reach `min_position` in time.
    #[error("the read model has not reached position {0} yet; retry shortly")]
    StaleRead(i64),
    /// 422 `payment_method_invalid`: the gateway says the payment method can never be charged
    /// (unknown to it, or refused); nothing is recorded.
    #[error("{0}")]
    PaymentMethodInvalid(String),
    /// 503 `payment_gateway_unavailable`: the gateway's answer is unknown; the attempt stays in
    /// flight and retrying the request resumes it without charging twice.
    #[error("the payment gateway did not answer; retry to resume the same payment attempt")]
    GatewayUnavailable,
    /// 503 `service_unavailable`: the database cannot be reached.
    #[error("the service is temporarily unavailable; retry shortly")]
    Unavailable,
    /// 400 `invalid_signature`: a processor webhook whose `Stripe-Signature` is missing,
    /// malformed, stale or signed by no configured secret. Nothing is recorded.
    #[error("{0}")]
    InvalidSignature(String),
    /// 500 `internal`: a defect. The cause is logged, never sent.
    #[error("internal error")]
    Internal,
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidRequest(_) | ApiError::InvalidSignature(_) => StatusCode::BAD_REQUEST,
            ApiError::Validation { .. }
            | ApiError::IdempotencyKeyReused
            | ApiError::PaymentMethodInvalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::UriTooLong(_) => StatusCode::URI_TOO_LONG,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::HeadersTooLarge(..) => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::RuleViolation { .. } | ApiError::ConcurrencyConflict => StatusCode::CONFLICT,
            ApiError::StaleRead(_) | ApiError::GatewayUnavailable | ApiError::Unavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidRequest(_) => "invalid_request",
            ApiError::InvalidSignature(_) => "invalid_signature",
            ApiError::Validation { .. } => "validation_failed",
            ApiError::PaymentMethodInvalid(_) => "payment_method_invalid",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::RequestTimeout => "request_timeout",
            ApiError::UriTooLong(_) => "uri_too_long",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::HeadersTooLarge(..) => "request_header_fields_too_large",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::RuleViolation { .. } => "rule_violation",
            ApiError::ConcurrencyConflict => "concurrency_conflict",
            ApiError::IdempotencyKeyReused => "idempotency_key_reused",
            ApiError::StaleRead(_) => "stale_read",
            ApiError::GatewayUnavailable => "payment_gateway_unavailable",
            ApiError::Unavailable => "service_unavailable",
            ApiError::Internal => "internal",
        }
    }

    pub fn validation(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ApiError::Validation {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// A server-side failure: log the cause here, answer a generic 500.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        ApiError::Internal
    }
}

impl From<DomainError> for ApiError {
    fn from(error: DomainError) -> Self {
        match (&error, error.class()) {
            (DomainError::Invalid(invalid), _) => {
                ApiError::validation(invalid.field.clone(), invalid.reason.clone())
            }
            (DomainError::Rule(rule), _) => ApiError::RuleViolation {
                rule: rule.code(),
                detail: rule.to_string(),
            },
            (_, ErrorClass::NotFound) => ApiError::NotFound(error.to_string()),
            (_, _) => ApiError::validation("amount", error.to_string()),
        }
    }
}

impl From<domain::ValidationError> for ApiError {
    fn from(error: domain::ValidationError) -> Self {
        ApiError::validation(error.field, error.reason)
    }
}

impl From<DispatchError<DomainError>> for ApiError {
    fn from(error: DispatchError<DomainError>) -> Self {
        match error {
            DispatchError::Rejected(domain) => domain.into(),
            DispatchError::KeyReused => ApiError::IdempotencyKeyReused,
            DispatchError::ClaimTaken(_) => ApiError::RuleViolation {
                rule: "unique_per_account",
                detail: error.to_string(),
            },
            DispatchError::Conflict => ApiError::ConcurrencyConflict,
            DispatchError::Corrupt(cause) => ApiError::internal(cause),
            DispatchError::Storage(cause) => cause.into(),
        }
    }
}

impl From<AuditError> for ApiError {
    fn from(error: AuditError) -> Self {
        match error {
            AuditError::UnknownType(_) => ApiError::NotFound(error.to_string()),
            AuditError::Corrupt(cause) => ApiError::internal(cause),
            AuditError::Storage(cause) => cause.into(),
        }
    }
}

/// A failed read of the event log: the database is unavailable.
impl From<EventLogError> for ApiError {
    fn from(cause: EventLogError) -> Self {
        tracing::warn!(%cause, "event store unavailable");
        ApiError::Unavailable
    }
}

impl From<AttemptPaymentError> for ApiError {
    fn from(error: AttemptPaymentError) -> Self {
        match error {
            AttemptPaymentError::Dispatch(error) => error.into(),
            AttemptPaymentError::NoPaymentMethod(detail) => ApiError::RuleViolation {
                rule: "no_payment_method",
                detail,
            },
            AttemptPaymentError::Gateway(cause) => {
                tracing::warn!(%cause, "payment gateway unavailable");
                ApiError::GatewayUnavailable
            }
        }
    }
}

impl From<RefundInvoiceError> for ApiError {
    fn from(error: RefundInvoiceError) -> Self {
        match error {
            RefundInvoiceError::Dispatch(error) => error.into(),
            RefundInvoiceError::Refused(detail) => ApiError::RuleViolation {
                rule: "refund_refused_by_gateway",
                detail,
            },
            RefundInvoiceError::Gateway(cause) => {
                tracing::warn!(%cause, "payment gateway unavailable");
                ApiError::GatewayUnavailable
            }
        }
    }
}

/// The problem+json body (RFC 9457) of every error.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Problem)]
pub struct ProblemBody<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: String,
    code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let code = self.code();
        let body = ProblemBody {
            kind: format!("/problems/{code}"),
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail: self.to_string(),
            code,
            rule: match &self {
                ApiError::RuleViolation { rule, .. } => Some(rule),
                _ => None,
            },
            field: match &self {
                ApiError::Validation { field, .. } => Some(field),
                _ => None,
            },
        };
        let json = serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec());
        (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            json,
        )
            .into_response()
    }
}

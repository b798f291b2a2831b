//! Stripe's HTTP API as the gateway uses it: form-encoded POSTs with an `Idempotency-Key`,
//! answers decoded into Stripe's objects or its error object, and the retries Stripe asks for
//! (network errors, 409 lock conflicts, 429 and 5xx), always with the same key so that a retry
//! can never act twice.

use std::time::Duration;

use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::Secret;

/// How the gateway reaches Stripe.
#[derive(Debug, Clone)]
pub struct StripeConfig {
    /// `https://api.stripe.com` in production; tests point it at a local fake.
    pub api_base: String,
    pub api_key: Secret,
    /// How many times one request is sent at most before its outcome counts as unknown.
    pub max_attempts: u32,
    /// The wait before the first retry; it doubles at each next one.
    pub first_backoff: Duration,
    pub request_timeout: Duration,
}

impl StripeConfig {
    pub const DEFAULT_API_BASE: &'static str = "https://api.stripe.com";

    pub fn new(api_base: impl Into<String>, api_key: Secret) -> Self {
        Self {
            api_base: api_base.into().trim_end_matches('/').to_owned(),
            api_key,
            max_attempts: 4,
            first_backoff: Duration::from_millis(200),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// Stripe's error object (`{"error": {...}}`), the fields the gateway reads.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct StripeError {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub decline_code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    /// On a card error raised while confirming a PaymentIntent: that PaymentIntent.
    #[serde(default)]
    pub payment_intent: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: StripeError,
}

/// Why a request has no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// Stripe answered with a definite error (a card error, an unknown object, a bad key…).
    #[error("stripe answered {status}: {} ({})", .error.kind, .error.code.as_deref().unwrap_or("no code"))]
    Stripe { status: u16, error: StripeError },
    /// No answer after every retry: whether Stripe acted is unknown.
    #[error("stripe could not be reached: {0}")]
    Unreachable(String),
}

/// A client for Stripe's v1 API; cheap to clone.
#[derive(Debug, Clone)]
pub struct StripeClient {
    http: reqwest::Client,
    config: StripeConfig,
}

impl StripeClient {
    pub fn new(config: StripeConfig) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(Duration::from_secs(10))
            .build()?;
        Ok(Self { http, config })
    }

    /// POSTs `form` to `path` (`/v1/...`) under `idempotency_key`, retrying what Stripe says may
    /// be retried with the same key.
    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        form: &[(String, String)],
        idempotency_key: &str,
    ) -> Result<T, CallError> {
        let url = format!("{}{}", self.config.api_base, path);
        let mut backoff = self.config.first_backoff;
        let mut last_failure = String::new();
        for attempt in 1..=self.config.max_attempts {
            if attempt > 1 {
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
            let sent = self
                .http
                .post(&url)
                .bearer_auth(self.config.api_key.expose())
                .header("Idempotency-Key", idempotency_key)
                .form(form)
                .send()
                .await;
            let response = match sent {
                Ok(response) => response,
                Err(error) => {
                    // reqwest's error names the URL, never the Authorization header.
                    last_failure = format!("{path}: {}", without_url(&error));
                    tracing::warn!(path, attempt, error = %last_failure, "stripe request failed; retrying with the same key");
                    continue;
                }
            };
            let status = response.status();
            let body = match response.bytes().await {
                Ok(body) => body,
                Err(error) => {
                    last_failure =
                        format!("{path}: the answer was cut off: {}", without_url(&error));
                    tracing::warn!(path, attempt, error = %last_failure, "stripe answer lost; retrying with the same key");
                    continue;
                }
            };
            if status.is_success() {
                return serde_json::from_slice(&body).map_err(|error| {
                    CallError::Unreachable(format!(
                        "{path}: an answer that is no Stripe object: {error}"
                    ))
                });
            }
            let error = serde_json::from_slice::<ErrorEnvelope>(&body)
                .map(|envelope| envelope.error)
                .unwrap_or_default();
            if retryable(status) {
                last_failure = format!("{path}: stripe answered {status}");
                tracing::warn!(path, attempt, %status, "stripe asked for a retry; retrying with the same key");
                continue;
            }
            return Err(CallError::Stripe {
                status: status.as_u16(),
                error,
            });
        }
        Err(CallError::Unreachable(last_failure))
    }
}

/// Stripe's advice: a 409 (another request with the key is running), a 429 and any 5xx may
/// succeed when sent again with the same key.
fn retryable(status: StatusCode) -> bool {
    status == StatusCode::CONFLICT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
}

fn without_url(error: &reqwest::Error) -> String {
    let mut error = error.to_string();
    if let Some(at) = error.find(" for url (") {
        error.truncate(at);
    }
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_conflicts_throttling_and_server_errors_are_retried() {
        for status in [409, 429, 500, 502, 503] {
            assert!(retryable(StatusCode::from_u16(status).unwrap()), "{status}");
        }
        for status in [400, 401, 402, 403, 404] {
            assert!(
                !retryable(StatusCode::from_u16(status).unwrap()),
                "{status}"
            );
        }
    }

    #[test]
    fn the_config_never_prints_the_key() {
        let config = StripeConfig::new("http://127.0.0.1:1/", Secret::new("sk_test_secret"));
        assert!(!format!("{config:?}").contains("sk_test_secret"));
        assert_eq!(config.api_base, "http://127.0.0.1:1");
    }
}

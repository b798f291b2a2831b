//! One delivery attempt over HTTP: a signed POST with reqwest (rustls), no redirects followed,
//! 10 s for the whole exchange, and at most 64 KiB of the answer kept.

use std::time::{Duration, Instant};

use reqwest::redirect::Policy;

use super::deliveries::AttemptReport;
use super::signing::{ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};

/// The longest an attempt may take; a slower receiver counts as failed.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// The most of a receiver's answer that is read and stored.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// A signed request, ready to send.
#[derive(Debug, Clone)]
pub struct SignedDelivery {
    pub url: String,
    pub webhook_id: String,
    pub timestamp: i64,
    /// The `webhook-signature` header.
    pub signature: String,
    pub body: String,
}

#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
}

impl Sender {
    pub fn new() -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .redirect(Policy::none())
            .timeout(ATTEMPT_TIMEOUT)
            .connect_timeout(ATTEMPT_TIMEOUT)
            .user_agent(concat!("Ledgerline-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { client })
    }

    /// Sends one attempt and reports what came back; never fails itself.
    pub async fn send(&self, delivery: SignedDelivery) -> AttemptReport {
        let started = Instant::now();
        let request = self
            .client
            .post(delivery.url)
            .header("content-type", "application/json")
            .header(ID_HEADER, delivery.webhook_id)
            .header(TIMESTAMP_HEADER, delivery.timestamp.to_string())
            .header(SIGNATURE_HEADER, delivery.signature)
            .body(delivery.body);
        let mut report = AttemptReport::default();
        match request.send().await {
            Ok(mut response) => {
                report.status_code = Some(response.status().as_u16());
                let mut body = Vec::new();
                // The client's timeout covers reading the body too.
                loop {
                    match response.chunk().await {
                        Ok(Some(chunk)) => {
                            let room = MAX_RESPONSE_BYTES - body.len();
                            body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                            if body.len() >= MAX_RESPONSE_BYTES {
                                break;
                            }
                        }
                        Ok(None) => break,
                        Err(error) => {
                            report.error = Some(describe(error));
                            break;
                        }
                    }
                }
                report.response_body = Some(String::from_utf8_lossy(&body).into_owned());
            }
            Err(error) => report.error = Some(describe(error)),
        }
        report.latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        report
    }
}

/// A short cause for the deliveries route; never the URL's query (it may hold a token).
fn describe(error: reqwest::Error) -> String {
    if error.is_timeout() {
        format!("timed out after {} s", ATTEMPT_TIMEOUT.as_secs())
    } else if error.is_connect() {
        "connection failed".to_owned()
    } else {
        error.without_url().to_string()
    }
}

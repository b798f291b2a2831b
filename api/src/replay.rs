//! `Idempotency-Key` on the POST routes that append no event: API keys, rebuild, verify and the
//! test clock (SPEC 6). The first request claims the key in the `commands` table (where command
//! requests record theirs), runs, and stores its answer; a retry replays that answer, the key
//! with another route or body is refused (422), and a retry while the first still runs gets 409.

use std::future::Future;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use infrastructure::idempotency::RequestClaim;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::extract::CommandRequest;
use crate::problem::ApiError;
use crate::routes::commands::mark_replayed;
use crate::state::AppState;

/// What such a route answers: a status and a JSON body, or none.
pub struct Answer {
    status: StatusCode,
    body: Option<Value>,
    /// Top-level body fields a replay leaves out: a new API key's secret is stored nowhere.
    unstored: &'static [&'static str],
}

/// An answer as stored for replays.
#[derive(Serialize, Deserialize)]
struct Stored {
    status: u16,
    body: Option<Value>,
}

impl Answer {
    pub fn json(status: StatusCode, body: impl Serialize) -> Result<Self, ApiError> {
        Ok(Self {
            status,
            body: Some(serde_json::to_value(body).map_err(ApiError::internal)?),
            unstored: &[],
        })
    }

    pub fn empty(status: StatusCode) -> Self {
        Self {
            status,
            body: None,
            unstored: &[],
        }
    }

    /// Leaves `fields` out of the stored answer, so a replay never shows them.
    pub fn unstored(self, fields: &'static [&'static str]) -> Self {
        Self {
            unstored: fields,
            ..self
        }
    }

    fn stored(&self) -> Result<String, ApiError> {
        let mut body = self.body.clone();
        if let Some(Value::Object(fields)) = &mut body {
            for field in self.unstored {
                fields.remove(*field);
            }
        }
        let stored = Stored {
            status: self.status.as_u16(),
            body,
        };
        serde_json::to_string(&stored).map_err(ApiError::internal)
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        match self.body {
            Some(body) => (self.status, Json(body)).into_response(),
            None => self.status.into_response(),
        }
    }
}

/// Runs `run` for `request` on `route` (with the body digest `digest`) at most once per
/// `Idempotency-Key`; without a key, every request runs.
pub async fn once(
    state: &AppState,
    request: &CommandRequest,
    route: &str,
    digest: &str,
    run: impl Future<Output = Result<Answer, ApiError>>,
) -> Result<Response, ApiError> {
    let Some(key) = request.command_key(route, digest) else {
        return Ok(run.await?.into_response());
    };
    let claim = state
        .store
        .claim_request(&key.command_id, &key.fingerprint, route)
        .await
        .map_err(storage)?;
    match claim {
        RequestClaim::Won => {}
        RequestClaim::Held { fingerprint, .. } if fingerprint != key.fingerprint => {
            return Err(ApiError::IdempotencyKeyReused)
        }
        RequestClaim::Held {
            reply: Some(reply), ..
        } => return replay(&reply),
        RequestClaim::Held { reply: None, .. } => return Err(ApiError::ConcurrencyConflict),
    }
    match run.await {
        Ok(answer) => {
            // The work is done: a failure to store its answer leaves the key claimed (retries
            // get 409 until the record expires) rather than running it twice.
            let stored = answer.stored()?;
            if let Err(error) = state.store.complete_request(&key.command_id, &stored).await {
                tracing::warn!(%error, route, "cannot store a request's answer for replays");
            }
            Ok(answer.into_response())
        }
        Err(error) => {
            if let Err(release) = state.store.release_request(&key.command_id).await {
                tracing::warn!(error = %release, route, "cannot release an idempotency key");
            }
            Err(error)
        }
    }
}

fn replay(reply: &str) -> Result<Response, ApiError> {
    let stored: Stored = serde_json::from_str(reply).map_err(ApiError::internal)?;
    let status = StatusCode::from_u16(stored.status).map_err(ApiError::internal)?;
    let mut response = Answer {
        status,
        body: stored.body,
        unstored: &[],
    }
    .into_response();
    mark_replayed(&mut response);
    Ok(response)
}

fn storage(error: sqlx::Error) -> ApiError {
    tracing::warn!(%error, "idempotency records unavailable");
    ApiError::Unavailable
}

//! What every command route shares: dispatch through the command bus with the request's
//! metadata, and the command response body (SPEC section 6).

use application::event_log::CommandRecord;
use application::{DispatchError, Executed};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::command_object::{object_at, Rendered};
use crate::extract::CommandRequest;
use crate::problem::ApiError;
use crate::state::AppState;

/// The body of every successful command.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CommandResponse {
    pub aggregate_type: String,
    pub aggregate_id: String,
    /// The aggregate's version after the command.
    pub version: i64,
    /// The global position of the command's last event (pass it as `min_position` to read your
    /// own write); `null` when the command changed nothing.
    pub position: Option<i64>,
    /// The resource after the command, as its GET answers it (a subscription, an invoice, a
    /// dunning case, an account's feature list), read at `version`: a replay answers the same.
    #[schema(value_type = Object)]
    pub object: Option<serde_json::Value>,
}

/// Whether a successful command created its resource (201) or changed it (200).
#[derive(Debug, Clone, Copy)]
pub enum Outcome {
    Created,
    Changed,
}

/// Executes `command` on aggregate `A` and answers with the command response.
pub async fn dispatch<A>(
    state: &AppState,
    request: &CommandRequest,
    route: &str,
    digest: &str,
    aggregate_id: &str,
    command: A::Command,
    outcome: Outcome,
) -> Result<Response, ApiError>
where
    A: Rendered
        + application::claims::UniqueClaim<
            Error = domain::DomainError,
            Services = domain::BillingServices,
        >,
    A::Command: Clone + Serialize,
{
    let context = request.context(route, digest);
    let name = application::command_bus::command_name(&command);
    let result = state
        .bus
        .execute_keeping::<A>(aggregate_id, command, &state.services, &context)
        .await;
    let (result, left) = match result {
        Ok((executed, left)) => (Ok(executed), left),
        Err(error) => (Err(error), None),
    };
    count(name, &result);
    let executed = result?;
    // The aggregate as the command left it, when it ran: no second read.
    let object = match left {
        Some(aggregate) if !A::READ_BACK => {
            let now = state.services.clock.now();
            aggregate.render(executed.record.version, now, &state.services)
        }
        _ => {
            object_at::<A>(
                state,
                &executed.record.aggregate_id,
                executed.record.version,
            )
            .await?
        }
    };
    let body = CommandResponse::with(executed.record, object);
    Ok(reply(body, outcome, executed.replayed))
}

/// Counts the command `name` by its outcome and answers with its command response, whose object
/// is aggregate `A`'s: for routes whose command runs through an application use case rather
/// than straight through the bus.
pub async fn answer<A: Rendered>(
    state: &AppState,
    name: String,
    result: Result<Executed, DispatchError<domain::DomainError>>,
    outcome: Outcome,
) -> Result<Response, ApiError> {
    count(name, &result);
    let executed = result?;
    let body = CommandResponse::of::<A>(state, executed.record).await?;
    Ok(reply(body, outcome, executed.replayed))
}

/// Counts the command `name` by its outcome.
fn count(name: String, result: &Result<Executed, DispatchError<domain::DomainError>>) {
    let label = match result {
        Ok(executed) if executed.replayed => "replayed",
        Ok(_) => "ok",
        Err(DispatchError::Rejected(_) | DispatchError::ClaimTaken(_)) => "rejected",
        Err(DispatchError::KeyReused) => "key_reused",
        Err(DispatchError::Conflict) => "conflict",
        Err(DispatchError::Corrupt(_) | DispatchError::Storage(_)) => "error",
    };
    metrics::counter!("commands_total", "command" => name, "outcome" => label).increment(1);
}

impl CommandResponse {
    /// The response to the command `record` describes, with aggregate `A`'s object read at its
    /// version.
    pub async fn of<A: Rendered>(
        state: &AppState,
        record: CommandRecord,
    ) -> Result<Self, ApiError> {
        let object = object_at::<A>(state, &record.aggregate_id, record.version).await?;
        Ok(Self::with(record, object))
    }

    fn with(record: CommandRecord, object: Option<serde_json::Value>) -> Self {
        Self {
            aggregate_type: record.aggregate_type,
            aggregate_id: record.aggregate_id,
            version: record.version,
            position: record.position,
            object,
        }
    }
}

/// Executes `command` on the existing resource `/v1/{collection}/{id}`, for the route
/// `POST /v1/{collection}/{id}/{action}`.
pub async fn dispatch_action<A>(
    state: &AppState,
    request: &CommandRequest,
    collection: &str,
    id: Uuid,
    action: &str,
    digest: &str,
    command: A::Command,
) -> Result<Response, ApiError>
where
    A: Rendered
        + application::claims::UniqueClaim<
            Error = domain::DomainError,
            Services = domain::BillingServices,
        >,
    A::Command: Clone + Serialize,
{
    let route = format!("POST /v1/{collection}/{id}/{action}");
    let aggregate_id = id.to_string();
    dispatch::<A>(
        state,
        request,
        &route,
        digest,
        &aggregate_id,
        command,
        Outcome::Changed,
    )
    .await
}

/// A command that takes no fields: its body is empty or `{}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoBody {}

/// Answers a command with `body`, flagging a replay of an earlier request with the same key.
pub fn reply(body: impl Serialize, outcome: Outcome, replayed: bool) -> Response {
    let status = match outcome {
        Outcome::Created => StatusCode::CREATED,
        Outcome::Changed => StatusCode::OK,
    };
    let mut response = (status, Json(body)).into_response();
    if replayed {
        mark_replayed(&mut response);
    }
    response
}

/// Flags a response as the replay of an earlier request with the same key.
pub fn mark_replayed(response: &mut Response) {
    response.headers_mut().insert(
        "idempotent-replayed",
        axum::http::HeaderValue::from_static("true"),
    );
}

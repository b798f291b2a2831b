//! `GET /v1/audit/events?after=POSITION&limit=N`: the global log, every event of every stream
//! as stored, in the one order every reader of the log sees. `after` is the position of the
//! last event already read (0: from the start); `next_cursor` is the position to pass as
//! `after` for the next page, present when the page is full.

use application::event_log::{EventLog, LogCursor};
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::auth::Principal;
use crate::extract::Query;
use crate::problem::ApiError;
use crate::routes::accounts::fresh_log;
use crate::routes::audit::{page_limit, AuditEvent};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LogQuery {
    /// The position of the last event already read; 0 (the default) reads from the start.
    #[param(minimum = 0)]
    after: Option<i64>,
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
    /// Accepted like on every query; the event log is always at any position a client saw.
    #[param(minimum = 0)]
    min_position: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LogPage {
    items: Vec<AuditEvent>,
    next_cursor: Option<i64>,
}

/// The global event log.
///
/// Every event of every aggregate in commit order, after a position, with its metadata (actor,
/// command, correlation and causation).
#[utoipa::path(
    get,
    path = "/v1/audit/events",
    tag = "audit",
    params(LogQuery),
    responses((status = 200, description = "OK", body = LogPage)),
    security(("bearer" = [])),
)]
pub async fn events(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<LogQuery>,
) -> Result<Json<LogPage>, ApiError> {
    principal.require_global_read()?;
    fresh_log(&state, &principal, query.min_position).await?;
    let limit = page_limit(query.limit)?;
    // Positions are not the order on Postgres (see docs/event-log.md): a position is turned into
    // the reader's cursor at that event.
    let cursor = match query.after.unwrap_or(0) {
        0 => LogCursor::default(),
        after if after < 0 => return Err(ApiError::validation("after", "must be at least 0")),
        after => state.store.cursor_of(after).await?.ok_or_else(|| {
            ApiError::validation("after", format!("no event has position {after}"))
        })?,
    };
    let events = state.store.read_after(cursor, limit).await?;
    let next_cursor = (events.len() == limit as usize)
        .then(|| events.last().map(|(cursor, _)| cursor.position))
        .flatten();
    Ok(Json(LogPage {
        items: events
            .into_iter()
            .map(|(_, event)| AuditEvent::from(event))
            .collect(),
        next_cursor,
    }))
}

//! The public event catalog (SPEC 9.1): `GET /v1/events` pages it in log order, by position,
//! filtered by type and account. Service, support and admin keys read every account's events; an
//! account key reads only its own account's, whatever it asks for.

use axum::extract::State;
use axum::Json;
use projections::integration_events::{EventFilter, EventPage, EventType};
use projections::IntegrationEventsProjector;
use serde::Deserialize;

use super::accounts::{account, fresh, page_limit, read_model_error};
use crate::auth::{Principal, Role};
use crate::extract::Query;
use crate::problem::ApiError;
use crate::state::AppState;

/// `?after&limit&types&account_id&min_position`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// List the events after this position (a `position` or `next_cursor` seen before); from
    /// the start of the log unless given.
    #[param(minimum = 0)]
    after: Option<i64>,
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// Comma-separated event types, e.g. `invoice.paid,invoice.payment_failed`; all unless given.
    types: Option<String>,
    /// Only this account's events.
    account_id: Option<String>,
    #[param(minimum = 0)]
    min_position: Option<i64>,
}

impl EventsQuery {
    fn filter(&self, principal: &Principal) -> Result<EventFilter, ApiError> {
        let types = match self.types.as_deref() {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(|name| {
                    EventType::parse(name.trim()).ok_or_else(|| {
                        ApiError::validation("types", format!("`{name}` is not an event type"))
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        let account_id = match (&self.account_id, &principal.role) {
            (Some(raw), _) => Some(account(raw, principal)?),
            (None, Role::Account(own)) => Some(own.clone()),
            (None, _) => None,
        };
        Ok(EventFilter { account_id, types })
    }
}

/// The public event catalog.
///
/// Integration events in log order after a position, each with its resource as the REST API renders
/// it. An account key sees only its own account's.
#[utoipa::path(
    get,
    path = "/v1/events",
    tag = "events",
    params(EventsQuery),
    responses((status = 200, description = "OK", body = EventPage)),
    security(("bearer" = [])),
)]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<EventsQuery>,
) -> Result<Json<EventPage>, ApiError> {
    let filter = query.filter(&principal)?;
    let limit = page_limit(query.limit)?;
    let after = query.after.unwrap_or(0);
    if after < 0 {
        return Err(ApiError::validation("after", "must be 0 or more"));
    }
    fresh(
        &state,
        &principal,
        IntegrationEventsProjector::NAME,
        query.min_position,
    )
    .await?;
    state
        .read_models
        .events(after, limit, &filter)
        .await
        .map(Json)
        .map_err(read_model_error)
}

//! `/v1/admin/api-keys` (admin only): create a key (its secret is shown once, in the reply), list
//! keys (never secrets), revoke one.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use domain::AccountId;
use infrastructure::api_keys::ApiKeyRecord;
use serde::{Deserialize, Serialize};

use crate::auth::{Admin, Role};
use crate::extract::{AdminRequest, JsonBody, PathParam};
use crate::problem::ApiError;
use crate::replay::{self, Answer};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKeyBody {
    role: String,
    account_id: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct KeyView {
    key_id: String,
    role: String,
    account_id: Option<String>,
    created_at: String,
    revoked_at: Option<String>,
}

impl From<ApiKeyRecord> for KeyView {
    fn from(r: ApiKeyRecord) -> Self {
        Self {
            key_id: r.key_id,
            role: r.role,
            account_id: r.account_id,
            created_at: r.created_at,
            revoked_at: r.revoked_at,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedKey {
    #[serde(flatten)]
    key: KeyView,
    /// The secret: shown here once, stored nowhere.
    secret: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct KeyList {
    items: Vec<KeyView>,
    next_cursor: Option<String>,
}

fn storage(error: sqlx::Error) -> ApiError {
    tracing::warn!(%error, "api key store unavailable");
    ApiError::Unavailable
}

/// Checks a requested role; an account key needs a valid account id, the others none.
pub fn parse_role(role: &str, account_id: Option<&str>) -> Result<Role, ApiError> {
    if let Some(account) = account_id {
        AccountId::parse(account)?;
    }
    Role::from_stored(role, account_id).ok_or_else(|| {
        ApiError::validation(
            "role",
            "expected admin, service or support without account_id, or account with account_id",
        )
    })
}

/// Create an API key.
///
/// The secret is answered once and stored only as a digest. Admin keys only.
#[utoipa::path(
    post,
    path = "/v1/admin/api-keys",
    tag = "admin",
    request_body = CreateKeyBody,
    responses((status = 201, description = "Created; the secret is shown only here, never in a replay", body = CreatedKey)),
    security(("bearer" = [])),
)]
pub async fn create(
    State(state): State<AppState>,
    AdminRequest(request): AdminRequest,
    body: JsonBody<CreateKeyBody>,
) -> Result<Response, ApiError> {
    let CreateKeyBody { role, account_id } = body.value;
    parse_role(&role, account_id.as_deref())?;
    let create = async {
        let created = state
            .store
            .create_api_key(&role, account_id.as_deref())
            .await
            .map_err(storage)?;
        tracing::info!(key_id = created.record.key_id, role, "api key created");
        let reply = CreatedKey {
            key: created.record.into(),
            secret: created.secret,
        };
        // A retry with the same Idempotency-Key names the key it created, never its secret.
        Ok(Answer::json(StatusCode::CREATED, reply)?.unstored(&["secret"]))
    };
    replay::once(
        &state,
        &request,
        "POST /v1/admin/api-keys",
        &body.digest,
        create,
    )
    .await
}

/// List the API keys.
///
/// Every key with its role, account and state; secrets are never shown. Admin keys only.
#[utoipa::path(
    get,
    path = "/v1/admin/api-keys",
    tag = "admin",
    responses((status = 200, description = "OK", body = KeyList)),
    security(("bearer" = [])),
)]
pub async fn list(State(state): State<AppState>, _admin: Admin) -> Result<Json<KeyList>, ApiError> {
    let keys = state.store.list_api_keys().await.map_err(storage)?;
    Ok(Json(KeyList {
        items: keys.into_iter().map(KeyView::from).collect(),
        next_cursor: None,
    }))
}

/// Revoke an API key.
///
/// Refused at once on every route from then on. Admin keys only.
#[utoipa::path(
    post,
    path = "/v1/admin/api-keys/{key_id}/revoke",
    tag = "admin",
    params(("key_id" = String, Path)),
    responses((status = 204, description = "Revoked")),
    security(("bearer" = [])),
)]
pub async fn revoke(
    State(state): State<AppState>,
    AdminRequest(request): AdminRequest,
    PathParam(key_id): PathParam<String>,
) -> Result<Response, ApiError> {
    let route = format!("POST /v1/admin/api-keys/{key_id}/revoke");
    let revoke = async {
        if state.keys.revoke(&key_id).await.map_err(storage)? {
            tracing::info!(key_id, "api key revoked");
            Ok(Answer::empty(StatusCode::NO_CONTENT))
        } else {
            Err(ApiError::NotFound(format!("no live key {key_id}")))
        }
    };
    replay::once(&state, &request, &route, "", revoke).await
}

//! Who is calling: API keys sent as `Authorization: Bearer <key>`, stored only as SHA-256 digests
//! (infrastructure's `api_keys`), each with a role. `LEDGERLINE_ADMIN_KEY` installs an admin key
//! at start; `ledgerline keys …` and `/v1/admin/api-keys` create, list and revoke the others.
//! Credentials a request presents are checked on every route, the public ones included.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use domain::AccountId;

use crate::problem::ApiError;
use crate::state::AppState;

/// What a key may do (SPEC section 6, Auth).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// Everything.
    Admin,
    /// All commands and queries, not /admin or the test clock.
    Service,
    /// All queries, dunning-case actions, attempt-payment.
    Support,
    /// Only this account's summary, timeline, features, invoices and notifications.
    Account(AccountId),
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Principal {
    /// Stable, non-secret id of the key; recorded as the actor of every event it causes.
    pub key_id: String,
    pub role: Role,
}

impl Principal {
    /// The actor written into event metadata.
    pub fn actor(&self) -> String {
        format!("key:{}", self.key_id)
    }

    /// Commands that change billing state: admin and service keys.
    pub fn require_command_rights(&self) -> Result<(), ApiError> {
        match self.role {
            Role::Admin | Role::Service => Ok(()),
            _ => Err(ApiError::Forbidden),
        }
    }

    /// Collecting an invoice (attempt-payment): admin, service and support keys.
    pub fn require_payment_rights(&self) -> Result<(), ApiError> {
        match self.role {
            Role::Admin | Role::Service | Role::Support => Ok(()),
            Role::Account(_) => Err(ApiError::Forbidden),
        }
    }

    /// Reading one account's data. An account key asking about another account gets 404, so it
    /// learns nothing about whether that account exists.
    pub fn require_account_access(&self, account: &AccountId) -> Result<(), ApiError> {
        match &self.role {
            Role::Account(own) if own != account => {
                Err(ApiError::NotFound("no such account".into()))
            }
            _ => Ok(()),
        }
    }

    /// Queries that are not bound to one account (subscriptions by id, audit).
    pub fn require_global_read(&self) -> Result<(), ApiError> {
        match self.role {
            Role::Account(_) => Err(ApiError::Forbidden),
            _ => Ok(()),
        }
    }

    pub fn require_admin(&self) -> Result<(), ApiError> {
        match self.role {
            Role::Admin => Ok(()),
            _ => Err(ApiError::Forbidden),
        }
    }
}

impl Role {
    /// The role stored with a key: `admin`, `service`, `support`, or `account` with its account.
    pub fn from_stored(role: &str, account: Option<&str>) -> Option<Role> {
        match (role, account) {
            ("admin", None) => Some(Role::Admin),
            ("service", None) => Some(Role::Service),
            ("support", None) => Some(Role::Support),
            ("account", Some(account)) => AccountId::parse(account).ok().map(Role::Account),
            _ => None,
        }
    }
}

impl Principal {
    /// The caller named by the request's `Authorization: Bearer <key>`: 401 when the header is
    /// missing, not Bearer, or names an unknown or revoked key.
    async fn authenticate(headers: &HeaderMap, state: &AppState) -> Result<Self, ApiError> {
        let header = headers.get(AUTHORIZATION).ok_or(ApiError::Unauthorized(
            "missing Authorization: Bearer <key>",
        ))?;
        let key = header
            .to_str()
            .ok()
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|key| !key.is_empty())
            .ok_or(ApiError::Unauthorized(
                "expected Authorization: Bearer <key>",
            ))?;
        // Checked on every request; the lookup's cache forgets keys the moment one is revoked.
        let record = state
            .keys
            .find(key)
            .await
            .map_err(|error| {
                tracing::warn!(%error, "cannot look up an API key");
                ApiError::Unavailable
            })?
            .ok_or(ApiError::Unauthorized("unknown or revoked API key"))?;
        let role = Role::from_stored(&record.role, record.account_id.as_deref())
            .ok_or_else(|| ApiError::internal(format!("key {} has a bad role", record.key_id)))?;
        Ok(Principal {
            key_id: record.key_id,
            role,
        })
    }
}

/// Route middleware: credentials, when a request presents them, are checked on every route, the
/// public ones included, so a wrong, revoked or non-Bearer credential is answered 401 wherever it
/// is sent. A request without credentials passes: the routes that need a caller refuse it
/// themselves (through [`Principal`]), and the public ones serve it.
pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    if request.headers().contains_key(AUTHORIZATION) {
        match Principal::authenticate(request.headers(), &state).await {
            Ok(principal) => {
                request.extensions_mut().insert(principal);
            }
            Err(refused) => return refused.into_response(),
        }
    }
    next.run(request).await
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // Authenticated once by the middleware; looked up here only where it does not run.
        match parts.extensions.get::<Principal>() {
            Some(principal) => Ok(principal.clone()),
            None => Principal::authenticate(&parts.headers, state).await,
        }
    }
}

/// A caller with an admin key. As an extractor it refuses anyone else (403) before the request
/// body is read, so a non-admin learns nothing from how a body would have been judged.
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Principal::from_request_parts(parts, state)
            .await?
            .require_admin()
            .map(|()| Admin)
    }
}

/// A caller that may read beyond one account (admin, service, support). As an extractor it
/// refuses account keys (403) before the request body is read, as [`Admin`] does.
pub struct GlobalReader;

impl FromRequestParts<AppState> for GlobalReader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Principal::from_request_parts(parts, state)
            .await?
            .require_global_read()
            .map(|()| GlobalReader)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_roles_parse_and_account_keys_need_an_account() {
        assert_eq!(Role::from_stored("admin", None), Some(Role::Admin));
        assert_eq!(Role::from_stored("support", None), Some(Role::Support));
        assert_eq!(
            Role::from_stored("account", Some("acct_1")),
            Some(Role::Account(AccountId::parse("acct_1").unwrap()))
        );
        assert_eq!(Role::from_stored("account", None), None);
        assert_eq!(Role::from_stored("admin", Some("acct_1")), None);
        assert_eq!(Role::from_stored("root", None), None);
    }

    #[test]
    fn account_keys_see_only_their_account() {
        let own = AccountId::parse("acct_1").unwrap();
        let principal = Principal {
            key_id: "k".into(),
            role: Role::Account(own.clone()),
        };
        assert!(principal.require_account_access(&own).is_ok());
        let other = AccountId::parse("acct_2").unwrap();
        assert!(matches!(
            principal.require_account_access(&other),
            Err(ApiError::NotFound(_))
        ));
        assert!(principal.require_command_rights().is_err());
        assert!(principal.require_payment_rights().is_err());
    }

    #[test]
    fn support_may_attempt_payments_but_send_no_other_command() {
        let key = |role| Principal {
            key_id: "k".into(),
            role,
        };
        let support = key(Role::Support);
        assert!(support.require_payment_rights().is_ok());
        assert!(matches!(
            support.require_command_rights(),
            Err(ApiError::Forbidden)
        ));
        for role in [Role::Admin, Role::Service] {
            let principal = key(role);
            assert!(principal.require_payment_rights().is_ok());
            assert!(principal.require_command_rights().is_ok());
        }
    }
}

//! Who is calling: API keys sent as `Authorization: Bearer <key>`, stored only as SHA-256 digests,
//! each with a role. The bootstrap admin key comes from `LEDGERLINE_ADMIN_KEY`; issuing and
//! revoking keys over the API arrives with the full role model.

use std::collections::HashMap;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use domain::AccountId;
use sha2::{Digest, Sha256};

use crate::problem::ApiError;
use crate::state::AppState;

/// What a key may do (SPEC section 6, Auth).
// Only the bootstrap admin key exists until key management lands; the other roles are already
// enforced by every route so that adding keys cannot open a hole.
#[allow(dead_code)]
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

/// The keys this process accepts, by digest.
#[derive(Debug, Default)]
pub struct KeyRing {
    by_digest: HashMap<String, Principal>,
}

impl KeyRing {
    pub fn with_bootstrap_admin(admin_key: Option<&str>) -> Self {
        let mut ring = Self::default();
        if let Some(key) = admin_key.filter(|k| !k.is_empty()) {
            ring.by_digest.insert(
                digest(key),
                Principal {
                    key_id: "bootstrap-admin".into(),
                    role: Role::Admin,
                },
            );
        }
        ring
    }

    pub fn is_empty(&self) -> bool {
        self.by_digest.is_empty()
    }

    fn authenticate(&self, key: &str) -> Option<Principal> {
        // Lookup by digest: the secret itself is never compared or kept.
        self.by_digest.get(&digest(key)).cloned()
    }
}

fn digest(key: &str) -> String {
    format!("{:x}", Sha256::digest(key.as_bytes()))
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or(ApiError::Unauthorized(
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
        state
            .keys
            .authenticate(key)
            .ok_or(ApiError::Unauthorized("unknown or revoked API key"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_installed_key_authenticates() {
        let ring = KeyRing::with_bootstrap_admin(Some("s3cret"));
        assert_eq!(ring.authenticate("s3cret").unwrap().role, Role::Admin);
        assert!(ring.authenticate("s3cret ").is_none());
        assert!(ring.authenticate("other").is_none());
        assert!(KeyRing::with_bootstrap_admin(Some("")).is_empty());
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

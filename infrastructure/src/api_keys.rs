//! API keys at rest: random, high-entropy secrets shown once and stored only as SHA-256 digests,
//! each with a role (and an account for account keys). Lookups go to the database on every
//! request, so a revoked key is refused at once by every replica.

use chrono::{SecondsFormat, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::store::Store;

/// A key as stored (never the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub key_id: String,
    /// `admin`, `service`, `support` or `account`.
    pub role: String,
    pub account_id: Option<String>,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

/// A newly created key: the record and the secret, which exists nowhere else.
pub struct NewApiKey {
    pub record: ApiKeyRecord,
    pub secret: String,
}

/// The id the key from `LEDGERLINE_ADMIN_KEY` is stored under.
pub const BOOTSTRAP_ADMIN_ID: &str = "bootstrap-admin";

pub fn digest(secret: &str) -> String {
    format!("{:x}", Sha256::digest(secret.as_bytes()))
}

fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buffer);
    buffer.iter().map(|b| format!("{b:02x}")).collect()
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true)
}

const COLUMNS: &str = "key_id, role, account_id, created_at, revoked_at";

/// Runs `$body` with `$pool` bound to the store's pool: the writer for `write`, a reader for
/// `read`. The body is written once and compiled for each backend.
macro_rules! on_pool {
    ($store:expr, write, |$pool:ident| $body:expr) => {
        match $store {
            Store::Postgres(log) => {
                let $pool = log.pool();
                $body
            }
            Store::Sqlite(log) => {
                let $pool = log.writer();
                $body
            }
        }
    };
    ($store:expr, read, |$pool:ident| $body:expr) => {
        match $store {
            Store::Postgres(log) => {
                let $pool = log.pool();
                $body
            }
            Store::Sqlite(log) => {
                let $pool = log.readers();
                $body
            }
        }
    };
}

impl Store {
    /// Creates a key with 256 random bits of secret.
    pub async fn create_api_key(
        &self,
        role: &str,
        account_id: Option<&str>,
    ) -> Result<NewApiKey, sqlx::Error> {
        let secret = format!("ll_{}", random_hex(32));
        let record = ApiKeyRecord {
            key_id: format!("key_{}", random_hex(8)),
            role: role.to_owned(),
            account_id: account_id.map(str::to_owned),
            created_at: now(),
            revoked_at: None,
        };
        let sql = "INSERT INTO api_keys (key_id, digest, role, account_id, created_at)
                   VALUES ($1, $2, $3, $4, $5)";
        on_pool!(self, write, |pool| sqlx::query(sql)
            .bind(&record.key_id)
            .bind(digest(&secret))
            .bind(&record.role)
            .bind(&record.account_id)
            .bind(&record.created_at)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(NewApiKey { record, secret })
    }

    /// Installs (or replaces) the bootstrap admin key from its secret.
    pub async fn install_bootstrap_admin(&self, secret: &str) -> Result<(), sqlx::Error> {
        let sql = "INSERT INTO api_keys (key_id, digest, role, account_id, created_at)
                   VALUES ($1, $2, 'admin', NULL, $3)
                   ON CONFLICT (key_id) DO UPDATE SET digest = EXCLUDED.digest, revoked_at = NULL";
        on_pool!(self, write, |pool| sqlx::query(sql)
            .bind(BOOTSTRAP_ADMIN_ID)
            .bind(digest(secret))
            .bind(now())
            .execute(pool)
            .await?
            .rows_affected());
        Ok(())
    }

    /// The live (not revoked) key whose secret is `secret`.
    pub async fn find_api_key(&self, secret: &str) -> Result<Option<ApiKeyRecord>, sqlx::Error> {
        let sql =
            format!("SELECT {COLUMNS} FROM api_keys WHERE digest = $1 AND revoked_at IS NULL");
        Ok(on_pool!(self, read, |pool| sqlx::query(&sql)
            .bind(digest(secret))
            .fetch_optional(pool)
            .await?
            .map(|row| record(&row))))
    }

    /// Every key, revoked ones included, oldest first.
    pub async fn list_api_keys(&self) -> Result<Vec<ApiKeyRecord>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM api_keys ORDER BY created_at, key_id");
        Ok(on_pool!(self, read, |pool| sqlx::query(&sql)
            .fetch_all(pool)
            .await?
            .iter()
            .map(record)
            .collect()))
    }

    /// Revokes a key; `false` when no live key has that id.
    pub async fn revoke_api_key(&self, key_id: &str) -> Result<bool, sqlx::Error> {
        let sql = "UPDATE api_keys SET revoked_at = $1 WHERE key_id = $2 AND revoked_at IS NULL";
        let revoked = on_pool!(self, write, |pool| sqlx::query(sql)
            .bind(now())
            .bind(key_id)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(revoked == 1)
    }
}

fn record<R: Row>(row: &R) -> ApiKeyRecord
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    String: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<String>: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    ApiKeyRecord {
        key_id: row.get("key_id"),
        role: row.get("role"),
        account_id: row.get("account_id"),
        created_at: row.get("created_at"),
        revoked_at: row.get("revoked_at"),
    }
}

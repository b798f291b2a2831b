//! API keys at rest: random, high-entropy secrets shown once and stored only as SHA-256 digests,
//! each with a role (and an account for account keys). A revoked key is refused at once by every
//! replica: lookups are cached only where a revocation reaches every process's cache
//! ([`ApiKeyLookup`]).

use chrono::{SecondsFormat, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};

use std::sync::Arc;

use crate::changes::{Change, ChangeFeed, Notice, NoticedCache};
use crate::portable::{self, Row};
use crate::secret::Secret;
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
        portable::query(sql)
            .bind(&record.key_id)
            .bind(digest(&secret))
            .bind(&record.role)
            .bind(&record.account_id)
            .bind(&record.created_at)
            .execute(self.writer())
            .await?;
        Ok(NewApiKey { record, secret })
    }

    /// Installs (or replaces the secret of) the bootstrap admin key. A revoked bootstrap key
    /// stays revoked: then nothing changes and the answer is `false`.
    pub async fn install_bootstrap_admin(&self, secret: &Secret) -> Result<bool, sqlx::Error> {
        let sql = "INSERT INTO api_keys (key_id, digest, role, account_id, created_at)
                   VALUES ($1, $2, 'admin', NULL, $3)
                   ON CONFLICT (key_id) DO UPDATE SET digest = EXCLUDED.digest
                   WHERE api_keys.revoked_at IS NULL";
        // Replacing the secret retires the old one, which other processes may have cached.
        let change = portable::query(sql)
            .bind(BOOTSTRAP_ADMIN_ID)
            .bind(digest(secret.expose()))
            .bind(now());
        let changed = self.change_keys(change).await?;
        Ok(changed == 1)
    }

    /// The live (not revoked) key whose secret is `secret`.
    pub async fn find_api_key(&self, secret: &str) -> Result<Option<ApiKeyRecord>, sqlx::Error> {
        let sql =
            format!("SELECT {COLUMNS} FROM api_keys WHERE digest = $1 AND revoked_at IS NULL");
        let found = portable::query(&sql)
            .bind(digest(secret))
            .fetch_optional(self.reader())
            .await?;
        Ok(found.as_ref().map(record))
    }

    /// Every key, revoked ones included, oldest first.
    pub async fn list_api_keys(&self) -> Result<Vec<ApiKeyRecord>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM api_keys ORDER BY created_at, key_id");
        let rows = portable::query(&sql).fetch_all(self.reader()).await?;
        Ok(rows.iter().map(record).collect())
    }

    /// Revokes a key; `false` when no live key has that id.
    pub async fn revoke_api_key(&self, key_id: &str) -> Result<bool, sqlx::Error> {
        let sql = "UPDATE api_keys SET revoked_at = $1 WHERE key_id = $2 AND revoked_at IS NULL";
        let change = portable::query(sql).bind(now()).bind(key_id);
        Ok(self.change_keys(change).await? == 1)
    }

    /// Runs a statement that retires keys; on Postgres in one transaction with the notice that
    /// empties every process's key cache ([`ApiKeyLookup`]). Returns the rows it changed.
    async fn change_keys(&self, change: portable::Query<'_>) -> Result<u64, sqlx::Error> {
        let Store::Postgres(log) = self else {
            return change.execute(self.writer()).await;
        };
        let mut tx = log.pool().begin().await?;
        let changed = change.postgres().execute(&mut *tx).await?.rows_affected();
        Change::all(API_KEYS_TOPIC).announce_in(&mut tx).await?;
        tx.commit().await?;
        Ok(changed)
    }
}

/// The change-notice topic of API keys.
pub const API_KEYS_TOPIC: &str = "api_keys";

/// How many keys a process keeps in memory.
const CACHED_KEYS: usize = 10_000;

/// Finds the key of a request. On Postgres, keys are cached in memory and every revocation, in
/// any process, empties the cache of every process through a change notice committed with it;
/// while notices cannot be trusted every lookup goes to the database. On SQLite nothing is
/// cached: `ledgerline keys revoke` writes the file from another process, which has no way to
/// tell the server, and a lookup there is a local read anyway.
#[derive(Clone)]
pub struct ApiKeyLookup {
    store: Arc<Store>,
    cache: Option<Arc<NoticedCache<ApiKeyRecord>>>,
}

impl ApiKeyLookup {
    pub fn new(store: Arc<Store>, feed: &ChangeFeed) -> Self {
        let cache = matches!(*store, Store::Postgres(_)).then(|| {
            let cache = NoticedCache::new(API_KEYS_TOPIC, CACHED_KEYS);
            cache.follow(feed.subscribe());
            cache
        });
        Self { store, cache }
    }

    /// The live (not revoked) key whose secret is `secret`.
    pub async fn find(&self, secret: &str) -> Result<Option<ApiKeyRecord>, sqlx::Error> {
        let Some(cache) = &self.cache else {
            return self.store.find_api_key(secret).await;
        };
        let key = digest(secret);
        if let Some(record) = cache.get(&key) {
            return Ok(Some(record));
        }
        let ticket = cache.ticket(&key);
        let found = self.store.find_api_key(secret).await?;
        // Unknown keys are not remembered: a key created later must be found at once.
        if let (Some(ticket), Some(record)) = (ticket, &found) {
            cache.fill(&key, ticket, record.clone());
        }
        Ok(found)
    }

    /// Revokes a key ([`Store::revoke_api_key`]) and forgets this process's cached keys before
    /// answering, so the very next request here is refused; other processes forget them when
    /// the notice reaches them, milliseconds after the commit.
    pub async fn revoke(&self, key_id: &str) -> Result<bool, sqlx::Error> {
        let revoked = self.store.revoke_api_key(key_id).await?;
        if let Some(cache) = &self.cache {
            cache.apply(&Notice::Changed(Change::all(API_KEYS_TOPIC)));
        }
        Ok(revoked)
    }
}

fn record(row: &Row) -> ApiKeyRecord {
    ApiKeyRecord {
        key_id: row.get("key_id"),
        role: row.get("role"),
        account_id: row.get("account_id"),
        created_at: row.get("created_at"),
        revoked_at: row.get("revoked_at"),
    }
}

//! One active worker per projection. On Postgres, several `ledgerline serve` processes share the
//! database: the worker holds a session-level `pg_try_advisory_lock` keyed by a stable hash of the
//! projection's name, on a connection of its own (never a pooled one, which would hand the lock to
//! whoever borrows it next); when the process dies, the connection closes and the lock goes.
//! On SQLite, the embedded backend is used by one process, so an in-process guard per database
//! file suffices; it also keeps two runtimes of one process (as in tests) from both running.
//!
//! The lease is not the only fence: checkpoints move by compare-and-set (see `checkpoint`), so a
//! worker that lost its lock without noticing cannot commit a batch twice.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::Store;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection};

use super::error::ProjectionError;

/// The advisory-lock key of a projection: FNV-1a (64 bits) of a namespaced name, so it is the
/// same in every process and every build, and cannot collide with other lock users' names.
pub fn lock_key(name: &str) -> i64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let hash = format!("ledgerline.projection:{name}")
        .bytes()
        .fold(OFFSET, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(PRIME)
        });
    // Postgres keys are bigint: the same 64 bits, read as signed.
    hash as i64
}

/// A worker's claim on its projection, acquired and released as the worker goes.
pub struct Lease {
    kind: LeaseKind,
}

enum LeaseKind {
    Postgres {
        options: Arc<PgConnectOptions>,
        key: i64,
        /// Kept between attempts; it holds the lock while `held`.
        connection: Option<PgConnection>,
        held: bool,
    },
    Sqlite {
        claim: (PathBuf, String),
        held: bool,
    },
}

/// Projections held in this process, per SQLite database file.
static HELD_IN_PROCESS: Mutex<BTreeSet<(PathBuf, String)>> = Mutex::new(BTreeSet::new());

impl Lease {
    pub fn for_projection(store: &Store, name: &str) -> Self {
        Self::named(store, name.to_owned())
    }

    /// The claim on rebuilding `name`: one rebuild of a projection at a time across processes,
    /// independent of the projection's worker, which keeps running meanwhile.
    pub fn for_rebuild(store: &Store, name: &str) -> Self {
        Self::named(store, format!("{name}#rebuild"))
    }

    fn named(store: &Store, name: String) -> Self {
        let kind = match store {
            Store::Postgres(log) => LeaseKind::Postgres {
                options: log.pool().connect_options(),
                key: lock_key(&name),
                connection: None,
                held: false,
            },
            Store::Sqlite(log) => LeaseKind::Sqlite {
                claim: (
                    log.writer().connect_options().get_filename().to_owned(),
                    name,
                ),
                held: false,
            },
        };
        Self { kind }
    }

    /// Takes the lease if nobody holds it; true when this worker holds it afterwards.
    pub async fn try_acquire(&mut self) -> Result<bool, ProjectionError> {
        match &mut self.kind {
            LeaseKind::Postgres { held: true, .. } | LeaseKind::Sqlite { held: true, .. } => {
                Ok(true)
            }
            LeaseKind::Postgres {
                options,
                key,
                connection,
                held,
            } => {
                if connection.is_none() {
                    *connection = Some(options.connect().await?);
                }
                let Some(open) = connection.as_mut() else {
                    return Ok(false);
                };
                let taken = sqlx::query_scalar::<_, bool>("SELECT pg_try_advisory_lock($1)")
                    .bind(*key)
                    .fetch_one(open)
                    .await;
                match taken {
                    Ok(taken) => {
                        *held = taken;
                        Ok(taken)
                    }
                    Err(error) => {
                        // The connection may be broken: open a fresh one next time.
                        *connection = None;
                        Err(error.into())
                    }
                }
            }
            LeaseKind::Sqlite { claim, held } => {
                *held = lock_in_process().insert(claim.clone());
                Ok(*held)
            }
        }
    }

    /// Gives the lease up so another worker can take over at once.
    pub async fn release(&mut self) {
        match &mut self.kind {
            LeaseKind::Postgres {
                key,
                connection,
                held,
                ..
            } => {
                if std::mem::take(held) {
                    // Closing the session releases the lock even if the unlock is not delivered.
                    if let Some(mut open) = connection.take() {
                        let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
                            .bind(*key)
                            .execute(&mut open)
                            .await;
                        let _ = open.close().await;
                    }
                }
            }
            LeaseKind::Sqlite { claim, held } => {
                if std::mem::take(held) {
                    lock_in_process().remove(claim);
                }
            }
        }
    }
}

impl Drop for Lease {
    /// A worker dropped without `release` (its task aborted) must not keep an in-process claim.
    /// A Postgres lease needs nothing: dropping the connection ends the session and its lock.
    fn drop(&mut self) {
        if let LeaseKind::Sqlite { claim, held: true } = &self.kind {
            lock_in_process().remove(claim);
        }
    }
}

fn lock_in_process() -> std::sync::MutexGuard<'static, BTreeSet<(PathBuf, String)>> {
    HELD_IN_PROCESS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_keys_are_stable_and_distinct() {
        // Pinned: a changed key would let an old and a new build run the same projection at once.
        assert_ne!(lock_key("account_summary"), lock_key("feature_access"));
        assert_eq!(lock_key("account_summary"), 0x70b4_cfc3_4647_c447);
    }
}

//! A transaction on either backend: where read models write their rows and the consumer runtime
//! moves its checkpoints, and where verification reads one snapshot.

use sqlx::{Postgres, Sqlite, Transaction};

use crate::changes::Change;
use crate::Store;

/// An open transaction; queries run in it through `&mut tx` ([`super::Executor`]).
pub enum Tx {
    Postgres(Transaction<'static, Postgres>),
    Sqlite(Transaction<'static, Sqlite>),
}

impl Tx {
    /// Begins on the store's write side: on SQLite, the one writer connection of the process.
    ///
    /// SQLite gets a plain (deferred) `BEGIN`, not `BEGIN IMMEDIATE`: with one writer connection
    /// nothing else can take the write lock in between, and sqlx 0.8's `begin_with` is not
    /// cancel-safe: a future dropped just after the custom `BEGIN` ran leaves the connection
    /// inside a transaction nobody owns, and every later `begin_with` on it fails.
    pub async fn begin(store: &Store) -> Result<Self, sqlx::Error> {
        Ok(match store {
            Store::Postgres(log) => Tx::Postgres(log.pool().begin().await?),
            Store::Sqlite(log) => Tx::Sqlite(log.writer().begin().await?),
        })
    }

    /// Begins a read-only transaction on the read side that sees one snapshot throughout:
    /// `REPEATABLE READ` on Postgres; on SQLite (WAL) a read transaction is a snapshot already.
    /// Only for reading: it must end with `commit` or `rollback`, never write.
    pub async fn begin_snapshot(store: &Store) -> Result<Self, sqlx::Error> {
        Ok(match store {
            Store::Postgres(log) => {
                let mut tx = log.pool().begin().await?;
                sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    .execute(&mut *tx)
                    .await?;
                Tx::Postgres(tx)
            }
            Store::Sqlite(log) => Tx::Sqlite(log.readers().begin().await?),
        })
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Postgres(tx) => tx.commit().await,
            Tx::Sqlite(tx) => tx.commit().await,
        }
    }

    /// Commits, announcing `change` to the caches of every process (`infrastructure::changes`):
    /// on Postgres inside the transaction (delivered at commit, only if it commits), on SQLite
    /// to this process, which owns the file, right after the commit.
    pub async fn commit_announcing(
        mut self,
        store: &Store,
        change: Option<Change>,
    ) -> Result<(), sqlx::Error> {
        if let (Tx::Postgres(tx), Some(change)) = (&mut self, &change) {
            change.announce_in(tx).await?;
        }
        self.commit().await?;
        if let (Store::Sqlite(log), Some(change)) = (store, change) {
            log.announce(change);
        }
        Ok(())
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Postgres(tx) => tx.rollback().await,
            Tx::Sqlite(tx) => tx.rollback().await,
        }
    }
}

//! The connections a statement runs on outside a transaction.

use sqlx::{PgPool, SqlitePool};

/// Where a statement runs: the store's pool on Postgres; on SQLite its writer or its readers
/// (`Store::writer`, `Store::reader`). A handle, cheap to clone, as sqlx's own pools are.
#[derive(Debug, Clone)]
pub enum Pool {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

//! The event store behind the `EventLog` port, on Postgres or embedded SQLite, chosen by the
//! database URL. Opening a store runs its migrations.

use std::str::FromStr;
use std::time::Duration;

use application::event_log::{
    Append, AsOf, CommandLoad, CommandRecord, EventLog, EventLogError, EventMetadata, LogCursor,
    StoredEvent, StreamPrefix,
};
use cqrs_es::Aggregate;
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::Row;

mod claims;
mod command_load;
mod head;
mod history;
pub mod postgres;
pub mod sqlite;

pub use head::LogHead;
pub use postgres::PostgresEventLog;
pub use sqlite::SqliteEventLog;

/// The database URL used when none is configured: a file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://ledgerline.db";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL `{0}`: expected postgres://… or sqlite://…")]
    UnsupportedUrl(String),
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("database migrations failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// The configured event store.
pub enum Store {
    Postgres(PostgresEventLog),
    Sqlite(SqliteEventLog),
}

impl Store {
    /// Connects to `url` (creating a SQLite file if needed) and applies pending migrations.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        let store = Self::connect(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Connects without migrating.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = PgPoolOptions::new()
                .max_connections(10)
                // The per-checkout ping costs a round trip on every command (SPEC 2, pitfalls);
                // a dead connection surfaces as an error on use and is replaced.
                .test_before_acquire(false)
                .acquire_timeout(Duration::from_secs(5))
                .connect(url)
                .await
                .map_err(StoreError::Connect)?;
            Ok(Store::Postgres(PostgresEventLog::new(pool)))
        } else if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(|_| StoreError::UnsupportedUrl(url.to_owned()))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true);
            let writer = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options.clone())
                .await
                .map_err(StoreError::Connect)?;
            let readers = SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(options.read_only(true))
                .await
                .map_err(StoreError::Connect)?;
            Ok(Store::Sqlite(SqliteEventLog::new(writer, readers)))
        } else {
            Err(StoreError::UnsupportedUrl(url.to_owned()))
        }
    }

    /// A private, empty, migrated database in memory, gone when the store is dropped: where
    /// read models are replayed from the log to be verified or rebuilt (they are derived data,
    /// and their SQL is the same on both backends). One connection, kept open for the store's
    /// life, serves as writer and reader: an in-memory SQLite database lives in its connection.
    pub async fn scratch() -> Result<Store, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")
            .map_err(StoreError::Connect)?
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .min_connections(1)
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .map_err(StoreError::Connect)?;
        let store = Store::Sqlite(SqliteEventLog::new(pool.clone(), pool));
        store.migrate().await?;
        Ok(store)
    }

    /// Ready to serve: the database answers and every migration this build embeds is applied.
    pub async fn is_ready(&self) -> Result<bool, sqlx::Error> {
        let (migrator, applied): (sqlx::migrate::Migrator, i64) = match self {
            Store::Postgres(log) => (
                sqlx::migrate!("../migrations/postgres"),
                sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
                    .fetch_one(log.pool())
                    .await?,
            ),
            Store::Sqlite(log) => (
                sqlx::migrate!("../migrations/sqlite"),
                sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
                    .fetch_one(log.readers())
                    .await?,
            ),
        };
        Ok(applied >= migrator.iter().count() as i64)
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self {
            Store::Postgres(log) => {
                sqlx::migrate!("../migrations/postgres")
                    .run(log.pool())
                    .await?
            }
            Store::Sqlite(log) => {
                sqlx::migrate!("../migrations/sqlite")
                    .run(log.writer())
                    .await?
            }
        }
        Ok(())
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Store::Postgres(_) => "postgres",
            Store::Sqlite(_) => "sqlite",
        }
    }
}

impl EventLog for Store {
    async fn load_for_command<A: Aggregate>(
        &self,
        aggregate_id: &str,
        command_id: Option<&str>,
    ) -> Result<CommandLoad, EventLogError> {
        match self {
            Store::Postgres(log) => log.load_for_command::<A>(aggregate_id, command_id).await,
            Store::Sqlite(log) => log.load_for_command::<A>(aggregate_id, command_id).await,
        }
    }

    async fn load_prefix(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
        as_of: AsOf,
    ) -> Result<Option<StreamPrefix>, EventLogError> {
        match self {
            Store::Postgres(log) => log.load_prefix(aggregate_type, aggregate_id, as_of).await,
            Store::Sqlite(log) => log.load_prefix(aggregate_type, aggregate_id, as_of).await,
        }
    }

    async fn append(&self, append: Append) -> Result<CommandRecord, EventLogError> {
        match self {
            Store::Postgres(log) => log.append(append).await,
            Store::Sqlite(log) => log.append(append).await,
        }
    }

    async fn find_command(&self, command_id: &str) -> Result<Option<CommandRecord>, EventLogError> {
        match self {
            Store::Postgres(log) => log.find_command(command_id).await,
            Store::Sqlite(log) => log.find_command(command_id).await,
        }
    }

    async fn read_stream(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, EventLogError> {
        match self {
            Store::Postgres(log) => {
                log.read_stream(aggregate_type, aggregate_id, after, limit)
                    .await
            }
            Store::Sqlite(log) => {
                log.read_stream(aggregate_type, aggregate_id, after, limit)
                    .await
            }
        }
    }

    async fn read_after(
        &self,
        cursor: LogCursor,
        limit: u32,
    ) -> Result<Vec<(LogCursor, StoredEvent)>, EventLogError> {
        match self {
            Store::Postgres(log) => log.read_after(cursor, limit).await,
            Store::Sqlite(log) => log.read_after(cursor, limit).await,
        }
    }

    async fn cursor_of(&self, position: i64) -> Result<Option<LogCursor>, EventLogError> {
        match self {
            Store::Postgres(log) => log.cursor_of(position).await,
            Store::Sqlite(log) => log.cursor_of(position).await,
        }
    }
}

fn storage_error(error: sqlx::Error) -> EventLogError {
    EventLogError::Storage(error.to_string())
}

fn decode_metadata(value: serde_json::Value) -> Result<EventMetadata, EventLogError> {
    serde_json::from_value(value)
        .map_err(|e| EventLogError::Storage(format!("event metadata: {e}")))
}

fn command_record<R: Row>(row: &R) -> CommandRecord
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    String: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<i64>: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    CommandRecord {
        command_id: row.get("command_id"),
        fingerprint: row.get("fingerprint"),
        aggregate_type: row.get("aggregate_type"),
        aggregate_id: row.get("aggregate_id"),
        version: row.get("version"),
        position: row.get("position"),
    }
}

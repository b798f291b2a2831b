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

use crate::portable::{self, Pool};

mod command_load;
mod global_order;
mod head;
mod history;
pub mod postgres;
mod processor_events;
mod reads;
pub mod sqlite;

pub use head::LogHead;
pub use postgres::PostgresEventLog;
pub use processor_events::ProcessorEventRow;
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
        let applied: i64 =
            portable::query("SELECT count(*) AS applied FROM _sqlx_migrations WHERE success")
                .fetch_one(self.reader())
                .await?
                .get("applied");
        Ok(applied >= self.migrator().iter().count() as i64)
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = self.migrator();
        match self {
            Store::Postgres(log) => migrator.run(log.pool()).await?,
            Store::Sqlite(log) => migrator.run(log.writer()).await?,
        }
        Ok(())
    }

    fn migrator(&self) -> sqlx::migrate::Migrator {
        match self {
            Store::Postgres(_) => sqlx::migrate!("../migrations/postgres"),
            Store::Sqlite(_) => sqlx::migrate!("../migrations/sqlite"),
        }
    }

    /// Where statements that write run: on SQLite its single writer connection.
    pub fn writer(&self) -> Pool {
        match self {
            Store::Postgres(log) => Pool::Postgres(log.pool().clone()),
            Store::Sqlite(log) => Pool::Sqlite(log.writer().clone()),
        }
    }

    /// Where reads run: on SQLite its read-only connections.
    pub fn reader(&self) -> Pool {
        match self {
            Store::Postgres(log) => Pool::Postgres(log.pool().clone()),
            Store::Sqlite(log) => Pool::Sqlite(log.readers().clone()),
        }
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Store::Postgres(_) => "postgres",
            Store::Sqlite(_) => "sqlite",
        }
    }
}

/// Reads run here on whichever backend the store has; each backend's adapter does its append.
impl EventLog for Store {
    async fn load_for_command<A: Aggregate>(
        &self,
        aggregate_id: &str,
        command_id: Option<&str>,
    ) -> Result<CommandLoad, EventLogError> {
        command_load::load_for_command(&self.reader(), A::TYPE, aggregate_id, command_id).await
    }

    async fn load_prefix(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
        as_of: AsOf,
    ) -> Result<Option<StreamPrefix>, EventLogError> {
        history::load_prefix(&self.reader(), aggregate_type, aggregate_id, as_of).await
    }

    async fn append(&self, append: Append) -> Result<CommandRecord, EventLogError> {
        match self {
            Store::Postgres(log) => log.append(append).await,
            Store::Sqlite(log) => log.append(append).await,
        }
    }

    async fn find_command(&self, command_id: &str) -> Result<Option<CommandRecord>, EventLogError> {
        reads::find_command(&self.reader(), command_id).await
    }

    async fn read_stream(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, EventLogError> {
        reads::read_stream(&self.reader(), aggregate_type, aggregate_id, after, limit).await
    }

    async fn read_after(
        &self,
        cursor: LogCursor,
        limit: u32,
    ) -> Result<Vec<(LogCursor, StoredEvent)>, EventLogError> {
        global_order::read_after(&self.reader(), cursor, limit).await
    }

    async fn cursor_of(&self, position: i64) -> Result<Option<LogCursor>, EventLogError> {
        global_order::cursor_of(&self.reader(), position).await
    }
}

pub(crate) fn storage_error(error: sqlx::Error) -> EventLogError {
    EventLogError::Storage(error.to_string())
}

/// The record of an append that wrote up to `version`, its last event at `position`.
fn appended_record(append: Append, version: i64, position: Option<i64>) -> CommandRecord {
    let (command_id, fingerprint) = append
        .command
        .map(|c| (c.command_id, c.fingerprint))
        .unwrap_or_default();
    CommandRecord {
        command_id,
        fingerprint,
        aggregate_type: append.aggregate_type,
        aggregate_id: append.aggregate_id,
        version,
        position,
    }
}

fn decode_metadata(value: serde_json::Value) -> Result<EventMetadata, EventLogError> {
    serde_json::from_value(value)
        .map_err(|e| EventLogError::Storage(format!("event metadata: {e}")))
}

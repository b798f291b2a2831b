//! A fresh database per benchmark, dropped (or deleted) afterwards, and the two questions the
//! harness asks the store directly: where is the head of the log, and have the projectors
//! (read models and policies) all reached it.

use std::path::PathBuf;
use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{Connection, Executor, PgConnection, PgPool, SqlitePool};

use crate::Result;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    pub fn key(self) -> &'static str {
        match self {
            Backend::Postgres => "pg",
            Backend::Sqlite => "sqlite",
        }
    }
}

/// The Postgres server every benchmark database is created on.
pub struct Postgres {
    admin_url: String,
}

impl Postgres {
    pub fn new(admin_url: String) -> Self {
        Self { admin_url }
    }

    pub async fn create(&self, backend: Backend) -> Result<Database> {
        let name = format!("ledgerline_bench_{}", uuid::Uuid::new_v4().simple());
        match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("{name}.db"));
                Ok(Database {
                    url: format!("sqlite://{}", path.display()),
                    backend,
                    cleanup: Cleanup::File(path),
                })
            }
            Backend::Postgres => {
                let mut admin = PgConnection::connect(&self.admin_url).await?;
                admin
                    .execute(format!("CREATE DATABASE {name}").as_str())
                    .await?;
                let server = self
                    .admin_url
                    .rsplit_once('/')
                    .map(|(server, _)| server)
                    .ok_or("the database URL has no database part")?;
                Ok(Database {
                    url: format!("{server}/{name}"),
                    backend,
                    cleanup: Cleanup::Database {
                        admin_url: self.admin_url.clone(),
                        name,
                    },
                })
            }
        }
    }
}

pub struct Database {
    pub url: String,
    pub backend: Backend,
    cleanup: Cleanup,
}

enum Cleanup {
    File(PathBuf),
    Database { admin_url: String, name: String },
}

/// How long projections may take to catch up before the benchmark gives up.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(600);

/// A pool on a benchmark database, of the kind its backend needs.
#[derive(Clone)]
pub enum Pool {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

/// A projector's committed checkpoint.
pub struct Checkpoint {
    pub name: String,
    pub position: i64,
}

impl Database {
    pub async fn pool(&self, connections: u32) -> Result<Pool> {
        Ok(match self.backend {
            Backend::Postgres => Pool::Postgres(
                PgPoolOptions::new()
                    .max_connections(connections)
                    .connect(&self.url)
                    .await?,
            ),
            Backend::Sqlite => {
                let options = self
                    .url
                    .parse::<SqliteConnectOptions>()?
                    .create_if_missing(true);
                Pool::Sqlite(
                    SqlitePoolOptions::new()
                        .max_connections(connections)
                        .connect_with(options)
                        .await?,
                )
            }
        })
    }

    /// Drops the database now, while the runtime still runs.
    pub async fn drop_now(self) {
        match &self.cleanup {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut file = path.clone().into_os_string();
                    file.push(suffix);
                    let _ = std::fs::remove_file(file);
                }
            }
            Cleanup::Database { admin_url, name } => {
                if let Ok(mut admin) = PgConnection::connect(admin_url).await {
                    let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    let _ = admin.execute(drop.as_str()).await;
                }
            }
        }
    }
}

impl Pool {
    /// The position of the last event in the log's global order (0 when empty).
    pub async fn head(&self) -> Result<i64> {
        Ok(match self {
            Pool::Postgres(pool) => sqlx::query_scalar(
                "SELECT coalesce((SELECT position FROM events ORDER BY tx_id DESC, position DESC LIMIT 1), 0)",
            )
            .fetch_one(pool)
            .await?,
            Pool::Sqlite(pool) => {
                sqlx::query_scalar("SELECT coalesce(max(position), 0) FROM events")
                    .fetch_one(pool)
                    .await?
            }
        })
    }

    pub async fn checkpoints(&self) -> Result<Vec<Checkpoint>> {
        const SQL: &str = "SELECT name, position FROM projection_checkpoints ORDER BY name";
        let rows: Vec<(String, i64)> = match self {
            Pool::Postgres(pool) => sqlx::query_as(SQL).fetch_all(pool).await?,
            Pool::Sqlite(pool) => sqlx::query_as(SQL).fetch_all(pool).await?,
        };
        Ok(rows
            .into_iter()
            .map(|(name, position)| Checkpoint { name, position })
            .collect())
    }

    /// Waits until every read model has a checkpoint, every checkpoint is at the head, and the
    /// head has stopped moving (the policies' reactions are themselves events).
    pub async fn settle(&self) -> Result<i64> {
        tokio::time::timeout(SETTLE_TIMEOUT, self.settled())
            .await
            .map_err(|_| "the projections did not catch up within 10 minutes")?
    }

    async fn settled(&self) -> Result<i64> {
        let mut previous = None;
        loop {
            let head = self.head().await?;
            let checkpoints = self.checkpoints().await?;
            let read_models_started = projections::READ_MODEL_NAMES
                .iter()
                .all(|name| checkpoints.iter().any(|c| c.name == *name));
            let at_head = checkpoints.iter().all(|c| c.position == head);
            if read_models_started && at_head && previous == Some(head) {
                return Ok(head);
            }
            previous = (read_models_started && at_head).then_some(head);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub async fn close(&self) {
        match self {
            Pool::Postgres(pool) => pool.close().await,
            Pool::Sqlite(pool) => pool.close().await,
        }
    }
}

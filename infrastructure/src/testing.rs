//! Test support shared by every storage test (feature `test-support`): a fresh database per test
//! on each backend, and a macro that runs one test body against both. Postgres comes from
//! `LEDGERLINE_TEST_DATABASE_URL` (exported by `scripts/test`); a missing URL fails the test
//! rather than skipping the backend.

use std::path::PathBuf;

use sqlx::{Connection, Executor, PgConnection};

use crate::store::Store;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database created for one test and dropped (or deleted) when it goes out of scope.
pub struct TestDatabase {
    pub backend: Backend,
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    File(PathBuf),
    Database { admin_url: String, name: String },
}

/// The Postgres server the storage tests use.
pub fn postgres_admin_url() -> String {
    std::env::var("LEDGERLINE_TEST_DATABASE_URL").unwrap_or_else(|_| {
        panic!(
            "LEDGERLINE_TEST_DATABASE_URL is not set: run the suite with scripts/test, or export \
             it (e.g. postgres://postgres@127.0.0.1:5432/postgres)"
        )
    })
}

impl TestDatabase {
    pub async fn create(backend: Backend) -> TestDatabase {
        let unique = uuid::Uuid::new_v4().simple().to_string();
        match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("ledgerline-test-{unique}.db"));
                TestDatabase {
                    backend,
                    url: format!("sqlite://{}", path.display()),
                    cleanup: Cleanup::File(path),
                }
            }
            Backend::Postgres => {
                let admin_url = postgres_admin_url();
                let name = format!("ledgerline_test_{unique}");
                let mut admin = PgConnection::connect(&admin_url)
                    .await
                    .expect("connect to the test Postgres server");
                admin
                    .execute(format!("CREATE DATABASE {name}").as_str())
                    .await
                    .expect("create a test database");
                let url = match admin_url.rsplit_once('/') {
                    Some((server, _)) => format!("{server}/{name}"),
                    None => panic!("LEDGERLINE_TEST_DATABASE_URL has no database part"),
                };
                TestDatabase {
                    backend,
                    url,
                    cleanup: Cleanup::Database { admin_url, name },
                }
            }
        }
    }

    /// Opens (and migrates) the store on this database.
    pub async fn store(&self) -> Store {
        Store::open(&self.url).await.expect("open the test store")
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut file = path.clone().into_os_string();
                    file.push(suffix);
                    let _ = std::fs::remove_file(file);
                }
            }
            Cleanup::Database { admin_url, name } => {
                let (admin_url, name) = (admin_url.clone(), name.clone());
                // Drop runs inside the test's runtime; use a thread with its own.
                let _ = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .ok()?;
                    runtime.block_on(async {
                        let mut admin = PgConnection::connect(&admin_url).await.ok()?;
                        let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                        admin.execute(drop.as_str()).await.ok()
                    })
                })
                .join();
            }
        }
    }
}

/// Writes a row of the integration event catalog as its projector would, for tests of what reads
/// the catalog (webhooks); answers its id, `evt_` + a UUID made from the position.
pub async fn catalog_event(
    store: &Store,
    position: i64,
    event_type: &str,
    account: &str,
) -> String {
    let id = format!("evt_00000000-0000-4000-8000-{position:012}");
    let created_at = "2026-03-01T12:00:00Z";
    let body = serde_json::json!({
        "id": id, "type": event_type, "api_version": "2026-12-01", "position": position,
        "account_id": account, "created_at": created_at,
        "data": {"object": {"account_id": account}},
    });
    let sql = "INSERT INTO integration_events (position, id, type, account_id, created_at, body)
               VALUES ($1, $2, $3, $4, $5, $6)";
    crate::portable::query(sql)
        .bind(position)
        .bind(&id)
        .bind(event_type)
        .bind(account)
        .bind(created_at)
        .bind(body.to_string())
        .execute(store.writer())
        .await
        .expect("write a catalog row");
    id
}

/// Runs each named `async fn name(backend: Backend)` once per backend, as
/// `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $test() {
                    super::$test($crate::testing::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $test() {
                    super::$test($crate::testing::Backend::Postgres).await
                }
            )*
        }
    };
}

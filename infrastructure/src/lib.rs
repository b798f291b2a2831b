//! Adapters behind the application's ports: the event store on Postgres or SQLite, the plan
//! catalog file and clocks.

pub mod api_keys;
pub mod catalog_file;
pub mod clock;
pub mod store;
#[cfg(feature = "test-support")]
pub mod testing;

pub use catalog_file::{load_catalog, CatalogFileError};
pub use clock::SystemClock;
pub use store::{Store, StoreError, DEFAULT_DATABASE_URL};

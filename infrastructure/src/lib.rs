//! Adapters behind the application's ports: the plan catalog file, clocks and, as the event log
//! arrives, the Postgres and SQLite stores.

pub mod catalog_file;
pub mod clock;

pub use catalog_file::{load_catalog, CatalogFileError};
pub use clock::SystemClock;

//! One way to speak two dialects: a statement whose SQL is the same on Postgres and SQLite is
//! written once, binds [`Value`]s and runs through one [`Query`] on a [`Pool`] or inside a
//! [`Tx`]; rows come back as [`Row`]s or as `sqlx::FromRow` structs ([`Record`]). How a time or
//! an id is stored on each backend, how many rows a statement may carry, how a snapshot is taken
//! and how a change is announced are decided here, and only here.
//!
//! Statements use `$n` placeholders: sqlx's SQLite driver reads them as positional too.

mod batch;
mod pool;
mod query;
mod row;
mod tx;
mod value;

pub use batch::{placeholders, values_list};
pub use pool::Pool;
pub use query::{query, Executor, Query};
pub use row::{ColumnKind, Portable, Record, Row};
pub use tx::Tx;
pub use value::{sqlite_time, timestamp, Value};

//! The SQL layer read models and the consumer runtime write through, once for both backends. Statements use `$n` placeholders (sqlx's SQLite
//! driver reads them as positional too) and portable column types; values travel as [`Param`]s and
//! rows come back through `sqlx::FromRow`, so only the dispatch below knows there are two backends.

use chrono::{DateTime, SecondsFormat, Utc};

use crate::changes::Change;
use crate::Store;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{
    ColumnIndex, Database, Decode, Encode, FromRow, PgPool, Postgres, Row, Sqlite, SqlitePool,
    Transaction, Type,
};

/// Rows per multi-row statement on Postgres: far below its bound-parameter limit (65535) for the
/// widest table here.
const ROWS_PER_STATEMENT: usize = 500;
/// Bound parameters per statement on SQLite. sqlx looks each parameter's name up with
/// `sqlite3_bind_parameter_name`, which walks the statement's parameter list: binding n
/// parameters costs O(n²), and at 500 rows of a dozen columns that lookup was 60 % of a replay's
/// CPU (perf). Small statements keep it negligible.
const SQLITE_PARAMS_PER_STATEMENT: usize = 200;

/// How read models and the runtime's tables store an instant: RFC 3339 in UTC with a `Z`, with
/// sub-second digits only when there are any.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// A value bound to a statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Text(Option<String>),
    Int(Option<i64>),
    Bool(Option<bool>),
}

impl Param {
    /// The value as JSON, for reports.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Param::Text(value) => value.clone().into(),
            Param::Int(value) => (*value).into(),
            Param::Bool(value) => (*value).into(),
        }
    }
}

/// Which [`Param`] variant a column's values travel as, from its declared type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    Text,
    Int,
    Bool,
}

impl ColumnKind {
    /// The kind of a declared column type on either backend (`bigint`, `INTEGER`, `text`,
    /// `BOOLEAN`, …); `None` for a type no read model uses yet.
    pub fn of_declared(declared: &str) -> Option<Self> {
        let declared = declared.to_ascii_lowercase();
        if declared.contains("bool") {
            Some(ColumnKind::Bool)
        } else if declared.contains("int") {
            Some(ColumnKind::Int)
        } else if declared.contains("text") || declared.contains("char") {
            Some(ColumnKind::Text)
        } else {
            None
        }
    }
}

fn decode_row<R>(row: &R, kinds: &[ColumnKind]) -> Result<Vec<Param>, sqlx::Error>
where
    R: Row,
    usize: ColumnIndex<R>,
    Option<String>: for<'r> Decode<'r, R::Database> + Type<R::Database>,
    Option<i64>: for<'r> Decode<'r, R::Database> + Type<R::Database>,
    Option<bool>: for<'r> Decode<'r, R::Database> + Type<R::Database>,
{
    kinds
        .iter()
        .enumerate()
        .map(|(index, kind)| {
            Ok(match kind {
                ColumnKind::Text => Param::Text(row.try_get(index)?),
                ColumnKind::Int => Param::Int(row.try_get(index)?),
                ColumnKind::Bool => Param::Bool(row.try_get(index)?),
            })
        })
        .collect()
}

impl From<&str> for Param {
    fn from(value: &str) -> Self {
        Param::Text(Some(value.to_owned()))
    }
}

impl From<String> for Param {
    fn from(value: String) -> Self {
        Param::Text(Some(value))
    }
}

impl From<Option<String>> for Param {
    fn from(value: Option<String>) -> Self {
        Param::Text(value)
    }
}

impl From<i64> for Param {
    fn from(value: i64) -> Self {
        Param::Int(Some(value))
    }
}

impl From<Option<i64>> for Param {
    fn from(value: Option<i64>) -> Self {
        Param::Int(value)
    }
}

impl From<bool> for Param {
    fn from(value: bool) -> Self {
        Param::Bool(Some(value))
    }
}

/// A row type readable on both backends (derive `sqlx::FromRow` on plain fields).
pub trait Record:
    for<'r> FromRow<'r, PgRow> + for<'r> FromRow<'r, SqliteRow> + Send + Unpin
{
}

impl<T> Record for T where
    T: for<'r> FromRow<'r, PgRow> + for<'r> FromRow<'r, SqliteRow> + Send + Unpin
{
}

/// `$first, $first+1, …` for `count` values.
pub fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `($1, $2), ($3, $4), …`: a VALUES list of `rows` rows of `columns` values.
pub fn values_list(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|row| format!("({})", placeholders(row * columns + 1, columns)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn bind<'q, DB>(
    mut query: sqlx::query::Query<'q, DB, <DB as Database>::Arguments<'q>>,
    params: &'q [Param],
) -> sqlx::query::Query<'q, DB, <DB as Database>::Arguments<'q>>
where
    DB: Database,
    Option<&'q str>: Encode<'q, DB> + Type<DB>,
    Option<i64>: Encode<'q, DB> + Type<DB>,
    Option<bool>: Encode<'q, DB> + Type<DB>,
{
    for param in params {
        query = match param {
            Param::Text(value) => query.bind(value.as_deref()),
            Param::Int(value) => query.bind(*value),
            Param::Bool(value) => query.bind(*value),
        };
    }
    query
}

/// The transaction a projector writes its rows in; the runtime adds the checkpoint and commits.
pub enum ProjectionTx {
    Postgres(Transaction<'static, Postgres>),
    Sqlite(Transaction<'static, Sqlite>),
}

impl ProjectionTx {
    /// Begins on the store's write side: on SQLite, the one writer connection of the process.
    ///
    /// SQLite gets a plain (deferred) `BEGIN`, not `BEGIN IMMEDIATE`: with one writer connection
    /// nothing else can take the write lock in between, and sqlx 0.8's `begin_with` is not
    /// cancel-safe: a future dropped just after the custom `BEGIN` ran leaves the connection
    /// inside a transaction nobody owns, and every later `begin_with` on it fails.
    pub async fn begin(store: &Store) -> Result<Self, sqlx::Error> {
        Ok(match store {
            Store::Postgres(log) => ProjectionTx::Postgres(log.pool().begin().await?),
            Store::Sqlite(log) => ProjectionTx::Sqlite(log.writer().begin().await?),
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
                ProjectionTx::Postgres(tx)
            }
            Store::Sqlite(log) => ProjectionTx::Sqlite(log.readers().begin().await?),
        })
    }

    /// Rows of `sql` with one column per kind, in order, as [`Param`]s: for code that handles
    /// any read model's rows (verification and rebuilds).
    pub async fn fetch_params(
        &mut self,
        sql: &str,
        params: &[Param],
        kinds: &[ColumnKind],
    ) -> Result<Vec<Vec<Param>>, sqlx::Error> {
        match self {
            ProjectionTx::Postgres(tx) => {
                let rows = bind(sqlx::query(sql), params).fetch_all(&mut **tx).await?;
                rows.iter().map(|row| decode_row(row, kinds)).collect()
            }
            ProjectionTx::Sqlite(tx) => {
                let rows = bind(sqlx::query(sql), params).fetch_all(&mut **tx).await?;
                rows.iter().map(|row| decode_row(row, kinds)).collect()
            }
        }
    }

    /// Runs one statement; returns the number of rows it changed.
    pub async fn execute(&mut self, sql: &str, params: &[Param]) -> Result<u64, sqlx::Error> {
        Ok(match self {
            ProjectionTx::Postgres(tx) => bind(sqlx::query(sql), params)
                .execute(&mut **tx)
                .await?
                .rows_affected(),
            ProjectionTx::Sqlite(tx) => bind(sqlx::query(sql), params)
                .execute(&mut **tx)
                .await?
                .rows_affected(),
        })
    }

    pub async fn fetch_all<T: Record>(
        &mut self,
        sql: &str,
        params: &[Param],
    ) -> Result<Vec<T>, sqlx::Error> {
        match self {
            ProjectionTx::Postgres(tx) => {
                let rows = bind(sqlx::query(sql), params).fetch_all(&mut **tx).await?;
                rows.iter().map(T::from_row).collect()
            }
            ProjectionTx::Sqlite(tx) => {
                let rows = bind(sqlx::query(sql), params).fetch_all(&mut **tx).await?;
                rows.iter().map(T::from_row).collect()
            }
        }
    }

    /// The rows of `select` (ending in `WHERE key IN`) for every key, a bounded number of keys
    /// per statement.
    pub async fn fetch_in<T: Record>(
        &mut self,
        select: &str,
        keys: &[String],
    ) -> Result<Vec<T>, sqlx::Error> {
        let mut found = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(self.rows_per_statement(1)) {
            let sql = format!("{select} ({})", placeholders(1, chunk.len()));
            let params: Vec<Param> = chunk.iter().map(|key| Param::from(key.as_str())).collect();
            found.extend(self.fetch_all(&sql, &params).await?);
        }
        Ok(found)
    }

    /// Writes `rows` with multi-row `{insert} VALUES … {on_conflict}` statements.
    pub async fn upsert(
        &mut self,
        insert: &str,
        on_conflict: &str,
        rows: Vec<Vec<Param>>,
    ) -> Result<(), sqlx::Error> {
        let columns = rows.first().map_or(1, Vec::len);
        for chunk in rows.chunks(self.rows_per_statement(columns)) {
            let sql = format!(
                "{insert} VALUES {} {on_conflict}",
                values_list(chunk.len(), columns)
            );
            let params: Vec<Param> = chunk.iter().flatten().cloned().collect();
            self.execute(&sql, &params).await?;
        }
        Ok(())
    }

    /// Rows of `columns` values per multi-row statement on this backend.
    fn rows_per_statement(&self, columns: usize) -> usize {
        match self {
            ProjectionTx::Postgres(_) => ROWS_PER_STATEMENT,
            ProjectionTx::Sqlite(_) => (SQLITE_PARAMS_PER_STATEMENT / columns.max(1)).max(1),
        }
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            ProjectionTx::Postgres(tx) => tx.commit().await,
            ProjectionTx::Sqlite(tx) => tx.commit().await,
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
        if let (ProjectionTx::Postgres(tx), Some(change)) = (&mut self, &change) {
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
            ProjectionTx::Postgres(tx) => tx.rollback().await,
            ProjectionTx::Sqlite(tx) => tx.rollback().await,
        }
    }
}

/// Where queries read read models: the Postgres pool, or SQLite's read-only connections.
#[derive(Clone)]
pub enum ReadPool {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

impl ReadPool {
    pub fn of(store: &Store) -> Self {
        match store {
            Store::Postgres(log) => ReadPool::Postgres(log.pool().clone()),
            Store::Sqlite(log) => ReadPool::Sqlite(log.readers().clone()),
        }
    }

    pub async fn fetch_all<T: Record>(
        &self,
        sql: &str,
        params: &[Param],
    ) -> Result<Vec<T>, sqlx::Error> {
        match self {
            ReadPool::Postgres(pool) => {
                let rows = bind(sqlx::query(sql), params).fetch_all(pool).await?;
                rows.iter().map(T::from_row).collect()
            }
            ReadPool::Sqlite(pool) => {
                let rows = bind(sqlx::query(sql), params).fetch_all(pool).await?;
                rows.iter().map(T::from_row).collect()
            }
        }
    }

    pub async fn fetch_optional<T: Record>(
        &self,
        sql: &str,
        params: &[Param],
    ) -> Result<Option<T>, sqlx::Error> {
        match self {
            ReadPool::Postgres(pool) => {
                let row = bind(sqlx::query(sql), params).fetch_optional(pool).await?;
                row.as_ref().map(T::from_row).transpose()
            }
            ReadPool::Sqlite(pool) => {
                let row = bind(sqlx::query(sql), params).fetch_optional(pool).await?;
                row.as_ref().map(T::from_row).transpose()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types_of_both_backends_map_to_a_kind() {
        for (declared, kind) in [
            ("bigint", Some(ColumnKind::Int)),
            ("INTEGER", Some(ColumnKind::Int)),
            ("integer", Some(ColumnKind::Int)),
            ("text", Some(ColumnKind::Text)),
            ("TEXT", Some(ColumnKind::Text)),
            ("character varying", Some(ColumnKind::Text)),
            ("boolean", Some(ColumnKind::Bool)),
            ("BOOLEAN", Some(ColumnKind::Bool)),
            ("timestamp with time zone", None),
            ("jsonb", None),
        ] {
            assert_eq!(ColumnKind::of_declared(declared), kind, "{declared}");
        }
    }

    #[test]
    fn values_lists_number_placeholders_row_by_row() {
        assert_eq!(placeholders(3, 2), "$3, $4");
        assert_eq!(values_list(2, 3), "($1, $2, $3), ($4, $5, $6)");
    }
}

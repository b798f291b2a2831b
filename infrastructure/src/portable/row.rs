//! Rows of either backend: read a column at a time ([`Row::get`], [`Row::time`], [`Row::uuid`]),
//! as a `sqlx::FromRow` struct ([`Record`]), or as [`Value`]s of declared kinds.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{ColumnIndex, Decode, FromRow, Postgres, Row as _, Sqlite, Type};
use uuid::Uuid;

use super::Value;

/// A type both drivers decode alike: text, integers, booleans, JSON, and options of them.
pub trait Portable:
    for<'r> Decode<'r, Postgres> + Type<Postgres> + for<'r> Decode<'r, Sqlite> + Type<Sqlite>
{
}

impl<T> Portable for T where
    T: for<'r> Decode<'r, Postgres> + Type<Postgres> + for<'r> Decode<'r, Sqlite> + Type<Sqlite>
{
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

/// Which [`Value`] variant a column's values travel as, from its declared type: for code that
/// handles any read model's rows (verification and rebuilds).
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

/// A row of either backend.
pub enum Row {
    Postgres(PgRow),
    Sqlite(SqliteRow),
}

impl Row {
    /// The value of `column`. Panics, as `sqlx::Row::get` does, when the column is missing or of
    /// another type: the SQL beside the call names both.
    pub fn get<T: Portable>(&self, column: &str) -> T {
        match self {
            Row::Postgres(row) => row.get(column),
            Row::Sqlite(row) => row.get(column),
        }
    }

    /// The row as a [`Record`].
    pub fn record<T: Record>(&self) -> Result<T, sqlx::Error> {
        match self {
            Row::Postgres(row) => T::from_row(row),
            Row::Sqlite(row) => T::from_row(row),
        }
    }

    /// One value per kind, column by column in order.
    pub fn values(&self, kinds: &[ColumnKind]) -> Result<Vec<Value<'static>>, sqlx::Error> {
        match self {
            Row::Postgres(row) => values_of(row, kinds),
            Row::Sqlite(row) => values_of(row, kinds),
        }
    }

    /// A time stored as a [`Value::Time`]; an error names the column and what it holds.
    pub fn time(&self, column: &str) -> Result<DateTime<Utc>, String> {
        self.optional_time(column)?
            .ok_or_else(|| format!("{column} is NULL"))
    }

    /// A time stored as a [`Value::Time`], or NULL.
    pub fn optional_time(&self, column: &str) -> Result<Option<DateTime<Utc>>, String> {
        match self {
            Row::Postgres(row) => Ok(row.get(column)),
            Row::Sqlite(row) => row
                .get::<Option<String>, _>(column)
                .map(|raw| {
                    DateTime::parse_from_rfc3339(&raw)
                        .map(|at| at.to_utc())
                        .map_err(|e| format!("{column} `{raw}`: {e}"))
                })
                .transpose(),
        }
    }

    /// An id stored as a [`Value::Uuid`]; an error names the column and what it holds.
    pub fn uuid(&self, column: &str) -> Result<Uuid, String> {
        match self {
            Row::Postgres(row) => Ok(row.get(column)),
            Row::Sqlite(row) => {
                let raw: String = row.get(column);
                Uuid::parse_str(&raw).map_err(|e| format!("{column} `{raw}`: {e}"))
            }
        }
    }
}

fn values_of<R>(row: &R, kinds: &[ColumnKind]) -> Result<Vec<Value<'static>>, sqlx::Error>
where
    R: sqlx::Row,
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
                ColumnKind::Text => Value::from(row.try_get::<Option<String>, _>(index)?),
                ColumnKind::Int => Value::Int(row.try_get(index)?),
                ColumnKind::Bool => Value::Bool(row.try_get(index)?),
            })
        })
        .collect()
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
}

//! One way to speak two dialects: a statement whose SQL is the same on Postgres and SQLite is
//! written once, binds [`Value`]s, reads [`Row`]s and runs on whichever [`Pool`] the store has.
//! How a time or an id is stored on each backend is decided here, and only here.

use std::borrow::Cow;

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Database, Decode, Encode, PgPool, Postgres, Row as _, Sqlite, SqlitePool, Type};
use uuid::Uuid;

/// Where a statement runs: the store's pool on Postgres; on SQLite its writer or its readers.
#[derive(Clone, Copy)]
pub enum Pool<'p> {
    Postgres(&'p PgPool),
    Sqlite(&'p SqlitePool),
}

/// A value bound to a statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Text(Option<Cow<'a, str>>),
    Int(Option<i64>),
    /// `jsonb` on Postgres, its text on SQLite.
    Json(&'a serde_json::Value),
    /// `timestamptz` on Postgres. On SQLite RFC 3339 text in UTC with six fraction digits and a
    /// `Z`: fixed width, so text order is time order. Compared with SQLite's own millisecond
    /// stamps (`strftime('%Y-%m-%dT%H:%M:%fZ')`) it orders as the millisecond text would: the
    /// first 23 characters decide, and an equal prefix is never "less" either way.
    Time(DateTime<Utc>),
    /// `uuid` on Postgres, hyphenated text on SQLite.
    Uuid(Uuid),
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(value: &'a str) -> Self {
        Value::Text(Some(Cow::Borrowed(value)))
    }
}

impl<'a> From<&'a String> for Value<'a> {
    fn from(value: &'a String) -> Self {
        Value::Text(Some(Cow::Borrowed(value)))
    }
}

impl From<String> for Value<'_> {
    fn from(value: String) -> Self {
        Value::Text(Some(Cow::Owned(value)))
    }
}

impl<'a> From<Option<&'a str>> for Value<'a> {
    fn from(value: Option<&'a str>) -> Self {
        Value::Text(value.map(Cow::Borrowed))
    }
}

impl<'a> From<&'a Option<String>> for Value<'a> {
    fn from(value: &'a Option<String>) -> Self {
        Value::from(value.as_deref())
    }
}

impl From<i64> for Value<'_> {
    fn from(value: i64) -> Self {
        Value::Int(Some(value))
    }
}

impl<'a> From<&'a serde_json::Value> for Value<'a> {
    fn from(value: &'a serde_json::Value) -> Self {
        Value::Json(value)
    }
}

impl From<DateTime<Utc>> for Value<'_> {
    fn from(value: DateTime<Utc>) -> Self {
        Value::Time(value)
    }
}

impl From<Uuid> for Value<'_> {
    fn from(value: Uuid) -> Self {
        Value::Uuid(value)
    }
}

/// The text SQLite stores a [`Value::Time`] as.
pub fn sqlite_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// A statement and its values, in `$1, $2, …` order (sqlx's SQLite driver reads `$n` by number).
#[must_use = "a query does nothing until it is run"]
pub struct Query<'q> {
    sql: &'q str,
    values: Vec<Value<'q>>,
}

/// Starts a statement; bind its values in placeholder order.
pub fn query(sql: &str) -> Query<'_> {
    Query {
        sql,
        values: Vec::new(),
    }
}

impl<'q> Query<'q> {
    pub fn bind(mut self, value: impl Into<Value<'q>>) -> Self {
        self.values.push(value.into());
        self
    }

    /// Runs the statement and answers how many rows it changed.
    pub async fn execute(self, pool: Pool<'_>) -> Result<u64, sqlx::Error> {
        Ok(match pool {
            Pool::Postgres(pool) => self.postgres().execute(pool).await?.rows_affected(),
            Pool::Sqlite(pool) => self.sqlite().execute(pool).await?.rows_affected(),
        })
    }

    pub async fn fetch_one(self, pool: Pool<'_>) -> Result<Row, sqlx::Error> {
        Ok(match pool {
            Pool::Postgres(pool) => Row::Postgres(self.postgres().fetch_one(pool).await?),
            Pool::Sqlite(pool) => Row::Sqlite(self.sqlite().fetch_one(pool).await?),
        })
    }

    pub async fn fetch_optional(self, pool: Pool<'_>) -> Result<Option<Row>, sqlx::Error> {
        Ok(match pool {
            Pool::Postgres(pool) => self
                .postgres()
                .fetch_optional(pool)
                .await?
                .map(Row::Postgres),
            Pool::Sqlite(pool) => self.sqlite().fetch_optional(pool).await?.map(Row::Sqlite),
        })
    }

    pub async fn fetch_all(self, pool: Pool<'_>) -> Result<Vec<Row>, sqlx::Error> {
        Ok(match pool {
            Pool::Postgres(pool) => {
                let rows = self.postgres().fetch_all(pool).await?;
                rows.into_iter().map(Row::Postgres).collect()
            }
            Pool::Sqlite(pool) => {
                let rows = self.sqlite().fetch_all(pool).await?;
                rows.into_iter().map(Row::Sqlite).collect()
            }
        })
    }

    /// The statement for Postgres, to run where only Postgres goes (inside its transactions).
    pub fn postgres(self) -> sqlx::query::Query<'q, Postgres, PgArguments> {
        bind_all(self.sql, self.values)
    }

    fn sqlite(self) -> sqlx::query::Query<'q, Sqlite, SqliteArguments<'q>> {
        bind_all(
            self.sql,
            self.values.into_iter().map(Value::into_sqlite_storage),
        )
    }
}

impl<'a> Value<'a> {
    /// The value as SQLite stores it: times and ids as text.
    fn into_sqlite_storage(self) -> Value<'a> {
        match self {
            Value::Time(at) => Value::from(sqlite_time(at)),
            Value::Uuid(id) => Value::from(id.to_string()),
            other => other,
        }
    }
}

/// `sql` with `values` bound in order, each as the driver's own type.
fn bind_all<'q, DB>(
    sql: &'q str,
    values: impl IntoIterator<Item = Value<'q>>,
) -> sqlx::query::Query<'q, DB, <DB as Database>::Arguments<'q>>
where
    DB: Database,
    Option<Cow<'q, str>>: Encode<'q, DB> + Type<DB>,
    Option<i64>: Encode<'q, DB> + Type<DB>,
    &'q serde_json::Value: Encode<'q, DB> + Type<DB>,
    DateTime<Utc>: Encode<'q, DB> + Type<DB>,
    Uuid: Encode<'q, DB> + Type<DB>,
{
    values
        .into_iter()
        .fold(sqlx::query(sql), |query, value| match value {
            Value::Text(text) => query.bind(text),
            Value::Int(int) => query.bind(int),
            Value::Json(json) => query.bind(json),
            Value::Time(at) => query.bind(at),
            Value::Uuid(id) => query.bind(id),
        })
}

/// A type both drivers decode alike: text, integers, booleans, JSON, and options of them.
pub trait Portable:
    for<'r> Decode<'r, Postgres> + Type<Postgres> + for<'r> Decode<'r, Sqlite> + Type<Sqlite>
{
}

impl<T> Portable for T where
    T: for<'r> Decode<'r, Postgres> + Type<Postgres> + for<'r> Decode<'r, Sqlite> + Type<Sqlite>
{
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_times_have_a_fixed_width() {
        let at = DateTime::parse_from_rfc3339("2026-03-01T12:00:00.5Z")
            .unwrap()
            .to_utc();
        assert_eq!(sqlite_time(at), "2026-03-01T12:00:00.500000Z");
    }
}

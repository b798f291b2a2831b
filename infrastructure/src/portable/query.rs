//! A statement and its values, run on a [`Pool`] or inside a [`Tx`] alike.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use sqlx::postgres::PgArguments;
use sqlx::sqlite::SqliteArguments;
use sqlx::{Database, Encode, Postgres, Sqlite, Type};
use uuid::Uuid;

use super::{Pool, Record, Row, Tx, Value};

/// Where a [`Query`] runs: a pool (`&pool`, or an owned one such as `store.reader()`), or an
/// open transaction (`&mut tx`).
pub enum Executor<'e> {
    Pool(Cow<'e, Pool>),
    Tx(&'e mut Tx),
}

impl<'e> From<&'e Pool> for Executor<'e> {
    fn from(pool: &'e Pool) -> Self {
        Executor::Pool(Cow::Borrowed(pool))
    }
}

impl From<Pool> for Executor<'_> {
    fn from(pool: Pool) -> Self {
        Executor::Pool(Cow::Owned(pool))
    }
}

impl<'e> From<&'e mut Tx> for Executor<'e> {
    fn from(tx: &'e mut Tx) -> Self {
        Executor::Tx(tx)
    }
}

/// Evaluates `$on_postgres` or `$on_sqlite` with the sqlx executor `$executor` stands for. A pool
/// and a transaction's connection are different sqlx types with the same methods, so one
/// expression per backend serves both; a generic function would need a bound per method.
macro_rules! on_executor {
    ($executor:expr, |$pg:ident| $on_postgres:expr, |$sqlite:ident| $on_sqlite:expr $(,)?) => {
        match $executor {
            Executor::Pool(pool) => match pool.as_ref() {
                Pool::Postgres($pg) => $on_postgres,
                Pool::Sqlite($sqlite) => $on_sqlite,
            },
            Executor::Tx(Tx::Postgres(tx)) => {
                let $pg = &mut **tx;
                $on_postgres
            }
            Executor::Tx(Tx::Sqlite(tx)) => {
                let $sqlite = &mut **tx;
                $on_sqlite
            }
        }
    };
}

/// A statement and its values, in `$1, $2, …` order.
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

    /// Binds `values` in order, after any bound already: a row built ahead of its statement.
    pub fn bind_all(mut self, values: impl IntoIterator<Item = Value<'q>>) -> Self {
        self.values.extend(values);
        self
    }

    /// Runs the statement and answers how many rows it changed.
    pub async fn execute<'e>(self, on: impl Into<Executor<'e>>) -> Result<u64, sqlx::Error> {
        Ok(on_executor!(
            on.into(),
            |pg| self.postgres().execute(pg).await?.rows_affected(),
            |sqlite| self.sqlite().execute(sqlite).await?.rows_affected(),
        ))
    }

    pub async fn fetch_one<'e>(self, on: impl Into<Executor<'e>>) -> Result<Row, sqlx::Error> {
        Ok(on_executor!(
            on.into(),
            |pg| Row::Postgres(self.postgres().fetch_one(pg).await?),
            |sqlite| Row::Sqlite(self.sqlite().fetch_one(sqlite).await?),
        ))
    }

    pub async fn fetch_optional<'e>(
        self,
        on: impl Into<Executor<'e>>,
    ) -> Result<Option<Row>, sqlx::Error> {
        Ok(on_executor!(
            on.into(),
            |pg| self.postgres().fetch_optional(pg).await?.map(Row::Postgres),
            |sqlite| self.sqlite().fetch_optional(sqlite).await?.map(Row::Sqlite),
        ))
    }

    pub async fn fetch_all<'e>(self, on: impl Into<Executor<'e>>) -> Result<Vec<Row>, sqlx::Error> {
        Ok(on_executor!(
            on.into(),
            |pg| {
                let rows = self.postgres().fetch_all(pg).await?;
                rows.into_iter().map(Row::Postgres).collect()
            },
            |sqlite| {
                let rows = self.sqlite().fetch_all(sqlite).await?;
                rows.into_iter().map(Row::Sqlite).collect()
            },
        ))
    }

    /// The first row, if any, as a [`Record`].
    pub async fn fetch_optional_as<'e, T: Record>(
        self,
        on: impl Into<Executor<'e>>,
    ) -> Result<Option<T>, sqlx::Error> {
        self.fetch_optional(on)
            .await?
            .map(|row| row.record())
            .transpose()
    }

    /// Every row as a [`Record`].
    pub async fn fetch_all_as<'e, T: Record>(
        self,
        on: impl Into<Executor<'e>>,
    ) -> Result<Vec<T>, sqlx::Error> {
        self.fetch_all(on).await?.iter().map(Row::record).collect()
    }

    /// The statement for Postgres, to run where only Postgres goes (inside its transactions).
    pub fn postgres(self) -> sqlx::query::Query<'q, Postgres, PgArguments> {
        encode(self.sql, self.values)
    }

    fn sqlite(self) -> sqlx::query::Query<'q, Sqlite, SqliteArguments<'q>> {
        encode(
            self.sql,
            self.values.into_iter().map(Value::into_sqlite_storage),
        )
    }
}

/// `sql` with `values` bound in order, each as the driver's own type.
fn encode<'q, DB>(
    sql: &'q str,
    values: impl IntoIterator<Item = Value<'q>>,
) -> sqlx::query::Query<'q, DB, <DB as Database>::Arguments<'q>>
where
    DB: Database,
    Option<Cow<'q, str>>: Encode<'q, DB> + Type<DB>,
    Option<i64>: Encode<'q, DB> + Type<DB>,
    Option<bool>: Encode<'q, DB> + Type<DB>,
    &'q serde_json::Value: Encode<'q, DB> + Type<DB>,
    serde_json::Value: Encode<'q, DB> + Type<DB>,
    DateTime<Utc>: Encode<'q, DB> + Type<DB>,
    Uuid: Encode<'q, DB> + Type<DB>,
{
    values
        .into_iter()
        .fold(sqlx::query(sql), |query, value| match value {
            Value::Text(text) => query.bind(text),
            Value::Int(int) => query.bind(int),
            Value::Bool(flag) => query.bind(flag),
            Value::Json(Cow::Borrowed(json)) => query.bind(json),
            Value::Json(Cow::Owned(json)) => query.bind(json),
            Value::Time(at) => query.bind(at),
            Value::Uuid(id) => query.bind(id),
        })
}

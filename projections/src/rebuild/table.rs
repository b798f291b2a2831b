//! Any read-model table, generically: its columns and primary key read from the catalog
//! (`information_schema` on Postgres, `pragma_table_info` on SQLite), and its rows as typed
//! [`Value`]s. Rebuilds copy rows this way and verification compares them, for every projector
//! alike, without knowing its row type.

use std::collections::BTreeMap;

use infrastructure::consumers::ProjectionError;
use infrastructure::portable::{query, ColumnKind, Tx, Value};

/// A table's columns in declaration order and the ones its primary key is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TableShape {
    pub name: String,
    pub columns: Vec<(String, ColumnKind)>,
    /// Indexes into `columns`, in key order.
    pub key: Vec<usize>,
}

/// A table's rows by primary key (the key's values as text).
pub(crate) type Rows = BTreeMap<Vec<String>, Vec<Value<'static>>>;

#[derive(sqlx::FromRow)]
struct ColumnRow {
    name: String,
    declared: String,
    /// The column's place in the primary key, from 1; 0 when it is not part of it.
    key_position: i64,
}

/// `indkey` is an int2vector, whose array subscripts start at 0.
const POSTGRES_COLUMNS: &str = "
SELECT c.column_name::text AS name, c.data_type::text AS declared,
       COALESCE((SELECT array_position(i.indkey::int2[], a.attnum)
                        - array_lower(i.indkey::int2[], 1) + 1
                   FROM pg_index i
                   JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attname = c.column_name
                  WHERE i.indrelid = to_regclass(quote_ident($1)) AND i.indisprimary), 0)::bigint
         AS key_position
  FROM information_schema.columns c
 WHERE c.table_schema = current_schema() AND c.table_name = $1
 ORDER BY c.ordinal_position";

const SQLITE_COLUMNS: &str =
    "SELECT name, type AS declared, pk AS key_position FROM pragma_table_info($1) ORDER BY cid";

/// Reads `table`'s shape through `tx`.
pub(crate) async fn shape(tx: &mut Tx, table: &str) -> Result<TableShape, ProjectionError> {
    let sql = match tx {
        Tx::Postgres(_) => POSTGRES_COLUMNS,
        Tx::Sqlite(_) => SQLITE_COLUMNS,
    };
    let rows: Vec<ColumnRow> = query(sql).bind(table).fetch_all_as(&mut *tx).await?;
    let problem = |reason: String| ProjectionError::TableShape {
        table: table.to_owned(),
        reason,
    };
    if rows.is_empty() {
        return Err(problem("it does not exist".into()));
    }
    let columns = rows
        .iter()
        .map(|row| {
            ColumnKind::of_declared(&row.declared)
                .map(|kind| (row.name.clone(), kind))
                .ok_or_else(|| {
                    problem(format!(
                        "column `{}` has type `{}`, which rebuilds do not carry",
                        row.name, row.declared
                    ))
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut key: Vec<(i64, usize)> = rows
        .iter()
        .enumerate()
        .filter(|(_, row)| row.key_position > 0)
        .map(|(index, row)| (row.key_position, index))
        .collect();
    if key.is_empty() {
        return Err(problem("it has no primary key".into()));
    }
    key.sort_unstable();
    Ok(TableShape {
        name: table.to_owned(),
        columns,
        key: key.into_iter().map(|(_, index)| index).collect(),
    })
}

impl TableShape {
    pub fn column_list(&self) -> String {
        self.columns
            .iter()
            .map(|(name, _)| quoted(name))
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn column_name(&self, index: usize) -> &str {
        &self.columns[index].0
    }

    /// Every row of the table named `from` (this table or a copy of it with the same
    /// columns), keyed by primary key.
    pub async fn rows(&self, tx: &mut Tx, from: &str) -> Result<Rows, ProjectionError> {
        let sql = format!("SELECT {} FROM {}", self.select_list(), quoted(from));
        let kinds = self.kinds();
        let rows = query(&sql).fetch_all(tx).await?;
        Ok(rows
            .iter()
            .map(|row| {
                let row = row.values(&kinds)?;
                Ok((self.key_of(&row), row))
            })
            .collect::<Result<_, sqlx::Error>>()?)
    }

    /// Up to `limit` rows of this table after SQLite rowid `after`, in rowid order, with the
    /// last rowid read (`None` when there are no more rows). SQLite only: for scratch databases.
    pub async fn rows_after_rowid(
        &self,
        tx: &mut Tx,
        after: i64,
        limit: usize,
    ) -> Result<(Option<i64>, Vec<Vec<Value<'static>>>), ProjectionError> {
        let sql = format!(
            "SELECT rowid, {} FROM {} WHERE rowid > $1 ORDER BY rowid LIMIT $2",
            self.select_list(),
            quoted(&self.name)
        );
        let mut kinds = vec![ColumnKind::Int];
        kinds.extend(self.kinds());
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut rows = query(&sql)
            .bind(after)
            .bind(limit)
            .fetch_all(tx)
            .await?
            .iter()
            .map(|row| row.values(&kinds))
            .collect::<Result<Vec<_>, _>>()?;
        let last = match rows.last().map(|row| &row[0]) {
            Some(Value::Int(Some(rowid))) => Some(*rowid),
            _ => None,
        };
        for row in &mut rows {
            row.remove(0);
        }
        Ok((last, rows))
    }

    /// The columns as selected: integers read as BIGINT whatever their declared width, so that
    /// they decode as i64.
    fn select_list(&self) -> String {
        self.columns
            .iter()
            .map(|(name, kind)| match kind {
                ColumnKind::Int => format!("CAST({} AS BIGINT)", quoted(name)),
                ColumnKind::Text | ColumnKind::Bool => quoted(name),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn kinds(&self) -> Vec<ColumnKind> {
        self.columns.iter().map(|(_, kind)| *kind).collect()
    }

    fn key_of(&self, row: &[Value]) -> Vec<String> {
        self.key
            .iter()
            .map(|index| match &row[*index] {
                Value::Text(value) => value.as_deref().unwrap_or_default().to_owned(),
                Value::Int(value) => value.map(|n| n.to_string()).unwrap_or_default(),
                Value::Bool(value) => value.map(|b| b.to_string()).unwrap_or_default(),
                // Not a kind `Row::values` reads.
                other => other.to_json().to_string(),
            })
            .collect()
    }
}

/// An identifier quoted for both backends. Table and column names come from the projectors'
/// constants and the catalog, never from a request.
pub(crate) fn quoted(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

//! Many keys or rows in few statements, each statement kept within what its backend binds well.

use super::{query, Record, Tx, Value};

/// Rows per multi-row statement on Postgres: far below its bound-parameter limit (65535) for the
/// widest table here.
const ROWS_PER_STATEMENT: usize = 500;
/// Bound parameters per statement on SQLite. sqlx looks each parameter's name up with
/// `sqlite3_bind_parameter_name`, which walks the statement's parameter list: binding n
/// parameters costs O(n²), and at 500 rows of a dozen columns that lookup was 60 % of a replay's
/// CPU (perf). Small statements keep it negligible.
const SQLITE_PARAMS_PER_STATEMENT: usize = 200;

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

impl Tx {
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
            let keys = chunk.iter().map(|key| Value::from(key.as_str()));
            found.extend(query(&sql).bind_all(keys).fetch_all_as(&mut *self).await?);
        }
        Ok(found)
    }

    /// Writes `rows` with multi-row `{insert} VALUES … {on_conflict}` statements.
    pub async fn upsert(
        &mut self,
        insert: &str,
        on_conflict: &str,
        rows: Vec<Vec<Value<'_>>>,
    ) -> Result<(), sqlx::Error> {
        let columns = rows.first().map_or(1, Vec::len);
        for chunk in rows.chunks(self.rows_per_statement(columns)) {
            let sql = format!(
                "{insert} VALUES {} {on_conflict}",
                values_list(chunk.len(), columns)
            );
            let values = chunk.iter().flatten().cloned();
            query(&sql).bind_all(values).execute(&mut *self).await?;
        }
        Ok(())
    }

    /// Rows of `columns` values per multi-row statement on this backend.
    fn rows_per_statement(&self, columns: usize) -> usize {
        match self {
            Tx::Postgres(_) => ROWS_PER_STATEMENT,
            Tx::Sqlite(_) => (SQLITE_PARAMS_PER_STATEMENT / columns.max(1)).max(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_lists_number_placeholders_row_by_row() {
        assert_eq!(placeholders(3, 2), "$3, $4");
        assert_eq!(values_list(2, 3), "($1, $2, $3), ($4, $5, $6)");
    }
}

//! Bulk inserts of replayed rows into a shadow table: `COPY … FROM STDIN` on Postgres (one
//! stream instead of thousands of bound parameters per statement), multi-row inserts on SQLite.

use infrastructure::consumers::ProjectionError;
use infrastructure::portable::{timestamp, Tx, Value};

/// Inserts `rows` into `table` (already quoted), whose columns `columns` lists (quoted, in the
/// rows' order).
pub(crate) async fn insert_rows(
    tx: &mut Tx,
    table: &str,
    columns: &str,
    rows: Vec<Vec<Value<'static>>>,
) -> Result<(), ProjectionError> {
    if rows.is_empty() {
        return Ok(());
    }
    match tx {
        Tx::Postgres(tx) => {
            let statement = format!("COPY {table} ({columns}) FROM STDIN");
            let mut copy = tx.copy_in_raw(&statement).await?;
            let mut data = String::new();
            for row in &rows {
                copy_line(&mut data, row);
            }
            copy.send(data.into_bytes()).await?;
            copy.finish().await?;
        }
        Tx::Sqlite(_) => {
            let insert = format!("INSERT INTO {table} ({columns})");
            tx.upsert(&insert, "", rows).await?;
        }
    }
    Ok(())
}

/// Appends `row` to `out` as one line of COPY's text format.
fn copy_line(out: &mut String, row: &[Value]) {
    for (index, value) in row.iter().enumerate() {
        if index > 0 {
            out.push('\t');
        }
        match value {
            Value::Text(None) | Value::Int(None) | Value::Bool(None) => out.push_str("\\N"),
            Value::Int(Some(n)) => out.push_str(&n.to_string()),
            Value::Bool(Some(b)) => out.push(if *b { 't' } else { 'f' }),
            Value::Text(Some(text)) => push_escaped(out, text),
            // Not kinds a read model's columns have (`ColumnKind`); written as Postgres reads
            // their text, should one appear.
            Value::Json(json) => push_escaped(out, &json.to_string()),
            Value::Time(at) => push_escaped(out, &timestamp(*at)),
            Value::Uuid(id) => push_escaped(out, &id.to_string()),
        }
    }
    out.push('\n');
}

/// Appends `text` to `out` escaped for COPY's text format.
fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_lines_escape_what_the_text_format_reads_as_syntax() {
        let mut out = String::new();
        copy_line(
            &mut out,
            &[
                Value::Text(Some("a\tb\\c\nd\re".into())),
                Value::Int(Some(-7)),
                Value::Bool(Some(true)),
                Value::Text(None),
                Value::Text(Some("\\N".into())),
            ],
        );
        assert_eq!(out, "a\\tb\\\\c\\nd\\re\t-7\tt\t\\N\t\\\\N\n");
    }
}

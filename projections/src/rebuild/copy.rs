//! Bulk inserts of replayed rows into a shadow table: `COPY … FROM STDIN` on Postgres (one
//! stream instead of thousands of bound parameters per statement), multi-row inserts on SQLite.

use infrastructure::consumers::sql::{Param, ProjectionTx};
use infrastructure::consumers::ProjectionError;

/// Inserts `rows` into `table` (already quoted), whose columns `columns` lists (quoted, in the
/// rows' order).
pub(crate) async fn insert_rows(
    tx: &mut ProjectionTx,
    table: &str,
    columns: &str,
    rows: Vec<Vec<Param>>,
) -> Result<(), ProjectionError> {
    if rows.is_empty() {
        return Ok(());
    }
    match tx {
        ProjectionTx::Postgres(tx) => {
            let statement = format!("COPY {table} ({columns}) FROM STDIN");
            let mut copy = tx.copy_in_raw(&statement).await?;
            let mut data = String::new();
            for row in &rows {
                copy_line(&mut data, row);
            }
            copy.send(data.into_bytes()).await?;
            copy.finish().await?;
        }
        ProjectionTx::Sqlite(_) => {
            let insert = format!("INSERT INTO {table} ({columns})");
            tx.upsert(&insert, "", rows).await?;
        }
    }
    Ok(())
}

/// Appends `row` to `out` as one line of COPY's text format.
fn copy_line(out: &mut String, row: &[Param]) {
    for (index, value) in row.iter().enumerate() {
        if index > 0 {
            out.push('\t');
        }
        match value {
            Param::Text(None) | Param::Int(None) | Param::Bool(None) => out.push_str("\\N"),
            Param::Int(Some(n)) => out.push_str(&n.to_string()),
            Param::Bool(Some(b)) => out.push(if *b { 't' } else { 'f' }),
            Param::Text(Some(text)) => {
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
        }
    }
    out.push('\n');
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
                Param::Text(Some("a\tb\\c\nd\re".into())),
                Param::Int(Some(-7)),
                Param::Bool(Some(true)),
                Param::Text(None),
                Param::Text(Some("\\N".into())),
            ],
        );
        assert_eq!(out, "a\\tb\\\\c\\nd\\re\t-7\tt\t\\N\t\\\\N\n");
    }
}

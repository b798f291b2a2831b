//! Keyset pagination, as every list of this crate does it: a page query fetches one row more than
//! its limit, which tells whether another page follows without pointing the last page at an
//! empty one.

use domain::AccountId;

use infrastructure::consumers::ProjectionError;
use infrastructure::portable::{query, Pool, Record};

/// Where a page of a list ordered by global position starts: after (or, newest first, before)
/// the row at this position. Every position-ordered list (invoices, notifications, timeline)
/// issues and reads it the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PositionCursor(i64);

impl PositionCursor {
    /// A cursor this API issued (`next_cursor`); `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        text.parse::<i64>().ok().filter(|n| *n > 0).map(Self)
    }

    pub fn position(self) -> i64 {
        self.0
    }
}

/// How many rows a page query of `limit` fetches.
pub(crate) fn rows_to_fetch(limit: u32) -> i64 {
    i64::from(limit) + 1
}

/// The views of the first `limit` of `rows` (fetched with [`rows_to_fetch`]) and, when more
/// followed, the cursor of the last one shown.
pub(crate) fn split<R, V>(
    mut rows: Vec<R>,
    limit: u32,
    cursor: impl Fn(&R) -> Result<String, ProjectionError>,
    view: impl FnMut(R) -> Result<V, ProjectionError>,
) -> Result<(Vec<V>, Option<String>), ProjectionError> {
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_cursor = match rows.last() {
        Some(last) if more => Some(cursor(last)?),
        _ => None,
    };
    let items = rows.into_iter().map(view).collect::<Result<_, _>>()?;
    Ok((items, next_cursor))
}

/// A page of one account's rows of `table` (read as `columns`) in log order, oldest first, after
/// `cursor`: the lists kept by position (notifications, the timeline).
pub(crate) async fn oldest_first<R: Record, V>(
    pool: &Pool,
    (table, columns): (&str, &str),
    account_id: &AccountId,
    limit: u32,
    cursor: Option<PositionCursor>,
    position: fn(&R) -> i64,
    view: impl FnMut(R) -> Result<V, ProjectionError>,
) -> Result<(Vec<V>, Option<String>), ProjectionError> {
    let sql = format!(
        "SELECT {columns} FROM {table} WHERE account_id = $1 AND position > $2 \
          ORDER BY position LIMIT $3"
    );
    let after = cursor.map_or(0, PositionCursor::position);
    let rows = query(&sql)
        .bind(account_id.as_str())
        .bind(after)
        .bind(rows_to_fetch(limit))
        .fetch_all_as(pool)
        .await?;
    split(rows, limit, |row| Ok(position(row).to_string()), view)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(rows: Vec<i64>, limit: u32) -> (Vec<i64>, Option<String>) {
        split(rows, limit, |row| Ok(row.to_string()), Ok).unwrap()
    }

    #[test]
    fn a_page_points_at_the_next_only_when_a_row_follows() {
        assert_eq!(rows_to_fetch(3), 4);
        assert_eq!(page(vec![1, 2, 3, 4], 3), (vec![1, 2, 3], Some("3".into())));
        assert_eq!(page(vec![1, 2, 3], 3), (vec![1, 2, 3], None));
        assert_eq!(page(vec![], 3), (vec![], None));
    }
}

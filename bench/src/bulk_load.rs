//! Loads a large log of valid events quickly: a template of real events, written by the real
//! server through the real write path, copied as many times as needed with every UUID in it
//! (account, aggregate, event, correlation and causation ids…) replaced by a fresh one per
//! copy. Each copy is an isomorphic, independent account history. Copies are interleaved event
//! by event, a hundred at a time, so a projector's batch touches many accounts as it would in
//! production, and each copy keeps the template's global order.

use crate::database::Pool;
use crate::Result;

/// Copies interleaved with each other.
const INTERLEAVED: usize = 100;
/// Rows per COPY on Postgres, per transaction on SQLite.
const CHUNK: usize = 20_000;

/// A text with the template's UUIDs cut out.
struct Text(Vec<Piece>);

enum Piece {
    Literal(String),
    Id(usize),
}

struct TemplateEvent {
    aggregate_type: String,
    aggregate_id: Text,
    sequence: i64,
    event_type: String,
    event_version: String,
    payload: Text,
    metadata: Text,
}

pub struct Template {
    events: Vec<TemplateEvent>,
    /// Distinct UUIDs in the template.
    ids: Vec<String>,
}

/// One event of one copy, ready to insert.
struct EventRow {
    aggregate_type: String,
    aggregate_id: String,
    sequence: i64,
    event_type: String,
    event_version: String,
    payload: String,
    metadata: String,
}

impl Template {
    /// Every event of the database, in the global order, but the invoice numbers: a prefix's
    /// numbering stream (`invoice_numbering/LL`) is one for the whole log, not one per account,
    /// so copies of it would collide. The copies' invoices stay unnumbered; the numbering policy
    /// is marked as having reacted, like every policy.
    pub async fn read(pool: &Pool) -> Result<Template> {
        const COLUMNS: &str = "aggregate_type, aggregate_id, sequence, event_type, event_version";
        const SHARED_STREAMS: &str = "aggregate_type <> 'invoice_numbering'";
        let rows = match pool {
            Pool::Postgres(pool) => {
                let sql = format!("SELECT {COLUMNS}, payload::text AS payload, metadata::text AS metadata FROM events WHERE {SHARED_STREAMS} ORDER BY tx_id, position");
                sqlx::query(&sql)
                    .fetch_all(pool)
                    .await?
                    .iter()
                    .map(raw_row)
                    .collect::<Result<Vec<_>, sqlx::Error>>()?
            }
            Pool::Sqlite(pool) => {
                let sql =
                    format!("SELECT {COLUMNS}, payload, metadata FROM events WHERE {SHARED_STREAMS} ORDER BY position");
                sqlx::query(&sql)
                    .fetch_all(pool)
                    .await?
                    .iter()
                    .map(raw_row)
                    .collect::<Result<Vec<_>, sqlx::Error>>()?
            }
        };
        let mut ids = Vec::new();
        let events = rows
            .into_iter()
            .map(|row| TemplateEvent {
                aggregate_id: Text::cut(&row.aggregate_id, &mut ids),
                payload: Text::cut(&row.payload, &mut ids),
                metadata: Text::cut(&row.metadata, &mut ids),
                aggregate_type: row.aggregate_type,
                sequence: row.sequence,
                event_type: row.event_type,
                event_version: row.event_version,
            })
            .collect();
        Ok(Template { events, ids })
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    fn render(&self, event: &TemplateEvent, fresh: &[String]) -> EventRow {
        EventRow {
            aggregate_type: event.aggregate_type.clone(),
            aggregate_id: event.aggregate_id.render(fresh),
            sequence: event.sequence,
            event_type: event.event_type.clone(),
            event_version: event.event_version.clone(),
            payload: event.payload.render(fresh),
            metadata: event.metadata.render(fresh),
        }
    }
}

fn raw_row<R>(row: &R) -> Result<EventRow, sqlx::Error>
where
    R: sqlx::Row,
    for<'r> &'r str: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok(EventRow {
        aggregate_type: row.try_get("aggregate_type")?,
        aggregate_id: row.try_get("aggregate_id")?,
        sequence: row.try_get("sequence")?,
        event_type: row.try_get("event_type")?,
        event_version: row.try_get("event_version")?,
        payload: row.try_get("payload")?,
        metadata: row.try_get("metadata")?,
    })
}

impl Text {
    /// Splits `text` at every hyphenated UUID, numbering distinct UUIDs in `ids`.
    fn cut(text: &str, ids: &mut Vec<String>) -> Text {
        let mut pieces = Vec::new();
        let mut literal_start = 0;
        let mut at = 0;
        while at + 36 <= text.len() {
            let candidate = &text.as_bytes()[at..at + 36];
            if is_uuid(candidate) {
                if literal_start < at {
                    pieces.push(Piece::Literal(text[literal_start..at].to_owned()));
                }
                let id = &text[at..at + 36];
                let index = match ids.iter().position(|known| known == id) {
                    Some(index) => index,
                    None => {
                        ids.push(id.to_owned());
                        ids.len() - 1
                    }
                };
                pieces.push(Piece::Id(index));
                at += 36;
                literal_start = at;
            } else {
                at += 1;
            }
        }
        if literal_start < text.len() {
            pieces.push(Piece::Literal(text[literal_start..].to_owned()));
        }
        Text(pieces)
    }

    fn render(&self, fresh: &[String]) -> String {
        let mut text = String::new();
        for piece in &self.0 {
            match piece {
                Piece::Literal(literal) => text.push_str(literal),
                Piece::Id(index) => text.push_str(&fresh[*index]),
            }
        }
        text
    }
}

/// 8-4-4-4-12 hexadecimal digits, as `uuid` writes them.
fn is_uuid(bytes: &[u8]) -> bool {
    bytes.iter().enumerate().all(|(index, byte)| match index {
        8 | 13 | 18 | 23 => *byte == b'-',
        _ => byte.is_ascii_hexdigit(),
    })
}

/// Appends copies of `template` until at least `events` events were written; returns how many.
pub async fn load(pool: &Pool, template: &Template, events: usize) -> Result<usize> {
    if template.len() == 0 {
        return Err("the template has no events".into());
    }
    let copies = events.div_ceil(template.len());
    let mut pending = Vec::with_capacity(CHUNK);
    let mut written = 0;
    for first in (0..copies).step_by(INTERLEAVED) {
        let group: Vec<Vec<String>> = (first..copies.min(first + INTERLEAVED))
            .map(|_| {
                (0..template.ids.len())
                    .map(|_| uuid::Uuid::new_v4().to_string())
                    .collect()
            })
            .collect();
        for event in &template.events {
            for fresh in &group {
                pending.push(template.render(event, fresh));
                if pending.len() == CHUNK {
                    written += insert(pool, &mut pending).await?;
                }
            }
        }
    }
    written += insert(pool, &mut pending).await?;
    Ok(written)
}

async fn insert(pool: &Pool, rows: &mut Vec<EventRow>) -> Result<usize> {
    let count = rows.len();
    match pool {
        Pool::Postgres(pool) => {
            let mut csv = String::new();
            for row in rows.iter() {
                let fields = [
                    row.aggregate_type.as_str(),
                    &row.aggregate_id,
                    &row.sequence.to_string(),
                    &row.event_type,
                    &row.event_version,
                    &row.payload,
                    &row.metadata,
                ];
                for (index, field) in fields.iter().enumerate() {
                    if index > 0 {
                        csv.push(',');
                    }
                    csv.push('"');
                    csv.push_str(&field.replace('"', "\"\""));
                    csv.push('"');
                }
                csv.push('\n');
            }
            let mut connection = pool.acquire().await?;
            let mut copy = connection
                .copy_in_raw(
                    "COPY events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) FROM STDIN (FORMAT csv)",
                )
                .await?;
            copy.send(csv.into_bytes()).await?;
            copy.finish().await?;
        }
        Pool::Sqlite(pool) => {
            let mut tx = pool.begin().await?;
            for row in rows.iter() {
                sqlx::query(
                    "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&row.aggregate_type)
                .bind(&row.aggregate_id)
                .bind(row.sequence)
                .bind(&row.event_type)
                .bind(&row.event_version)
                .bind(&row.payload)
                .bind(&row.metadata)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        }
    }
    rows.clear();
    Ok(count)
}

/// Puts the policies' checkpoints at the head of the loaded log: the copies already hold their
/// reactions (they were written by the real server), so a rebuild must not react again.
pub async fn mark_reacted(pool: &Pool, policies: &[String]) -> Result<()> {
    const SQL: &str = "INSERT INTO projection_checkpoints (name, log_tx, position, updated_at)
                       VALUES ($1, $2, $3, '2026-01-01T00:00:00Z')";
    match pool {
        Pool::Postgres(pool) => {
            let (tx, position): (i64, i64) = sqlx::query_as(
                "SELECT tx_id::text::bigint, position FROM events ORDER BY tx_id DESC, position DESC LIMIT 1",
            )
            .fetch_one(pool)
            .await?;
            for name in policies {
                sqlx::query(SQL)
                    .bind(name)
                    .bind(tx)
                    .bind(position)
                    .execute(pool)
                    .await?;
            }
        }
        Pool::Sqlite(pool) => {
            let position: i64 = sqlx::query_scalar("SELECT max(position) FROM events")
                .fetch_one(pool)
                .await?;
            for name in policies {
                sqlx::query(SQL)
                    .bind(name)
                    .bind(0_i64)
                    .bind(position)
                    .execute(pool)
                    .await?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_uuid_is_replaced_consistently_and_nothing_else_changes() {
        let (a, b) = (
            uuid::Uuid::new_v4().to_string(),
            uuid::Uuid::new_v4().to_string(),
        );
        let mut ids = Vec::new();
        let payload = format!(r#"{{"id":"{a}","of":"{b}","again":"{a}","ref":"pay_{b}x"}}"#);
        let text = Text::cut(&payload, &mut ids);
        assert_eq!(ids, vec![a.clone(), b.clone()]);
        assert_eq!(text.render(&ids), payload);
        let fresh = vec!["A".to_owned(), "B".to_owned()];
        assert_eq!(
            text.render(&fresh),
            r#"{"id":"A","of":"B","again":"A","ref":"pay_Bx"}"#
        );
    }

    #[test]
    fn almost_uuids_are_left_alone() {
        let mut ids = Vec::new();
        let text = Text::cut("0000000-0000-0000-0000-000000000000g", &mut ids);
        assert!(ids.is_empty());
        assert_eq!(text.render(&[]), "0000000-0000-0000-0000-000000000000g");
    }
}

//! `ledgerline audit stream TYPE ID [--at T]`: an aggregate's history for people, one line per
//! event (when, sequence, position, type, who, which command, which cause, key facts), and with
//! `--at` its state as of T, against the same database the servers use. Facts are read through
//! the upcasters like every decode; the version shown is the stored one.

use std::sync::Arc;

use application::audit::{check_aggregate_type, state_as_of, AuditError};
use application::event_log::{AsOf, EventLog, StoredEvent};
use application::{CommandBus, EventLogError};
use chrono::{DateTime, SecondsFormat, Utc};
use infrastructure::{Store, StoreError, SystemClock};
use serde_json::Value;

use crate::cli::AuditStreamArgs;

/// Events read per round trip.
const PAGE: u32 = 1000;

#[derive(Debug, thiserror::Error)]
pub enum AuditCliError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Read(#[from] EventLogError),
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error("{0}")]
    NoEvents(String),
}

pub async fn stream(args: AuditStreamArgs) -> Result<(), AuditCliError> {
    check_aggregate_type(&args.aggregate_type)?;
    // Reading only: the database is the servers' and is not migrated from here.
    let store = Arc::new(Store::connect(&args.database.database_url).await?);
    let events = history(&store, &args).await?;
    if events.is_empty() {
        return Err(AuditCliError::NoEvents(match args.at {
            None => format!(
                "no events for {} {}",
                args.aggregate_type, args.aggregate_id
            ),
            Some(at) => format!(
                "no events for {} {} recorded at or before {}",
                args.aggregate_type,
                args.aggregate_id,
                rfc3339(at)
            ),
        }));
    }
    for event in &events {
        println!("{}", describe(event));
    }
    if let Some(at) = args.at {
        // The bus only loads here: its clock stamps appends, and the CLI makes none.
        let bus = CommandBus::new(store, Arc::new(SystemClock::default()));
        let as_of = AsOf::RecordedAt(at);
        if let Some(past) =
            state_as_of(&bus, &args.aggregate_type, &args.aggregate_id, as_of).await?
        {
            println!(
                "\nstate as of {} (version {}, position {}, last event recorded {}):",
                rfc3339(at),
                past.version,
                past.position,
                rfc3339(past.as_of)
            );
            let pretty = serde_json::to_string_pretty(&past.state)
                .map_err(|e| AuditError::Corrupt(e.to_string()))?;
            println!("{pretty}");
        }
    }
    Ok(())
}

/// The stream's events in order; with `--at`, the longest prefix recorded at or before it.
async fn history(store: &Store, args: &AuditStreamArgs) -> Result<Vec<StoredEvent>, EventLogError> {
    let mut events = Vec::new();
    loop {
        let after = events.last().map_or(0, |e: &StoredEvent| e.sequence);
        let page = store
            .read_stream(&args.aggregate_type, &args.aggregate_id, after, PAGE)
            .await?;
        let full = page.len() == PAGE as usize;
        for event in page {
            if args.at.is_some_and(|at| event.metadata.recorded_at > at) {
                return Ok(events);
            }
            events.push(event);
        }
        if !full {
            return Ok(events);
        }
    }
}

/// One line: time, sequence, position, type and stored version, actor, command, cause, facts.
fn describe(event: &StoredEvent) -> String {
    let read = domain::upcasting::upcast(event.serialized());
    let version = if read.event_version == event.event_version {
        format!("v{}", event.event_version)
    } else {
        format!("v{} (read as v{})", event.event_version, read.event_version)
    };
    let m = &event.metadata;
    format!(
        "{}  #{}  @{}  {} {}  actor={} command={} cause={} correlation={}{}",
        rfc3339(m.recorded_at),
        event.sequence,
        event.position,
        event.event_type,
        version,
        m.actor,
        m.command,
        m.causation_id,
        m.correlation_id,
        facts(&read.payload)
    )
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The scalar fields of an externally tagged payload (`{"SeatsAdded": {...}}`) as ` key=value`,
/// amounts as `4900 usd`; lists are shown by their length.
fn facts(payload: &Value) -> String {
    let Some(Value::Object(fields)) = payload
        .as_object()
        .and_then(|tagged| tagged.values().next())
    else {
        return String::new();
    };
    fields
        .iter()
        .filter_map(|(key, value)| {
            let shown = match value {
                Value::String(text) => text.clone(),
                Value::Number(_) | Value::Bool(_) => value.to_string(),
                Value::Array(items) => format!("[{} items]", items.len()),
                Value::Object(money) => match (money.get("amount"), money.get("currency")) {
                    (Some(amount), Some(Value::String(currency))) => format!("{amount} {currency}"),
                    _ => return None,
                },
                Value::Null => return None,
            };
            Some(format!(" {key}={shown}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::facts;

    #[test]
    fn facts_show_scalars_amounts_and_list_lengths() {
        let payload = json!({"InvoiceIssued": {
            "account_id": "acme", "lines": [1, 2], "paid": false, "subscription_id": null,
            "total": {"amount": 4900, "currency": "usd"}
        }});
        assert_eq!(
            facts(&payload),
            " account_id=acme lines=[2 items] paid=false total=4900 usd"
        );
    }
}

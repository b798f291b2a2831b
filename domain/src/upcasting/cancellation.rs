//! Subscription `CancellationScheduled` and `SubscriptionCancelled` 1.0 → 2.0. Version 1 kept one
//! free-text `reason`, which a client could set to the words the system's decisions were keyed on
//! (`dunning_exhausted`). Version 2 types the reason and keeps a client's text apart as `comment`.
//!
//! Reading a 1.0 event: a scheduled cancellation was always a client's, so its text becomes the
//! comment. A cancellation whose text is one of the system's reasons reads as that reason, so a
//! replay decides exactly as the history was decided when it was recorded (a client that wrote
//! `dunning_exhausted` then had its invoices written off, and the log says so); any other text
//! reads as `requested`, with the text as its comment.

use cqrs_es::persist::{EventUpcaster, SerializedEvent};
use serde_json::Value;

use crate::subscription::{CancellationReason, Subscription, CANCELLATION_VERSION};

pub(super) struct TypedCancellationReason;

const SCHEDULED: &str = "CancellationScheduled";
const CANCELLED: &str = "SubscriptionCancelled";

impl EventUpcaster for TypedCancellationReason {
    fn can_upcast(&self, event_type: &str, event_version: &str) -> bool {
        matches!(event_type, SCHEDULED | CANCELLED) && event_version == crate::EVENT_VERSION_1
    }

    fn upcast(&self, mut event: SerializedEvent) -> SerializedEvent {
        use cqrs_es::Aggregate;
        if event.aggregate_type != Subscription::TYPE {
            return event;
        }
        let event_type = event.event_type.clone();
        if let Some(Value::Object(fields)) = event.payload.get_mut(&event_type) {
            let text = match fields.remove("reason") {
                Some(Value::String(text)) if !text.trim().is_empty() => Some(text),
                _ => None,
            };
            let system = [
                CancellationReason::TrialExpired,
                CancellationReason::DunningExhausted,
            ]
            .into_iter()
            .find(|reason| text.as_deref() == Some(reason.as_str()));
            if event_type == CANCELLED {
                let reason = system.unwrap_or(CancellationReason::Requested);
                fields.insert("reason".into(), Value::from(reason.as_str()));
            }
            let comment = if system.is_some() && event_type == CANCELLED {
                None
            } else {
                text
            };
            fields.insert("comment".into(), comment.map_or(Value::Null, Value::from));
        }
        event.event_version = CANCELLATION_VERSION.to_owned();
        event
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::subscription::SubscriptionEvent;
    use crate::upcasting::upcast;

    fn stored(event_type: &str, reason: &str) -> SerializedEvent {
        SerializedEvent::new(
            "sub-1".into(),
            3,
            "subscription".into(),
            event_type.into(),
            "1.0".into(),
            json!({event_type: {
                "account_id": "acct_1", "reason": reason,
                "effective_at": "2026-04-01T00:00:00Z", "ended_at": "2026-04-01T00:00:00Z",
                "at": "2026-03-01T00:00:00Z"
            }}),
            Value::Null,
        )
    }

    fn read(event_type: &str, reason: &str) -> SubscriptionEvent {
        let read = upcast(stored(event_type, reason));
        assert_eq!(read.event_version, CANCELLATION_VERSION);
        serde_json::from_value(read.payload).unwrap()
    }

    fn cancellation(reason: &str) -> (CancellationReason, Option<String>) {
        match read(CANCELLED, reason) {
            SubscriptionEvent::SubscriptionCancelled {
                reason, comment, ..
            } => (reason, comment),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_stored_v1_cancellation_reads_with_a_typed_reason() {
        assert_eq!(
            cancellation("customer_request"),
            (
                CancellationReason::Requested,
                Some("customer_request".into())
            )
        );
        assert_eq!(cancellation(""), (CancellationReason::Requested, None));
        assert_eq!(
            cancellation("trial_expired"),
            (CancellationReason::TrialExpired, None)
        );
        assert_eq!(
            cancellation("dunning_exhausted"),
            (CancellationReason::DunningExhausted, None)
        );
    }

    #[test]
    fn a_stored_v1_scheduled_cancellation_keeps_its_text_as_the_comment() {
        let SubscriptionEvent::CancellationScheduled { comment, .. } =
            read(SCHEDULED, "too expensive")
        else {
            panic!("not a CancellationScheduled");
        };
        assert_eq!(comment.as_deref(), Some("too expensive"));
    }

    #[test]
    fn other_aggregates_and_current_versions_pass_unchanged() {
        let mut other = stored(CANCELLED, "dunning_exhausted");
        other.aggregate_type = "invoice".into();
        assert_eq!(upcast(other.clone()), other);
        let mut current = stored(CANCELLED, "requested");
        current.event_version = CANCELLATION_VERSION.into();
        assert_eq!(upcast(current.clone()), current);
    }
}

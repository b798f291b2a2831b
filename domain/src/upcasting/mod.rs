//! Reading events that older builds stored. Events are never rewritten: each upcaster turns one
//! stored version of one event type into the next when it is read, and [`upcast`] applies every
//! upcaster that fits, oldest first. This is the one registry: the command bus (aggregate
//! loading, the audit state), the projections and the sagas all decode stored events through it.
//! The audit stream shows events as stored; that is the audit truth.

use std::sync::LazyLock;

use cqrs_es::persist::{EventUpcaster, SerializedEvent};
use cqrs_es::Aggregate;
use serde_json::Value;

use crate::invoice::PAYMENT_FAILED_VERSION;

mod cancellation;
mod invoice_collection;

/// Every upcaster, in the order they apply.
static UPCASTERS: LazyLock<Vec<Box<dyn EventUpcaster>>> = LazyLock::new(|| {
    vec![
        Box::new(PaymentFailedDeclineCode),
        Box::new(cancellation::TypedCancellationReason),
        Box::new(invoice_collection::InvoiceCollectionMethod),
    ]
});

/// `event` in the shape this build's event types read.
pub fn upcast(event: SerializedEvent) -> SerializedEvent {
    UPCASTERS.iter().fold(event, |event, upcaster| {
        if upcaster.can_upcast(&event.event_type, &event.event_version) {
            upcaster.upcast(event)
        } else {
            event
        }
    })
}

/// Whether [`upcast`] would leave an event of this type and version as it is: readers then
/// decode the stored payload in place, without copying it.
pub fn is_current(event_type: &str, event_version: &str) -> bool {
    !UPCASTERS
        .iter()
        .any(|upcaster| upcaster.can_upcast(event_type, event_version))
}

/// Invoice `PaymentFailed` 1.0 → 2.0: the field `code` is renamed `decline_code`. Payloads are
/// externally tagged (`{"PaymentFailed": {...}}`). Scoped to the invoice aggregate: cqrs-es's
/// `SemanticVersionEventUpcaster` matches on the event type alone.
struct PaymentFailedDeclineCode;

impl EventUpcaster for PaymentFailedDeclineCode {
    fn can_upcast(&self, event_type: &str, event_version: &str) -> bool {
        event_type == "PaymentFailed" && event_version == crate::EVENT_VERSION_1
    }

    fn upcast(&self, mut event: SerializedEvent) -> SerializedEvent {
        if event.aggregate_type != crate::invoice::Invoice::TYPE {
            return event;
        }
        if let Some(Value::Object(fields)) = event.payload.get_mut("PaymentFailed") {
            if let Some(code) = fields.remove("code") {
                fields.insert("decline_code".to_owned(), code);
            }
        }
        event.event_version = PAYMENT_FAILED_VERSION.to_owned();
        event
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::invoice::InvoiceEvent;

    fn stored(aggregate_type: &str, version: &str, payload: Value) -> SerializedEvent {
        SerializedEvent::new(
            "inv-1".into(),
            2,
            aggregate_type.into(),
            "PaymentFailed".into(),
            version.into(),
            payload,
            Value::Null,
        )
    }

    fn v1_payload() -> Value {
        json!({"PaymentFailed": {
            "attempt": 1, "reason": "Your card was declined.", "code": "card_declined",
            "payment_ref": null, "hard_decline": false,
            "amount_due": {"amount": 4900, "currency": "usd"}, "at": "2026-03-01T00:00:00Z"
        }})
    }

    #[test]
    fn a_stored_v1_payment_failure_reads_as_v2() {
        let read = upcast(stored("invoice", "1.0", v1_payload()));
        assert_eq!(read.event_version, "2.0");
        let event: InvoiceEvent = serde_json::from_value(read.payload).unwrap();
        let InvoiceEvent::PaymentFailed { decline_code, .. } = event else {
            panic!("not a PaymentFailed: {event:?}");
        };
        assert_eq!(decline_code, "card_declined");
    }

    #[test]
    fn only_events_an_upcaster_reads_are_not_current() {
        assert!(!is_current("PaymentFailed", crate::EVENT_VERSION_1));
        assert!(is_current("PaymentFailed", PAYMENT_FAILED_VERSION));
        assert!(is_current("SeatsAdded", crate::EVENT_VERSION_1));
    }

    #[test]
    fn the_current_version_and_other_aggregates_pass_unchanged() {
        let v2 = json!({"PaymentFailed": {"decline_code": "x"}});
        assert_eq!(upcast(stored("invoice", "2.0", v2.clone())).payload, v2);
        let other = stored("dunning_case", "1.0", v1_payload());
        assert_eq!(upcast(other.clone()), other);
    }

    #[test]
    fn the_v2_payload_round_trips_through_the_event_type() {
        let read = upcast(stored("invoice", "1.0", v1_payload()));
        let event: InvoiceEvent = serde_json::from_value(read.payload.clone()).unwrap();
        assert_eq!(serde_json::to_value(&event).unwrap(), read.payload);
        assert_eq!(
            cqrs_es::DomainEvent::event_version(&event),
            PAYMENT_FAILED_VERSION
        );
    }
}

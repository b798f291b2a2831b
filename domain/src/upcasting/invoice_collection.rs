//! Invoice `InvoiceIssued` 1.0 → 2.0: version 2 says how the invoice is collected. Version 1
//! left it to who issued it (the billing policy's invoices were charged at once, manual ones
//! only when asked), and the two are told apart by their lines: a manual invoice has only
//! `manual` lines, and the policy never issues one.

use cqrs_es::persist::{EventUpcaster, SerializedEvent};
use serde_json::Value;

use crate::invoice::{CollectionMethod, Invoice, LineKind, INVOICE_ISSUED_VERSION};

pub(super) struct InvoiceCollectionMethod;

const ISSUED: &str = "InvoiceIssued";

impl EventUpcaster for InvoiceCollectionMethod {
    fn can_upcast(&self, event_type: &str, event_version: &str) -> bool {
        event_type == ISSUED && event_version == crate::EVENT_VERSION_1
    }

    fn upcast(&self, mut event: SerializedEvent) -> SerializedEvent {
        use cqrs_es::Aggregate;
        if event.aggregate_type != Invoice::TYPE {
            return event;
        }
        if let Some(Value::Object(fields)) = event.payload.get_mut(ISSUED) {
            let manual = serde_json::json!(LineKind::Manual);
            let all_manual = fields
                .get("lines")
                .and_then(Value::as_array)
                .is_some_and(|lines| lines.iter().all(|line| line.get("kind") == Some(&manual)));
            let collection = if all_manual {
                CollectionMethod::Manual
            } else {
                CollectionMethod::Automatic
            };
            fields.insert("collection".into(), Value::from(collection.as_str()));
        }
        event.event_version = INVOICE_ISSUED_VERSION.to_owned();
        event
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::invoice::InvoiceEvent;
    use crate::upcasting::upcast;

    fn stored(kinds: &[&str]) -> SerializedEvent {
        let lines: Vec<Value> = kinds
            .iter()
            .map(|kind| {
                json!({"description": "x", "kind": kind, "quantity": 1,
                       "unit_amount": {"amount": 100, "currency": "usd"},
                       "amount": {"amount": 100, "currency": "usd"}})
            })
            .collect();
        SerializedEvent::new(
            "inv-1".into(),
            1,
            "invoice".into(),
            ISSUED.into(),
            "1.0".into(),
            json!({ISSUED: {
                "invoice_id": "6c656467-6572-6c69-6e65-000000000001", "account_id": "acct_1",
                "subscription_id": null, "currency": "usd", "lines": lines,
                "total": {"amount": 100 * kinds.len(), "currency": "usd"},
                "issued_at": "2026-03-01T00:00:00Z", "due_at": "2026-03-01T00:00:00Z"
            }}),
            Value::Null,
        )
    }

    fn collection(kinds: &[&str]) -> CollectionMethod {
        let read = upcast(stored(kinds));
        assert_eq!(read.event_version, INVOICE_ISSUED_VERSION);
        match serde_json::from_value(read.payload).unwrap() {
            InvoiceEvent::InvoiceIssued { collection, .. } => collection,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_stored_v1_invoice_is_collected_as_its_lines_say() {
        assert_eq!(collection(&["manual", "manual"]), CollectionMethod::Manual);
        assert_eq!(collection(&["base"]), CollectionMethod::Automatic);
        assert_eq!(
            collection(&["base", "overage", "proration"]),
            CollectionMethod::Automatic
        );
    }
}

//! `previous_attributes`, as Stripe sends them: the top-level fields of a resource that changed
//! since the last event about it, with their old values.

use serde_json::{Map, Value};

/// The fields that differ in `after`, with their values in `before` (a field `before` lacked
/// counts as `null`); `None` when there is nothing before or nothing changed.
pub(super) fn previous_attributes(before: Option<&Value>, after: &Value) -> Option<Value> {
    let (Value::Object(before), Value::Object(after)) = (before?, after) else {
        return None;
    };
    let changed: Map<String, Value> = after
        .iter()
        .map(|(field, value)| (field, value, before.get(field).unwrap_or(&Value::Null)))
        .filter(|(_, value, old)| value != old)
        .map(|(field, _, old)| (field.clone(), old.clone()))
        .collect();
    (!changed.is_empty()).then_some(Value::Object(changed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_changed_fields_with_their_old_values() {
        let before = json!({"status": "trialing", "seats": 3, "plan_id": "pro"});
        let after = json!({"status": "active", "seats": 3, "plan_id": "pro", "ended_at": null,
                           "version": 2});
        assert_eq!(
            previous_attributes(Some(&before), &after),
            Some(json!({"status": "trialing", "version": null}))
        );
    }

    #[test]
    fn nothing_before_or_nothing_changed_gives_none() {
        let object = json!({"status": "active"});
        assert_eq!(previous_attributes(None, &object), None);
        assert_eq!(previous_attributes(Some(&object), &object), None);
    }
}

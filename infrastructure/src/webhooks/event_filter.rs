//! Which catalog events an endpoint receives: `["*"]` for all of them, or a list of types, where
//! `invoice.*` names every type of one resource.

/// Every type of the public catalog (SPEC 9.1).
pub const EVENT_TYPES: &[&str] = &[
    "subscription.created",
    "subscription.activated",
    "subscription.updated",
    "subscription.past_due",
    "subscription.cancelled",
    "subscription.trial_will_end",
    "invoice.issued",
    "invoice.paid",
    "invoice.payment_failed",
    "invoice.refunded",
    "invoice.voided",
    "invoice.uncollectible",
    "credit_note.created",
    "entitlements.updated",
    "usage.limit_reached",
    "dunning_case.opened",
    "dunning_case.escalated",
    "dunning_case.recovered",
    "dunning_case.closed",
    "webhook_endpoint.disabled",
    "customer_balance.updated",
];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidEventFilter {
    #[error("enabled_events must name at least one event type, or \"*\"")]
    Empty,
    #[error("`{0}` is not an event type (see docs/webhooks.md), nor \"*\" or `resource.*`")]
    Unknown(String),
}

/// Checks a requested list: each entry `*`, a catalog type, or `resource.*` for a resource that
/// has types. Duplicates go; the order is kept.
pub fn parse(requested: Vec<String>) -> Result<Vec<String>, InvalidEventFilter> {
    if requested.is_empty() {
        return Err(InvalidEventFilter::Empty);
    }
    let mut kept: Vec<String> = Vec::with_capacity(requested.len());
    for entry in requested {
        let known = entry == "*"
            || EVENT_TYPES.contains(&entry.as_str())
            || entry.strip_suffix(".*").is_some_and(|resource| {
                EVENT_TYPES
                    .iter()
                    .any(|t| t.split_once('.').is_some_and(|(r, _)| r == resource))
            });
        if !known {
            return Err(InvalidEventFilter::Unknown(entry));
        }
        if !kept.contains(&entry) {
            kept.push(entry);
        }
    }
    Ok(kept)
}

/// Whether an event of `event_type` goes to an endpoint with `enabled` events.
pub fn matches(enabled: &[String], event_type: &str) -> bool {
    enabled.iter().any(|entry| {
        entry == "*"
            || entry == event_type
            || entry
                .strip_suffix('*')
                .is_some_and(|prefix| prefix.ends_with('.') && event_type.starts_with(prefix))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[&str]) -> Vec<String> {
        entries.iter().map(|e| (*e).to_owned()).collect()
    }

    #[test]
    fn filters_by_exact_type_resource_or_everything() {
        let invoices = list(&["invoice.*"]);
        assert!(matches(&invoices, "invoice.paid"));
        assert!(!matches(&invoices, "subscription.created"));
        assert!(!matches(&list(&["invoice.paid"]), "invoice.issued"));
        assert!(matches(&list(&["*"]), "dunning_case.closed"));
        assert!(!matches(&list(&["invoice.paid"]), "invoice.paid_out"));
    }

    #[test]
    fn unknown_types_and_empty_lists_are_refused() {
        assert_eq!(parse(vec![]), Err(InvalidEventFilter::Empty));
        assert_eq!(
            parse(list(&["invoice.payed"])),
            Err(InvalidEventFilter::Unknown("invoice.payed".into()))
        );
        assert!(parse(list(&["nope.*"])).is_err());
        assert!(parse(list(&["invoice*"])).is_err());
        assert_eq!(
            parse(list(&["invoice.*", "invoice.*", "*"])),
            Ok(list(&["invoice.*", "*"]))
        );
    }
}

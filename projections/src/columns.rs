//! How domain values are written in read-model columns, and read back: one text form for each,
//! so that a rebuild writes byte-identical rows and both backends store the same thing.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use domain::entitlements::EntitlementStatus;
use domain::FeatureKey;

use infrastructure::consumers::ProjectionError;

pub use infrastructure::portable::timestamp;

pub fn parse_timestamp(text: &str) -> Result<DateTime<Utc>, ProjectionError> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.to_utc())
        .map_err(|e| ProjectionError::Corrupt(format!("timestamp `{text}`: {e}")))
}

pub fn entitlement_status(status: EntitlementStatus) -> &'static str {
    match status {
        EntitlementStatus::None => "none",
        EntitlementStatus::Enabled => "enabled",
        EntitlementStatus::Suspended => "suspended",
        EntitlementStatus::Revoked => "revoked",
    }
}

pub fn parse_entitlement_status(text: &str) -> Result<EntitlementStatus, ProjectionError> {
    [
        EntitlementStatus::None,
        EntitlementStatus::Enabled,
        EntitlementStatus::Suspended,
        EntitlementStatus::Revoked,
    ]
    .into_iter()
    .find(|status| entitlement_status(*status) == text)
    .ok_or_else(|| ProjectionError::Corrupt(format!("entitlement status `{text}`")))
}

/// A set of feature keys as a JSON array, in key order.
pub fn feature_list(features: &BTreeSet<FeatureKey>) -> String {
    let keys: Vec<&str> = features.iter().map(FeatureKey::as_str).collect();
    serde_json::Value::from(keys).to_string()
}

pub fn parse_feature_list(text: &str) -> Result<Vec<String>, ProjectionError> {
    serde_json::from_str(text)
        .map_err(|e| ProjectionError::Corrupt(format!("feature list `{text}`: {e}")))
}

/// A count as a signed column value (SQL has no unsigned 64-bit integer). A count beyond it is
/// stored as `i64::MAX`, over any limit a column can hold, rather than stop the projection.
pub fn count(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A count column read back.
pub fn parse_count(value: i64) -> Result<u64, ProjectionError> {
    u64::try_from(value).map_err(|_| ProjectionError::Corrupt(format!("negative count {value}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_in_one_text_form() {
        let at = parse_timestamp("2026-03-01T00:00:00+00:00").unwrap();
        assert_eq!(timestamp(at), "2026-03-01T00:00:00Z");
        assert_eq!(parse_timestamp(&timestamp(at)).unwrap(), at);
        assert!(parse_timestamp("yesterday").is_err());
    }

    #[test]
    fn statuses_and_feature_lists_round_trip() {
        for status in [
            EntitlementStatus::None,
            EntitlementStatus::Enabled,
            EntitlementStatus::Suspended,
            EntitlementStatus::Revoked,
        ] {
            // The column text is the wire text.
            let wire = serde_json::to_value(status).unwrap();
            assert_eq!(wire, entitlement_status(status));
            assert_eq!(
                parse_entitlement_status(entitlement_status(status)).unwrap(),
                status
            );
        }
        let features: BTreeSet<FeatureKey> = ["sso", "api_access"]
            .into_iter()
            .map(|key| FeatureKey::parse(key).unwrap())
            .collect();
        assert_eq!(feature_list(&features), r#"["api_access","sso"]"#);
        assert_eq!(
            parse_feature_list(&feature_list(&features)).unwrap(),
            ["api_access", "sso"]
        );
    }
}

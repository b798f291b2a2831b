//! Usage metering inputs: the key that makes a usage record idempotent, and the bounds of one
//! record's quantity. Both are checked once, here, so the aggregate only sees sound values.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;

/// The largest quantity one usage record may carry. Far above any real single event, it keeps
/// a period's counter far from `u64::MAX` and catches unit mistakes (bytes sent as counts).
pub const MAX_USAGE_QUANTITY: u64 = 1_000_000_000;

/// Checks that one usage record's quantity is between 1 and [`MAX_USAGE_QUANTITY`].
pub fn check_quantity(quantity: u64) -> Result<u64, ValidationError> {
    if (1..=MAX_USAGE_QUANTITY).contains(&quantity) {
        Ok(quantity)
    } else {
        Err(ValidationError::new(
            "quantity",
            format!("{quantity} is out of range: expected 1 to {MAX_USAGE_QUANTITY}"),
        ))
    }
}

/// The product's own identifier of one usage record: recording the same id twice counts once.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UsageId(String);

impl UsageId {
    pub const MAX_CHARS: usize = 255;

    /// Accepts 1 to 255 characters with no control characters. Any other shape (UUIDs,
    /// `evt_…`, composite keys) is the product's business.
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        let chars = value.chars().count();
        if (1..=Self::MAX_CHARS).contains(&chars) && !value.chars().any(char::is_control) {
            Ok(Self(value.to_owned()))
        } else {
            Err(ValidationError::new(
                "usage_id",
                format!(
                    "`{}` is not valid: expected 1 to {} characters without control characters",
                    value.escape_debug(),
                    Self::MAX_CHARS
                ),
            ))
        }
    }

    /// The id of a new usage record: also refuses an id that is all whitespace. Stored events
    /// load through [`UsageId::parse`], whose laxer rule they were recorded under.
    pub fn parse_new(value: &str) -> Result<Self, ValidationError> {
        if value.trim().is_empty() {
            return Err(ValidationError::new(
                "usage_id",
                "must not be empty or only whitespace",
            ));
        }
        Self::parse(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for UsageId {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<UsageId> for String {
    fn from(value: UsageId) -> Self {
        value.0
    }
}

impl fmt::Display for UsageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_ids_are_one_to_255_characters_without_control_characters() {
        for ok in [
            "u1",
            "evt_01HZX",
            "4f1c9a4e-1b7e-4b0e-9d55-2f7f2f7e9a10",
            "a b",
            "é",
        ] {
            assert!(UsageId::parse(ok).is_ok(), "{ok}");
        }
        assert!(
            UsageId::parse(&"é".repeat(255)).is_ok(),
            "counts characters, not bytes"
        );
        for bad in [
            String::new(),
            "x".repeat(256),
            "line\nbreak".into(),
            "nul\0".into(),
        ] {
            let err = UsageId::parse(&bad).unwrap_err();
            assert_eq!(err.field, "usage_id");
        }
    }

    #[test]
    fn new_usage_ids_are_not_blank() {
        for blank in ["", " ", "\t", "  \u{3000}"] {
            assert_eq!(UsageId::parse_new(blank).unwrap_err().field, "usage_id");
        }
        assert!(UsageId::parse_new(" u1 ").is_ok());
        assert!(UsageId::parse(" ").is_ok(), "stored events still load");
    }

    #[test]
    fn usage_ids_revalidate_when_deserialised() {
        assert!(serde_json::from_str::<UsageId>("\"\"").is_err());
        assert_eq!(
            serde_json::from_str::<UsageId>("\"u1\"").unwrap(),
            UsageId::parse("u1").unwrap()
        );
    }

    #[test]
    fn a_quantity_is_between_one_and_a_billion() {
        assert_eq!(check_quantity(1), Ok(1));
        assert_eq!(check_quantity(MAX_USAGE_QUANTITY), Ok(MAX_USAGE_QUANTITY));
        for bad in [0, MAX_USAGE_QUANTITY + 1, u64::MAX] {
            assert_eq!(check_quantity(bad).unwrap_err().field, "quantity");
        }
    }
}

//! Small value types that parse rather than validate: once constructed, they are known good.
//! Each one serialises as its plain string or number and re-validates when deserialised.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;

/// Declares a string newtype whose only constructor is `parse`, checked by `$valid`.
macro_rules! parsed_string {
    ($(#[$doc:meta])* $name:ident, $field:literal, $valid:expr, $expected:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(value: &str) -> Result<Self, ValidationError> {
                let valid: fn(&str) -> bool = $valid;
                if valid(value) {
                    Ok(Self(value.to_owned()))
                } else {
                    Err(ValidationError::new(
                        $field,
                        format!("`{}` is not valid: expected {}", value, $expected),
                    ))
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = ValidationError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

pub(crate) use parsed_string;

fn is_key(value: &str, max: usize, extra: &[u8]) -> bool {
    !value.is_empty()
        && value.len() <= max
        && value.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || extra.contains(&b)
        })
}

parsed_string!(
    /// The product's own identifier for a customer account (`acct_42`, a UUID, …).
    AccountId,
    "account_id",
    |v| !v.is_empty()
        && v.len() <= 64
        && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.:".contains(&b)),
    "1 to 64 characters of letters, digits, `_`, `-`, `.` or `:`"
);

parsed_string!(
    /// A plan in the catalog, such as `pro`.
    PlanId,
    "plan_id",
    |v| is_key(v, 64, b"-"),
    "1 to 64 characters of lower-case letters, digits, `_` or `-`"
);

parsed_string!(
    /// A feature key such as `api_calls`.
    FeatureKey,
    "feature",
    |v| is_key(v, 64, b""),
    "1 to 64 characters of lower-case letters, digits or `_`"
);

parsed_string!(
    /// An opaque payment-method token from the payment provider, such as `pm_card_visa`.
    PaymentMethodToken,
    "payment_method",
    |v| !v.is_empty() && v.len() <= 255 && v.bytes().all(|b| b.is_ascii_graphic()),
    "1 to 255 printable ASCII characters"
);

parsed_string!(
    /// What an invoice number starts with (`LL` in `LL-000001`); each prefix numbers its own
    /// gapless sequence.
    InvoicePrefix,
    "invoice_prefix",
    |v| !v.is_empty()
        && v.len() <= 16
        && v.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()),
    "1 to 16 upper-case letters or digits"
);

parsed_string!(
    /// A billing e-mail address: one `@`, a non-empty local part, and a dotted domain.
    Email,
    "email",
    is_email,
    "an address such as `billing@example.com`"
);

// A deliberately modest check: the address is only ever used to reach a human, and the real
// proof of an address is a delivered message, not a regex.
fn is_email(v: &str) -> bool {
    if v.len() > 254 || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    match v.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && domain
                    .split('.')
                    .all(|label| !label.is_empty() && !label.starts_with('-'))
        }
        None => false,
    }
}

/// Free text that must not be blank and holds at most `max_chars` characters.
pub(crate) fn require_text(
    field: &str,
    value: &str,
    max_chars: usize,
) -> Result<(), crate::error::DomainError> {
    if value.trim().is_empty() || value.chars().count() > max_chars {
        return Err(crate::error::DomainError::invalid(
            field,
            format!("must be 1 to {max_chars} characters and not blank"),
        ));
    }
    Ok(())
}

/// A number of seats or a seat delta: at least 1, at most [`SeatCount::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct SeatCount(u32);

impl SeatCount {
    /// Far above any real plan; keeps every seat price product well inside `i64`.
    pub const MAX: u32 = 1_000_000;
    pub const ONE: SeatCount = SeatCount(1);

    pub fn parse(value: u32) -> Result<Self, ValidationError> {
        if (1..=Self::MAX).contains(&value) {
            Ok(Self(value))
        } else {
            Err(ValidationError::new(
                "seats",
                format!("{value} is out of range: expected 1 to {}", Self::MAX),
            ))
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }

    /// `self + more`, refused past [`SeatCount::MAX`].
    pub fn checked_add(self, more: SeatCount) -> Result<SeatCount, ValidationError> {
        Self::parse(self.0.saturating_add(more.0))
    }

    /// `self - fewer`, or `None` when that would leave fewer than one seat.
    pub fn checked_sub(self, fewer: SeatCount) -> Option<SeatCount> {
        self.0
            .checked_sub(fewer.0)
            .filter(|n| *n >= 1)
            .map(SeatCount)
    }
}

impl TryFrom<u32> for SeatCount {
    type Error = ValidationError;
    fn try_from(value: u32) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<SeatCount> for u32 {
    fn from(value: SeatCount) -> Self {
        value.0
    }
}

impl fmt::Display for SeatCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_accept_product_identifiers() {
        for ok in [
            "acct_42",
            "4f1c9a4e-1b7e-4b0e-9d55-2f7f2f7e9a10",
            "org:7.team-1",
        ] {
            assert!(AccountId::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "has space", "semi;colon", &"x".repeat(65)] {
            assert!(AccountId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn plan_and_feature_keys_are_lower_case() {
        assert!(PlanId::parse("pro").is_ok());
        assert!(PlanId::parse("Pro").is_err());
        assert!(FeatureKey::parse("api_calls").is_ok());
        assert!(FeatureKey::parse("api-calls").is_err());
        assert!(FeatureKey::parse("").is_err());
    }

    #[test]
    fn emails_need_a_local_part_and_a_dotted_domain() {
        assert!(Email::parse("billing@example.com").is_ok());
        for bad in [
            "",
            "billing",
            "@example.com",
            "a@b",
            "a@@b.com",
            "a b@c.com",
            "a@.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn payment_tokens_are_printable() {
        assert!(PaymentMethodToken::parse("pm_card_visa").is_ok());
        assert!(PaymentMethodToken::parse("pm card").is_err());
        assert!(PaymentMethodToken::parse("").is_err());
    }

    #[test]
    fn invoice_prefixes_are_short_upper_case_words() {
        for good in ["LL", "INV2026", "A"] {
            assert_eq!(InvoicePrefix::parse(good).unwrap().as_str(), good);
        }
        for bad in ["", "ll", "LL-", "L L", "ABCDEFGHIJKLMNOPQ"] {
            assert!(InvoicePrefix::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn seats_stay_between_one_and_max() {
        assert!(SeatCount::parse(0).is_err());
        assert!(SeatCount::parse(SeatCount::MAX + 1).is_err());
        let three = SeatCount::parse(3).unwrap();
        assert_eq!(three.checked_add(SeatCount::ONE).unwrap().get(), 4);
        assert!(SeatCount::parse(SeatCount::MAX)
            .unwrap()
            .checked_add(SeatCount::ONE)
            .is_err());
        assert_eq!(
            three
                .checked_sub(SeatCount::parse(2).unwrap())
                .unwrap()
                .get(),
            1
        );
        assert!(three.checked_sub(three).is_none());
    }

    #[test]
    fn deserialisation_revalidates() {
        assert!(serde_json::from_str::<SeatCount>("0").is_err());
        assert!(serde_json::from_str::<Email>("\"nope\"").is_err());
        assert_eq!(
            serde_json::from_str::<PlanId>("\"pro\"").unwrap(),
            PlanId::parse("pro").unwrap()
        );
    }
}

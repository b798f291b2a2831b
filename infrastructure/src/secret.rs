//! A secret from the configuration (the bootstrap admin key; later the Stripe keys and webhook
//! signing secrets): it cannot reach a log line or an error message by accident, because its
//! `Debug` and `Display` print a placeholder, never the value.

use std::convert::Infallible;
use std::fmt;
use std::str::FromStr;

/// A secret value. Reading it takes an explicit [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that must use it (hash it, sign with it).
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// So that command-line and environment options can be secrets.
impl FromStr for Secret {
    type Err = Infallible;

    fn from_str(value: &str) -> Result<Self, Infallible> {
        Ok(Self::new(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let secret: Secret = "sk_live_do_not_print".parse().unwrap();
        let holder = Some(secret.clone());
        for shown in [
            format!("{secret}"),
            format!("{secret:?}"),
            format!("{secret:#?}"),
            format!("{holder:?}"),
        ] {
            assert!(!shown.contains("do_not_print"), "{shown}");
            assert!(shown.contains("redacted"), "{shown}");
        }
        assert_eq!(secret.expose(), "sk_live_do_not_print");
    }
}

//! Stripe's webhook signatures (SPEC 10.2): `Stripe-Signature: t=<unix time>,v1=<hex>[,v1=…]`,
//! where each `v1` is HMAC-SHA256 under an endpoint's signing secret over `"{t}.{raw body}"`.
//! Accepted when some `v1` matches some configured secret (several during a rotation), compared
//! in constant time (`Mac::verify_slice`), and `t` is within the tolerance of the clock.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::Secret;

/// Stripe's own default tolerance, in seconds.
pub const TOLERANCE_SECS: i64 = 300;

/// Why a delivery is refused; each is a 400 and records nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Stripe-Signature header is missing")]
    Missing,
    #[error("the Stripe-Signature header has no timestamp or no v1 signature")]
    Malformed,
    #[error("the Stripe-Signature timestamp is more than {TOLERANCE_SECS} s from now")]
    Stale,
    #[error("no v1 signature matches a configured webhook secret")]
    Mismatch,
}

/// Checks `header` (the `Stripe-Signature` value, if any) over `body` against `secrets` at `now`.
pub fn verify(
    header: Option<&str>,
    body: &[u8],
    secrets: &[Secret],
    now: DateTime<Utc>,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            // A `v1` that is not hex can match nothing; it is skipped, not an error.
            Some(("v1", value)) => signatures.extend(hex::decode(value).ok()),
            _ => {}
        }
    }
    let (Some(timestamp), false) = (timestamp, signatures.is_empty()) else {
        return Err(SignatureError::Malformed);
    };
    if (now.timestamp() - timestamp).abs() > TOLERANCE_SECS {
        return Err(SignatureError::Stale);
    }
    let matches = secrets.iter().any(|secret| {
        signatures
            .iter()
            .any(|signature| mac(secret, timestamp, body).verify_slice(signature).is_ok())
    });
    if matches {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

fn mac(secret: &Secret, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    const BODY: &[u8] = br#"{"id":"evt_1","type":"payment_intent.succeeded"}"#;

    fn sign(secret: &str, timestamp: i64) -> String {
        let mac = mac(&Secret::new(secret), timestamp, BODY);
        hex::encode(mac.finalize().into_bytes())
    }

    fn at(timestamp: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(timestamp, 0).unwrap()
    }

    fn secrets(values: &[&str]) -> Vec<Secret> {
        values.iter().map(|s| Secret::new(*s)).collect()
    }

    #[test]
    fn a_signature_by_any_configured_secret_is_accepted() {
        let t = 1_700_000_000;
        let header = format!("t={t},v1={}", sign("whsec_new", t));
        let both = secrets(&["whsec_old", "whsec_new"]);
        assert_eq!(verify(Some(&header), BODY, &both, at(t + 10)), Ok(()));
        // Stripe sends one v1 per active secret during its own rotation.
        let two = format!(
            "t={t},v1={},v1={}",
            sign("whsec_other", t),
            sign("whsec_old", t)
        );
        assert_eq!(verify(Some(&two), BODY, &both, at(t)), Ok(()));
    }

    #[test]
    fn a_wrong_secret_body_or_timestamp_is_a_mismatch() {
        let t = 1_700_000_000;
        let only = secrets(&["whsec_right"]);
        let wrong_secret = format!("t={t},v1={}", sign("whsec_wrong", t));
        assert_eq!(
            verify(Some(&wrong_secret), BODY, &only, at(t)),
            Err(SignatureError::Mismatch)
        );
        let right = format!("t={t},v1={}", sign("whsec_right", t));
        assert_eq!(
            verify(Some(&right), b"{}", &only, at(t)),
            Err(SignatureError::Mismatch)
        );
        let moved = format!("t={},v1={}", t + 1, sign("whsec_right", t));
        assert_eq!(
            verify(Some(&moved), BODY, &only, at(t)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn stale_missing_and_malformed_headers_are_refused() {
        let t = 1_700_000_000;
        let only = secrets(&["whsec_right"]);
        let header = format!("t={t},v1={}", sign("whsec_right", t));
        assert_eq!(verify(Some(&header), BODY, &only, at(t + 300)), Ok(()));
        assert_eq!(
            verify(Some(&header), BODY, &only, at(t + 301)),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(Some(&header), BODY, &only, at(t - 301)),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(None, BODY, &only, at(t)),
            Err(SignatureError::Missing)
        );
        for malformed in [
            "",
            "t=abc,v1=00",
            &format!("t={t}"),
            "v1=00",
            &format!("t={t},v0=00"),
        ] {
            assert_eq!(
                verify(Some(malformed), BODY, &only, at(t)),
                Err(SignatureError::Malformed),
                "{malformed}"
            );
        }
    }
}

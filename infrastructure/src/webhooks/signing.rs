//! Standard Webhooks signatures (standardwebhooks.com): `v1,` + base64 of HMAC-SHA256 keyed by
//! the secret's bytes over `id.timestamp.body`. Secrets are `whsec_` + base64 of 32 random bytes.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::secret::Secret;

type HmacSha256 = Hmac<Sha256>;

const PREFIX: &str = "whsec_";

/// The three headers of a signed delivery.
pub const ID_HEADER: &str = "webhook-id";
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
pub const SIGNATURE_HEADER: &str = "webhook-signature";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a webhook secret must be `whsec_` followed by base64")]
pub struct MalformedSecret;

/// A new signing secret: 32 random bytes.
pub fn new_secret() -> Secret {
    let mut key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    Secret::new(format!("{PREFIX}{}", STANDARD.encode(key)))
}

fn key_of(secret: &Secret) -> Result<Vec<u8>, MalformedSecret> {
    let encoded = secret
        .expose()
        .strip_prefix(PREFIX)
        .ok_or(MalformedSecret)?;
    STANDARD.decode(encoded).map_err(|_| MalformedSecret)
}

fn mac(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length: this cannot fail.
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// One signature, `v1,<base64>`.
pub fn sign(
    secret: &Secret,
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, MalformedSecret> {
    let tag = mac(&key_of(secret)?, id, timestamp, body)
        .finalize()
        .into_bytes();
    Ok(format!("v1,{}", STANDARD.encode(tag)))
}

/// The `webhook-signature` header: one signature per secret, space-separated (during a
/// rotation the new secret's first, then the old one's).
pub fn signature_header(
    secrets: &[&Secret],
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, MalformedSecret> {
    let signatures = secrets
        .iter()
        .map(|secret| sign(secret, id, timestamp, body))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(signatures.join(" "))
}

/// Whether any `v1` signature of `header` was made with `secret`, compared in constant time.
/// What a receiver does; the tests use it as one.
pub fn verify(secret: &Secret, id: &str, timestamp: i64, body: &[u8], header: &str) -> bool {
    let Ok(key) = key_of(secret) else {
        return false;
    };
    header
        .split(' ')
        .filter_map(|signature| signature.strip_prefix("v1,"))
        .filter_map(|encoded| STANDARD.decode(encoded).ok())
        .any(|tag| mac(&key, id, timestamp, body).verify_slice(&tag).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    // The reference vector of the Standard Webhooks libraries.
    const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
    const TIMESTAMP: i64 = 1649367553;
    const BODY: &[u8] = br#"{"email":"test@example.com","username":"test_user"}"#;
    const EXPECTED: &str = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";

    #[test]
    fn signs_as_the_reference_vector() {
        let signed = sign(&Secret::new(SECRET), ID, TIMESTAMP, BODY).unwrap();
        assert_eq!(signed, EXPECTED);
    }

    #[test]
    fn verifies_any_of_several_signatures_and_nothing_altered() {
        let secret = Secret::new(SECRET);
        let other = new_secret();
        let header = signature_header(&[&other, &secret], ID, TIMESTAMP, BODY).unwrap();
        assert_eq!(header.split(' ').count(), 2);
        assert!(verify(&secret, ID, TIMESTAMP, BODY, &header));
        assert!(verify(&other, ID, TIMESTAMP, BODY, &header));
        assert!(!verify(&secret, ID, TIMESTAMP + 1, BODY, &header));
        assert!(!verify(&secret, "msg_other", TIMESTAMP, BODY, &header));
        assert!(!verify(&secret, ID, TIMESTAMP, b"{}", &header));
        assert!(!verify(&new_secret(), ID, TIMESTAMP, BODY, &header));
    }

    #[test]
    fn new_secrets_are_32_random_bytes() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert_eq!(key_of(&a).unwrap().len(), 32);
        assert!(a.expose().starts_with("whsec_"));
        assert_eq!(key_of(&Secret::new("sk_nope")), Err(MalformedSecret));
    }
}

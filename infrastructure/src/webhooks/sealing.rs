//! Webhook secrets at rest. Signing needs the secret itself, so it cannot be hashed: with
//! `LEDGERLINE_SECRETS_KEY` set, secrets are sealed with XChaCha20-Poly1305 under a key derived
//! from it (SHA-256), so a database dump alone cannot forge deliveries. Without it they are
//! stored as they are (`docs/operations.md` says so).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::secret::Secret;

const SEALED: &str = "enc:v1:";
const NONCE_BYTES: usize = 24;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("a webhook secret is encrypted at rest, but LEDGERLINE_SECRETS_KEY is not set")]
    KeyMissing,
    #[error("a webhook secret cannot be decrypted: LEDGERLINE_SECRETS_KEY is not the key it was sealed with, or the row is damaged")]
    Undecryptable,
}

/// Seals and opens stored secrets; without a key, stores them in the clear.
#[derive(Clone, Default)]
pub struct SecretSealer {
    cipher: Option<XChaCha20Poly1305>,
}

impl std::fmt::Debug for SecretSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = if self.cipher.is_some() {
            "sealing"
        } else {
            "clear"
        };
        f.debug_tuple("SecretSealer").field(&state).finish()
    }
}

impl SecretSealer {
    /// With `key` (`LEDGERLINE_SECRETS_KEY`) secrets are encrypted; an empty or absent key
    /// stores them in the clear.
    pub fn new(key: Option<&Secret>) -> Self {
        let cipher = key.filter(|key| !key.is_empty()).map(|key| {
            let derived = Sha256::digest(key.expose().as_bytes());
            XChaCha20Poly1305::new(&derived)
        });
        Self { cipher }
    }

    pub fn encrypts(&self) -> bool {
        self.cipher.is_some()
    }

    /// The text to store for `secret`.
    pub fn seal(&self, secret: &Secret) -> String {
        let Some(cipher) = &self.cipher else {
            return secret.expose().to_owned();
        };
        let mut nonce = [0u8; NONCE_BYTES];
        rand::thread_rng().fill_bytes(&mut nonce);
        let sealed = cipher
            .encrypt(XNonce::from_slice(&nonce), secret.expose().as_bytes())
            .expect("XChaCha20-Poly1305 encrypts any message of this size");
        let mut stored = nonce.to_vec();
        stored.extend_from_slice(&sealed);
        format!("{SEALED}{}", STANDARD.encode(stored))
    }

    /// The secret a stored text holds (sealed or in the clear).
    pub fn open(&self, stored: &str) -> Result<Secret, SealError> {
        let Some(encoded) = stored.strip_prefix(SEALED) else {
            return Ok(Secret::new(stored));
        };
        let cipher = self.cipher.as_ref().ok_or(SealError::KeyMissing)?;
        let raw = STANDARD
            .decode(encoded)
            .map_err(|_| SealError::Undecryptable)?;
        if raw.len() < NONCE_BYTES {
            return Err(SealError::Undecryptable);
        }
        let (nonce, sealed) = raw.split_at(NONCE_BYTES);
        let plain = cipher
            .decrypt(XNonce::from_slice(nonce), sealed)
            .map_err(|_| SealError::Undecryptable)?;
        String::from_utf8(plain)
            .map(Secret::new)
            .map_err(|_| SealError::Undecryptable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_their_key() {
        let secret = Secret::new("whsec_c2VjcmV0");
        let sealer = SecretSealer::new(Some(&Secret::new("key one")));
        let stored = sealer.seal(&secret);
        assert!(stored.starts_with(SEALED));
        assert!(!stored.contains("c2VjcmV0"));
        assert_eq!(sealer.open(&stored), Ok(secret.clone()));
        // A fresh nonce each time.
        assert_ne!(sealer.seal(&secret), stored);
        let other = SecretSealer::new(Some(&Secret::new("key two")));
        assert_eq!(other.open(&stored), Err(SealError::Undecryptable));
        assert_eq!(
            SecretSealer::new(None).open(&stored),
            Err(SealError::KeyMissing)
        );
    }

    #[test]
    fn without_a_key_secrets_are_stored_as_they_are() {
        let secret = Secret::new("whsec_c2VjcmV0");
        let sealer = SecretSealer::new(None);
        assert_eq!(sealer.seal(&secret), "whsec_c2VjcmV0");
        assert_eq!(sealer.open("whsec_c2VjcmV0"), Ok(secret));
        // A key given later still reads the secrets stored before it.
        let keyed = SecretSealer::new(Some(&Secret::new("k")));
        assert_eq!(
            keyed.open("whsec_c2VjcmV0").unwrap().expose(),
            "whsec_c2VjcmV0"
        );
    }
}

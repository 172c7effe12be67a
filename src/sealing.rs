//! Sealing what must wait in the database for delivery (`SESAME_SECRET_KEY`): a stolen
//! database or backup reveals nothing of it without the key, which never enters the database.

use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

const NONCE_LEN: usize = 24;

/// A 256-bit key for XChaCha20-Poly1305 (random 192-bit nonces never repeat in practice).
#[derive(Clone)]
pub struct SealingKey(XChaCha20Poly1305);

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealingKey(…)")
    }
}

impl SealingKey {
    /// Reads 32 bytes given in standard base64 (what `openssl rand -base64 32` prints).
    pub fn from_base64(text: &str) -> Result<Self, &'static str> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|_| "is not base64 (generate one with: openssl rand -base64 32)")?;
        if bytes.len() != 32 {
            return Err("must be 32 bytes once decoded (generate one with: openssl rand -base64 32)");
        }
        Ok(Self(XChaCha20Poly1305::new_from_slice(&bytes).expect("32 bytes")))
    }

    /// A random key living as long as the process: what seals recovery codes while they wait
    /// when no `SESAME_SECRET_KEY` is configured (a demo). A message still waiting when the
    /// process stops never opens, and is dropped; its code was short-lived anyway.
    pub fn ephemeral() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(XChaCha20Poly1305::new_from_slice(&bytes).expect("32 bytes"))
    }

    /// Nonce, then ciphertext and tag. `context` binds the box to its purpose and owner, so that
    /// a box moved to another row does not open.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .0
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plaintext, aad: context })
            .expect("XChaCha20-Poly1305 seals any message of this size");
        [nonce.as_slice(), &sealed].concat()
    }

    /// `None` when the box was made with another key or context, or was altered.
    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < NONCE_LEN {
            return None;
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        self.0.decrypt(XNonce::from_slice(nonce), Payload { msg: body, aad: context }).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

    #[test]
    fn what_is_sealed_opens_with_the_same_key_and_context_only() {
        let key = SealingKey::from_base64(KEY).unwrap();
        let sealed = key.seal(b"8846F7EAEE8FB117AD06BDD830B7586C", b"nt:42");
        assert!(!sealed.windows(8).any(|w| w == b"8846F7EA"), "no cleartext in the box");
        assert_eq!(key.open(&sealed, b"nt:42").unwrap(), b"8846F7EAEE8FB117AD06BDD830B7586C");
        assert_eq!(key.open(&sealed, b"nt:43"), None);
        let other = SealingKey::from_base64("ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=").unwrap();
        assert_eq!(other.open(&sealed, b"nt:42"), None);
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert_eq!(key.open(&altered, b"nt:42"), None);
        assert_eq!(key.open(&sealed[..10], b"nt:42"), None);
        assert_ne!(key.seal(b"x", b"c"), key.seal(b"x", b"c"), "a fresh nonce each time");
    }

    #[test]
    fn keys_must_be_32_bytes_of_base64() {
        assert!(SealingKey::from_base64("not base64!").is_err());
        assert!(SealingKey::from_base64("c2hvcnQ=").is_err());
        assert!(SealingKey::from_base64(&format!(" {KEY}\n")).is_ok());
    }
}

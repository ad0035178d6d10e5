//! Secrets we must be able to read back (TOTP keys) are sealed at rest
//! with AES-256-GCM under a key from configuration (`auth.totp_key`). The
//! stored form is `v1:` + base64(nonce ‖ ciphertext ‖ tag); the owner's id
//! is the associated data, so a sealed value copied to another row does
//! not open. A database copy without the key yields no usable secret.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

const PREFIX: &str = "v1:";

/// The sealing key (its `Debug` shows nothing of it).
pub struct SealKey(LessSafeKey);

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey([REDACTED])")
    }
}

impl SealKey {
    /// A key from 32 bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        // A 32-byte key always fits AES-256.
        let unbound = UnboundKey::new(&AES_256_GCM, bytes).unwrap_or_else(|_| unreachable!());
        Self(LessSafeKey::new(unbound))
    }

    /// A key from its base64 text (32 bytes once decoded).
    pub fn parse(text: &str) -> Result<Self, String> {
        let raw = STANDARD
            .decode(text.trim())
            .map_err(|e| format!("not base64: {e}"))?;
        let bytes: [u8; 32] = raw
            .try_into()
            .map_err(|_| "must be 32 bytes (44 base64 characters)".to_owned())?;
        Ok(Self::from_bytes(&bytes))
    }

    /// Seals `plain` for `owner`.
    pub fn seal(&self, plain: &str, owner: &[u8]) -> Result<String, String> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| "no randomness".to_owned())?;
        let mut buf = plain.as_bytes().to_vec();
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(owner),
                &mut buf,
            )
            .map_err(|_| "sealing failed".to_owned())?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok(format!("{PREFIX}{}", STANDARD.encode(out)))
    }

    /// Opens a value sealed for `owner`; `None` if it is not sealed, was
    /// sealed under another key or for another owner, or was altered.
    pub fn open(&self, stored: &str, owner: &[u8]) -> Option<String> {
        let raw = STANDARD.decode(stored.strip_prefix(PREFIX)?).ok()?;
        if raw.len() < NONCE_LEN {
            return None;
        }
        let (nonce, sealed) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buf = sealed.to_vec();
        let plain = self
            .0
            .open_in_place(nonce, Aad::from(owner), &mut buf)
            .ok()?;
        String::from_utf8(plain.to_vec()).ok()
    }
}

/// Whether a stored value is in the sealed form.
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens_only_with_the_key_and_owner() {
        let k = SealKey::from_bytes(&[7u8; 32]);
        let sealed = k.seal("JBSWY3DPEHPK3PXP", b"owner-1").unwrap();
        assert!(is_sealed(&sealed) && !sealed.contains("JBSWY3DPEHPK3PXP"));
        assert_eq!(
            k.open(&sealed, b"owner-1").as_deref(),
            Some("JBSWY3DPEHPK3PXP")
        );
        assert_eq!(k.open(&sealed, b"owner-2"), None);
        assert_eq!(
            SealKey::from_bytes(&[8u8; 32]).open(&sealed, b"owner-1"),
            None
        );
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push('A');
        assert_eq!(k.open(&tampered, b"owner-1"), None);
        assert_ne!(
            sealed,
            k.seal("JBSWY3DPEHPK3PXP", b"owner-1").unwrap(),
            "fresh nonce"
        );
        assert!(SealKey::parse(&STANDARD.encode([1u8; 32])).is_ok());
        assert!(SealKey::parse("c2hvcnQ=").is_err());
        assert_eq!(format!("{k:?}"), "SealKey([REDACTED])");
    }
}

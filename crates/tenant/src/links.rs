//! Signed links in emails (one-click unsubscribe): an HMAC-SHA256 key from
//! configuration (`notify.link_key`, or derived from `auth.totp_key`) and
//! the public base URL the links point at. Attached to the [`Db`] handle
//! like the sealing key, so the job that builds a mail and the page that
//! follows its link use the same key.
//!
//! [`Db`]: crate::Db

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::hmac;

/// The signing key (its `Debug` shows nothing of it).
pub struct LinkKey(hmac::Key);

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkKey([REDACTED])")
    }
}

impl LinkKey {
    /// A key from 32 bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, bytes))
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

    /// A key derived from another secret (base64 text) for `purpose`:
    /// HMAC-SHA256(secret, purpose), so the other secret's own use and
    /// this one never share a key.
    pub fn derive(secret_base64: &str, purpose: &str) -> Result<Self, String> {
        let raw = STANDARD
            .decode(secret_base64.trim())
            .map_err(|e| format!("not base64: {e}"))?;
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &raw), purpose.as_bytes());
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(tag.as_ref());
        Ok(Self::from_bytes(&bytes))
    }

    /// `base64url(message) "." base64url(tag)`.
    pub fn sign(&self, message: &[u8]) -> String {
        let tag = hmac::sign(&self.0, message);
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(message),
            URL_SAFE_NO_PAD.encode(tag.as_ref())
        )
    }

    /// The message of a token this key signed (constant-time check), or
    /// `None` for anything else.
    pub fn verify(&self, token: &str) -> Option<Vec<u8>> {
        let (message, tag) = token.split_once('.')?;
        let message = URL_SAFE_NO_PAD.decode(message).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        hmac::verify(&self.0, &message, &tag).ok()?;
        Some(message)
    }
}

/// Where signed links point and how they are signed.
#[derive(Debug)]
pub struct Links {
    /// The public base URL, without a trailing slash.
    pub base_url: String,
    /// The signing key.
    pub key: LinkKey,
}

impl Links {
    /// Links under `base_url` signed with `key`.
    pub fn new(base_url: &str, key: LinkKey) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            key,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_verifies_only_with_the_key() {
        let k = LinkKey::from_bytes(&[1u8; 32]);
        let t = k.sign(b"hello");
        assert_eq!(k.verify(&t).as_deref(), Some(&b"hello"[..]));
        let other = LinkKey::from_bytes(&[2u8; 32]);
        assert_eq!(other.verify(&t), None);
        let (m, tag) = t.split_once('.').unwrap_or_default();
        let forged = format!("{}.{tag}", URL_SAFE_NO_PAD.encode(b"hellp"));
        assert_ne!(m, "");
        assert_eq!(k.verify(&forged), None);
        assert_eq!(k.verify("nodot"), None);
        let d1 =
            LinkKey::derive(&STANDARD.encode([3u8; 32]), "a").unwrap_or_else(|e| panic!("{e}"));
        let d2 =
            LinkKey::derive(&STANDARD.encode([3u8; 32]), "b").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(d2.verify(&d1.sign(b"x")), None);
    }
}

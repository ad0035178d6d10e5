//! Webhook signature verification (`Stripe-Signature`), on the raw bytes.
//!
//! The header is `t=<unix>,v1=<hex>[,v1=<hex>…]`; a signature is
//! `hex(HMAC-SHA256(secret, "{t}.{payload}"))`. Any `v1` made with any of
//! our secrets (several during rotation) is accepted when `t` is within the
//! tolerance of now.

use aqueduct_core::Secret;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Stripe's default tolerance: five minutes.
pub const TOLERANCE_SECS: i64 = 300;

/// Why a signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No header, or one that does not parse.
    #[error("missing or malformed Stripe-Signature header")]
    Malformed,
    /// No `v1` matches any secret.
    #[error("no signature matches")]
    Mismatch,
    /// The timestamp is outside the tolerance.
    #[error("timestamp outside the tolerance")]
    Stale,
}

/// Verifies `header` for `payload` at `now` (Unix seconds).
pub fn verify(
    header: Option<&str>,
    payload: &[u8],
    secrets: &[Secret],
    now: i64,
    tolerance: i64,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Malformed)?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let Some((k, v)) = part.trim().split_once('=') else {
            continue;
        };
        match k {
            "t" => timestamp = v.parse::<i64>().ok(),
            "v1" => {
                if let Ok(bytes) = hex::decode(v) {
                    signatures.push(bytes);
                }
            }
            _ => {}
        }
    }
    let t = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let mut matched = false;
    for secret in secrets {
        let expected = sign(secret, t, payload);
        for sig in &signatures {
            matched |= bool::from(sig.as_slice().ct_eq(expected.as_slice()));
        }
    }
    if !matched {
        return Err(SignatureError::Mismatch);
    }
    if (now - t).abs() > tolerance {
        return Err(SignatureError::Stale);
    }
    Ok(())
}

/// `HMAC-SHA256(secret, "{t}.{payload}")`.
pub fn sign(secret: &Secret, t: i64, payload: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.expose().as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(secret: &str, t: i64, payload: &[u8]) -> String {
        format!(
            "t={t},v1={}",
            hex::encode(sign(&Secret::new(secret), t, payload))
        )
    }

    #[test]
    fn accepts_any_v1_and_any_secret() {
        let body = br#"{"id":"evt_1"}"#;
        let secrets = [Secret::new("whsec_old"), Secret::new("whsec_new")];
        let h = format!("t=1000,v1=00ff,{}", &header("whsec_new", 1000, body)[7..]);
        assert_eq!(verify(Some(&h), body, &secrets, 1100, 300), Ok(()));
        let old = header("whsec_old", 1000, body);
        assert_eq!(verify(Some(&old), body, &secrets, 1000, 300), Ok(()));
    }

    #[test]
    fn refuses_tampering_staleness_and_garbage() {
        let body = br#"{"id":"evt_1","amount":100}"#;
        let secrets = [Secret::new("whsec_a")];
        let h = header("whsec_a", 1000, body);
        assert_eq!(
            verify(
                Some(&h),
                br#"{"id":"evt_1","amount":999}"#,
                &secrets,
                1000,
                300
            ),
            Err(SignatureError::Mismatch)
        );
        // Re-serialised JSON (whitespace) fails: the bytes are what is signed.
        assert_eq!(
            verify(
                Some(&h),
                br#"{"id": "evt_1", "amount": 100}"#,
                &secrets,
                1000,
                300
            ),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(Some(&h), body, &secrets, 1301, 300),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(Some(&h), body, &[Secret::new("whsec_b")], 1000, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(None, body, &secrets, 1000, 300),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(Some("v1=abcd"), body, &secrets, 1000, 300),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(Some("t=1000"), body, &secrets, 1000, 300),
            Err(SignatureError::Malformed)
        );
    }
}

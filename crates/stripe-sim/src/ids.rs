//! Stripe-shaped object ids (`pi_3Q…`) and timestamps.

use std::time::{SystemTime, UNIX_EPOCH};

const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A new id such as `pi_5fK2…` (24 random base-62 characters after the prefix).
pub fn new_id(prefix: &str) -> String {
    let a = uuid::Uuid::new_v4().as_u128();
    let b = uuid::Uuid::new_v4().as_u128();
    let mut out = String::with_capacity(prefix.len() + 25);
    out.push_str(prefix);
    out.push('_');
    let mut n = a ^ b.rotate_left(64);
    for _ in 0..24 {
        let idx = usize::try_from(n % 62).unwrap_or(0);
        out.push(char::from(ALPHABET[idx]));
        n /= 62;
        if n == 0 {
            n = b;
        }
    }
    out
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

//! Passwords: policy (length 8–128, not a common password, no composition
//! rules) and argon2id hashing as PHC strings.

use crate::error::TenantError;
use aqueduct_core::Secret;
use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};

/// Shortest accepted password (characters).
pub const MIN_LEN: usize = 8;
/// Longest accepted password (characters).
pub const MAX_LEN: usize = 128;
/// Argon2 memory cost in KiB (19 MiB, OWASP's minimum for argon2id).
pub const M_COST_KIB: u32 = 19 * 1024;
/// Argon2 passes.
pub const T_COST: u32 = 2;
/// Argon2 lanes.
pub const P_COST: u32 = 1;

const COMMON: &str = include_str!("common-passwords.txt");

fn hasher() -> Result<Argon2<'static>, TenantError> {
    let params = Params::new(M_COST_KIB, T_COST, P_COST, None)
        .map_err(|e| TenantError::Invalid(format!("argon2 parameters: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Whether `candidate` is on the bundled list of common passwords
/// (case-insensitive).
pub fn is_common(candidate: &str) -> bool {
    let lower = candidate.to_lowercase();
    COMMON
        .lines()
        .map(str::trim)
        .any(|l| !l.is_empty() && !l.starts_with('#') && l == lower)
}

/// Checks a new password against the policy; the message is for the person.
pub fn check_policy(password: &Secret) -> Result<(), TenantError> {
    let n = password.expose().chars().count();
    if n < MIN_LEN {
        return Err(TenantError::Invalid(format!(
            "the password must be at least {MIN_LEN} characters"
        )));
    }
    if n > MAX_LEN {
        return Err(TenantError::Invalid(format!(
            "the password must be at most {MAX_LEN} characters"
        )));
    }
    if is_common(password.expose()) {
        return Err(TenantError::Invalid(
            "this password is too common; choose another".into(),
        ));
    }
    Ok(())
}

/// Checks the policy and hashes: an argon2id PHC string with a random salt.
pub fn hash(password: &Secret) -> Result<String, TenantError> {
    check_policy(password)?;
    hash_unchecked(password)
}

fn hash_unchecked(password: &Secret) -> Result<String, TenantError> {
    hasher()?
        .hash_password(password.expose().as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| TenantError::Invalid(format!("hashing failed: {e}")))
}

/// Verifies `password` against a stored PHC string. A malformed hash is
/// simply "no match".
pub fn verify(password: &Secret, phc: &str) -> bool {
    hasher().is_ok_and(|h| h.verify_password(password.expose().as_bytes(), phc).is_ok())
}

/// Spends the same time as a real verification, so an unknown email and a
/// wrong password cost the same (no timing oracle for account existence).
pub fn verify_dummy(password: &Secret) {
    static DUMMY: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let phc = DUMMY.get_or_init(|| hash_unchecked(&Secret::new("dummy password for timing")).ok());
    if let Some(phc) = phc {
        let _ = verify(password, phc);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_phc_with_the_required_cost() {
        let phc = hash(&Secret::new("correct horse battery")).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$"), "{phc}");
        assert!(phc.contains("m=19456,t=2,p=1"), "{phc}");
        assert_eq!(phc.split('$').count(), 6, "{phc}");
        assert!(verify(&Secret::new("correct horse battery"), &phc));
        assert!(!verify(&Secret::new("correct horse batterY"), &phc));
        assert!(!verify(&Secret::new("x"), "not a hash"));
        // Salted: the same password hashes differently twice.
        assert_ne!(phc, hash(&Secret::new("correct horse battery")).unwrap());
    }

    #[test]
    fn policy_is_length_and_common_list_only() {
        assert!(check_policy(&Secret::new("short7!")).is_err());
        assert!(
            check_policy(&Secret::new("lowercase words only")).is_ok(),
            "no composition rules"
        );
        assert!(
            check_policy(&Secret::new("a".repeat(64))).is_ok(),
            "64+ allowed"
        );
        assert!(check_policy(&Secret::new("é".repeat(128))).is_ok());
        assert!(check_policy(&Secret::new("a".repeat(129))).is_err());
        for common in [
            "password",
            "Password1",
            "12345678",
            "qwertyuiop",
            "iloveyou",
        ] {
            assert!(check_policy(&Secret::new(common)).is_err(), "{common}");
        }
    }

    #[test]
    fn the_bundled_list_is_substantial() {
        let n = COMMON
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .count();
        assert!(n >= 200, "only {n} common passwords bundled");
    }
}

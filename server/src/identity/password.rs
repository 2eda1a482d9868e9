//! Passwords: argon2id (RustCrypto's `argon2`, OWASP's first choice) in the PHC string format, so
//! the parameters travel with each hash and can be raised later without breaking old hashes.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::TryRngCore;

/// Shortest password an account may have (OWASP ASVS 5.0 asks for at least 8; a room's accounts
/// open restricted information, so more). The demo's accounts are made apart, with `demo`.
pub const MIN_CHARS: usize = 12;
/// Longest: long passphrases are welcome, unbounded input to a memory-hard hash is not.
pub const MAX_CHARS: usize = 128;

/// OWASP's argon2id parameters: 19 MiB, 2 passes, 1 lane.
fn hasher() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(19 * 1024, 2, 1, None).expect("valid parameters"))
}

/// Why a password is not accepted for an account.
pub fn check_policy(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_CHARS {
        return Err(format!("a password has at least {MIN_CHARS} characters"));
    }
    if n > MAX_CHARS {
        return Err(format!("a password has at most {MAX_CHARS} characters"));
    }
    Ok(())
}

/// The PHC string for `password`, with a fresh random salt.
pub fn hash(password: &str) -> anyhow::Result<String> {
    anyhow::ensure!(password.chars().count() <= MAX_CHARS, "a password has at most {MAX_CHARS} characters");
    let mut salt = [0u8; 16];
    rand::rngs::OsRng.try_fill_bytes(&mut salt).map_err(|e| anyhow::anyhow!("no randomness for a salt: {e}"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(hasher().hash_password(password.as_bytes(), &salt).map_err(|e| anyhow::anyhow!("{e}"))?.to_string())
}

/// Whether `password` matches the PHC string `stored`. A malformed hash never matches.
pub fn verify(password: &str, stored: &str) -> bool {
    if password.chars().count() > MAX_CHARS {
        return false;
    }
    PasswordHash::new(stored).is_ok_and(|h| hasher().verify_password(password.as_bytes(), &h).is_ok())
}

/// A hash of nothing anyone knows, verified when a login does not exist so that the answer takes
/// as long as for a wrong password (no account enumeration by timing).
pub fn decoy() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash(&crate::token::hex(16)).expect("hashing a decoy"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_is_argon2id_salted_and_verifies_only_its_password() {
        let a = hash("correct horse battery").unwrap();
        let b = hash("correct horse battery").unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert_ne!(a, b, "salted: the same password hashes differently");
        assert!(verify("correct horse battery", &a));
        assert!(!verify("correct horse batterY", &a));
        assert!(!verify("x", "not a hash"));
        assert!(!verify(&"x".repeat(MAX_CHARS + 1), &a), "overlong input is refused before hashing");
    }

    #[test]
    fn the_policy_names_the_bound() {
        assert!(check_policy("short").unwrap_err().contains("12"));
        assert!(check_policy("twelve chars").is_ok());
        assert!(check_policy(&"x".repeat(200)).unwrap_err().contains("128"));
    }
}

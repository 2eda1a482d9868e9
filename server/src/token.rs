//! Unpredictable tokens (session ids, trainer keys, file names) from the operating system's
//! random source.

use rand::TryRngCore;

/// `bytes` random bytes from the OS, as hex.
pub fn hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.try_fill_bytes(&mut buf).expect("the OS has no randomness to give");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

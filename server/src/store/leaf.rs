//! What one event's leaf commits to. The bytes are fixed here and in the README (an auditor's own
//! verifier recomputes them), never re-encoded from the decoded event:
//!
//! ```text
//! digest = SHA-256(salt || body)              salt: 16 random bytes; body: the stored bytes
//! data   = u64be(seq) || i64be(at_ms)
//!       || u16be(len(actor)) || actor         UTF-8
//!       || u16be(len(kind))  || kind          UTF-8
//!       || digest                             32 bytes
//! leaf   = SHA-256(0x00 || data)              RFC 6962 leaf hash (nodes: SHA-256(0x01 || l || r))
//! ```
//!
//! Purging a body keeps `digest`, so the leaf (and the tree) still verify while the content is
//! gone; the salt makes a purged short body ("yes") unguessable from the digest.

use sha2::{Digest, Sha256};
use tlog_tiles::tlog::{record_hash, Hash};

pub const SALT_LEN: usize = 16;

/// A fresh salt for one event.
pub fn salt() -> [u8; SALT_LEN] {
    rand::random()
}

pub fn content_digest(salt: &[u8], body: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(body);
    h.finalize().into()
}

/// The leaf hash of one event, from its stored fields and its content digest.
pub fn leaf_hash(seq: u64, at_ms: i64, actor: &str, kind: &str, digest: &[u8; 32]) -> Hash {
    let mut data = Vec::with_capacity(8 + 8 + 2 + actor.len() + 2 + kind.len() + 32);
    data.extend_from_slice(&seq.to_be_bytes());
    data.extend_from_slice(&at_ms.to_be_bytes());
    for text in [actor, kind] {
        // Actors and kinds are short (the server makes them); a longer one is cut to what the
        // length field can say rather than making an ambiguous encoding.
        let bytes = &text.as_bytes()[..text.len().min(u16::MAX as usize)];
        data.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
        data.extend_from_slice(bytes);
    }
    data.extend_from_slice(digest);
    record_hash(&data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_leaf_is_the_rfc_6962_hash_of_the_documented_bytes() {
        let digest = content_digest(&[7; SALT_LEN], b"{}");
        let mut data = vec![0, 0, 0, 0, 0, 0, 0, 42, 0, 0, 0, 0, 0, 0, 0, 9, 0, 1, b'a', 0, 2, b'k', b'x'];
        data.extend_from_slice(&digest);
        let mut prefixed = vec![0u8];
        prefixed.extend_from_slice(&data);
        let expected: [u8; 32] = Sha256::digest(&prefixed).into();
        assert_eq!(leaf_hash(42, 9, "a", "kx", &digest).0, expected);
    }

    #[test]
    fn fields_cannot_slide_into_each_other() {
        let d = content_digest(b"", b"");
        assert_ne!(leaf_hash(1, 1, "ab", "c", &d), leaf_hash(1, 1, "a", "bc", &d));
    }
}

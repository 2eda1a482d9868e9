//! The field's own protocols as pure code, one format per file: parsed from untrusted bytes into
//! validated types (every number range-checked, every string bounded, no DTD, bounded size and
//! depth) and encoded back. No I/O: the server's listeners and clients carry the bytes.
//!
//! - [`cap`]: CAP 1.2 alerts (weather services, civil protection, public warning gateways).
//! - [`xml`]: the hardened XML entry point, times and escaping every format shares.
//! - [`cot`]: Cursor-on-Target (TAK: ATAK, WinTAK, iTAK, TAK servers): events, stream framing,
//!   and their meaning for the room.

pub mod cap;
pub mod cot;
pub mod xml;

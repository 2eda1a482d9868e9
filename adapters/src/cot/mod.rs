//! Cursor-on-Target, the TAK family's protocol (ATAK, WinTAK, iTAK, TAK servers):
//! - [`event`]: one `<event>` parsed from untrusted bytes and encoded back;
//! - [`framer`]: a TCP stream of events cut into events, bounded;
//! - [`room`]: what an event means for the room (a position, a chat message, a receipt, an
//!   emergency) and the room's units, incidents and messages as events.

pub mod event;
pub mod framer;
pub mod room;

pub use event::{Chat, CotError, CotEvent, Group, Point, Track};

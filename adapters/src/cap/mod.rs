//! CAP 1.2, the Common Alerting Protocol:
//! - [`alert`]: one `<alert>` parsed from untrusted bytes and encoded back (OASIS schema);
//! - [`room`]: an alert as the room's alert, and an incident as a CAP alert;
//! - [`feed`]: Atom and RSS feeds — the alerts a feed lists, and the room's own feed.

pub mod alert;
pub mod feed;
pub mod room;

pub use alert::*;

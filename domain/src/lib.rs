//! Vigie's room model, free of I/O: what an agency, a unit, an incident and a message are, the
//! [`Command`]s that may change them, the [`Event`]s those commands become, and the one reducer,
//! [`State::apply`], that folds events into the room's picture.
//!
//! The server, the browser (compiled to wasm) and replay all run this same code, so there is
//! exactly one definition of "what the room looks like after these events".
//!
//! Layout:
//! - [`ids`]: typed identifiers and the log's sequence number.
//! - [`geometry`]: WGS84 points and areas (lon, lat in degrees; distances in metres).
//! - [`agency`], [`unit`], [`incident`], [`message`]: the room's entities and their rules.
//! - [`event`]: the facts appended to the log.
//! - [`command`]: validated requests and [`decide`], which turns one into events or a [`Refusal`].
//! - [`state`]: the room itself and the reducer.
//! - [`recommend`]: the nearest available fitting units for an incident, with a rough ETA.
//! - [`summary`]: counts derived from the state (units by status, incidents by priority).
//! - [`time`]: the range every time from outside must lie in.
//! - [`validate`]: checks an event or a state from outside (an imported file) with the same
//!   parsers as live commands.
//! - [`replay`]: the replay clock (play, pause, speed, seek, step), pinned notes, sessions.
//! - [`record`]: the access and administration entries of the record for oversight.
//! - [`timeline`]: which events the timeline shows, on which lane, about what.
//! - [`search`]: what each thing is found by, what an event changes in the index, how a hit
//!   reads for a viewer (through need-to-know).
//! - [`text`]: the words for the room's enums.
//! - [`alert`]: alerts from outside the room (CAP 1.2): areas, urgency, their life and expiry.
//! - [`authority`]: roles, principals and who may give which command (the role table).
//! - [`visibility`]: need-to-know — what a viewer may see of the room and of each event.
//! - [`wire`]: the WebSocket protocol between server and browser.
//! - [`api`]: the HTTP API's request and answer bodies and its error codes, for both sides.

pub mod actor;
pub mod agency;
pub mod alert;
pub mod api;
pub mod authority;
pub mod command;
pub mod event;
pub mod geometry;
pub mod ids;
pub mod incident;
pub mod message;
pub mod recommend;
pub mod record;
pub mod refusal;
pub mod replay;
pub mod search;
pub mod state;
pub mod summary;
#[cfg(test)]
mod testing;
pub mod text;
pub mod time;
pub mod timeline;
pub mod unit;
pub mod validate;
pub mod visibility;
pub mod wire;

pub use agency::{Agency, AgencyKind, Colour};
pub use alert::{Alert, AlertId};
pub use command::{decide, Command};
pub use event::{Event, LoggedEvent};
pub use geometry::{Area, Point};
pub use ids::{AgencyCode, ChannelId, IncidentId, MessageId, Seq, UnitId};
pub use incident::{Incident, IncidentKind, IncidentStatus, Priority};
pub use message::{Channel, Message, MessagePriority};
pub use refusal::{Refusal, RefusalKind};
pub use state::State;
pub use summary::Summary;
pub use unit::{DeviceUid, Fix, Unit, UnitKind, UnitStatus};

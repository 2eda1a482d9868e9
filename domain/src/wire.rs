//! The WebSocket protocol, shared by the server and the browser. JSON, tagged by `type`; every
//! message carries the `seq` it brings the client to, so a client resumes with `?since=<seq>`.

use serde::{Deserialize, Serialize};

use crate::replay::SessionInfo;
use crate::{Event, LoggedEvent, Seq, State};

/// Most bytes a client may send in one WebSocket message.
pub const MAX_CLIENT_MESSAGE_BYTES: usize = 16 * 1024;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// The whole room as of `seq`: replaces whatever the client held.
    Snapshot { seq: Seq, state: Box<State> },
    /// One event of the log. When the client was behind, a run of consecutive position batches
    /// may arrive merged into one (latest fix per unit): `merged_from` is then the run's first seq.
    Event {
        seq: Seq,
        at_ms: i64,
        actor: String,
        event: Event,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        merged_from: Option<Seq>,
    },
    /// The client fell too far behind; the server catches it up from the log after `seq`
    /// (events follow on the same socket). Nothing is skipped.
    Resync { seq: Seq, reason: String },
    /// Sent when the stream is idle; `seq` is the last one delivered.
    Heartbeat { seq: Seq, at_ms: i64 },
    /// A client message was refused; the stream goes on.
    Error { seq: Seq, code: String, message: String },
    /// Replay streams only: the session's clock and pinned notes, sent on connect and after every
    /// change. `server_ms` is the server's wall time when sent, so a follower can correct for
    /// its own clock's offset.
    Replay { seq: Seq, session: Box<SessionInfo>, server_ms: i64 },
    /// Long work under way (a far seek): `done` of `total` events folded so far.
    Progress { seq: Seq, what: String, done: u64, total: u64 },
}

impl ServerMessage {
    pub fn event(logged: &LoggedEvent) -> Self {
        ServerMessage::Event {
            seq: logged.seq,
            at_ms: logged.at_ms,
            actor: logged.actor.clone(),
            event: logged.event.clone(),
            merged_from: None,
        }
    }

    pub fn seq(&self) -> Seq {
        match self {
            ServerMessage::Snapshot { seq, .. }
            | ServerMessage::Event { seq, .. }
            | ServerMessage::Resync { seq, .. }
            | ServerMessage::Heartbeat { seq, .. }
            | ServerMessage::Error { seq, .. }
            | ServerMessage::Replay { seq, .. }
            | ServerMessage::Progress { seq, .. } => *seq,
        }
    }

    /// The logged event an `Event` message carries.
    pub fn into_logged(self) -> Option<LoggedEvent> {
        match self {
            ServerMessage::Event { seq, at_ms, actor, event, .. } => Some(LoggedEvent { seq, at_ms, actor, event }),
            _ => None,
        }
    }
}

/// What a client may send on the stream. Commands go through the HTTP API for now.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    /// Asks for a heartbeat now (a client checking its link).
    Ping,
}

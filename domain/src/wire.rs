//! The WebSocket protocol, shared by the server and the browser. JSON, tagged by `type`; every
//! message carries the `seq` it brings the client to, so a client resumes with `?since=<seq>`.

use serde::{Deserialize, Serialize};

use crate::geometry::Point;
use crate::replay::SessionInfo;
use crate::{Event, Fix, LoggedEvent, Seq, State, UnitId};

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
    /// A position batch, compact: each fix is `[unit_id, lon, lat, heading_deg, speed_mps,
    /// accuracy_m, reported_at_ms]` (absent values `null`). Position batches are nearly all the
    /// stream's bytes; as arrays they are under half the size of `event` objects, which is less to
    /// serialise, to buffer per socket and to parse in the browser. Merging works as for `event`.
    Positions {
        seq: Seq,
        at_ms: i64,
        actor: String,
        fixes: Vec<WireFix>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        merged_from: Option<Seq>,
    },
    /// Replay streams only: the session's clock and pinned notes, sent on connect and after every
    /// change. `server_ms` is the server's wall time when sent, so a follower can correct for
    /// its own clock's offset.
    Replay { seq: Seq, session: Box<SessionInfo>, server_ms: i64 },
    /// Long work under way (a far seek): `done` of `total` events folded so far.
    Progress { seq: Seq, what: String, done: u64, total: u64 },
}

/// One fix as a JSON array (see [`ServerMessage::Positions`]).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct WireFix(pub u32, pub f64, pub f64, pub Option<f64>, pub Option<f64>, pub Option<f64>, pub i64);

impl From<&Fix> for WireFix {
    fn from(f: &Fix) -> Self {
        WireFix(f.unit_id.0, f.position.lon, f.position.lat, f.heading_deg, f.speed_mps, f.accuracy_m, f.reported_at_ms)
    }
}

impl From<WireFix> for Fix {
    /// The server sent fixes it validated; they are taken as they are.
    fn from(w: WireFix) -> Self {
        Fix {
            unit_id: UnitId(w.0),
            position: Point { lon: w.1, lat: w.2 },
            heading_deg: w.3,
            speed_mps: w.4,
            accuracy_m: w.5,
            reported_at_ms: w.6,
        }
    }
}

impl ServerMessage {
    /// The message for one logged event: `positions` for a position batch, else `event`.
    pub fn event(logged: &LoggedEvent) -> Self {
        match &logged.event {
            Event::PositionsReported { fixes } => {
                Self::positions(logged.seq, logged.at_ms, &logged.actor, fixes.iter(), None)
            }
            event => ServerMessage::Event {
                seq: logged.seq,
                at_ms: logged.at_ms,
                actor: logged.actor.clone(),
                event: event.clone(),
                merged_from: None,
            },
        }
    }

    /// A position batch (or a merged run of them, from `merged_from`).
    pub fn positions<'a>(
        seq: Seq,
        at_ms: i64,
        actor: &str,
        fixes: impl Iterator<Item = &'a Fix>,
        merged_from: Option<Seq>,
    ) -> Self {
        ServerMessage::Positions {
            seq,
            at_ms,
            actor: actor.to_owned(),
            fixes: fixes.map(WireFix::from).collect(),
            merged_from,
        }
    }

    pub fn seq(&self) -> Seq {
        match self {
            ServerMessage::Snapshot { seq, .. }
            | ServerMessage::Event { seq, .. }
            | ServerMessage::Positions { seq, .. }
            | ServerMessage::Resync { seq, .. }
            | ServerMessage::Heartbeat { seq, .. }
            | ServerMessage::Error { seq, .. }
            | ServerMessage::Replay { seq, .. }
            | ServerMessage::Progress { seq, .. } => *seq,
        }
    }

    /// The logged event an `event` or `positions` message carries.
    pub fn into_logged(self) -> Option<LoggedEvent> {
        self.into_event().map(|(logged, _)| logged)
    }

    /// The logged event an `event` or `positions` message carries, and its `merged_from`.
    pub fn into_event(self) -> Option<(LoggedEvent, Option<Seq>)> {
        match self {
            ServerMessage::Event { seq, at_ms, actor, event, merged_from } => {
                Some((LoggedEvent { seq, at_ms, actor, event }, merged_from))
            }
            ServerMessage::Positions { seq, at_ms, actor, fixes, merged_from } => {
                let event = Event::PositionsReported { fixes: fixes.into_iter().map(Fix::from).collect() };
                Some((LoggedEvent { seq, at_ms, actor, event }, merged_from))
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_position_batch_travels_as_compact_arrays_and_comes_back_the_same() {
        let fixes: Vec<Fix> = (1..=50)
            .map(|u| {
                Fix::parse(
                    UnitId(u),
                    2.35 + f64::from(u) * 1e-4,
                    48.85,
                    Some(90.5),
                    Some(12.25),
                    if u % 2 == 0 { Some(4.0) } else { None },
                    1_795_000_000_000 + i64::from(u),
                )
                .unwrap()
            })
            .collect();
        let logged = LoggedEvent {
            seq: 7,
            at_ms: 1_795_000_000_500,
            actor: "avl".into(),
            event: Event::PositionsReported { fixes },
        };
        let text = serde_json::to_string(&ServerMessage::event(&logged)).unwrap();
        assert!(text.starts_with(r#"{"type":"positions","seq":7"#), "{text}");
        let (back, merged_from) = serde_json::from_str::<ServerMessage>(&text).unwrap().into_event().unwrap();
        assert_eq!((back, merged_from), (logged.clone(), None));
        let as_event = serde_json::to_string(&logged.event).unwrap();
        assert!(
            text.len() * 2 < as_event.len(),
            "compact: {} bytes against {} as an event",
            text.len(),
            as_event.len()
        );
    }
}

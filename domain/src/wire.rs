//! The WebSocket protocol, shared by the server and the browser. JSON, tagged by `type`.
//!
//! A stream moves its client along the log in **ranges**: every message that moves it forward
//! (`event`, `positions`, `advance`) says the seq the client must stand at for it to apply
//! (`prev_seq`) and the seq it leaves the client at (`seq`). The client checks that each range
//! starts where the previous one ended ([`Cursor`]), not that seqs are consecutive: a range may
//! hold several position batches merged into one message, or events this client may not see
//! (an `advance` carries none of them), so a viewer whose events are all withheld still knows it
//! is up to date. A client resumes with `?since=<seq>` and gets exactly the ranges after it.

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
    /// One event of the log, covering `(prev_seq, seq]`: the event at `seq`, and nothing for this
    /// client between (an event is always alone in its range unless events before it were withheld).
    Event { prev_seq: Seq, seq: Seq, at_ms: i64, actor: String, event: Event },
    /// The log moved from `prev_seq` to `seq` with nothing this client may see.
    Advance { prev_seq: Seq, seq: Seq },
    /// The client fell too far behind; the server catches it up from the log after `seq`
    /// (events follow on the same socket). Nothing is skipped.
    Resync { seq: Seq, reason: String },
    /// Sent when the stream is idle; `seq` is the last one delivered.
    Heartbeat { seq: Seq, at_ms: i64 },
    /// Something the client should show: a message of its own refused (`bad_message`), or a
    /// replay that could not read its log (`replay_failed`). The stream goes on.
    Error { seq: Seq, code: StreamErrorCode, message: String },
    /// A position batch, compact: each fix is `[unit_id, lon, lat, heading_deg, speed_mps,
    /// accuracy_m, reported_at_ms]` (absent values `null`). Position batches are nearly all the
    /// stream's bytes; as arrays they are under half the size of `event` objects, which is less to
    /// serialise, to buffer per socket and to parse in the browser. When the client is behind, a
    /// run of consecutive batches covering `(prev_seq, seq]` arrives merged (latest fix per unit).
    Positions { prev_seq: Seq, seq: Seq, at_ms: i64, actor: String, fixes: Vec<WireFix> },
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

/// Why the server tells a client something went wrong on its stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamErrorCode {
    /// The client sent something that is not a client message.
    BadMessage,
    /// A replay session could not read its log (the server's log says why).
    ReplayFailed,
}

impl ServerMessage {
    /// The message for one logged event, right after `prev_seq`: `positions` for a position
    /// batch, else `event`.
    pub fn event(prev_seq: Seq, logged: &LoggedEvent) -> Self {
        match &logged.event {
            Event::PositionsReported { fixes } => {
                Self::positions(prev_seq, logged.seq, logged.at_ms, &logged.actor, fixes.iter())
            }
            event => ServerMessage::Event {
                prev_seq,
                seq: logged.seq,
                at_ms: logged.at_ms,
                actor: logged.actor.clone(),
                event: event.clone(),
            },
        }
    }

    /// A position batch (or a merged run of them) covering `(prev_seq, seq]`.
    pub fn positions<'a>(
        prev_seq: Seq,
        seq: Seq,
        at_ms: i64,
        actor: &str,
        fixes: impl Iterator<Item = &'a Fix>,
    ) -> Self {
        ServerMessage::Positions {
            prev_seq,
            seq,
            at_ms,
            actor: actor.to_owned(),
            fixes: fixes.map(WireFix::from).collect(),
        }
    }

    /// Where the message leaves (or finds) the client.
    pub fn seq(&self) -> Seq {
        match self {
            ServerMessage::Snapshot { seq, .. }
            | ServerMessage::Event { seq, .. }
            | ServerMessage::Advance { seq, .. }
            | ServerMessage::Positions { seq, .. }
            | ServerMessage::Resync { seq, .. }
            | ServerMessage::Heartbeat { seq, .. }
            | ServerMessage::Error { seq, .. }
            | ServerMessage::Replay { seq, .. }
            | ServerMessage::Progress { seq, .. } => *seq,
        }
    }

    /// The range `(prev_seq, seq]` of the log a message moves the client across, for the
    /// messages that move it (`event`, `positions`, `advance`).
    pub fn range(&self) -> Option<(Seq, Seq)> {
        match self {
            ServerMessage::Event { prev_seq, seq, .. }
            | ServerMessage::Positions { prev_seq, seq, .. }
            | ServerMessage::Advance { prev_seq, seq } => Some((*prev_seq, *seq)),
            _ => None,
        }
    }

    /// The logged event an `event` or `positions` message carries.
    pub fn into_logged(self) -> Option<LoggedEvent> {
        match self {
            ServerMessage::Event { seq, at_ms, actor, event, .. } => Some(LoggedEvent { seq, at_ms, actor, event }),
            ServerMessage::Positions { seq, at_ms, actor, fixes, .. } => {
                let event = Event::PositionsReported { fixes: fixes.into_iter().map(Fix::from).collect() };
                Some(LoggedEvent { seq, at_ms, actor, event })
            }
            _ => None,
        }
    }
}

/// Where a client stands in the log, and the one rule for moving it: a range applies only where
/// the client stands. Shared by the browser, the tests and the load generator.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cursor {
    pub seq: Seq,
}

/// What a client does with a range `(prev_seq, seq]` it receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// It starts where the client stands: apply it, the client moves to its end.
    Apply,
    /// The client already holds all of it (a repeat): ignore it.
    Held,
    /// It starts after the client (something is missing) or straddles it: reconnect with
    /// `since` = where the client stands.
    Gap,
}

impl Cursor {
    pub fn at(seq: Seq) -> Self {
        Self { seq }
    }

    /// Checks the range `(prev_seq, seq]` and, when it applies, moves to its end.
    pub fn step(&mut self, prev_seq: Seq, seq: Seq) -> Step {
        if prev_seq >= seq {
            return Step::Gap; // not a range: the stream is broken
        }
        if seq <= self.seq {
            return Step::Held;
        }
        if prev_seq != self.seq {
            return Step::Gap;
        }
        self.seq = seq;
        Step::Apply
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
        let text = serde_json::to_string(&ServerMessage::event(6, &logged)).unwrap();
        assert!(text.starts_with(r#"{"type":"positions","prev_seq":6,"seq":7"#), "{text}");
        let message = serde_json::from_str::<ServerMessage>(&text).unwrap();
        assert_eq!(message.range(), Some((6, 7)));
        assert_eq!(message.into_logged().unwrap(), logged);
        let as_event = serde_json::to_string(&logged.event).unwrap();
        assert!(
            text.len() * 2 < as_event.len(),
            "compact: {} bytes against {} as an event",
            text.len(),
            as_event.len()
        );
    }

    #[test]
    fn a_cursor_applies_ranges_that_start_where_it_stands_and_nothing_else() {
        let mut c = Cursor::at(10);
        assert_eq!(c.step(10, 11), Step::Apply);
        assert_eq!(c.step(11, 40), Step::Apply, "a range may cover withheld events or a merged run");
        assert_eq!(c.seq, 40);
        assert_eq!(c.step(20, 30), Step::Held, "already held: a repeat");
        assert_eq!(c.step(39, 40), Step::Held);
        assert_eq!(c.step(41, 42), Step::Gap, "41 is missing");
        assert_eq!(c.step(35, 45), Step::Gap, "straddles: part held, part new");
        assert_eq!(c.step(40, 40), Step::Gap, "an empty range is a broken stream");
        assert_eq!(c.seq, 40, "refused ranges do not move it");
    }
}

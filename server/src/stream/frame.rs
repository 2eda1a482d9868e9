//! What waits in a client's outbox: messages serialised once and shared, and the few built for one
//! client (a merged run of position batches, an advance over withheld events).

use bytes::Bytes;
use std::collections::BTreeMap;
use std::sync::Arc;
use vigie_domain::wire::ServerMessage;
use vigie_domain::{Event, Fix, LoggedEvent, Seq, UnitId};

/// Rough JSON size of one fix, used to account merged position frames against the bound.
const FIX_JSON_BYTES: usize = 170;
/// What an `advance` message costs in an outbox.
const ADVANCE_BYTES: usize = 64;

/// One message waiting for a client.
#[derive(Clone, Debug)]
pub enum Frame {
    /// The range `(prev, seq]` as one message serialised once for every client. `event` is what it
    /// carries — one event, or a run of position batches merged into one — kept to decide who may
    /// see it and to merge it further for a client that falls behind.
    Shared { prev: Seq, seq: Seq, bytes: Bytes, event: Arc<LoggedEvent> },
    /// A run of position batches merged for one lagging client, covering `(prev, seq]`.
    Merged { prev: Seq, seq: Seq, at_ms: i64, actor: String, fixes: BTreeMap<UnitId, Fix> },
    /// `(prev, seq]` holds nothing this client may see.
    Advance { prev: Seq, seq: Seq },
    /// The whole room at `seq`: replaces whatever the client held (a replay's jump).
    Snapshot { seq: Seq, bytes: Bytes },
    /// Not part of the log (a replay's clock, progress, a failure): always delivered, in order.
    Info { bytes: Bytes },
}

impl Frame {
    /// A shared frame for `event` alone, right after `prev`.
    pub fn shared(prev: Seq, event: LoggedEvent) -> Self {
        let bytes = encode(&ServerMessage::event(prev, &event));
        Frame::Shared { prev, seq: event.seq, bytes, event: Arc::new(event) }
    }

    /// The range of the log the frame moves a client across, if it moves it.
    pub fn range(&self) -> Option<(Seq, Seq)> {
        match self {
            Frame::Shared { prev, seq, .. } | Frame::Merged { prev, seq, .. } | Frame::Advance { prev, seq } => {
                Some((*prev, *seq))
            }
            Frame::Snapshot { .. } | Frame::Info { .. } => None,
        }
    }

    pub(super) fn cost_bytes(&self) -> usize {
        match self {
            Frame::Shared { bytes, .. } | Frame::Snapshot { bytes, .. } | Frame::Info { bytes } => bytes.len(),
            Frame::Merged { fixes, .. } => 128 + fixes.len() * FIX_JSON_BYTES,
            Frame::Advance { .. } => ADVANCE_BYTES,
        }
    }

    /// The bytes to send; frames built for one client are serialised here.
    pub fn to_bytes(&self) -> Bytes {
        match self {
            Frame::Shared { bytes, .. } | Frame::Snapshot { bytes, .. } | Frame::Info { bytes } => bytes.clone(),
            Frame::Merged { prev, seq, at_ms, actor, fixes } => {
                encode(&ServerMessage::positions(*prev, *seq, *at_ms, actor, fixes.values()))
            }
            Frame::Advance { prev, seq } => encode(&ServerMessage::Advance { prev_seq: *prev, seq: *seq }),
        }
    }

    pub(super) fn is_positions(&self) -> bool {
        match self {
            Frame::Shared { event, .. } => event.event.is_positions(),
            Frame::Merged { .. } => true,
            _ => false,
        }
    }

    /// Folds `next` (the frame right after this one) into this one when both are position batches
    /// or both are advances. Returns whether it did.
    pub(super) fn absorb(&mut self, next: &Frame) -> bool {
        match (&mut *self, next) {
            (Frame::Advance { seq, .. }, Frame::Advance { seq: next_seq, .. }) => {
                *seq = *next_seq;
                true
            }
            (this, Frame::Shared { event: next, .. }) if this.is_positions() && next.event.is_positions() => {
                if let Frame::Shared { prev, event: first, .. } = this {
                    *this = Frame::Merged {
                        prev: *prev,
                        seq: first.seq,
                        at_ms: first.at_ms,
                        actor: first.actor.clone(),
                        fixes: fixes_of(first).map(|f| (f.unit_id, *f)).collect(),
                    };
                }
                let Frame::Merged { seq, at_ms, actor, fixes, .. } = this else { return false };
                *seq = next.seq;
                *at_ms = next.at_ms;
                actor.clone_from(&next.actor);
                keep_latest(fixes, fixes_of(next));
                true
            }
            _ => false,
        }
    }
}

/// Folds `fixes` into `kept`, keeping per unit the latest report (the rule `State::apply` follows):
/// how a run of position batches becomes one message.
pub fn keep_latest<'a>(kept: &mut BTreeMap<UnitId, Fix>, fixes: impl IntoIterator<Item = &'a Fix>) {
    for fix in fixes {
        if kept.get(&fix.unit_id).is_none_or(|k| k.reported_at_ms <= fix.reported_at_ms) {
            kept.insert(fix.unit_id, *fix);
        }
    }
}

fn fixes_of(e: &LoggedEvent) -> impl Iterator<Item = &Fix> {
    match &e.event {
        Event::PositionsReported { fixes } => fixes.iter(),
        _ => [].iter(),
    }
}

pub fn encode(message: &ServerMessage) -> Bytes {
    Bytes::from(serde_json::to_vec(message).expect("server messages always serialize"))
}

/// The shared frames for contiguous `events` after `prev`: one per event, or — `merge_runs` —
/// each run of consecutive position batches as one frame (latest fix per unit), which is what a
/// replay tick sends so a fast replay is not one message per batch.
pub fn frames_for(mut prev: Seq, events: &[LoggedEvent], merge_runs: bool) -> Vec<Frame> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < events.len() {
        let run = if merge_runs { events[i..].iter().take_while(|e| e.event.is_positions()).count() } else { 0 };
        let event = if run > 1 {
            let mut kept = BTreeMap::new();
            events[i..i + run].iter().for_each(|e| keep_latest(&mut kept, fixes_of(e)));
            let last = &events[i + run - 1];
            i += run;
            LoggedEvent {
                seq: last.seq,
                at_ms: last.at_ms,
                actor: last.actor.clone(),
                event: Event::PositionsReported { fixes: kept.into_values().collect() },
            }
        } else {
            i += 1;
            events[i - 1].clone()
        };
        let seq = event.seq;
        out.push(Frame::shared(prev, event));
        prev = seq;
    }
    out
}

/// The `snapshot` message for `state`, serialised from the borrowed state (no copy of a room that
/// may be megabytes).
pub fn snapshot_bytes(state: &vigie_domain::State) -> Bytes {
    Bytes::from(serde_json::to_vec(&SnapshotRef { seq: state.seq, state }).expect("the state always serializes"))
}

/// `ServerMessage::Snapshot` serialised from a borrowed state (same JSON, no clone).
#[derive(serde::Serialize)]
#[serde(tag = "type", rename = "snapshot")]
struct SnapshotRef<'a> {
    seq: Seq,
    state: &'a vigie_domain::State,
}

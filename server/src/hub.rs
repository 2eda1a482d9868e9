//! The live room: the in-memory projection of the log and the fan-out to stream clients.
//!
//! The sequencer hands each committed batch to [`Hub::publish`], which serializes every event
//! once, folds it into the projection and queues the shared bytes in each subscriber's
//! [`Outbox`]. Subscribing happens under the same lock, so a new client gets its starting point
//! (a snapshot, or the seq to catch up to from the store) and its live queue atomically: nothing
//! falls between the two.
//!
//! Each outbox is bounded in bytes. Consecutive position batches waiting in an outbox merge into
//! one (latest fix per unit), so a client that is behind gets the newest picture rather than a
//! backlog; anything else that would push the outbox past its bound empties it and marks it
//! overflowed, and the client's writer resyncs it from the log. Nothing is ever skipped silently.
//!
//! In-process reactors read the same batches, typed, from [`Hub::feed`]. `publish` ignores what
//! the room already holds and refuses a batch that would leave a hole ([`Gap`]);
//! [`Hub::publish_filling`] reads the hole from the store first.

use bytes::Bytes;
use parking_lot::Mutex;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Weak};
use tokio::sync::{broadcast, Notify};
use vigie_domain::wire::ServerMessage;
use vigie_domain::{Event, Fix, LoggedEvent, Seq, State, UnitId};

use crate::store::Store;

/// Non-position events kept in memory for a page's "latest events" list.
pub const RECENT_EVENTS: usize = 50;

/// Committed batches kept for in-process reactors ([`Hub::feed`]) that fall behind; past this a
/// reactor gets `RecvError::Lagged` and re-reads what it missed from the store.
pub const FEED_BATCHES: usize = 1_024;

/// One committed batch, shared by every in-process reactor: typed, never re-parsed from JSON.
pub type Batch = Arc<[LoggedEvent]>;

/// A batch that does not follow the projection: the events after `head` and before `first` are
/// missing (see [`Hub::publish_filling`]).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("the batch starts at seq {first} but the room is at {head}: the events between are missing")]
pub struct Gap {
    pub head: Seq,
    pub first: Seq,
}

/// Rough JSON size of one fix, used to account merged position frames against the bound.
const FIX_JSON_BYTES: usize = 170;

/// One message waiting for a client.
#[derive(Clone, Debug)]
pub enum Frame {
    /// Serialized once, shared by every client. `positions` keeps the decoded batch so it can be
    /// merged if the client falls behind.
    Shared { seq: Seq, bytes: Bytes, positions: Option<Arc<LoggedEvent>> },
    /// A run of consecutive position batches merged for one lagging client.
    Merged { first_seq: Seq, seq: Seq, at_ms: i64, actor: String, fixes: BTreeMap<UnitId, Fix> },
}

impl Frame {
    pub fn seq(&self) -> Seq {
        match self {
            Frame::Shared { seq, .. } | Frame::Merged { seq, .. } => *seq,
        }
    }

    fn cost_bytes(&self) -> usize {
        match self {
            Frame::Shared { bytes, .. } => bytes.len(),
            Frame::Merged { fixes, .. } => 128 + fixes.len() * FIX_JSON_BYTES,
        }
    }

    /// The bytes to send; merged frames are serialized here, for their one client.
    pub fn to_bytes(&self) -> Bytes {
        match self {
            Frame::Shared { bytes, .. } => bytes.clone(),
            Frame::Merged { first_seq, seq, at_ms, actor, fixes } => {
                encode(&ServerMessage::positions(*seq, *at_ms, actor, fixes.values(), Some(*first_seq)))
            }
        }
    }

    /// Folds `next` (a later position batch) into this frame, if both are position batches.
    fn merge(&mut self, next: &LoggedEvent) -> bool {
        if let Frame::Shared { positions: Some(first), .. } = self {
            *self = Frame::Merged {
                first_seq: first.seq,
                seq: first.seq,
                at_ms: first.at_ms,
                actor: first.actor.clone(),
                fixes: fixes_of(first).map(|f| (f.unit_id, *f)).collect(),
            };
        }
        let Frame::Merged { seq, at_ms, actor, fixes, .. } = self else { return false };
        *seq = next.seq;
        *at_ms = next.at_ms;
        actor.clone_from(&next.actor);
        keep_latest(fixes, fixes_of(next));
        true
    }
}

/// Folds `fixes` into `kept`, keeping per unit the latest report (the rule `State::apply` follows):
/// how a run of position batches becomes one message, for a lagging client or a replay tick.
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

#[derive(Default)]
struct Queue {
    frames: VecDeque<Frame>,
    bytes: usize,
    overflowed: bool,
}

/// What is waiting for one client, bounded by `limit_bytes`.
pub struct Outbox {
    queue: Mutex<Queue>,
    ready: Notify,
    limit_bytes: usize,
}

/// What the writer takes from an outbox in one go.
pub struct Drained {
    pub frames: VecDeque<Frame>,
    /// Frames were dropped to stay within the bound: the client must be resynced from the log.
    pub overflowed: bool,
}

impl Outbox {
    fn new(limit_bytes: usize) -> Self {
        Self { queue: Mutex::new(Queue::default()), ready: Notify::new(), limit_bytes }
    }

    fn push(&self, frame: &Frame) {
        // std Mutex: held for a few pointer moves, never across an await.
        let mut q = self.queue.lock();
        if q.overflowed {
            return; // the writer will resync from the log; queueing more would only waste memory
        }
        let merged = match (frame, q.frames.back_mut()) {
            (Frame::Shared { positions: Some(next), .. }, Some(back)) if is_positions(back) => {
                let before = back.cost_bytes();
                back.merge(next);
                let after = back.cost_bytes();
                q.bytes = q.bytes + after - before;
                true
            }
            _ => false,
        };
        if !merged {
            q.bytes += frame.cost_bytes();
            q.frames.push_back(frame.clone());
        }
        if q.bytes > self.limit_bytes {
            // At the bound: drop the queue and flag it, so memory stays bounded and the client
            // gets an explicit resync instead of a silent gap.
            q.frames.clear();
            q.bytes = 0;
            q.overflowed = true;
        }
        drop(q);
        self.ready.notify_one();
    }

    /// Takes everything queued.
    pub fn drain(&self) -> Drained {
        let mut q = self.queue.lock();
        q.bytes = 0;
        Drained { frames: std::mem::take(&mut q.frames), overflowed: q.overflowed }
    }

    /// Resolves when something was queued since the last drain.
    pub async fn ready(&self) {
        self.ready.notified().await;
    }

    pub fn queued_bytes(&self) -> usize {
        self.queue.lock().bytes
    }
}

fn is_positions(frame: &Frame) -> bool {
    matches!(frame, Frame::Shared { positions: Some(_), .. } | Frame::Merged { .. })
}

struct Inner {
    state: State,
    subscribers: Vec<Weak<Outbox>>,
    /// Latest non-position events, oldest first.
    recent: VecDeque<LoggedEvent>,
    /// The snapshot message at a seq, serialised once for every client that starts there (a
    /// room full of screens reconnecting at once would otherwise hold one copy each).
    snapshot: Option<(Seq, Bytes)>,
}

/// The `snapshot` message for `state`, serialised from the borrowed state (no copy of a room that
/// may be megabytes).
pub fn snapshot_bytes(state: &State) -> Bytes {
    Bytes::from(serde_json::to_vec(&SnapshotRef { seq: state.seq, state }).expect("the state always serializes"))
}

/// `ServerMessage::Snapshot` serialised from a borrowed state (same JSON, no clone).
#[derive(serde::Serialize)]
#[serde(tag = "type", rename = "snapshot")]
struct SnapshotRef<'a> {
    seq: Seq,
    state: &'a State,
}

pub struct Hub {
    inner: Mutex<Inner>,
    outbox_bytes: usize,
    feed: broadcast::Sender<Batch>,
}

/// A client's starting point and its live queue, taken atomically.
pub struct Subscription {
    pub outbox: Arc<Outbox>,
    /// Last seq folded into the projection when the client subscribed; its outbox holds only
    /// later events.
    pub head: Seq,
    /// The snapshot message at `head`, serialised, when the caller asked for the state.
    pub snapshot: Option<Bytes>,
}

#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct HubStats {
    pub subscribers: usize,
    pub queued_bytes: usize,
    pub max_outbox_bytes: usize,
}

impl Hub {
    pub fn new(state: State, outbox_bytes: usize) -> Self {
        let inner =
            Inner { state, subscribers: Vec::new(), recent: VecDeque::with_capacity(RECENT_EVENTS), snapshot: None };
        Self { inner: Mutex::new(inner), outbox_bytes, feed: broadcast::channel(FEED_BATCHES).0 }
    }

    /// Seeds the latest-events list (oldest first), e.g. from the store at startup.
    pub fn with_recent(self, events: Vec<LoggedEvent>) -> Self {
        self.inner.lock().recent.extend(events);
        self
    }

    /// Subscribes a client; `wants_state(head)` says whether it needs the state itself.
    pub fn subscribe(&self, wants_state: impl FnOnce(Seq) -> bool) -> Subscription {
        let outbox = Arc::new(Outbox::new(self.outbox_bytes));
        let mut inner = self.inner.lock();
        let head = inner.state.seq;
        let snapshot = wants_state(head).then(|| match &inner.snapshot {
            Some((seq, bytes)) if *seq == head => bytes.clone(),
            _ => {
                let bytes = snapshot_bytes(&inner.state);
                inner.snapshot = Some((head, bytes.clone()));
                bytes
            }
        });
        inner.subscribers.push(Arc::downgrade(&outbox));
        Subscription { outbox, head, snapshot }
    }

    /// Every committed batch from now on, for in-process reactors (CoT egress, alerts, a NATS
    /// bridge). Bounded ([`FEED_BATCHES`]): a reactor that lags is told so and re-reads the store.
    pub fn feed(&self) -> broadcast::Receiver<Batch> {
        self.feed.subscribe()
    }

    /// Folds a committed batch into the projection, queues it for every client and hands it to the
    /// feed. Events the room already holds (seq at or below its head) are ignored, so a source that
    /// repeats itself is harmless; a batch that would leave a hole is refused whole ([`Gap`]) and
    /// changes nothing.
    pub fn publish(&self, events: &[LoggedEvent]) -> Result<(), Gap> {
        let head = self.inner.lock().state.seq;
        let fresh: &[LoggedEvent] = &events[events.iter().take_while(|e| e.seq <= head).count()..];
        let Some(first) = fresh.first() else { return Ok(()) };
        let contiguous = fresh.iter().zip(head + 1..).all(|(e, expected)| e.seq == expected);
        if !contiguous {
            return Err(Gap { head, first: first.seq });
        }
        // Serialize once, outside the lock, and share the bytes.
        let frames: Vec<Frame> = fresh
            .iter()
            .map(|e| Frame::Shared {
                seq: e.seq,
                bytes: encode(&ServerMessage::event(e)),
                positions: e.event.is_positions().then(|| Arc::new(e.clone())),
            })
            .collect();
        let mut inner = self.inner.lock();
        if inner.state.seq != head {
            // Another publisher moved the room meanwhile (only the writer publishes today): start over.
            drop(inner);
            return self.publish(events);
        }
        for e in fresh {
            inner.state.apply(e);
            if !e.event.is_positions() {
                if inner.recent.len() == RECENT_EVENTS {
                    inner.recent.pop_front();
                }
                inner.recent.push_back(e.clone());
            }
        }
        inner.subscribers.retain(|weak| match weak.upgrade() {
            Some(outbox) => {
                frames.iter().for_each(|f| outbox.push(f));
                true
            }
            None => false,
        });
        drop(inner);
        // The copy for reactors is made only when one listens.
        if self.feed.receiver_count() > 0 {
            let _ = self.feed.send(Batch::from(fresh));
        }
        Ok(())
    }

    /// Publishes `events`, first reading from `store` whatever lies between the room and them, so
    /// a feed that arrives out of order (another node's batches) cannot leave the room with a hole.
    pub async fn publish_filling(&self, store: &Store, events: &[LoggedEvent]) -> anyhow::Result<()> {
        loop {
            let Err(Gap { head, first }) = self.publish(events) else { return Ok(()) };
            let page = store.events_after(head, i64::try_from(first - head - 1).unwrap_or(i64::MAX)).await?;
            let missing: Vec<LoggedEvent> = page.events.into_iter().take_while(|e| e.seq < first).collect();
            if missing.first().map(|e| e.seq) != Some(head + 1) {
                anyhow::bail!("the log lacks the events after seq {head}; the room stays at {head}");
            }
            self.publish(&missing)?;
        }
    }

    /// Reads the projection without copying it.
    pub fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        f(&self.inner.lock().state)
    }

    /// Reads the projection and the latest non-position events (oldest first) together.
    pub fn read_with_recent<R>(&self, f: impl FnOnce(&State, &[LoggedEvent]) -> R) -> R {
        let mut inner = self.inner.lock();
        let inner = &mut *inner;
        f(&inner.state, inner.recent.make_contiguous())
    }

    pub fn stats(&self) -> HubStats {
        let inner = self.inner.lock();
        let live: Vec<Arc<Outbox>> = inner.subscribers.iter().filter_map(Weak::upgrade).collect();
        HubStats {
            subscribers: live.len(),
            queued_bytes: live.iter().map(|o| o.queued_bytes()).sum(),
            max_outbox_bytes: live.iter().map(|o| o.queued_bytes()).max().unwrap_or(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigie_domain::UnitStatus;

    fn positions(seq: Seq, unit: u32, lon: f64, at: i64) -> LoggedEvent {
        let fix = Fix::parse(UnitId(unit), lon, 48.85, None, None, None, at).unwrap();
        LoggedEvent { seq, at_ms: at, actor: "avl".into(), event: Event::PositionsReported { fixes: vec![fix] } }
    }

    fn status(seq: Seq) -> LoggedEvent {
        let event = Event::UnitStatusChanged { unit_id: UnitId(1), status: UnitStatus::EnRoute };
        LoggedEvent { seq, at_ms: 1, actor: "d".into(), event }
    }

    #[test]
    fn consecutive_position_batches_merge_latest_wins_but_other_events_keep_their_place() {
        let hub = Hub::new(State::default(), 1 << 20);
        let sub = hub.subscribe(|_| false);
        hub.publish(&[positions(1, 1, 2.30, 10), positions(2, 2, 2.31, 10), positions(3, 1, 2.32, 20)]).unwrap();
        hub.publish(&[status(4), positions(5, 1, 2.33, 30)]).unwrap();
        let drained = sub.outbox.drain();
        let seqs: Vec<Seq> = drained.frames.iter().map(Frame::seq).collect();
        assert_eq!(seqs, [3, 4, 5]);
        let Frame::Merged { first_seq, fixes, .. } = &drained.frames[0] else { panic!("not merged") };
        assert_eq!(*first_seq, 1);
        assert_eq!(fixes[&UnitId(1)].position.lon, 2.32);
        assert_eq!(fixes[&UnitId(2)].position.lon, 2.31);
        let message: ServerMessage = serde_json::from_slice(&drained.frames[0].to_bytes()).unwrap();
        assert_eq!(message.seq(), 3);
        assert!(!drained.overflowed);
    }

    #[test]
    fn an_outbox_past_its_bound_is_emptied_and_flagged_for_resync() {
        let hub = Hub::new(State::default(), 4096);
        let sub = hub.subscribe(|_| false);
        for seq in 1..=200 {
            hub.publish(&[status(seq)]).unwrap();
            assert!(sub.outbox.queued_bytes() <= 4096);
        }
        let drained = sub.outbox.drain();
        assert!(drained.overflowed);
        assert!(drained.frames.is_empty());
    }

    #[test]
    fn subscribing_hands_over_the_head_and_only_later_events() {
        let hub = Hub::new(State::default(), 1 << 20);
        hub.publish(&[status(1), status(2)]).unwrap();
        let sub = hub.subscribe(|head| head > 0);
        assert_eq!(sub.head, 2);
        let snapshot: ServerMessage = serde_json::from_slice(&sub.snapshot.clone().unwrap()).unwrap();
        assert!(matches!(snapshot, ServerMessage::Snapshot { seq: 2, ref state } if state.seq == 2));
        let again = hub.subscribe(|_| true);
        assert_eq!(
            again.snapshot.as_ref().unwrap().as_ptr(),
            sub.snapshot.as_ref().unwrap().as_ptr(),
            "one serialisation per seq"
        );
        drop(again);
        hub.publish(&[status(3)]).unwrap();
        assert_eq!(sub.outbox.drain().frames.iter().map(Frame::seq).collect::<Vec<_>>(), [3]);
        assert_eq!(hub.stats().subscribers, 1);
        drop(sub.outbox);
        hub.publish(&[status(4)]).unwrap();
        assert_eq!(hub.stats().subscribers, 0, "dropped clients are forgotten");
    }
}

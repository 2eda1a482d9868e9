//! The live room: the log's projection every stream client watches (a [`Projection`] of the
//! stream engine, with the latest events kept beside it) and the typed feed of committed batches.
//!
//! The sequencer hands each committed batch to [`Hub::publish`], which folds it into the room,
//! queues it for every stream client and hands it to in-process reactors ([`Hub::feed`]), typed,
//! never re-parsed. `publish` ignores what the room already holds and refuses a batch that would
//! leave a hole ([`Gap`]); [`Hub::publish_filling`] reads the hole from the store first.

use std::collections::VecDeque;
use std::sync::Arc;
use tokio::sync::broadcast;
use vigie_domain::{LoggedEvent, State};

use crate::store::Store;
pub use crate::stream::Gap;
use crate::stream::{Fold, Projection};

/// Non-position events kept in memory for a page's "latest events" list.
pub const RECENT_EVENTS: usize = 50;

/// Committed batches kept for in-process reactors ([`Hub::feed`]) that fall behind; past this a
/// reactor gets `RecvError::Lagged` and re-reads what it missed from the store.
pub const FEED_BATCHES: usize = 1_024;

/// One committed batch, shared by every in-process reactor: typed, never re-parsed from JSON.
pub type Batch = Arc<[LoggedEvent]>;

/// The latest non-position events, oldest first, folded with the room under its lock.
#[derive(Default)]
pub struct Recent(VecDeque<LoggedEvent>);

impl Fold for Recent {
    fn fold(&mut self, e: &LoggedEvent) {
        if !e.event.is_positions() {
            if self.0.len() == RECENT_EVENTS {
                self.0.pop_front();
            }
            self.0.push_back(e.clone());
        }
    }
}

pub struct Hub {
    room: Projection<Recent>,
    feed: broadcast::Sender<Batch>,
}

#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct HubStats {
    pub subscribers: usize,
    pub queued_bytes: usize,
    pub max_outbox_bytes: usize,
}

impl Hub {
    pub fn new(state: State, outbox_bytes: usize) -> Self {
        Self { room: Projection::new(state, Recent::default(), outbox_bytes), feed: broadcast::channel(FEED_BATCHES).0 }
    }

    /// Seeds the latest-events list (oldest first), e.g. from the store at startup.
    pub fn with_recent(self, events: Vec<LoggedEvent>) -> Self {
        self.room.read_with(|_, recent| events.iter().for_each(|e| recent.fold(e)));
        self
    }

    /// The room as the stream engine serves it.
    pub fn projection(&self) -> &Projection<Recent> {
        &self.room
    }

    /// Every committed batch from now on, for in-process reactors (CoT egress, alerts, a NATS
    /// bridge). Bounded ([`FEED_BATCHES`]): a reactor that lags is told so and re-reads the store.
    pub fn feed(&self) -> broadcast::Receiver<Batch> {
        self.feed.subscribe()
    }

    /// Folds a committed batch into the room, queues it for every client and hands it to the
    /// feed. Events the room already holds are ignored, so a source that repeats itself is
    /// harmless; a batch that would leave a hole is refused whole ([`Gap`]) and changes nothing.
    pub fn publish(&self, events: &[LoggedEvent]) -> Result<(), Gap> {
        let fresh = self.room.publish(events, false)?;
        // The copy for reactors is made only when one listens.
        if !fresh.is_empty() && self.feed.receiver_count() > 0 {
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

    /// Reads the room without copying it.
    pub fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        self.room.read(f)
    }

    /// Reads the room and the latest non-position events (oldest first) together.
    pub fn read_with_recent<R>(&self, f: impl FnOnce(&State, &[LoggedEvent]) -> R) -> R {
        self.room.read_with(|state, recent| f(state, recent.0.make_contiguous()))
    }

    pub fn stats(&self) -> HubStats {
        let live = self.room.outboxes();
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
    use crate::stream::{Audience, Frame};
    use vigie_domain::wire::ServerMessage;
    use vigie_domain::UnitStatus;
    use vigie_domain::{Event, Fix, Seq, UnitId};

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
        let sub = hub.projection().subscribe(Audience::Room, |_, _| false);
        hub.publish(&[positions(1, 1, 2.30, 10), positions(2, 2, 2.31, 10), positions(3, 1, 2.32, 20)]).unwrap();
        hub.publish(&[status(4), positions(5, 1, 2.33, 30)]).unwrap();
        let drained = sub.outbox.drain();
        let ranges: Vec<_> = drained.frames.iter().filter_map(Frame::range).collect();
        assert_eq!(ranges, [(0, 3), (3, 4), (4, 5)]);
        let Frame::Merged { prev, fixes, .. } = &drained.frames[0] else { panic!("not merged") };
        assert_eq!(*prev, 0);
        assert_eq!(fixes[&UnitId(1)].position.lon, 2.32);
        assert_eq!(fixes[&UnitId(2)].position.lon, 2.31);
        let message: ServerMessage = serde_json::from_slice(&drained.frames[0].to_bytes()).unwrap();
        assert_eq!(message.range(), Some((0, 3)));
        assert!(!drained.overflowed);
    }

    #[test]
    fn an_outbox_past_its_bound_is_emptied_and_flagged_for_resync() {
        let hub = Hub::new(State::default(), 4096);
        let sub = hub.projection().subscribe(Audience::Room, |_, _| false);
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
        let sub = hub.projection().subscribe(Audience::Room, |head, _| head > 0);
        assert_eq!(sub.head, 2);
        let snapshot: ServerMessage = serde_json::from_slice(&sub.snapshot.clone().unwrap()).unwrap();
        assert!(matches!(snapshot, ServerMessage::Snapshot { seq: 2, ref state } if state.seq == 2));
        let again = hub.projection().subscribe(Audience::Room, |_, _| true);
        assert_eq!(
            again.snapshot.as_ref().unwrap().as_ptr(),
            sub.snapshot.as_ref().unwrap().as_ptr(),
            "one serialisation per seq"
        );
        drop(again);
        hub.publish(&[status(3)]).unwrap();
        assert_eq!(sub.outbox.drain().frames.iter().filter_map(Frame::range).collect::<Vec<_>>(), [(2, 3)]);
        assert_eq!(hub.stats().subscribers, 1);
        drop(sub.outbox);
        hub.publish(&[status(4)]).unwrap();
        assert_eq!(hub.stats().subscribers, 0, "dropped clients are forgotten");
    }
}

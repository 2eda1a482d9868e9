//! A room folded from the log and the clients watching it: the live room and every replay session
//! are one of these.
//!
//! [`Projection::publish`] folds contiguous events into the state and queues their frames in every
//! subscriber's [`Outbox`]. Subscribers are grouped by audience — the domain's
//! [`Viewer`](vigie_domain::visibility::Viewer): the whole room, or one agency's need-to-know — and
//! each frame is serialised once per audience that has subscribers, never once per client. The
//! whole room's frames are serialised outside the lock and shared; an agency gets each event as
//! [`see`](vigie_domain::visibility::see_after) decides: as is (the same bytes), in part
//! (re-serialised once for it), as an advance over the range, or — when something appeared or
//! disappeared for it — its whole picture again as a snapshot.
//!
//! Subscribing happens under the same lock, so a new client gets its starting point (a snapshot,
//! or the seq to catch up to from the log) and its live queue atomically: nothing falls between.

use bytes::Bytes;
use parking_lot::Mutex;
use std::sync::{Arc, Weak};
use vigie_domain::visibility::{see_after, see_before, view, Seen, Viewer};
use vigie_domain::{LoggedEvent, Seq, State};

use super::frame::{frames_for, snapshot_bytes, Frame};
use super::outbox::Outbox;

/// Who a subscriber is, for what it may see: the domain's viewer.
pub type Audience = Viewer;

/// Something kept beside the state and folded under the same lock (the live room's latest events).
pub trait Fold: Send + 'static {
    fn fold(&mut self, event: &LoggedEvent);
}

impl Fold for () {
    fn fold(&mut self, _: &LoggedEvent) {}
}

/// A batch that does not follow the projection: the events after `head` and before `first` are
/// missing.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("the batch starts at seq {first} but the room is at {head}: the events between are missing")]
pub struct Gap {
    pub head: Seq,
    pub first: Seq,
}

struct Subscriber {
    outbox: Weak<Outbox>,
    audience: Audience,
}

struct Inner<X> {
    state: State,
    extra: X,
    subscribers: Vec<Subscriber>,
    /// Bumped when the state is replaced rather than folded forward (a replay's jump).
    epoch: u64,
    /// The snapshot message at `(epoch, seq)`, serialised once for every client that starts there
    /// (a room full of screens reconnecting at once would otherwise hold one copy each).
    snapshot: Option<(u64, Seq, Bytes)>,
}

pub struct Projection<X = ()> {
    inner: Mutex<Inner<X>>,
    outbox_bytes: usize,
}

/// A client's starting point and its live queue, taken atomically.
pub struct Subscription {
    pub outbox: Arc<Outbox>,
    /// Last seq folded in when the client subscribed; its outbox holds only what follows.
    pub head: Seq,
    /// The snapshot message at `head`, when the caller asked for the state.
    pub snapshot: Option<Bytes>,
}

impl<X: Fold> Projection<X> {
    pub fn new(state: State, extra: X, outbox_bytes: usize) -> Self {
        let inner = Inner { state, extra, subscribers: Vec::new(), epoch: 0, snapshot: None };
        Self { inner: Mutex::new(inner), outbox_bytes }
    }

    pub fn head(&self) -> Seq {
        self.inner.lock().state.seq
    }

    pub fn epoch(&self) -> u64 {
        self.inner.lock().epoch
    }

    /// Subscribes a client seeing `audience`; `wants_state(head, epoch)` says whether it needs the
    /// state itself (else it catches up from the log to `head`).
    pub fn subscribe(&self, audience: Audience, wants_state: impl FnOnce(Seq, u64) -> bool) -> Subscription {
        let outbox = Arc::new(Outbox::new(self.outbox_bytes));
        let mut inner = self.inner.lock();
        let head = inner.state.seq;
        let snapshot = wants_state(head, inner.epoch).then(|| match &audience {
            Viewer::Room => inner.snapshot_now(),
            viewer => snapshot_bytes(&view(&inner.state, viewer)),
        });
        inner.subscribers.push(Subscriber { outbox: Arc::downgrade(&outbox), audience });
        Subscription { outbox, head, snapshot }
    }

    /// Folds `events` in and queues them for every subscriber. Events at or below the head are
    /// ignored (a source that repeats itself is harmless); a batch that would leave a hole is
    /// refused whole and changes nothing. With `merge_runs`, consecutive position batches go out
    /// as one message. Returns the events that were new.
    pub fn publish<'a>(&self, events: &'a [LoggedEvent], merge_runs: bool) -> Result<&'a [LoggedEvent], Gap> {
        self.publish_in(None, events, merge_runs).map(|fresh| fresh.unwrap_or_default())
    }

    /// As [`publish`](Self::publish), only while the projection is still in `epoch` (`None` when
    /// it moved on: a jump happened meanwhile and the events no longer follow its state).
    pub fn publish_in<'a>(
        &self,
        epoch: Option<u64>,
        events: &'a [LoggedEvent],
        merge_runs: bool,
    ) -> Result<Option<&'a [LoggedEvent]>, Gap> {
        let head = self.head();
        let fresh = &events[events.iter().take_while(|e| e.seq <= head).count()..];
        let Some(first) = fresh.first() else { return Ok(Some(fresh)) };
        if !fresh.iter().zip(head + 1..).all(|(e, expected)| e.seq == expected) {
            return Err(Gap { head, first: first.seq });
        }
        // Serialize once, outside the lock, and share the bytes.
        let frames = frames_for(head, fresh, merge_runs);
        let mut inner = self.inner.lock();
        if epoch.is_some_and(|e| e != inner.epoch) {
            return Ok(None);
        }
        if inner.state.seq != head {
            // Another publisher moved the room meanwhile: start over from its new head.
            drop(inner);
            return self.publish_in(epoch, events, merge_runs);
        }
        inner.subscribers.retain(|s| s.outbox.strong_count() > 0);
        let mut viewers: Vec<Viewer> = Vec::new();
        for s in &inner.subscribers {
            if s.audience != Viewer::Room && !viewers.contains(&s.audience) {
                viewers.push(s.audience.clone());
            }
        }
        // Each agency's frames, decided event by event as the room moves (one per event, so an
        // agency's ranges are contiguous by construction).
        let mut theirs: Vec<Vec<Frame>> = vec![Vec::with_capacity(fresh.len()); viewers.len()];
        let one_to_one = !merge_runs;
        for (n, e) in fresh.iter().enumerate() {
            let before: Vec<_> = viewers.iter().map(|v| see_before(&inner.state, v, &e.event)).collect();
            inner.state.apply(e);
            inner.extra.fold(e);
            for ((viewer, was), frames_of) in viewers.iter().zip(before).zip(theirs.iter_mut()) {
                let prev = e.seq - 1;
                frames_of.push(match see_after(was, &inner.state, viewer, e) {
                    Seen::All if one_to_one => frames[n].clone(),
                    Seen::All => Frame::shared(prev, e.clone()),
                    Seen::Part(event) => Frame::shared(prev, LoggedEvent { event, ..e.clone() }),
                    Seen::Nothing => Frame::Advance { prev, seq: e.seq },
                    Seen::Picture => Frame::Snapshot { seq: e.seq, bytes: snapshot_bytes(&view(&inner.state, viewer)) },
                });
            }
        }
        inner.each_subscriber(|outbox, audience| {
            let mine = match viewers.iter().position(|v| v == audience) {
                Some(i) => &theirs[i],
                None => &frames,
            };
            mine.iter().for_each(|f| outbox.push(f.clone()));
        });
        Ok(Some(fresh))
    }

    /// Replaces the state (a replay's jump): every subscriber gets it as a snapshot, which
    /// supersedes whatever was queued for it. Returns the new epoch.
    pub fn replace(&self, state: State) -> u64 {
        let bytes = snapshot_bytes(&state);
        let mut inner = self.inner.lock();
        inner.epoch += 1;
        let seq = state.seq;
        inner.state = state;
        inner.snapshot = Some((inner.epoch, seq, bytes.clone()));
        let room = Frame::Snapshot { seq, bytes };
        // Each audience gets its own picture, made once.
        let mut pictures: Vec<(Viewer, Frame)> = Vec::new();
        let Inner { state, subscribers, .. } = &mut *inner;
        subscribers.retain(|s| match s.outbox.upgrade() {
            Some(outbox) => {
                let frame = match &s.audience {
                    Viewer::Room => room.clone(),
                    viewer => match pictures.iter().find(|(v, _)| v == viewer) {
                        Some((_, frame)) => frame.clone(),
                        None => {
                            let frame = Frame::Snapshot { seq, bytes: snapshot_bytes(&view(state, viewer)) };
                            pictures.push((viewer.clone(), frame.clone()));
                            frame
                        }
                    },
                };
                outbox.push(frame);
                true
            }
            None => false,
        });
        inner.epoch
    }

    /// Queues a message that is not part of the log for every subscriber.
    pub fn tell(&self, bytes: Bytes) {
        let frame = Frame::Info { bytes };
        self.inner.lock().each_subscriber(|outbox, _| outbox.push(frame.clone()));
    }

    /// Reads the state without copying it.
    pub fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        f(&self.inner.lock().state)
    }

    /// Reads the state and what is kept beside it together.
    pub fn read_with<R>(&self, f: impl FnOnce(&State, &mut X) -> R) -> R {
        let mut inner = self.inner.lock();
        let inner = &mut *inner;
        f(&inner.state, &mut inner.extra)
    }

    /// The live subscribers' outboxes.
    pub fn outboxes(&self) -> Vec<Arc<Outbox>> {
        self.inner.lock().subscribers.iter().filter_map(|s| s.outbox.upgrade()).collect()
    }

    pub fn subscriber_count(&self) -> usize {
        let mut inner = self.inner.lock();
        inner.subscribers.retain(|s| s.outbox.strong_count() > 0);
        inner.subscribers.len()
    }
}

impl<X> Inner<X> {
    fn snapshot_now(&mut self) -> Bytes {
        match &self.snapshot {
            Some((epoch, seq, bytes)) if *epoch == self.epoch && *seq == self.state.seq => bytes.clone(),
            _ => {
                let bytes = snapshot_bytes(&self.state);
                self.snapshot = Some((self.epoch, self.state.seq, bytes.clone()));
                bytes
            }
        }
    }

    /// Calls `f` for every subscriber still connected, forgetting the others.
    fn each_subscriber(&mut self, mut f: impl FnMut(&Outbox, &Audience)) {
        self.subscribers.retain(|s| match s.outbox.upgrade() {
            Some(outbox) => {
                f(&outbox, &s.audience);
                true
            }
            None => false,
        });
    }
}

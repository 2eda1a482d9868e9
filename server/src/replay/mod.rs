//! Replay: the whole room as it was at any past moment, played at 1× to 60×, shared by a trainer
//! with the trainees who follow the session's clock.
//!
//! A [`Session`] holds a clock ([`vigie_domain::replay::ReplayClock`]) and pinned notes, persisted
//! so a debrief survives a restart. While anyone watches it, one driver task per session keeps the
//! room at the clock's moment: a jump (seek, step, restart) materialises the state from the
//! nearest snapshot plus the tail ([`seek`]) and broadcasts it as a snapshot; playing folds the
//! events between ticks in and broadcasts them, consecutive position batches merged per tick.
//! Everything is read from the log (or an imported scenario's tables) and nothing is written to
//! the live log: replay has no command path at all.

pub mod file;
pub mod seek;
pub mod stream;

use bytes::Bytes;
use parking_lot::Mutex;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, Notify};
use vigie_domain::replay::{Control, Direction, Pin, ReplayClock, SessionInfo, Source};
use vigie_domain::wire::ServerMessage;
use vigie_domain::{Event, Fix, LoggedEvent, Refusal, Seq, State, UnitId};

use crate::hub::{encode, keep_latest, snapshot_bytes};
use crate::store::replay::{Log, FOLD_PAGE};
use crate::AppState;

/// Why replay could not do what was asked: a refusal for the requester, or a store failure
/// (logged by the HTTP boundary, never sent).
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("{doing}: {error:#}")]
    Store { doing: &'static str, error: anyhow::Error },
}

/// How often a playing session moves its room forward.
const TICK: Duration = Duration::from_millis(100);
/// Frames a follower may be behind before it is resynced with a snapshot.
const FOLLOWER_QUEUE: usize = 64;
/// Past this many events between two ticks, playing jumps (snapshot) instead of streaming them.
const MAX_STREAMED_EVENTS: u64 = 20_000;
/// Most pinned notes per session.
const MAX_PINS: usize = 500;
/// Most replay sessions a server keeps (they are persisted).
pub const MAX_SESSIONS: usize = 64;
/// A session nobody follows or drives for this long is removed.
pub const SESSION_IDLE_MS: i64 = 24 * 3_600_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameKind {
    /// Replaces the follower's room; starts a new epoch.
    Snapshot,
    /// One event (or a merged run of position batches) of the current epoch.
    Event,
    /// Clock, pins or progress: always delivered.
    Info,
}

#[derive(Clone, Debug)]
pub struct Frame {
    pub kind: FrameKind,
    pub epoch: u64,
    pub seq: Seq,
    pub bytes: Bytes,
}

/// The room at the session's moment, shared by the driver and new followers.
struct Room {
    epoch: u64,
    state: Option<State>,
    /// Replay time the state stands at.
    cursor_ms: i64,
    /// The snapshot message for `(epoch, seq)`, serialised once for every follower joining there.
    cached: Option<(u64, Seq, Bytes)>,
}

struct Steering {
    info: SessionInfo,
    /// Bumped by every control that jumps (seek, step, play from the end): the driver re-materialises.
    jumps: u64,
}

pub struct Session {
    pub id: String,
    trainer_key: String,
    pub log: Log,
    control: Mutex<Steering>,
    room: Mutex<Room>,
    wake: Notify,
    frames: broadcast::Sender<Frame>,
    driving: AtomicBool,
    /// Server time the session was last driven or joined.
    last_used_ms: AtomicI64,
}

impl Session {
    fn new(id: String, trainer_key: String, info: SessionInfo, created_ms: i64) -> Arc<Self> {
        let log = match &info.source {
            Source::Live => Log::Live,
            Source::Scenario { scenario_id, .. } => Log::Scenario(*scenario_id),
        };
        Arc::new(Self {
            id,
            trainer_key,
            log,
            control: Mutex::new(Steering { info, jumps: 0 }),
            room: Mutex::new(Room { epoch: 0, state: None, cursor_ms: i64::MIN, cached: None }),
            wake: Notify::new(),
            frames: broadcast::channel(FOLLOWER_QUEUE).0,
            driving: AtomicBool::new(false),
            last_used_ms: AtomicI64::new(created_ms),
        })
    }

    pub fn info(&self) -> SessionInfo {
        self.control.lock().info.clone()
    }

    pub fn is_trainer(&self, key: Option<&str>) -> bool {
        // Not constant-time: the key is a training convenience, not a security boundary.
        key.is_some_and(|k| k == self.trainer_key)
    }

    /// The session's clock and pins as a stream message.
    pub fn info_message(&self, now_ms: i64) -> Bytes {
        let seq = self.room.lock().state.as_ref().map_or(0, |s| s.seq);
        encode(&ServerMessage::Replay { seq, session: Box::new(self.info()), server_ms: now_ms })
    }

    /// A follower's live queue, then its starting point `(epoch, seq, snapshot)` (taken after the
    /// queue, so nothing falls between them; the follower skips what its snapshot already holds).
    pub fn follow(&self) -> (broadcast::Receiver<Frame>, Option<(u64, Seq, Bytes)>) {
        let rx = self.frames.subscribe();
        let mut room = self.room.lock();
        let epoch = room.epoch;
        let start = room.state.as_ref().map(|state| match &room.cached {
            Some((e, seq, bytes)) if *e == epoch && *seq == state.seq => (epoch, *seq, bytes.clone()),
            _ => {
                let bytes = snapshot_bytes(state);
                (epoch, state.seq, bytes)
            }
        });
        if let Some((e, seq, bytes)) = &start {
            room.cached = Some((*e, *seq, bytes.clone()));
        }
        (rx, start)
    }

    fn publish(&self, kind: FrameKind, epoch: u64, seq: Seq, bytes: Bytes) {
        // No follower is not an error: the driver stops on its next turn.
        let _ = self.frames.send(Frame { kind, epoch, seq, bytes });
    }

    /// Applies a trainer's control given at `now_ms` and tells the followers.
    pub async fn control(self: &Arc<Self>, app: &AppState, control: Control) -> Result<SessionInfo, ReplayError> {
        let now_ms = app.clock.now_ms();
        let step_to = match control {
            Control::Step { direction } => {
                let at = self.info().clock.at(now_ms);
                app.store
                    .next_event_time(self.log, at, direction == Direction::Forward)
                    .await
                    .map_err(|e| ReplayError::Store { doing: "finding the event to step to", error: e })?
            }
            _ => None,
        };
        let info = {
            let mut c = self.control.lock();
            let before = c.info.clock;
            let mut clock = before;
            clock.control(&control, now_ms, step_to)?;
            let jumped =
                matches!(control, Control::Seek { .. } | Control::Step { .. }) || clock.at(now_ms) < before.at(now_ms);
            c.info.clock = clock;
            if jumped {
                c.jumps += 1;
            }
            c.info.clone()
        };
        self.changed(app, now_ms).await;
        Ok(info)
    }

    /// Pins a note on the session's timeline.
    pub async fn pin(self: &Arc<Self>, app: &AppState, at_ms: i64, author: &str, text: &str) -> Result<Pin, Refusal> {
        let pin = {
            let mut c = self.control.lock();
            if c.info.pins.len() >= MAX_PINS {
                return Err(Refusal::conflict("", "this session already has 500 pinned notes"));
            }
            let id = c.info.pins.iter().map(|p| p.id).max().unwrap_or(0) + 1;
            let pin = Pin::parse(id, at_ms, author, text, &c.info.clock)?;
            c.info.pins.push(pin.clone());
            c.info.pins.sort_by_key(|p| (p.at_ms, p.id));
            pin
        };
        self.changed(app, app.clock.now_ms()).await;
        Ok(pin)
    }

    /// Notes that someone drives or follows the session at `now_ms` (it is not idle).
    pub fn touch(&self, now_ms: i64) {
        self.last_used_ms.fetch_max(now_ms, Ordering::Relaxed);
    }

    /// Whether nobody follows the session and nobody drove or joined it for [`SESSION_IDLE_MS`].
    fn is_idle(&self, now_ms: i64) -> bool {
        self.frames.receiver_count() == 0
            && now_ms.saturating_sub(self.last_used_ms.load(Ordering::Relaxed)) > SESSION_IDLE_MS
    }

    /// Persists the session, tells the followers and wakes the driver.
    async fn changed(&self, app: &AppState, now_ms: i64) {
        self.touch(now_ms);
        let saved = match serde_json::to_string(&self.info()) {
            Ok(info) => app.store.save_session(&self.id, &self.trainer_key, &info).await,
            Err(e) => Err(e.into()),
        };
        if let Err(e) = saved {
            tracing::warn!(error = %e, session = %self.id, "saving a replay session failed; it would not survive a restart");
        }
        self.publish(FrameKind::Info, 0, 0, self.info_message(now_ms));
        self.wake.notify_one();
    }

    /// Starts the driver if none runs (called by each new follower).
    pub fn ensure_driver(self: &Arc<Self>, app: &AppState) {
        self.touch(app.clock.now_ms());
        if !self.driving.swap(true, Ordering::SeqCst) {
            tokio::spawn(self.clone().drive(app.clone()));
        }
        self.wake.notify_one();
    }

    async fn drive(self: Arc<Self>, app: AppState) {
        let mut shutdown = app.shutdown.clone();
        let mut seen_jumps = u64::MAX;
        loop {
            if self.frames.receiver_count() == 0 {
                self.driving.store(false, Ordering::SeqCst);
                // A follower may have joined between the count and the store: keep driving for it.
                if self.frames.receiver_count() == 0 || self.driving.swap(true, Ordering::SeqCst) {
                    return;
                }
            }
            let (clock, jumps) = {
                let c = self.control.lock();
                (c.info.clock, c.jumps)
            };
            let now_ms = app.clock.now_ms();
            if let Err(e) = self.advance(&app, clock.at(now_ms), jumps != seen_jumps).await {
                tracing::error!(error = %e, session = %self.id, "replay could not read its log");
                let message = ServerMessage::Error {
                    seq: 0,
                    code: "replay_failed".into(),
                    message: "the log could not be read; the server's log says why".into(),
                };
                self.publish(FrameKind::Info, 0, 0, encode(&message));
            }
            seen_jumps = jumps;
            let wait = if clock.playing && !clock.ended(now_ms) { TICK } else { Duration::from_secs(1) };
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.wait_for(|stop| *stop) => {
                    self.driving.store(false, Ordering::SeqCst);
                    return;
                }
            }
        }
    }

    /// Brings the room to replay time `target`: a snapshot after a jump (or a far gap), else the
    /// events since the last tick.
    async fn advance(&self, app: &AppState, target: i64, jumped: bool) -> anyhow::Result<()> {
        let (held, cursor_ms, epoch) = {
            let room = self.room.lock();
            (room.state.as_ref().map(|s| s.seq), room.cursor_ms, room.epoch)
        };
        if held.is_some() && !jumped && target == cursor_ms {
            return Ok(());
        }
        let up_to = app.store.seq_at(self.log, target).await?;
        let backwards = target < cursor_ms;
        let streamable =
            held.is_some_and(|seq| !jumped && !backwards && up_to.saturating_sub(seq) <= MAX_STREAMED_EVENTS);
        if let (true, Some(after)) = (streamable, held) {
            return self.play_until(app, target, after, up_to, epoch).await;
        }
        // Materialise, folding forward from the room held when the target is ahead of it.
        let near = if backwards { None } else { self.room.lock().state.clone() };
        let started = std::time::Instant::now();
        let mut last_report = 0;
        let state = seek::state_at(&app.store, self.log, target, near, |done, total| {
            if total > FOLD_PAGE as u64 && done > last_report {
                last_report = done;
                let message = ServerMessage::Progress { seq: 0, what: "seeking".into(), done, total };
                self.publish(FrameKind::Info, 0, 0, encode(&message));
            }
        })
        .await?;
        let folded = started.elapsed();
        let bytes = snapshot_bytes(&state);
        tracing::debug!(session = %self.id, target, seq = state.seq, ?folded, serialised = ?started.elapsed() - folded, bytes = bytes.len(), "replay jumped");
        let mut room = self.room.lock();
        room.epoch += 1;
        let seq = state.seq;
        room.cached = Some((room.epoch, seq, bytes.clone()));
        room.state = Some(state);
        room.cursor_ms = target;
        self.publish(FrameKind::Snapshot, room.epoch, seq, bytes);
        Ok(())
    }

    /// Streams the events after the held state (at seq `after`) up to `up_to` and folds them in.
    async fn play_until(&self, app: &AppState, target: i64, after: Seq, up_to: Seq, epoch: u64) -> anyhow::Result<()> {
        let mut pages = app.store.pages(self.log, after, up_to);
        while let Some(page) = pages.next().await? {
            let mut room = self.room.lock();
            if room.epoch != epoch {
                return Ok(()); // a jump happened meanwhile; the next turn materialises
            }
            let Some(state) = room.state.as_mut() else { return Ok(()) };
            for e in &page {
                state.apply(e);
            }
            for (seq, bytes) in merge_positions(&page) {
                self.publish(FrameKind::Event, epoch, seq, bytes);
            }
        }
        self.room.lock().cursor_ms = target;
        Ok(())
    }
}

/// The stream messages for a page of events: each event alone, except consecutive position
/// batches, which go as one (latest fix per unit) — the same merge a lagging live client gets.
fn merge_positions(page: &[LoggedEvent]) -> Vec<(Seq, Bytes)> {
    let mut out = Vec::new();
    let mut run: Option<(Seq, &LoggedEvent, BTreeMap<UnitId, Fix>)> = None;
    let flush = |run: &mut Option<(Seq, &LoggedEvent, BTreeMap<UnitId, Fix>)>, out: &mut Vec<(Seq, Bytes)>| {
        if let Some((first, last, fixes)) = run.take() {
            let message = ServerMessage::positions(last.seq, last.at_ms, &last.actor, fixes.values(), Some(first));
            out.push((last.seq, encode(&message)));
        }
    };
    for e in page {
        match &e.event {
            Event::PositionsReported { fixes } => {
                let (_, last, kept) = run.get_or_insert_with(|| (e.seq, e, BTreeMap::new()));
                *last = e;
                keep_latest(kept, fixes);
            }
            _ => {
                flush(&mut run, &mut out);
                out.push((e.seq, encode(&ServerMessage::event(e))));
            }
        }
    }
    flush(&mut run, &mut out);
    out
}

/// Every session of this server.
#[derive(Default)]
pub struct Replays {
    sessions: Mutex<HashMap<String, Arc<Session>>>,
}

/// What the trainer gets back when starting a session.
#[derive(serde::Serialize)]
pub struct Started {
    pub session_id: String,
    pub trainer_key: String,
    #[serde(flatten)]
    pub info: SessionInfo,
}

impl Replays {
    /// The sessions stored in the log's database (they survive restarts).
    pub async fn load(store: &crate::store::Store, now_ms: i64) -> anyhow::Result<Self> {
        let replays = Self::default();
        for (id, key, info) in store.sessions().await? {
            match serde_json::from_str::<SessionInfo>(&info) {
                Ok(mut info) => {
                    info.clock.playing = false; // a restart pauses every session
                                                // A restart counts as use: sessions get a full idle period after it.
                    replays.sessions.lock().insert(id.clone(), Session::new(id, key, info, now_ms));
                }
                Err(e) => tracing::warn!(error = %e, session = %id, "skipping an unreadable replay session"),
            }
        }
        Ok(replays)
    }

    pub async fn start(
        &self,
        app: &AppState,
        title: String,
        source: Source,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Started, Refusal> {
        let now_ms = app.clock.now_ms();
        let clock = ReplayClock::new(from_ms, to_ms, now_ms)?;
        self.expire(app, now_ms).await;
        if self.sessions.lock().len() >= MAX_SESSIONS {
            return Err(Refusal::limit(
                "",
                format!("this server already keeps {MAX_SESSIONS} replay sessions; remove one (or wait a day for idle ones to expire)"),
            ));
        }
        let id = crate::token::hex(6);
        let trainer_key = crate::token::hex(16);
        let info =
            SessionInfo { session_id: id.clone(), title, source, clock, pins: Vec::new(), created_at_ms: now_ms };
        let session = Session::new(id.clone(), trainer_key.clone(), info.clone(), now_ms);
        session.changed(app, now_ms).await;
        self.sessions.lock().insert(id.clone(), session);
        Ok(Started { session_id: id, trainer_key, info })
    }

    pub fn get(&self, id: &str) -> Option<Arc<Session>> {
        self.sessions.lock().get(id).cloned()
    }

    /// Every session, newest first.
    pub fn list(&self) -> Vec<SessionInfo> {
        let mut all: Vec<SessionInfo> = self.sessions.lock().values().map(|s| s.info()).collect();
        all.sort_by_key(|i| std::cmp::Reverse(i.created_at_ms));
        all
    }

    /// Removes the sessions nobody followed or drove for [`SESSION_IDLE_MS`].
    pub async fn expire(&self, app: &AppState, now_ms: i64) {
        let idle: Vec<String> =
            self.sessions.lock().values().filter(|s| s.is_idle(now_ms)).map(|s| s.id.clone()).collect();
        for id in idle {
            tracing::info!(session = %id, "removing an idle replay session");
            if let Err(e) = self.remove(app, &id).await {
                tracing::warn!(error = %e, session = %id, "removing an idle replay session failed");
            }
        }
    }

    pub async fn remove(&self, app: &AppState, id: &str) -> anyhow::Result<bool> {
        let removed = self.sessions.lock().remove(id);
        if removed.is_some() {
            app.store.delete_session(id).await?;
        }
        Ok(removed.is_some())
    }
}

//! Replay: the whole room as it was at any past moment, played at 1× to 60×, shared by a trainer
//! with the trainees who follow the session's clock.
//!
//! A [`Session`] holds a clock ([`vigie_domain::replay::ReplayClock`]) and pinned notes, persisted
//! so a debrief survives a restart, and a room served by the same stream engine as the live one
//! ([`crate::stream`]: the session is its [`Source`]). While anyone watches it, one driver task
//! per session keeps the room at the clock's moment: a jump (seek, step, restart) materialises
//! the state from the nearest snapshot plus the tail ([`seek`]) and replaces the room (followers
//! get a snapshot); playing folds the events between ticks in (followers get them as ranges,
//! consecutive position batches merged per tick).
//! Everything is read from the log (or an imported scenario's tables) and nothing is written to
//! the live log: replay has no command path at all.

pub mod file;
pub mod seek;
pub mod store;

use bytes::Bytes;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use vigie_domain::api::ReplayStarted;
use vigie_domain::replay::{Control, Direction, Pin, ReplayClock, SessionInfo, Source as Recorded};
use vigie_domain::visibility::Viewer;
use vigie_domain::wire::{ServerMessage, StreamErrorCode};
use vigie_domain::{LoggedEvent, Refusal, Seq, State};

use crate::store::replay::{Log, FOLD_PAGE};
use crate::stream::{encode, Projection, Source};
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
/// Past this many events between two ticks, playing jumps (snapshot) instead of streaming them.
const MAX_STREAMED_EVENTS: u64 = 20_000;
/// Most pinned notes per session.
const MAX_PINS: usize = 500;
/// Most replay sessions a server keeps (they are persisted).
pub const MAX_SESSIONS: usize = 64;
/// A session nobody follows or drives for this long is removed.
pub const SESSION_IDLE_MS: i64 = 24 * 3_600_000;

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
    /// The room at the session's moment; its followers are the projection's subscribers.
    room: Projection,
    /// Replay time the room stands at; `None` until the driver first materialises it.
    cursor_ms: Mutex<Option<i64>>,
    /// The last jump (`Steering::jumps`) the driver brought the room to; `None` before its first.
    applied: tokio::sync::watch::Sender<Option<u64>>,
    wake: Notify,
    driving: AtomicBool,
    /// Server time the session was last driven or joined.
    last_used_ms: AtomicI64,
}

impl Session {
    fn new(id: String, trainer_key: String, info: SessionInfo, created_ms: i64, outbox_bytes: usize) -> Arc<Self> {
        let log = match &info.source {
            Recorded::Live => Log::Live,
            Recorded::Scenario { scenario_id, .. } => Log::Scenario(*scenario_id),
        };
        Arc::new(Self {
            id,
            trainer_key,
            log,
            control: Mutex::new(Steering { info, jumps: 0 }),
            room: Projection::new(State::default(), (), outbox_bytes),
            cursor_ms: Mutex::new(None),
            applied: tokio::sync::watch::channel(None).0,
            wake: Notify::new(),
            driving: AtomicBool::new(false),
            last_used_ms: AtomicI64::new(created_ms),
        })
    }

    pub fn info(&self) -> SessionInfo {
        self.control.lock().info.clone()
    }

    /// Reads the room at the session's moment.
    pub fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        self.room.read(f)
    }

    /// Replay time the room stands at; `None` until it is first materialised.
    pub fn moment_ms(&self) -> Option<i64> {
        *self.cursor_ms.lock()
    }

    /// Keeps the room moving with the session's clock while the result is held, as a follower
    /// does, for a reader that does not follow (a search of a session nobody follows right now).
    pub fn hold(self: &Arc<Self>, app: &AppState) -> crate::stream::Subscription {
        let held = self.room.subscribe(self.info().viewer(), |_, _| false);
        self.ensure_driver(app);
        held
    }

    /// Waits, up to `limit`, until the room stands where the clock's last jump (a seek, a step)
    /// put it; false if it did not in time.
    pub async fn settled(&self, limit: Duration) -> bool {
        let jumps = self.control.lock().jumps;
        let mut applied = self.applied.subscribe();
        let wait = async {
            loop {
                if *applied.borrow_and_update() == Some(jumps) {
                    return;
                }
                if applied.changed().await.is_err() {
                    return;
                }
            }
        };
        tokio::time::timeout(limit, wait).await.is_ok()
    }

    pub fn is_trainer(&self, key: Option<&str>) -> bool {
        // Not constant-time: the key is a training convenience, not a security boundary.
        key.is_some_and(|k| k == self.trainer_key)
    }

    /// The session's clock and pins as a stream message.
    pub fn info_message(&self, now_ms: i64) -> Bytes {
        encode(&ServerMessage::Replay { seq: self.room.head(), session: Box::new(self.info()), server_ms: now_ms })
    }

    /// Tells every follower something that is not part of the log (clock, progress, a failure).
    fn tell(&self, message: &ServerMessage) {
        self.room.tell(encode(message));
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
        self.room.subscriber_count() == 0
            && now_ms.saturating_sub(self.last_used_ms.load(Ordering::Relaxed)) > SESSION_IDLE_MS
    }

    /// Tells the followers, wakes the driver, then persists the session. Followers are told first,
    /// before any wait: the driver wakes on its own every second and may show the new moment's room
    /// while the session is being saved, and a follower must never hold a room with the clock it
    /// left (a slow disk once showed a trainee the new room under the old time).
    async fn changed(&self, app: &AppState, now_ms: i64) {
        self.touch(now_ms);
        self.room.tell(self.info_message(now_ms));
        self.wake.notify_one();
        let saved = app.store.save_session(&self.id, &self.trainer_key, &self.info()).await;
        if let Err(e) = saved {
            tracing::warn!(error = %e, session = %self.id, "saving a replay session failed; it would not survive a restart");
        }
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
        // A driver that starts again (a follower back, a search) goes on from the room it left: it
        // materialises the room again only for a jump made since.
        let mut seen_jumps = self.applied.borrow().unwrap_or(u64::MAX);
        loop {
            if self.room.subscriber_count() == 0 {
                self.driving.store(false, Ordering::SeqCst);
                // A follower may have joined between the count and the store: keep driving for it.
                if self.room.subscriber_count() == 0 || self.driving.swap(true, Ordering::SeqCst) {
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
                self.tell(&ServerMessage::Error {
                    seq: self.room.head(),
                    code: StreamErrorCode::ReplayFailed,
                    message: "the replay could not read its log; the server's log says why".into(),
                });
            }
            seen_jumps = jumps;
            self.applied.send_replace(Some(jumps));
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
        let cursor_ms = *self.cursor_ms.lock();
        let held = cursor_ms.map(|_| self.room.head());
        if held.is_some() && !jumped && Some(target) == cursor_ms {
            return Ok(());
        }
        let up_to = app.store.seq_at(self.log, target).await?;
        let backwards = cursor_ms.is_some_and(|c| target < c);
        let epoch = self.room.epoch();
        let streamable =
            held.is_some_and(|seq| !jumped && !backwards && up_to.saturating_sub(seq) <= MAX_STREAMED_EVENTS);
        if let (true, Some(after)) = (streamable, held) {
            return self.play_until(app, target, after, up_to, epoch).await;
        }
        // Materialise, folding forward from the room held when the target is ahead of it.
        let near = if backwards || held.is_none() { None } else { Some(self.room.read(State::clone)) };
        let started = std::time::Instant::now();
        let mut last_report = 0;
        let state = seek::state_at(&app.store, self.log, target, near, |done, total| {
            if total > FOLD_PAGE as u64 && done > last_report {
                last_report = done;
                self.tell(&ServerMessage::Progress { seq: self.room.head(), what: "seeking".into(), done, total });
            }
        })
        .await?;
        let folded = started.elapsed();
        let seq = state.seq;
        self.room.replace(state);
        *self.cursor_ms.lock() = Some(target);
        tracing::debug!(session = %self.id, target, seq, ?folded, serialised = ?started.elapsed() - folded, "replay jumped");
        Ok(())
    }

    /// Streams the events after the held state (at seq `after`) up to `up_to` and folds them in.
    async fn play_until(&self, app: &AppState, target: i64, after: Seq, up_to: Seq, epoch: u64) -> anyhow::Result<()> {
        let mut pages = app.store.pages(self.log, after, up_to);
        while let Some(page) = pages.next().await? {
            if self.room.publish_in(Some(epoch), &page, true)?.is_none() {
                return Ok(()); // a jump happened meanwhile; the next turn materialises
            }
        }
        *self.cursor_ms.lock() = Some(target);
        Ok(())
    }
}

/// A session's followers are served by the stream engine: each starts from the session's room (a
/// snapshot, once the driver has materialised it) after the clock, and a follower that falls
/// behind is resynced the same way. Nothing is caught up from the log: the room jumps.
impl Source for Session {
    type Extra = ();

    fn projection(&self) -> &Projection {
        &self.room
    }

    fn catch_up_limit(&self) -> u64 {
        0
    }

    fn wants_snapshot(&self, since: Option<Seq>, head: Seq, epoch: u64) -> bool {
        // Before the first jump the room is empty: the follower waits for it.
        epoch > 0 && since != Some(head)
    }

    async fn read_after(&self, after: Seq, _up_to: Seq) -> anyhow::Result<Vec<LoggedEvent>> {
        anyhow::bail!("a replay follower is never caught up from the log (asked for after {after})")
    }

    fn greeting(&self, now_ms: i64) -> Vec<Bytes> {
        vec![self.info_message(now_ms)]
    }
}

/// Every session of this server.
pub struct Replays {
    sessions: Mutex<HashMap<String, Arc<Session>>>,
    /// Each follower's outbox bound (as a live client's).
    outbox_bytes: usize,
}

impl Replays {
    /// The sessions stored in the log's database (they survive restarts).
    pub async fn load(store: &crate::store::Store, now_ms: i64, outbox_bytes: usize) -> anyhow::Result<Self> {
        let replays = Self { sessions: Mutex::default(), outbox_bytes };
        for store::Stored { session_id, trainer_key, mut info } in store.sessions().await? {
            info.clock.playing = false; // a restart pauses every session
                                        // A restart counts as use: sessions get a full idle period after it.
            let session = Session::new(session_id.clone(), trainer_key, info, now_ms, outbox_bytes);
            replays.sessions.lock().insert(session_id, session);
        }
        Ok(replays)
    }

    pub async fn start(
        &self,
        app: &AppState,
        title: String,
        source: Recorded,
        from_ms: i64,
        to_ms: i64,
        viewer: &Viewer,
    ) -> Result<ReplayStarted, Refusal> {
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
        let audience = match viewer {
            Viewer::Room => None,
            Viewer::Agency(agency) => Some(agency.clone()),
        };
        // What retention purged from the range (the live log only: a scenario keeps its content).
        let purged = match &source {
            Recorded::Live => crate::audit::retention::purges(app.store.readers(), from_ms).await.unwrap_or_else(|e| {
                tracing::warn!(error = %e, "could not read the purges for a replay");
                Vec::new()
            }),
            Recorded::Scenario { .. } => Vec::new(),
        };
        let info = SessionInfo {
            session_id: id.clone(),
            title,
            source,
            clock,
            pins: Vec::new(),
            created_at_ms: now_ms,
            audience,
            purged,
        };
        let session = Session::new(id.clone(), trainer_key.clone(), info.clone(), now_ms, self.outbox_bytes);
        session.changed(app, now_ms).await;
        self.sessions.lock().insert(id.clone(), session);
        Ok(ReplayStarted { trainer_key, info })
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

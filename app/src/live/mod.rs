//! The room as the browser holds it: the initial picture from the server, then the stream folded
//! in with the shared reducer. Tracks `seq` so a reconnect resumes exactly where it stopped.

mod mode;
#[cfg(feature = "hydrate")]
mod socket;

pub use mode::{remember_trainer_key, Mode};

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use vigie_domain::replay::SessionInfo;
use vigie_domain::wire::{Cursor, ServerMessage, Step, StreamErrorCode};
use vigie_domain::{LoggedEvent, Seq, State, Summary};

/// Latest events shown on the page.
pub const RECENT_SHOWN: usize = 20;

/// The room as the server renders it, also the page's starting point after hydration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InitialRoom {
    pub state: State,
    /// Latest non-position events, oldest first.
    pub recent: Vec<LoggedEvent>,
    pub now_ms: i64,
    pub stale_after_ms: i64,
    /// The page's language, from the browser's `Accept-Language`.
    #[serde(default)]
    pub lang: crate::i18n::Lang,
    /// Set on a replay page: the session this room replays.
    #[serde(default)]
    pub replay: Option<SessionInfo>,
    /// Who is signed in at this screen.
    #[serde(default)]
    pub me: Option<vigie_domain::authority::Principal>,
}

#[server(prefix = "/leptos", endpoint = "load_room")]
pub async fn load_room() -> Result<InitialRoom, ServerFnError> {
    let source =
        use_context::<crate::ssr::RoomSource>().ok_or_else(|| ServerFnError::new("the room is not available"))?;
    let principal = crate::ssr::principal()?;
    if !principal.has_any(vigie_domain::authority::roles::READ_ROOM) {
        return Err(ServerFnError::new("your roles do not open the live room"));
    }
    let mut room = (source.0)(&principal);
    room.lang = request_lang();
    Ok(room)
}

/// The room of replay session `id` at its clock's moment, for a replay page.
#[server(prefix = "/leptos", endpoint = "load_replay")]
pub async fn load_replay(id: String) -> Result<InitialRoom, ServerFnError> {
    let source =
        use_context::<crate::ssr::ReplaySource>().ok_or_else(|| ServerFnError::new("replay is not available"))?;
    let principal = crate::ssr::principal()?;
    if !principal.has_any(vigie_domain::authority::roles::FOLLOW_REPLAYS) {
        return Err(ServerFnError::new("your roles do not open replays"));
    }
    let mut room = (source.0)(id, principal).await.map_err(ServerFnError::new)?;
    room.lang = request_lang();
    Ok(room)
}

/// The language of a page without a room (the replay home), from the browser's `Accept-Language`.
#[server(prefix = "/leptos", endpoint = "page_lang")]
pub async fn page_lang() -> Result<crate::i18n::Lang, ServerFnError> {
    Ok(request_lang())
}

/// The first language of the request being rendered.
#[cfg(feature = "ssr")]
fn request_lang() -> crate::i18n::Lang {
    let accept = use_context::<http::request::Parts>()
        .and_then(|p| p.headers.get("accept-language").and_then(|v| v.to_str().ok()).map(str::to_string));
    crate::i18n::Lang::from_header(accept.as_deref().unwrap_or(""))
}

/// Renders `page` (one without a room: replay home, sign-in, admin) in the request's language,
/// read on the server so the first paint is already in it.
#[component]
pub fn WithLang(page: fn(crate::i18n::Lang) -> AnyView) -> impl IntoView {
    let lang = Resource::new_blocking(|| (), |_| page_lang());
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move { page(lang.await.unwrap_or_default()) })}
        </Suspense>
    }
}

/// Loads the room once and renders `page` with it. The resource is blocking, so the server sends
/// the page with real figures and the browser hydrates from the same data.
#[component]
pub fn WithRoom(
    page: fn(LiveRoom) -> AnyView,
    #[prop(optional, into)] replay: Option<Signal<String>>,
) -> impl IntoView {
    let initial = Resource::new_blocking(
        move || replay.map(|id| id.get()),
        |replay| async move {
            match replay {
                Some(id) => load_replay(id).await,
                None => load_room().await,
            }
        },
    );
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading the room…"</p> }>
            {move || Suspend::new(async move {
                match initial.await {
                    Ok(room) => page(LiveRoom::new(room)),
                    Err(e) => view! { <p class="error">{format!("The room could not be loaded: {e}")}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    Connecting,
    Live,
    Reconnecting,
}

impl Link {
    /// What the operator reads (an English key of the translation table).
    pub fn label(self) -> &'static str {
        match self {
            Link::Connecting => "connecting",
            Link::Live => "live",
            Link::Reconnecting => "reconnecting…",
        }
    }

    /// The CSS class suffix.
    pub fn slug(self) -> &'static str {
        match self {
            Link::Connecting => "connecting",
            Link::Live => "live",
            Link::Reconnecting => "reconnecting",
        }
    }
}

/// The reactive view of the room. The state itself is not a signal (it changes on every position
/// report); the figures derived from it are, and only change when they differ.
#[derive(Clone, Copy)]
pub struct LiveRoom {
    /// Who is signed in at this screen (the server rendered the page for them).
    pub me: StoredValue<Option<vigie_domain::authority::Principal>>,
    pub state: StoredValue<State>,
    pub seq: RwSignal<Seq>,
    pub summary: RwSignal<Summary>,
    pub recent: RwSignal<Vec<LoggedEvent>>,
    pub link: RwSignal<Link>,
    pub now_ms: RwSignal<i64>,
    pub stale_after_ms: i64,
    pub lang: crate::i18n::Lang,
    /// Events that arrived out of order or twice (should stay 0; shown for the tests and ops).
    pub anomalies: RwSignal<u32>,
    /// Bumped on every change other than positions: the panels recompute from `state` on it.
    pub changes: RwSignal<u64>,
    /// Bumped on every change, positions included: the map drains `dirty` on it.
    pub moves: RwSignal<u64>,
    /// What changed since the map last drew, so it updates by diff.
    pub dirty: StoredValue<Dirty>,
    /// The non-position events this page has seen live, oldest first (bounded); the timeline
    /// loads what came before from the log.
    pub history: StoredValue<Vec<LoggedEvent>>,
    /// On a replay page: the session (clock and pins) as last told by the server.
    pub replay: RwSignal<Option<Replaying>>,
    /// Long work on the server for this page (a far seek): `(done, total)`.
    pub progress: RwSignal<Option<(u64, u64)>>,
    /// The last thing the server said went wrong on this stream (e.g. a replay that cannot read
    /// its log), for the operator to see.
    pub notice: RwSignal<Option<(StreamErrorCode, String)>>,
    /// Live or replay, from the page that opened the room.
    pub mode: StoredValue<Mode>,
}

/// A replay session as this page follows it.
#[derive(Clone, Debug, PartialEq)]
pub struct Replaying {
    pub session: SessionInfo,
    /// Server wall time minus this browser's, so the replay clock reads the same everywhere.
    pub offset_ms: i64,
}

impl Replaying {
    /// Replay time at this browser's wall time `local_ms`.
    pub fn now_ms(&self, local_ms: i64) -> i64 {
        self.session.clock.at(local_ms + self.offset_ms)
    }
}

/// Live events kept for the timeline; older ones are read from the log when needed.
pub const MAX_HISTORY: usize = 20_000;

/// Units and incidents changed since the map last looked; `all` after a snapshot.
#[derive(Clone, Debug, Default)]
pub struct Dirty {
    pub all: bool,
    pub units: std::collections::BTreeSet<vigie_domain::UnitId>,
    pub incidents: bool,
}

impl Dirty {
    fn note(&mut self, event: &vigie_domain::Event) {
        use vigie_domain::Event as E;
        match event {
            E::PositionsReported { fixes } => self.units.extend(fixes.iter().map(|f| f.unit_id)),
            E::UnitStatusChanged { unit_id, .. } => {
                self.units.insert(*unit_id);
            }
            E::UnitAssigned { unit_id, .. } | E::UnitReleased { unit_id, .. } => {
                self.units.insert(*unit_id);
                self.incidents = true;
            }
            E::UnitRegistered { .. } | E::AgencyRegistered { .. } => self.all = true,
            E::IncidentCreated { .. } | E::IncidentUpdated { .. } | E::IncidentStatusChanged { .. } => {
                self.incidents = true
            }
            E::IncidentRestricted { .. }
            | E::IncidentShared { .. }
            | E::IncidentUnshared { .. }
            | E::SharingChanged { .. } => self.incidents = true,
            E::Recorded { .. } => {}
            // The map follows alerts by the clock (their effective and expiry times), not by events.
            E::AlertIssued { .. } | E::AlertUpdated { .. } | E::AlertCancelled { .. } => {}
            E::UnitHidden { unit_id, .. } | E::UnitRevealed { unit_id, .. } => {
                self.units.insert(*unit_id);
            }
            E::NoteAdded { .. }
            | E::ChannelCreated { .. }
            | E::MessagePosted { .. }
            | E::MessageAcknowledged { .. } => {}
        }
    }

    /// Takes what changed, leaving nothing.
    pub fn take(&mut self) -> Dirty {
        std::mem::take(self)
    }
}

impl LiveRoom {
    pub fn new(initial: InitialRoom) -> Self {
        let summary = Summary::of(&initial.state, initial.now_ms, initial.stale_after_ms);
        let mut recent = initial.recent;
        recent.reverse();
        recent.truncate(RECENT_SHOWN);
        Self {
            me: StoredValue::new(initial.me),
            seq: RwSignal::new(initial.state.seq),
            state: StoredValue::new(initial.state),
            summary: RwSignal::new(summary),
            recent: RwSignal::new(recent),
            link: RwSignal::new(Link::Connecting),
            now_ms: RwSignal::new(initial.now_ms),
            stale_after_ms: initial.stale_after_ms,
            lang: initial.lang,
            anomalies: RwSignal::new(0),
            changes: RwSignal::new(0),
            moves: RwSignal::new(0),
            dirty: StoredValue::new(Dirty { all: true, incidents: true, ..Dirty::default() }),
            history: StoredValue::new(Vec::new()),
            mode: StoredValue::new(match &initial.replay {
                Some(session) => Mode::Replay { session_id: session.session_id.clone() },
                None => Mode::Live,
            }),
            replay: RwSignal::new(initial.replay.map(|session| Replaying { session, offset_ms: 0 })),
            progress: RwSignal::new(None),
            notice: RwSignal::new(None),
        }
    }

    /// Moves the page's clock from this browser's wall time: the replay clock on a replay page.
    pub fn tick_wall(&self, local_ms: i64) {
        let now = self.replay.with_untracked(|r| r.as_ref().map(|r| r.now_ms(local_ms)));
        self.tick(now.unwrap_or(local_ms));
    }

    /// Folds one server message in. Returns false when the stream is inconsistent (a gap), in
    /// which case the caller reconnects from the last good seq.
    pub fn receive(&self, message: ServerMessage) -> bool {
        match message {
            ServerMessage::Snapshot { seq, state } => {
                self.progress.set(None);
                self.state.set_value(*state);
                self.seq.set(seq);
                self.dirty.update_value(|d| {
                    d.all = true;
                    d.incidents = true;
                });
                self.changes.update(|n| *n += 1);
                self.moves.update(|n| *n += 1);
                self.refresh_summary();
                true
            }
            ServerMessage::Advance { prev_seq, seq } => self.step(prev_seq, seq),
            message @ (ServerMessage::Event { .. } | ServerMessage::Positions { .. }) => {
                let Some((prev_seq, seq)) = message.range() else { return true };
                if !self.step(prev_seq, seq) {
                    return false;
                }
                if self.seq.get_untracked() != seq {
                    return true; // held already
                }
                let Some(logged) = message.into_logged() else { return true };
                self.state.update_value(|s| s.apply(&logged));
                self.dirty.update_value(|d| d.note(&logged.event));
                self.moves.update(|n| *n += 1);
                if !logged.event.is_positions() {
                    self.history.update_value(|h| {
                        if h.len() >= MAX_HISTORY {
                            h.drain(..MAX_HISTORY / 10);
                        }
                        h.push(logged.clone());
                    });
                    self.changes.update(|n| *n += 1);
                    self.recent.update(|r| {
                        r.insert(0, logged);
                        r.truncate(RECENT_SHOWN);
                    });
                    self.refresh_summary();
                }
                true
            }
            ServerMessage::Heartbeat { at_ms, .. } => {
                if self.mode.with_value(Mode::clock_from_heartbeat) {
                    self.tick(at_ms);
                }
                true
            }
            ServerMessage::Replay { session, server_ms, .. } => {
                #[cfg(feature = "hydrate")]
                let local_ms = js_sys::Date::now() as i64;
                #[cfg(not(feature = "hydrate"))]
                let local_ms = server_ms;
                let replaying = Replaying { session: *session, offset_ms: server_ms - local_ms };
                let now = replaying.now_ms(local_ms);
                self.replay.set(Some(replaying));
                self.tick(now);
                true
            }
            ServerMessage::Progress { done, total, .. } => {
                self.progress.set(Some((done, total)));
                true
            }
            ServerMessage::Error { code, message, .. } => {
                self.notice.set(Some((code, message)));
                true
            }
            // The server catches the page up on the same socket: nothing to do.
            ServerMessage::Resync { .. } => true,
        }
    }

    /// Moves the page along the range `(prev_seq, seq]` if it starts where the page stands.
    /// Returns false on a gap (the caller reconnects from the last good seq); a range the page
    /// already holds is counted as an anomaly and left.
    fn step(&self, prev_seq: Seq, seq: Seq) -> bool {
        let mut cursor = Cursor::at(self.seq.get_untracked());
        match cursor.step(prev_seq, seq) {
            Step::Apply => {
                self.seq.set(cursor.seq);
                true
            }
            Step::Held => {
                self.anomalies.update(|n| *n += 1);
                true
            }
            Step::Gap => {
                self.anomalies.update(|n| *n += 1);
                false
            }
        }
    }

    /// Moves the page's clock (staleness and timers are derived from it).
    pub fn tick(&self, now_ms: i64) {
        self.now_ms.set(now_ms);
        self.refresh_summary();
    }

    fn refresh_summary(&self) {
        let now_ms = self.now_ms.get_untracked();
        let summary = self.state.with_value(|s| Summary::of(s, now_ms, self.stale_after_ms));
        if self.summary.with_untracked(|old| *old != summary) {
            self.summary.set(summary);
        }
    }

    /// Opens the stream and keeps it open (browser only).
    pub fn connect(self) {
        #[cfg(feature = "hydrate")]
        socket::keep_connected(self, self.mode.get_value());
    }
}

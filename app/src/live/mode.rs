//! Whether a page shows the live room or replays a session. The panels are the same either way;
//! what differs is answered here, in one place, and read from the page's context: whether
//! commands may be sent, where the stream and the timeline's history come from, and which clock
//! the page runs on.

use std::time::Duration;

use crate::api::History;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    Live,
    Replay { session_id: String },
}

impl Mode {
    /// A replay is read-only: its room is the past.
    pub fn read_only(&self) -> bool {
        matches!(self, Mode::Replay { .. })
    }

    /// The replay session this page follows, if it replays one.
    pub fn session(&self) -> Option<&str> {
        match self {
            Mode::Live => None,
            Mode::Replay { session_id } => Some(session_id),
        }
    }

    /// Where the timeline reads what came before the page opened: a day of the live log, or the
    /// session's whole window.
    pub fn history(&self, now_ms: i64) -> History {
        match self {
            Mode::Live => History::Log { since_ms: now_ms - 24 * 3_600_000 },
            Mode::Replay { session_id } => History::Session { id: session_id.clone() },
        }
    }

    /// Whether the timeline also shows the events the stream brings (a replay's timeline is its
    /// window, read once; the stream only moves the room to the moment).
    pub fn timeline_follows_stream(&self) -> bool {
        !self.read_only()
    }

    /// How often the page's clock moves: at 60× a second of replay is a minute.
    pub fn tick_every(&self) -> Duration {
        match self {
            Mode::Live => Duration::from_secs(1),
            Mode::Replay { .. } => Duration::from_millis(250),
        }
    }

    /// Whether the server's heartbeat sets the page's clock (live), or the session's clock does.
    pub fn clock_from_heartbeat(&self) -> bool {
        !self.read_only()
    }

    /// The trainer's key for this session, kept in this browser (or handed over as
    /// `#trainer=KEY` in the link), if this browser drives it.
    pub fn trainer_key(&self) -> Option<String> {
        let id = self.session()?;
        #[cfg(feature = "hydrate")]
        {
            use leptos::prelude::window;
            let storage = window().local_storage().ok().flatten()?;
            let name = trainer_key_name(id);
            let handed = window().location().hash().ok().and_then(|h| h.strip_prefix("#trainer=").map(str::to_owned));
            if let Some(key) = handed {
                let _ = storage.set_item(&name, &key);
                let _ = window().location().set_hash("");
            }
            storage.get_item(&name).ok().flatten()
        }
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = id;
            None
        }
    }
}

/// Keeps the trainer's key of a session this browser started.
pub fn remember_trainer_key(session_id: &str, key: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(storage) = leptos::prelude::window().local_storage().ok().flatten() {
        let _ = storage.set_item(&trainer_key_name(session_id), key);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (session_id, key);
}

#[cfg(feature = "hydrate")]
fn trainer_key_name(session_id: &str) -> String {
    format!("vigie.trainer.{session_id}")
}

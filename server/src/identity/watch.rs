//! Open streams end with their credential. Every stream holds a [`Held`] for the credential it was
//! opened with; [`Watch::sweep`] (every [`SWEEP_EVERY`], one read whatever the number of streams)
//! ends those whose session or token is no longer live — signed out, expired, password changed,
//! account disabled (also from the CLI, which writes the database directly), token revoked — and
//! marks the live sessions as used (a screen following the room is in use). Ends done through the
//! API ([`Watch::end_login`], [`Watch::end`]) close their streams at once.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

use super::caller::Credential;
use crate::store::Store;

/// How often the live credentials of open streams are checked: a stream outlives its credential by
/// at most this (plus one read).
pub const SWEEP_EVERY: Duration = Duration::from_secs(2);

#[derive(Default)]
pub struct Watch {
    held: Mutex<HashMap<Credential, Entry>>,
}

struct Entry {
    login: String,
    ended: watch::Sender<bool>,
    streams: usize,
}

/// A stream's hold on its credential: `ended` turns true when the credential ends.
pub struct Held {
    watch: Arc<Watch>,
    credential: Credential,
    pub ended: watch::Receiver<bool>,
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut held = self.watch.held.lock();
        if let Some(entry) = held.get_mut(&self.credential) {
            entry.streams -= 1;
            if entry.streams == 0 {
                held.remove(&self.credential);
            }
        }
    }
}

impl Watch {
    pub fn hold(self: &Arc<Self>, credential: Credential, login: &str) -> Held {
        let mut held = self.held.lock();
        let entry = held.entry(credential.clone()).or_insert_with(|| Entry {
            login: login.to_owned(),
            ended: watch::channel(false).0,
            streams: 0,
        });
        entry.streams += 1;
        Held { watch: self.clone(), credential, ended: entry.ended.subscribe() }
    }

    /// Ends the streams opened with `credential` now.
    pub fn end(&self, credential: &Credential) {
        if let Some(entry) = self.held.lock().get(credential) {
            let _ = entry.ended.send(true);
        }
    }

    /// Ends every stream of `login`'s sessions and tokens now.
    pub fn end_login(&self, login: &str) {
        for entry in self.held.lock().values().filter(|e| e.login == login) {
            let _ = entry.ended.send(true);
        }
    }

    /// Streams open, for stats and tests.
    pub fn streams(&self) -> usize {
        self.held.lock().values().map(|e| e.streams).sum()
    }

    /// Ends the streams whose credential is no longer live, and marks live sessions used.
    pub async fn sweep(&self, store: &Store, now_ms: i64) -> anyhow::Result<()> {
        let asked = self.asked();
        let live = Asked {
            sessions: store.live_session_keys(&asked.sessions, now_ms).await?,
            tokens: store.live_token_ids(&asked.tokens).await?,
        };
        store.touch_sessions(&live.sessions, now_ms).await?;
        self.settle(&asked, &live);
        Ok(())
    }

    /// The credentials held now, to ask the store about.
    fn asked(&self) -> Asked {
        let held = self.held.lock();
        let mut asked = Asked::default();
        for credential in held.keys() {
            match credential {
                Credential::Session(key) => asked.sessions.push(key.clone()),
                Credential::Token(id) => asked.tokens.push(*id),
            }
        }
        asked
    }

    /// Ends the streams of the credentials that were `asked` about and are not `live`. One held
    /// since the store was read is left to the next sweep.
    fn settle(&self, asked: &Asked, live: &Asked) {
        for (credential, entry) in self.held.lock().iter() {
            let ended = match credential {
                Credential::Session(key) => asked.sessions.contains(key) && !live.sessions.contains(key),
                Credential::Token(id) => asked.tokens.contains(id) && !live.tokens.contains(id),
            };
            if ended {
                let _ = entry.ended.send(true);
            }
        }
    }
}

/// Credentials, by kind.
#[derive(Default)]
struct Asked {
    sessions: Vec<String>,
    tokens: Vec<i64>,
}

/// Sweeps every [`SWEEP_EVERY`] until the server stops.
pub async fn run(
    watch: Arc<Watch>,
    store: Store,
    now_ms: Arc<dyn Fn() -> i64 + Send + Sync>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => return,
            _ = tick.tick() => {}
        }
        if let Err(e) = watch.sweep(&store, now_ms()).await {
            tracing::warn!(error = %format!("{e:#}"), "checking the credentials of open streams");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sweep_ends_what_it_asked_about_and_found_dead_and_leaves_a_stream_opened_meanwhile() {
        let watch = Arc::new(Watch::default());
        let ended = watch.hold(Credential::Session("a".repeat(64)), "a");
        let alive = watch.hold(Credential::Token(7), "b");
        let asked = watch.asked();
        // Opened while the store was being read: the store was not asked about it.
        let meanwhile = watch.hold(Credential::Session("c".repeat(64)), "c");
        watch.settle(&asked, &Asked { sessions: vec![], tokens: vec![7] });
        assert!(*ended.ended.borrow(), "asked about and not live: ended");
        assert!(!*alive.ended.borrow(), "live: kept");
        assert!(!*meanwhile.ended.borrow(), "not asked about: left to the next sweep");
        drop((ended, alive, meanwhile));
        assert_eq!(watch.streams(), 0, "every hold is given back");
    }
}

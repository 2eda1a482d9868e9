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
        let (sessions, tokens): (Vec<String>, Vec<i64>) = {
            let held = self.held.lock();
            let sessions = held
                .keys()
                .filter_map(|c| match c {
                    Credential::Session(key) => Some(key.clone()),
                    Credential::Token(_) => None,
                })
                .collect();
            let tokens = held
                .keys()
                .filter_map(|c| match c {
                    Credential::Token(id) => Some(*id),
                    Credential::Session(_) => None,
                })
                .collect();
            (sessions, tokens)
        };
        let live_sessions = store.live_session_keys(&sessions, now_ms).await?;
        let live_tokens = store.live_token_ids(&tokens).await?;
        store.touch_sessions(&live_sessions, now_ms).await?;
        let held = self.held.lock();
        for (credential, entry) in held.iter() {
            let live = match credential {
                Credential::Session(key) => live_sessions.contains(key),
                Credential::Token(id) => live_tokens.contains(id),
            };
            if !live {
                let _ = entry.ended.send(true);
            }
        }
        Ok(())
    }
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

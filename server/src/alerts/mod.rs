//! Outside alerts coming in by themselves: the CAP feeds (Atom or RSS, on the room's network)
//! named by `VIGIE_CAP_FEEDS`, polled every `VIGIE_CAP_POLL_S`; and `vigie cap import`.
//!
//! Each alert a feed lists (linked or embedded) is parsed by `vigie_adapters::cap` and brought in
//! by the room's own service `cap-feed` — the command the API's `POST /api/v1/cap` gives, so
//! updates and cancellations act on what they name, and a message seen again changes nothing.
//!
//! Bounds: a feed is read up to 4 MiB and an alert up to 1 MiB (past that, refused unread); each
//! request has 10 s; at most 500 items of a feed are read; the links already taken are
//! remembered up to [`MAX_SEEN`] (then forgotten, which only costs re-reading them).

pub mod cli;

use std::collections::HashSet;
use std::time::Duration;
use vigie_adapters::cap::alert::{CapAlert, MAX_ALERT_BYTES};
use vigie_adapters::cap::feed::{self, Item, MAX_FEED_BYTES};
use vigie_adapters::cap::room;
use vigie_domain::RefusalKind;

use crate::sequencer::{Author, CommandError};
use crate::AppState;

/// Links of alerts already brought in, remembered so a feed is not re-read whole every time.
pub const MAX_SEEN: usize = 10_000;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Reads at most `limit` bytes of `url`'s body; past it, refuses.
async fn fetch(http: &reqwest::Client, url: &str, limit: usize) -> anyhow::Result<Vec<u8>> {
    let mut response = http.get(url).send().await?.error_for_status()?;
    if response.content_length().is_some_and(|n| n > limit as u64) {
        anyhow::bail!("{url} is larger than {limit} bytes");
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > limit {
            anyhow::bail!("{url} is larger than {limit} bytes");
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Brings one parsed alert in as the feed service; whether it changed the room.
pub async fn bring_in(state: &AppState, source: &str, cap: &CapAlert) -> anyhow::Result<bool> {
    let mut command = room::receive(cap).map_err(|e| anyhow::anyhow!("{e}"))?;
    state.geocoder.resolve(&state.store, &mut command).await?;
    match state.sequencer.submit(Author::service(format!("cap-feed:{source}")), command).await {
        Ok(_) => Ok(true),
        Err(CommandError::Refused(r)) if r.kind == RefusalKind::Conflict => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Polls `feeds` until the server stops.
pub async fn run(state: AppState, feeds: Vec<String>, every: Duration) {
    let http = match reqwest::Client::builder().timeout(REQUEST_TIMEOUT).build() {
        Ok(h) => h,
        Err(e) => return tracing::error!(error = %e, "CAP feeds: no HTTP client"),
    };
    let mut seen: HashSet<String> = HashSet::new();
    let mut shutdown = state.shutdown.clone();
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = crate::listener::stopped(&mut shutdown) => return,
        }
        for url in &feeds {
            if let Err(e) = poll(&state, &http, url, &mut seen).await {
                tracing::warn!(feed = %url, error = %format!("{e:#}"), "CAP feed not read");
            }
        }
    }
}

async fn poll(state: &AppState, http: &reqwest::Client, url: &str, seen: &mut HashSet<String>) -> anyhow::Result<()> {
    let items = feed::items(&fetch(http, url, MAX_FEED_BYTES).await?).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut taken = 0;
    // Oldest first, so an update arrives after the alert it names.
    for item in items.into_iter().rev() {
        let cap = match item {
            Item::Embedded(cap) => *cap,
            Item::Link(link) => {
                if seen.contains(&link) {
                    continue;
                }
                let body = fetch(http, &link, MAX_ALERT_BYTES).await?;
                if seen.len() >= MAX_SEEN {
                    seen.clear();
                }
                seen.insert(link.clone());
                match CapAlert::parse(&body) {
                    Ok(cap) => cap,
                    Err(e) => {
                        tracing::warn!(alert = %link, error = %e, "CAP alert refused");
                        continue;
                    }
                }
            }
        };
        match bring_in(state, url, &cap).await {
            Ok(true) => taken += 1,
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(feed = %url, identifier = %cap.identifier, error = %format!("{e:#}"), "CAP alert not taken")
            }
        }
    }
    if taken > 0 {
        tracing::info!(feed = %url, alerts = taken, "CAP feed read");
    }
    Ok(())
}

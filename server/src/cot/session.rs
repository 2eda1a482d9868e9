//! One CoT connection, whichever side opened it (a TAK client on a listener, or Vigie on a
//! partner's TAK server): events in through the [`Framer`] and the [`Gateway`]; the room's
//! picture out through a [`Picture`], a tick at a time.
//!
//! Bounds: reads go into a fixed buffer and the framer holds at most one event's bound; a write
//! that does not finish within the room's write timeout closes the connection (a client that does
//! not read costs its socket buffers, nothing more); a connection silent for [`SILENCE`] is
//! closed (TAK clients ping every few seconds).

use bytes::Bytes;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::broadcast::{self, error::RecvError};
use vigie_adapters::cot::framer::Framer;
use vigie_adapters::cot::room;
use vigie_adapters::cot::CotEvent;
use vigie_domain::authority::Scope;

use super::egress::{encode, Picture, REFRESH_EVERY};
use super::gateway::{Gateway, Peer};

/// How often the picture is sent (what changed since the last tick).
pub const TICK: Duration = Duration::from_millis(500);
/// A connection on which nothing arrives for this long is closed.
pub const SILENCE: Duration = Duration::from_secs(180);
/// How often Vigie repeats its own report on a link to a TAK server.
pub const HELLO_EVERY: Duration = Duration::from_secs(30);
/// Bytes read from the socket at a time.
const READ_CHUNK: usize = 16 * 1024;

/// Why a connection ended, for the log.
#[derive(Debug)]
pub enum End {
    Closed,
    Silent,
    Overlong,
    WriteTimeout,
    Io(std::io::Error),
    Revoked,
    Stopping,
}

/// Serves one connection until it ends. `upstream` is true on Vigie's own link to a partner's
/// server (which then receives only Vigie's own units and incidents).
pub async fn run<S>(gateway: Arc<Gateway>, peer: Peer, stream: S, upstream: bool, still_valid: impl Fn() -> bool) -> End
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let state = gateway.state.clone();
    let (mut reader, mut writer) = tokio::io::split(stream);
    // A connection that may not read the room (a gateway that only reports) follows nothing.
    let reads_room = peer.scopes.contains(&Scope::RoomRead);
    let mut feed = reads_room.then(|| state.hub.feed());
    let mut picture = Picture::new(peer.principal.viewer(), upstream);
    if reads_room {
        state.hub.read(|s| picture.everything(s));
    }
    let encoded = &gateway.encoded;
    let mut own = HashSet::new();
    let mut framer = Framer::default();
    let mut buf = vec![0u8; READ_CHUNK];
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_refresh = tokio::time::Instant::now();
    let mut last_heard = tokio::time::Instant::now();
    let mut shutdown = state.shutdown.clone();
    let write_timeout = state.config.write_timeout();
    let stale_after_ms = state.config.stale_after_ms();
    let budget = (state.config.cot_egress_per_second as u128 * TICK.as_millis() / 1000).max(1) as usize;
    let mut last_hello: Option<tokio::time::Instant> = None;
    loop {
        let mut out: Vec<Bytes> = Vec::new();
        // On a link to a TAK server, Vigie introduces itself first and then every HELLO_EVERY.
        if upstream && last_hello.is_none_or(|at| at.elapsed() >= HELLO_EVERY) {
            last_hello = Some(tokio::time::Instant::now());
            let p = &peer.principal;
            let life = 2 * HELLO_EVERY.as_millis() as i64;
            out.push(encode(&room::hello(&p.user, &format!("Vigie {}", p.agency), state.clock.now_ms(), life)));
            if let Err(end) = write(&mut writer, &out, write_timeout).await {
                return end;
            }
            continue;
        }
        tokio::select! {
            read = reader.read(&mut buf) => {
                let n = match read {
                    Ok(0) => return End::Closed,
                    Ok(n) => n,
                    Err(e) => return End::Io(e),
                };
                last_heard = tokio::time::Instant::now();
                framer.push(&buf[..n]);
                loop {
                    match framer.next_event() {
                        Ok(Some(bytes)) => match CotEvent::parse(&bytes) {
                            Ok(event) => out.extend(gateway.ingest(&peer, &event, &mut own).await.as_ref().map(encode)),
                            Err(e) => {
                                gateway.counters.refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                tracing::debug!(error = %e, "CoT event refused");
                            }
                        },
                        Ok(None) => break,
                        Err(_) => return End::Overlong,
                    }
                }
            }
            batch = next_batch(&mut feed) => match batch {
                Ok(batch) => picture.note(&batch, || state.hub.read(|s| s.incidents.keys().copied().collect())),
                Err(RecvError::Lagged(_)) => state.hub.read(|s| picture.everything(s)),
                Err(RecvError::Closed) => return End::Stopping,
            },
            _ = tick.tick() => {
                if last_heard.elapsed() > SILENCE {
                    return End::Silent;
                }
                if !still_valid() {
                    return End::Revoked;
                }
                if reads_room && last_refresh.elapsed() >= REFRESH_EVERY {
                    last_refresh = tokio::time::Instant::now();
                    state.hub.read(|s| picture.everything(s));
                }
                if reads_room && !picture.is_idle() {
                    let now = state.clock.now_ms();
                    out.extend(state.hub.read(|s| picture.take(s, now, stale_after_ms, &own, budget, encoded)));
                }
            }
            _ = crate::listener::stopped(&mut shutdown) => return End::Stopping,
        }
        if let Err(end) = write(&mut writer, &out, write_timeout).await {
            return end;
        }
    }
}

/// The next committed batch, or never without a feed.
async fn next_batch(feed: &mut Option<broadcast::Receiver<crate::hub::Batch>>) -> Result<crate::hub::Batch, RecvError> {
    match feed {
        Some(feed) => feed.recv().await,
        None => std::future::pending().await,
    }
}

/// Writes encoded `events` (each ends its line), within `timeout`.
async fn write(writer: &mut (impl AsyncWrite + Unpin), events: &[Bytes], timeout: Duration) -> Result<(), End> {
    if events.is_empty() {
        return Ok(());
    }
    let bytes = events.concat();
    match tokio::time::timeout(timeout, writer.write_all(&bytes)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(End::Io(e)),
        Err(_) => Err(End::WriteTimeout),
    }
}

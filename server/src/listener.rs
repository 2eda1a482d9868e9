//! The TCP front door: accepts connections within a cap (total, and a share per client address),
//! serves HTTP/1.1 on each with timers, and stops within a deadline.
//!
//! Why not `axum::serve`: it runs hyper without a timer, which silently disables hyper's
//! header-read timeout, and it has no connection cap, so a client that opens connections and
//! sends nothing (or one header byte every few seconds) holds file descriptors until the room is
//! unreachable, and a graceful stop waits on it forever. Here:
//! - hyper's header-read timeout ([`Config::header_timeout_ms`]) closes a connection that has not
//!   sent a whole request head in time, including a kept-alive connection idle between requests;
//! - a connection with no byte moving either way for [`Config::idle_timeout_ms`] is closed (a
//!   client that stopped reading a response);
//! - the request deadline (body and handling) lives in [`crate::http::guard`], beside the other
//!   per-request rules; a WebSocket leaves this module at its upgrade and has its own timers
//!   ([`crate::socket`]);
//! - past [`Config::max_connections`], or past a client address's share, a connection is answered
//!   a short 503 and closed at once;
//! - on stop, every connection is asked to finish its request and close; those still open after
//!   [`Config::shutdown_grace_ms`] are dropped.

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tower::ServiceExt;

use crate::config::Config;

/// What a connection over the cap is told before it is closed.
const FULL: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nContent-Type: text/plain\r\nContent-Length: 37\r\nConnection: close\r\n\r\nthe server has no room for a new link";

/// A bounded resource shared by client addresses: connections, streams, or bytes of command
/// bodies. Counted in all and by address (IPv6 by /64, so one host cannot dodge its share by
/// cycling through its own addresses).
pub struct Slots {
    max_total: usize,
    max_per_address: usize,
    open: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

/// What one holder took from [`Slots`], given back on drop.
pub struct Slot {
    owner: Arc<Slots>,
    key: IpAddr,
    amount: usize,
}

impl Slots {
    pub fn new(max_total: usize, max_per_address: usize) -> Arc<Self> {
        Arc::new(Self { max_total, max_per_address, open: Mutex::new((0, HashMap::new())) })
    }

    /// One place for `peer`, or `None` at the cap or past the address's share.
    pub fn take(self: &Arc<Self>, peer: IpAddr) -> Option<Slot> {
        self.take_many(peer, 1)
    }

    /// `amount` for `peer`, or `None` when that would pass the cap or the address's share.
    pub fn take_many(self: &Arc<Self>, peer: IpAddr, amount: usize) -> Option<Slot> {
        let key = address_key(peer);
        let mut open = self.open.lock();
        let (total, by_address) = &mut *open;
        let mine = by_address.get(&key).copied().unwrap_or(0);
        if *total + amount > self.max_total || mine + amount > self.max_per_address {
            return None;
        }
        by_address.insert(key, mine + amount);
        *total += amount;
        Some(Slot { owner: self.clone(), key, amount })
    }

    pub fn open(&self) -> usize {
        self.open.lock().0
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.owner.open.lock();
        let (total, by_address) = &mut *open;
        *total -= self.amount;
        if let Some(mine) = by_address.get_mut(&self.key) {
            *mine -= self.amount;
            if *mine == 0 {
                by_address.remove(&self.key);
            }
        }
    }
}

/// The key a client address is counted under: IPv4 as is, IPv6 by its /64.
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// Serves `app` on `listener` until `stop` turns true, then drains within the grace period.
pub async fn serve(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    app: Router,
    config: Config,
    mut stop: watch::Receiver<bool>,
) {
    let connections = Slots::new(config.max_connections, config.max_connections_per_address);
    let timers = Timers {
        header: Duration::from_millis(config.header_timeout_ms),
        idle: Duration::from_millis(config.idle_timeout_ms),
    };
    let mut open = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            accepted = listener.accept() => accepted,
            // Reap finished connection tasks so the set does not grow with the server's age.
            Some(_) = open.join_next(), if !open.is_empty() => continue,
        };
        let (tcp, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // Out of file descriptors, most likely: wait a little rather than spin.
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(slot) = connections.take(peer.ip()) else {
            tracing::debug!(%peer, "connection refused: at the cap");
            tokio::spawn(refuse(tcp));
            continue;
        };
        // Each flush is one merged write (see crate::socket), so Nagle's delay only adds latency:
        // measured, p99 to a screen 58 → 24 ms with many small messages, for ~25 % more CPU each.
        let _ = tcp.set_nodelay(true);
        let (app, stop) = (app.clone(), stop.clone());
        match tls.clone() {
            None => open.spawn(connection(Watched::new(tcp), peer, app, timers, stop, slot)),
            Some(acceptor) => open.spawn(async move {
                let io = Watched::new(tcp);
                let (started, last_moved) = (io.accepted, io.last_moved.clone());
                // A handshake is held to the time a request head may take.
                match tokio::time::timeout(timers.header, acceptor.accept(io)).await {
                    Ok(Ok(stream)) => {
                        let io = Moved { inner: stream, accepted: started, last_moved };
                        connection(io, peer, app, timers, stop, slot).await
                    }
                    Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                    Err(_) => tracing::debug!(%peer, "TLS handshake too slow"),
                }
            }),
        };
    }
    drop(listener);
    let grace = Duration::from_millis(config.shutdown_grace_ms);
    let drained = tokio::time::timeout(grace, async { while open.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(left = open.len(), "connections still open at the end of the grace period are dropped");
        open.abort_all();
        while open.join_next().await.is_some() {}
    }
}

async fn refuse(mut tcp: TcpStream) {
    let _ = tokio::time::timeout(Duration::from_secs(1), tcp.write_all(FULL)).await;
}

#[derive(Clone, Copy)]
struct Timers {
    header: Duration,
    idle: Duration,
}

/// A stream over a [`Watched`] socket (TLS), which keeps the socket's record of when a byte moved.
struct Moved<S> {
    inner: S,
    accepted: Instant,
    last_moved: Arc<AtomicU64>,
}

/// What a connection is served over: its bytes, and when one last moved.
trait Io: AsyncRead + AsyncWrite + Unpin + Send + 'static {
    fn timing(&self) -> (Instant, Arc<AtomicU64>);
}

impl Io for Watched {
    fn timing(&self) -> (Instant, Arc<AtomicU64>) {
        (self.accepted, self.last_moved.clone())
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> Io for Moved<S> {
    fn timing(&self) -> (Instant, Arc<AtomicU64>) {
        (self.accepted, self.last_moved.clone())
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Moved<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Moved<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

async fn connection<I: Io>(
    io: I,
    peer: SocketAddr,
    app: Router,
    timers: Timers,
    mut stop: watch::Receiver<bool>,
    slot: Slot,
) {
    // The base the connection's `last_moved` is counted from.
    let (started, last_moved) = io.timing();
    let service = app.map_request(move |mut request: axum::http::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        request.map(axum::body::Body::new)
    });
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(timers.header).keep_alive(true);
    let conn = http.serve_connection(TokioIo::new(io), TowerToHyperService::new(service)).with_upgrades();
    tokio::pin!(conn);
    let mut stopping = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
                break;
            }
            _ = stop.wait_for(|s| *s), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
            // Wakes once per idle period at most, at the moment the connection would have been idle
            // that long; a byte moved meanwhile pushes the deadline on.
            _ = tokio::time::sleep_until(started + Duration::from_millis(last_moved.load(Ordering::Relaxed)) + timers.idle) => {
                let idle_ms = (started.elapsed().as_millis() as u64).saturating_sub(last_moved.load(Ordering::Relaxed));
                if idle_ms >= timers.idle.as_millis() as u64 {
                    tracing::debug!(%peer, idle_ms, "closing an idle connection");
                    break;
                }
            }
        }
    }
    // A WebSocket took the socket over at its upgrade and holds its own slot (crate::socket);
    // this one counts the HTTP connection only.
    drop(slot);
}

/// A TCP stream that notes when a byte last moved, in ms since it was accepted.
struct Watched {
    inner: TcpStream,
    accepted: Instant,
    last_moved: Arc<AtomicU64>,
}

impl Watched {
    fn new(inner: TcpStream) -> Self {
        Self { inner, accepted: Instant::now(), last_moved: Arc::new(AtomicU64::new(0)) }
    }

    fn moved(&self) {
        self.last_moved.store(self.accepted.elapsed().as_millis() as u64, Ordering::Relaxed);
    }
}

impl AsyncRead for Watched {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.moved();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.moved();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.moved();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Resolves once the server is stopping (`stop` turned true, or its sender is gone). Holds no
/// borrow of the flag, so a `select!` arm on it does not make the task's future `!Send`.
pub async fn stopped(stop: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_its_share_and_the_total_is_capped() {
        let c = Slots::new(3, 2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let a1 = c.take(a).unwrap();
        let _a2 = c.take(a).unwrap();
        assert!(c.take(a).is_none(), "past the address's share");
        let _b1 = c.take(b).unwrap();
        assert!(c.take(b).is_none(), "past the total");
        drop(a1);
        let b2 = c.take(b);
        assert!(b2.is_some(), "a closed connection gives its place back");
        assert_eq!(c.open(), 3);
        drop(b2);
        assert_eq!(c.open(), 2);
        let big = c.take_many(a, 2);
        assert!(big.is_none(), "an amount past the address's share is refused whole");
        assert_eq!(c.open(), 2);
    }

    #[test]
    fn ipv6_hosts_are_counted_by_their_64() {
        let one: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let other: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        assert_eq!(address_key(one), address_key(other));
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(address_key(mapped), "10.0.0.1".parse::<IpAddr>().unwrap());
    }
}

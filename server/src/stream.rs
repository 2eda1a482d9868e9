//! `GET /api/v1/stream?since=N`: the room's log as a WebSocket stream.
//!
//! A session subscribes to the hub first, then brings the client up to the hub's head — a
//! snapshot when it has no `since` (or one too old, or from another log), otherwise the events
//! after `since` read from the store — and then forwards live frames. Because the subscription
//! is taken before the catch-up, every event is delivered exactly once, in seq order.
//!
//! One writer per socket drains everything queued and flushes once. A client whose outbox
//! overflows gets a `resync` message and is caught up again from the store on the same socket;
//! a client that does not take a write within the write timeout is disconnected with a reason.
//! Memory per client is therefore bounded by the outbox bound plus the socket's write buffer.

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::{timeout, Instant};
use vigie_domain::wire::{ClientMessage, ServerMessage, MAX_CLIENT_MESSAGE_BYTES};
use vigie_domain::Seq;

use crate::api::error::ApiError;
use crate::api::extract::ApiQuery;
use crate::hub::{encode, Frame, Outbox};
use crate::AppState;

/// Events per store read while catching a client up.
const CATCH_UP_PAGE: u64 = 1_000;
/// tungstenite's own buffer: past this, a write fails instead of growing (the client is too slow).
/// It must hold the largest single message, and a snapshot of a big room (thousands of units and
/// incidents) is several megabytes: at 2 MiB every new client of such a room was cut off.
const MAX_WRITE_BUFFER_BYTES: usize = 64 * 1024 * 1024;
/// Replies to client messages waiting for the writer; a client that floods fills it and is dropped.
pub(crate) const REPLY_QUEUE: usize = 16;
/// WebSocket close code for "policy violation" (RFC 6455), used when the client does not read.
pub(crate) const CLOSE_POLICY: u16 = 1008;
/// WebSocket close code for "service restart".
pub(crate) const CLOSE_RESTART: u16 = 1012;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/stream", get(upgrade))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StreamQuery {
    since: Option<Seq>,
}

async fn upgrade(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<StreamQuery>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let since = query.since;
    accept(&state, &headers, ws, move |state, socket| run(state, socket, since))
}

/// Checks the origin and takes a stream slot, then upgrades and runs `session` on the socket.
/// Shared by the live stream and replay streams, so both are bounded and guarded alike.
pub(crate) fn accept<F, Fut>(state: &AppState, headers: &HeaderMap, ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>, session: F) -> Response
where
    F: FnOnce(AppState, WebSocket) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    if let Err(e) = check_origin(headers, &state.config.allowed_origins) {
        return e.into_response();
    }
    let ws = match ws {
        Ok(ws) => ws,
        Err(r) => return ApiError::new(r.status(), "not_a_websocket", r.body_text()).into_response(),
    };
    let Ok(permit) = state.stream_slots.clone().try_acquire_owned() else {
        return ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "too_many_clients", "the server has no room for another stream client")
            .into_response();
    };
    let state = state.clone();
    ws.max_message_size(MAX_CLIENT_MESSAGE_BYTES)
        .max_frame_size(MAX_CLIENT_MESSAGE_BYTES)
        .max_write_buffer_size(MAX_WRITE_BUFFER_BYTES)
        .on_upgrade(move |socket| async move {
            session(state, socket).await;
            drop(permit);
        })
}

/// Browsers always send `Origin`; a page from another site must not read the room. Clients that
/// are not browsers send none and are let through (they cannot be tricked into acting for a user).
fn check_origin(headers: &HeaderMap, allowed: &[String]) -> Result<(), ApiError> {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else { return Ok(()) };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    let same_origin = origin.split_once("://").is_some_and(|(_, authority)| authority == host);
    if same_origin || allowed.iter().any(|a| a == origin) {
        Ok(())
    } else {
        Err(ApiError::new(StatusCode::FORBIDDEN, "origin_not_allowed", format!("origin {origin} may not open the stream")))
    }
}

pub(crate) enum Reply {
    Heartbeat,
    Error { code: &'static str, message: String },
}

/// Why a session's live phase ended.
enum Ended {
    Overflowed,
    ClientGone,
    WriteFailed(&'static str),
    Shutdown,
}

async fn run(state: AppState, socket: WebSocket, since: Option<Seq>) {
    let (sink, stream) = socket.split();
    let (reply_tx, reply_rx) = mpsc::channel(REPLY_QUEUE);
    let reader = tokio::spawn(read_client(stream, reply_tx));
    let mut writer = Writer { sink, last_sent: 0, write_timeout: state.config.write_timeout(), state: state.clone() };
    let ended = writer.serve(since, reply_rx).await;
    match ended {
        Ended::WriteFailed(why) => writer.close(CLOSE_POLICY, why).await,
        Ended::Shutdown => writer.close(CLOSE_RESTART, "server restarting; resume with since").await,
        Ended::ClientGone | Ended::Overflowed => {}
    }
    reader.abort();
}

/// Reads what the client sends: only `ping` is understood; anything else gets an error reply.
pub(crate) async fn read_client(mut stream: SplitStream<WebSocket>, replies: mpsc::Sender<Reply>) {
    while let Some(Ok(message)) = stream.next().await {
        let reply = match message {
            Message::Text(text) => match serde_json::from_str::<ClientMessage>(&text) {
                Ok(ClientMessage::Ping) => Reply::Heartbeat,
                Err(e) => Reply::Error { code: "bad_message", message: format!("not a client message: {e}") },
            },
            Message::Binary(_) => Reply::Error { code: "bad_message", message: "the stream takes JSON text messages".into() },
            Message::Close(_) => break,
            Message::Ping(_) | Message::Pong(_) => continue,
        };
        if replies.try_send(reply).is_err() {
            break; // flooding faster than we answer: drop the client
        }
    }
}

struct Writer {
    sink: SplitSink<WebSocket, Message>,
    last_sent: Seq,
    write_timeout: Duration,
    state: AppState,
}

impl Writer {
    async fn serve(&mut self, mut since: Option<Seq>, mut replies: mpsc::Receiver<Reply>) -> Ended {
        let max_catch_up = self.state.config.max_catch_up_events;
        loop {
            let sub = self.state.hub.subscribe(|head| match since {
                None => true,
                Some(n) => n > head || head - n > max_catch_up,
            });
            let caught_up = match sub.snapshot {
                Some(snapshot) => {
                    self.last_sent = sub.head;
                    self.send(std::iter::once(snapshot)).await
                }
                None => self.catch_up(since.unwrap_or(0), sub.head).await,
            };
            if let Err(why) = caught_up {
                return Ended::WriteFailed(why);
            }
            match self.live(&sub.outbox, &mut replies).await {
                Ended::Overflowed => {
                    let message = ServerMessage::Resync {
                        seq: self.last_sent,
                        reason: "the client fell too far behind; catching up from the log".into(),
                    };
                    if let Err(why) = self.send(std::iter::once(encode(&message))).await {
                        return Ended::WriteFailed(why);
                    }
                    since = Some(self.last_sent);
                }
                other => return other,
            }
        }
    }

    /// Sends the stored events after `from` up to `head`, a page at a time.
    async fn catch_up(&mut self, from: Seq, head: Seq) -> Result<(), &'static str> {
        self.last_sent = from;
        while self.last_sent < head {
            let limit = (head - self.last_sent).min(CATCH_UP_PAGE) as i64;
            let page = match self.state.store.events_after(self.last_sent, limit).await {
                Ok(page) if !page.is_empty() => page,
                Ok(_) => return Err("the log ended before the hub's head"),
                Err(e) => {
                    tracing::error!(error = %e, "reading the log for a stream catch-up");
                    return Err("the log could not be read; reconnect with since");
                }
            };
            let last = page.last().map_or(self.last_sent, |e| e.seq);
            self.send(page.iter().map(|e| encode(&ServerMessage::event(e)))).await?;
            self.last_sent = last;
        }
        Ok(())
    }

    async fn live(&mut self, outbox: &Outbox, replies: &mut mpsc::Receiver<Reply>) -> Ended {
        let mut shutdown = self.state.shutdown.clone();
        let heartbeat = self.state.config.heartbeat();
        let mut last_write = Instant::now();
        loop {
            let drained = outbox.drain();
            if drained.overflowed {
                return Ended::Overflowed;
            }
            let last_sent = self.last_sent;
            let frames: Vec<&Frame> = drained.frames.iter().filter(|f| f.seq() > last_sent).collect();
            if let Some(last) = frames.last().map(|f| f.seq()) {
                if let Err(why) = self.send(frames.iter().map(|f| f.to_bytes())).await {
                    return Ended::WriteFailed(why);
                }
                self.last_sent = last;
                last_write = Instant::now();
                continue;
            }
            let reply = tokio::select! {
                _ = outbox.ready() => continue,
                _ = shutdown.wait_for(|stop| *stop) => return Ended::Shutdown,
                reply = replies.recv() => match reply {
                    Some(reply) => reply,
                    None => return Ended::ClientGone,
                },
                _ = tokio::time::sleep_until(last_write + heartbeat) => Reply::Heartbeat,
            };
            let message = match reply {
                Reply::Heartbeat => ServerMessage::Heartbeat { seq: self.last_sent, at_ms: self.state.clock.now_ms() },
                Reply::Error { code, message } => ServerMessage::Error { seq: self.last_sent, code: code.into(), message },
            };
            if let Err(why) = self.send(std::iter::once(encode(&message))).await {
                return Ended::WriteFailed(why);
            }
            last_write = Instant::now();
        }
    }

    /// Queues every message then flushes once; gives up after the write timeout.
    async fn send(&mut self, messages: impl Iterator<Item = Bytes>) -> Result<(), &'static str> {
        write_all(&mut self.sink, self.write_timeout, messages).await
    }

    async fn close(&mut self, code: u16, reason: &'static str) {
        tracing::info!(code, reason, last_sent = self.last_sent, "closing a stream client");
        close(&mut self.sink, code, reason).await;
    }
}

/// Queues every message then flushes once (write merging); gives up after `write_timeout`.
pub(crate) async fn write_all(
    sink: &mut SplitSink<WebSocket, Message>,
    write_timeout: Duration,
    messages: impl Iterator<Item = Bytes>,
) -> Result<(), &'static str> {
    let write = async move {
        for bytes in messages {
            let text = Utf8Bytes::try_from(bytes).map_err(|_| "a server message was not UTF-8")?;
            sink.feed(Message::Text(text)).await.map_err(|_| "the connection failed")?;
        }
        sink.flush().await.map_err(|_| "the connection failed")
    };
    match timeout(write_timeout, write).await {
        Ok(result) => result,
        Err(_) => Err("write timeout: the client is not reading"),
    }
}

pub(crate) async fn close(sink: &mut SplitSink<WebSocket, Message>, code: u16, reason: &'static str) {
    let frame = CloseFrame { code, reason: Utf8Bytes::from_static(reason) };
    let _ = timeout(Duration::from_secs(1), sink.send(Message::Close(Some(frame)))).await;
}

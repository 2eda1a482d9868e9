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
//! Memory per client is therefore bounded by the outbox bound plus the socket's write buffer
//! (small: see [`crate::socket`]).

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use futures_util::StreamExt;
use serde::Deserialize;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use vigie_domain::wire::ServerMessage;
use vigie_domain::Seq;

use crate::http::error::ApiError;
use crate::http::extract::ApiQuery;
use crate::hub::{encode, Frame, Outbox};
use crate::socket::{
    accept, close, read_client, write_all, Reply, Sink, Socket, CLOSE_POLICY, CLOSE_RESTART, REPLY_QUEUE,
};
use crate::AppState;

/// Events per store read while catching a client up.
const CATCH_UP_PAGE: u64 = 1_000;
pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/stream", get(upgrade))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StreamQuery {
    since: Option<Seq>,
}

async fn upgrade(State(state): State<AppState>, ApiQuery(query): ApiQuery<StreamQuery>, request: Request) -> Response {
    let since = query.since;
    if since.is_some_and(|n| n > i64::MAX as u64) {
        return ApiError::bad_request("since", format!("since is at most {}", i64::MAX)).into_response();
    }
    accept(&state, request, move |state, socket| run(state, socket, since))
}

/// Why a session's live phase ended.
enum Ended {
    Overflowed,
    ClientGone,
    WriteFailed(&'static str),
    Shutdown,
}

async fn run(state: AppState, socket: Socket, since: Option<Seq>) {
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

struct Writer {
    sink: Sink,
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
                Ok(page) if !page.events.is_empty() => page.events,
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
            let message = reply.into_message(self.last_sent, self.state.clock.now_ms());
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

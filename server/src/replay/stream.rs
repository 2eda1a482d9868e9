//! `GET /api/v1/replays/{id}/stream`: a session's room as a WebSocket stream, in the live stream's
//! protocol (snapshot, then events), plus `replay` messages with the clock and pins and
//! `progress` during a far seek. A follower that falls behind is resynced with a snapshot of the
//! session's current room. Only `ping` is taken from the client: a replay cannot be commanded.
//! An idle follower gets a heartbeat like a live client.

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::StreamExt;
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc};
use vigie_domain::wire::ServerMessage;
use vigie_domain::Seq;

use super::{Frame, FrameKind, Session};
use crate::http::error::ApiError;
use crate::http::extract::ApiPath;
use crate::hub::encode;
use crate::socket::{accept, close, read_client, write_all, Reply, Socket, CLOSE_POLICY, CLOSE_RESTART, REPLY_QUEUE};
use crate::AppState;

pub async fn upgrade(State(state): State<AppState>, ApiPath(id): ApiPath<String>, request: Request) -> Response {
    let Some(session) = state.replays.get(&id) else {
        return ApiError::new(axum::http::StatusCode::NOT_FOUND, "not_found", format!("no replay session {id}"))
            .into_response();
    };
    accept(&state, request, move |state, socket| follow(state, socket, session))
}

async fn follow(app: AppState, socket: Socket, session: Arc<Session>) {
    let (mut sink, stream) = socket.split();
    let (reply_tx, mut replies) = mpsc::channel(REPLY_QUEUE);
    let reader = tokio::spawn(read_client(stream, reply_tx));
    let write_timeout = app.config.write_timeout();
    let mut shutdown = app.shutdown.clone();
    // Where this follower stands: snapshots of older epochs and events it already holds are skipped.
    let (mut epoch, mut seq): (u64, Seq) = (0, 0);
    let (mut frames, first) = start(&app, &session, &mut epoch, &mut seq);
    session.ensure_driver(&app);
    if write_all(&mut sink, write_timeout, first.into_iter()).await.is_err() {
        reader.abort();
        return;
    }
    let heartbeat = app.config.heartbeat();
    let mut last_write = tokio::time::Instant::now();
    let why = loop {
        let out = tokio::select! {
            frame = frames.recv() => match frame {
                Ok(f) => match f.kind {
                    FrameKind::Snapshot if f.epoch > epoch => {
                        (epoch, seq) = (f.epoch, f.seq);
                        vec![f.bytes]
                    }
                    FrameKind::Event if f.epoch == epoch && f.seq > seq => {
                        seq = f.seq;
                        vec![f.bytes]
                    }
                    FrameKind::Info => vec![f.bytes],
                    FrameKind::Snapshot | FrameKind::Event => continue,
                },
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    // Behind: start again from the session's room as it is now, said explicitly.
                    let resync = ServerMessage::Resync { seq, reason: "the follower fell behind; here is the room as it is now".into() };
                    let (rx, again) = start(&app, &session, &mut epoch, &mut seq);
                    frames = rx;
                    std::iter::once(encode(&resync)).chain(again).collect()
                }
                Err(broadcast::error::RecvError::Closed) => break None,
            },
            reply = replies.recv() => match reply {
                Some(reply) => vec![encode(&reply.into_message(seq, app.clock.now_ms()))],
                None => break None,
            },
            _ = shutdown.wait_for(|stop| *stop) => break Some((CLOSE_RESTART, "server restarting; reopen the replay")),
            // A paused session is quiet: keep the link (and proxies) alive as the live stream does.
            _ = tokio::time::sleep_until(last_write + heartbeat) => vec![encode(&Reply::Heartbeat.into_message(seq, app.clock.now_ms()))],
        };
        last_write = tokio::time::Instant::now();
        if let Err(why) = write_all(&mut sink, write_timeout, out.into_iter()).await {
            break Some((CLOSE_POLICY, why));
        }
    };
    if let Some((code, reason)) = why {
        close(&mut sink, code, reason).await;
    }
    reader.abort();
}

/// Follows the session from the room it holds now: its live queue, and the session message plus
/// that room's snapshot (if it has one yet) to send first; `epoch` and `seq` move to that room.
fn start(
    app: &AppState,
    session: &Session,
    epoch: &mut u64,
    seq: &mut Seq,
) -> (broadcast::Receiver<Frame>, Vec<Bytes>) {
    let (frames, room) = session.follow();
    let mut first = vec![session.info_message(app.clock.now_ms())];
    if let Some((e, s, bytes)) = room {
        (*epoch, *seq) = (e, s);
        first.push(bytes);
    }
    (frames, first)
}

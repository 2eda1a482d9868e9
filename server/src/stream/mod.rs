//! The stream engine, one for the live room and for every replay session: a [`Projection`] (the
//! room folded from the log, its subscribers and their audiences), a bounded [`Outbox`] per
//! client, and the socket loop ([`serve`]) that takes a client from its starting point to live.
//!
//! A client subscribes first, then is brought up to the projection's head — a snapshot when it
//! has no `since` (or one the source cannot catch up from), otherwise the log after `since`, read
//! from the source — and then gets its outbox. Because the subscription is taken before the
//! catch-up, every range of the log reaches it exactly once, in order (see
//! [`vigie_domain::wire`]). A client whose outbox overflows gets a `resync` and is brought up
//! again the same way on the same socket; one that does not take a write within the write
//! timeout is disconnected with a reason. Memory per client is bounded by the outbox bound plus
//! the socket's buffers ([`socket`]).
//!
//! What differs between a live room and a replay is the [`Source`]: where a catch-up reads from,
//! and what a client is told first.

pub mod frame;
pub mod outbox;
pub mod projection;
pub mod socket;

use bytes::Bytes;
use futures_util::StreamExt;
use std::future::Future;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use vigie_domain::wire::ServerMessage;
use vigie_domain::{LoggedEvent, Seq};

pub use frame::{encode, Frame};
pub use outbox::Outbox;
pub use projection::{Audience, Fold, Gap, Projection, Subscription};
use socket::{close, read_client, write_all, Reply, CLOSE_POLICY, CLOSE_RESTART, REPLY_QUEUE};

/// What a stream serves: its projection, and how a client that is behind is brought up to it.
pub trait Source: Send + Sync + 'static {
    type Extra: Fold;

    fn projection(&self) -> &Projection<Self::Extra>;

    /// How far behind the head (in events) a client may be and still be caught up from the log;
    /// further back, or with no `since`, it gets a snapshot. 0: always a snapshot.
    fn catch_up_limit(&self) -> u64;

    /// Whether a client standing at `since` starts from a snapshot of the projection (at `head`,
    /// in `epoch`) rather than a catch-up from the log.
    fn wants_snapshot(&self, since: Option<Seq>, head: Seq, _epoch: u64) -> bool {
        match since {
            None => true,
            Some(n) => n > head || head - n > self.catch_up_limit(),
        }
    }

    /// A page of the log after `after`, at most up to `up_to` (never empty while `after < up_to`).
    fn read_after(&self, after: Seq, up_to: Seq) -> impl Future<Output = anyhow::Result<Vec<LoggedEvent>>> + Send;

    /// Messages a client gets before anything else (a replay's clock), each time it is brought up.
    fn greeting(&self, _now_ms: i64) -> Vec<Bytes> {
        Vec::new()
    }
}

/// The timings of one client's loop.
#[derive(Clone)]
pub struct Timing {
    /// A client that does not take a write within this is disconnected.
    pub write_timeout: Duration,
    /// Sent when the stream is quiet for this long.
    pub heartbeat: Duration,
    pub now_ms: std::sync::Arc<dyn Fn() -> i64 + Send + Sync>,
}

/// Why a client's loop ended.
enum Ended {
    Overflowed,
    ClientGone,
    WriteFailed(&'static str),
    Shutdown,
}

/// Serves `source` to one client on `socket` until it leaves, fails or the server stops.
pub async fn serve<S, T>(
    source: &S,
    audience: Audience,
    socket: WebSocketStream<T>,
    since: Option<Seq>,
    timing: Timing,
    shutdown: watch::Receiver<bool>,
) where
    S: Source,
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sink, stream) = socket.split();
    let (reply_tx, replies) = mpsc::channel(REPLY_QUEUE);
    let reader = tokio::spawn(read_client(stream, reply_tx));
    let mut client = Client { sink, at: 0, timing, shutdown };
    match client.run(source, audience, since, replies).await {
        Ended::WriteFailed(why) => client.close(CLOSE_POLICY, why).await,
        Ended::Shutdown => client.close(CLOSE_RESTART, "server restarting; resume with since").await,
        Ended::ClientGone | Ended::Overflowed => {}
    }
    reader.abort();
}

struct Client<T> {
    sink: socket::Sink<T>,
    /// Where the client stands in the log: the end of the last range (or snapshot) it was sent.
    at: Seq,
    timing: Timing,
    shutdown: watch::Receiver<bool>,
}

impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Client<T> {
    async fn run<S: Source>(
        &mut self,
        source: &S,
        audience: Audience,
        mut since: Option<Seq>,
        mut replies: mpsc::Receiver<Reply>,
    ) -> Ended {
        loop {
            let sub = source
                .projection()
                .subscribe(audience.clone(), |head, epoch| source.wants_snapshot(since, head, epoch));
            let greeting = source.greeting((self.timing.now_ms)());
            let caught_up = match sub.snapshot {
                Some(snapshot) => {
                    self.at = sub.head;
                    self.send(greeting.into_iter().chain(std::iter::once(snapshot))).await
                }
                None => match self.send(greeting.into_iter()).await {
                    Ok(()) => self.catch_up(source, &audience, since.unwrap_or(0), sub.head).await,
                    Err(why) => Err(why),
                },
            };
            if let Err(why) = caught_up {
                return Ended::WriteFailed(why);
            }
            match self.live(&sub.outbox, &mut replies).await {
                Ended::Overflowed => {
                    let message = ServerMessage::Resync {
                        seq: self.at,
                        reason: "the client fell too far behind; catching up".into(),
                    };
                    if let Err(why) = self.send(std::iter::once(encode(&message))).await {
                        return Ended::WriteFailed(why);
                    }
                    since = Some(self.at);
                }
                other => return other,
            }
        }
    }

    /// Sends the log after `from` up to `head`, a page at a time, as `audience` may see it.
    async fn catch_up<S: Source>(
        &mut self,
        source: &S,
        audience: &Audience,
        from: Seq,
        head: Seq,
    ) -> Result<(), &'static str> {
        self.at = from;
        while self.at < head {
            let page = match source.read_after(self.at, head).await {
                Ok(page) if !page.is_empty() => page,
                Ok(_) => return Err("the log ended before the room's head"),
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "reading the log for a stream catch-up");
                    return Err("the log could not be read; reconnect with since");
                }
            };
            let mut frames: Vec<Frame> = Vec::with_capacity(page.len());
            let mut prev = self.at;
            for e in page.into_iter().take_while(|e| e.seq <= head) {
                let seq = e.seq;
                let frame = if audience.sees(&e) { Frame::shared(prev, e) } else { Frame::Advance { prev, seq } };
                // Withheld events in a row go as one advance.
                match (frames.last_mut(), &frame) {
                    (Some(Frame::Advance { seq: end, .. }), Frame::Advance { .. }) => *end = seq,
                    _ => frames.push(frame),
                }
                prev = seq;
            }
            self.send(frames.iter().map(Frame::to_bytes)).await?;
            self.at = prev;
        }
        Ok(())
    }

    async fn live(&mut self, outbox: &Outbox, replies: &mut mpsc::Receiver<Reply>) -> Ended {
        let mut shutdown = self.shutdown.clone();
        let heartbeat = self.timing.heartbeat;
        let mut last_write = Instant::now();
        loop {
            let drained = outbox.drain();
            if drained.overflowed {
                return Ended::Overflowed;
            }
            let mut out = Vec::with_capacity(drained.frames.len());
            for frame in &drained.frames {
                match frame.range() {
                    // Already sent by the catch-up.
                    Some((_, seq)) if seq <= self.at => continue,
                    Some((prev, seq)) if prev == self.at => self.at = seq,
                    // Frames follow the head the client subscribed at; anything else is a bug
                    // here, answered like a lag: an explicit resync, never a silent hole.
                    Some(_) => return Ended::Overflowed,
                    None => {
                        if let Frame::Snapshot { seq, .. } = frame {
                            self.at = *seq;
                        }
                    }
                }
                out.push(frame.to_bytes());
            }
            if !out.is_empty() {
                if let Err(why) = self.send(out.into_iter()).await {
                    return Ended::WriteFailed(why);
                }
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
            let message = reply.into_message(self.at, (self.timing.now_ms)());
            if let Err(why) = self.send(std::iter::once(encode(&message))).await {
                return Ended::WriteFailed(why);
            }
            last_write = Instant::now();
        }
    }

    /// Queues every message then flushes once; gives up after the write timeout.
    async fn send(&mut self, messages: impl Iterator<Item = Bytes>) -> Result<(), &'static str> {
        write_all(&mut self.sink, self.timing.write_timeout, messages).await
    }

    async fn close(&mut self, code: u16, reason: &'static str) {
        tracing::info!(code, reason, at = self.at, "closing a stream client");
        close(&mut self.sink, code, reason).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use tokio_tungstenite::tungstenite::protocol::Role;
    use tokio_tungstenite::tungstenite::Message;
    use vigie_domain::wire::{Cursor, Step};
    use vigie_domain::{Event, IncidentId, State};

    /// A log in memory, served like the live room.
    struct Log {
        room: Projection,
        log: Vec<LoggedEvent>,
    }

    impl Source for Log {
        type Extra = ();
        fn projection(&self) -> &Projection {
            &self.room
        }
        fn catch_up_limit(&self) -> u64 {
            1_000
        }
        async fn read_after(&self, after: Seq, up_to: Seq) -> anyhow::Result<Vec<LoggedEvent>> {
            // Small pages, so a withheld run spans pages.
            Ok(self.log.iter().filter(|e| e.seq > after && e.seq <= up_to).take(4).cloned().collect())
        }
    }

    fn note(seq: Seq, incident: u32) -> LoggedEvent {
        let event = Event::NoteAdded { incident_id: IncidentId(incident), text: format!("note {seq}") };
        LoggedEvent { seq, at_ms: 1_795_000_000_000, actor: "d".into(), event }
    }

    #[tokio::test]
    async fn a_viewer_whose_events_are_withheld_moves_by_ranges_without_a_gap_and_ends_up_to_date() {
        // Incident 2's notes only for this viewer: seqs 1–10 are in the log before it connects,
        // 11–40 arrive live, and 11–25 (a whole live range) hold nothing it may see.
        let incident = |seq: Seq| if seq.is_multiple_of(4) && !(11..=25).contains(&seq) { 2 } else { 1 };
        let log: Vec<LoggedEvent> = (1..=40).map(|seq| note(seq, incident(seq))).collect();
        let mut state = State::default();
        log[..10].iter().for_each(|e| state.apply(e));
        let source = Arc::new(Log { room: Projection::new(state, (), 1 << 20), log: log.clone() });
        let audience = Audience::Only(Arc::new(|e: &LoggedEvent| {
            matches!(e.event, Event::NoteAdded { incident_id: IncidentId(2), .. })
        }));
        let (server_io, client_io) = tokio::io::duplex(64 * 1024);
        let server_ws = WebSocketStream::from_raw_socket(server_io, Role::Server, None).await;
        let mut client = WebSocketStream::from_raw_socket(client_io, Role::Client, None).await;
        let timing = Timing {
            write_timeout: Duration::from_secs(5),
            heartbeat: Duration::from_secs(60),
            now_ms: Arc::new(|| 1_795_000_000_000),
        };
        let (_stop, shutdown) = watch::channel(false);
        let serving = tokio::spawn({
            let source = source.clone();
            async move { serve(&*source, audience, server_ws, Some(3), timing, shutdown).await }
        });
        // The catch-up is taken; now the room moves on, in batches of five.
        tokio::time::sleep(Duration::from_millis(50)).await;
        for batch in log[10..].chunks(5) {
            source.room.publish(batch, false).unwrap();
        }
        let mut cursor = Cursor::at(3);
        let (mut seen, mut advances, mut advanced_over) = (Vec::new(), 0, Vec::new());
        while cursor.seq < 40 {
            let Some(Ok(Message::Text(text))) = client.next().await else {
                panic!("the stream ended at {}", cursor.seq)
            };
            let message: ServerMessage = serde_json::from_str(&text).unwrap();
            let (prev, seq) = message.range().expect("only ranges on this stream");
            assert_eq!(cursor.step(prev, seq), Step::Apply, "({prev}, {seq}] at {}", cursor.seq);
            match message {
                ServerMessage::Advance { .. } => {
                    advances += 1;
                    advanced_over.extend(prev + 1..=seq);
                }
                message => seen.push(message.into_logged().unwrap().seq),
            }
        }
        let visible: Vec<Seq> = (4..=40).filter(|&s| incident(s) == 2).collect();
        assert_eq!(seen, visible, "exactly what it may see, once, in order");
        assert!(advanced_over.iter().all(|s| incident(*s) == 1), "advances cover only withheld events");
        assert_eq!(seen.len() + advanced_over.len(), 37, "every seq after 3 is covered once");
        assert!(advanced_over.contains(&25) && advances < 37 - seen.len(), "withheld runs go as one advance");
        serving.abort();
    }
}

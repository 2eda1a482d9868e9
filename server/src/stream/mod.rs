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
use socket::{close, read_client, write_all, Reply, CLOSE_POLICY, CLOSE_RESTART, CLOSE_SIGNED_OUT, REPLY_QUEUE};

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
    /// The session or token the stream was opened with has ended.
    SignedOut,
}

/// What ends a stream from the server's side: the server stopping, and the end of the credential
/// the client opened it with (a receiver that never turns true for the room's own followers).
#[derive(Clone)]
pub struct Stops {
    pub shutdown: watch::Receiver<bool>,
    pub access: watch::Receiver<bool>,
}

impl Stops {
    /// Stops on shutdown only.
    pub fn shutdown(shutdown: watch::Receiver<bool>) -> Self {
        // With its sender gone the value never turns true: `live` skips a closed channel.
        let (_, access) = watch::channel(false);
        Stops { shutdown, access }
    }
}

/// Serves `source` to one client on `socket` until it leaves, fails or the server stops.
pub async fn serve<S, T>(
    source: &S,
    audience: Audience,
    socket: WebSocketStream<T>,
    since: Option<Seq>,
    timing: Timing,
    stops: Stops,
) where
    S: Source,
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sink, stream) = socket.split();
    let (reply_tx, replies) = mpsc::channel(REPLY_QUEUE);
    let reader = tokio::spawn(read_client(stream, reply_tx));
    let mut client = Client { sink, at: 0, timing, stops };
    match client.run(source, audience, since, replies).await {
        Ended::WriteFailed(why) => client.close(CLOSE_POLICY, why).await,
        Ended::Shutdown => client.close(CLOSE_RESTART, "server restarting; resume with since").await,
        Ended::SignedOut => client.close(CLOSE_SIGNED_OUT, "the session has ended; sign in again").await,
        Ended::ClientGone | Ended::Overflowed => {}
    }
    reader.abort();
}

struct Client<T> {
    sink: socket::Sink<T>,
    /// Where the client stands in the log: the end of the last range (or snapshot) it was sent.
    at: Seq,
    timing: Timing,
    stops: Stops,
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
            // An agency's audience starts from its picture: the log's past events would need the
            // room as it was at each to be filtered, and its picture is exactly what it may hold.
            let sub = source.projection().subscribe(audience.clone(), |head, epoch| match &audience {
                Audience::Room => source.wants_snapshot(since, head, epoch),
                // ...once the source has a picture to give (a replay before its first jump has none).
                Audience::Agency(_) => since != Some(head) && source.wants_snapshot(None, head, epoch),
            });
            let greeting = source.greeting((self.timing.now_ms)());
            let caught_up = match sub.snapshot {
                Some(snapshot) => {
                    self.at = sub.head;
                    self.send(greeting.into_iter().chain(std::iter::once(snapshot))).await
                }
                None => match self.send(greeting.into_iter()).await {
                    Ok(()) => self.catch_up(source, since.unwrap_or(0), sub.head).await,
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

    /// Sends the log after `from` up to `head`, a page at a time (the whole room's audience only:
    /// an agency starts from its picture).
    async fn catch_up<S: Source>(&mut self, source: &S, from: Seq, head: Seq) -> Result<(), &'static str> {
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
            let mut prev = self.at;
            let mut frames = Vec::with_capacity(page.len());
            for e in page.into_iter().take_while(|e| e.seq <= head) {
                let seq = e.seq;
                frames.push(Frame::shared(prev, e).to_bytes());
                prev = seq;
            }
            self.send(frames.into_iter()).await?;
            self.at = prev;
        }
        Ok(())
    }

    async fn live(&mut self, outbox: &Outbox, replies: &mut mpsc::Receiver<Reply>) -> Ended {
        let mut shutdown = self.stops.shutdown.clone();
        let mut access = self.stops.access.clone();
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
                Ok(_) = access.wait_for(|ended| *ended) => return Ended::SignedOut,
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
    use vigie_domain::{AgencyCode, Event, IncidentId, State};

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
            // Small pages, so a catch-up takes several.
            Ok(self.log.iter().filter(|e| e.seq > after && e.seq <= up_to).take(4).cloned().collect())
        }
    }

    fn logged(seq: Seq, event: Event) -> LoggedEvent {
        LoggedEvent { seq, at_ms: 1_795_000_000_000 + seq as i64, actor: "d".into(), event }
    }

    fn note(seq: Seq, incident: u32) -> LoggedEvent {
        logged(seq, Event::NoteAdded { incident_id: IncidentId(incident), text: format!("note {seq}") })
    }

    /// Two agencies, PP's restricted incident 1 and an open incident 2 (seqs 1 to 4).
    fn opening() -> Vec<LoggedEvent> {
        let agency = |c: &str| Event::AgencyRegistered {
            agency: vigie_domain::Agency::parse(c, c, c, vigie_domain::AgencyKind::Police, "FR", "#224466").unwrap(),
        };
        let incident = |id: u32, restricted: bool| Event::IncidentCreated {
            incident_id: IncidentId(id),
            kind: vigie_domain::IncidentKind::Hostage,
            priority: vigie_domain::Priority::P1,
            location: vigie_domain::Point::parse(2.35, 48.85).unwrap(),
            area: None,
            address: format!("secret {id}"),
            lead_agency: AgencyCode::parse("PP").unwrap(),
            restricted,
        };
        vec![
            logged(1, agency("PP")),
            logged(2, agency("BKA")),
            logged(3, incident(1, true)),
            logged(4, incident(2, false)),
        ]
    }

    async fn pair(
        source: Arc<Log>,
        audience: Audience,
        since: Option<Seq>,
    ) -> (tokio::task::JoinHandle<()>, WebSocketStream<tokio::io::DuplexStream>) {
        let (server_io, client_io) = tokio::io::duplex(64 * 1024);
        let server_ws = WebSocketStream::from_raw_socket(server_io, Role::Server, None).await;
        let client = WebSocketStream::from_raw_socket(client_io, Role::Client, None).await;
        let timing = Timing {
            write_timeout: Duration::from_secs(5),
            heartbeat: Duration::from_secs(60),
            now_ms: Arc::new(|| 1_795_000_000_000),
        };
        let (stop, shutdown) = watch::channel(false);
        let serving = tokio::spawn(async move {
            serve(&*source, audience, server_ws, since, timing, Stops::shutdown(shutdown)).await;
            drop(stop);
        });
        (serving, client)
    }

    #[tokio::test]
    async fn an_agency_moves_by_ranges_over_what_it_may_not_see_and_ends_with_exactly_its_picture() {
        // BKA may not see PP's restricted incident 1: its notes (5–24) are a whole range it is
        // never sent; then PP shares it (25), a note follows (26), PP unshares it (27).
        let bka = Audience::Agency(AgencyCode::parse("BKA").unwrap());
        let mut log = opening();
        log.extend((5..=24).map(|seq| note(seq, if seq % 5 == 0 { 2 } else { 1 })));
        let share = |seq, shared: bool| {
            let (incident_id, agency) = (IncidentId(1), AgencyCode::parse("BKA").unwrap());
            logged(
                seq,
                if shared {
                    Event::IncidentShared { incident_id, agency }
                } else {
                    Event::IncidentUnshared { incident_id, agency }
                },
            )
        };
        log.extend([share(25, true), note(26, 1), share(27, false), note(28, 2)]);
        let mut room = State::default();
        log[..4].iter().for_each(|e| room.apply(e));
        let source = Arc::new(Log { room: Projection::new(room, (), 1 << 20), log: log.clone() });
        let (serving, mut client) = pair(source.clone(), bka.clone(), None).await;
        let (mut cursor, mut held, mut advances, mut pictures) = (Cursor::default(), State::default(), 0, 0);
        let (mut texts, mut before_share) = (String::new(), String::new());
        // In three steps, each read before the next is published: a picture supersedes whatever
        // waits before it in an outbox (as it should), which would hide what the test looks at.
        for (published, read_to) in [(&log[4..24], 24), (&log[24..26], 26), (&log[26..], 28)] {
            tokio::time::sleep(Duration::from_millis(20)).await;
            for batch in published.chunks(5) {
                source.room.publish(batch, false).unwrap();
            }
            if read_to == 26 {
                before_share = texts.clone();
            }
            while cursor.seq < read_to {
                let Some(Ok(Message::Text(text))) = client.next().await else {
                    panic!("the stream ended at {}", cursor.seq)
                };
                texts.push_str(&text);
                match serde_json::from_str::<ServerMessage>(&text).unwrap() {
                    ServerMessage::Snapshot { seq, state } => {
                        (cursor, held) = (Cursor::at(seq), *state);
                        pictures += 1;
                    }
                    message => {
                        let (prev, seq) = message.range().expect("only ranges and pictures on this stream");
                        assert_eq!(cursor.step(prev, seq), Step::Apply, "({prev}, {seq}] at {}", cursor.seq);
                        match message.into_logged() {
                            Some(e) => held.apply(&e),
                            None => advances += 1,
                        }
                    }
                }
            }
        }
        let mut want = source.room.read(|s| vigie_domain::visibility::view(s, &bka));
        (held.at_ms, want.at_ms) = (0, 0);
        assert_eq!(held, want, "BKA holds exactly its picture of the room");
        assert!(!held.incidents.contains_key(&IncidentId(1)), "unshared again: gone");
        assert_eq!(
            pictures, 3,
            "its first picture, then one when the share made incident 1 appear and one when it went"
        );
        assert!((1..20).contains(&advances), "withheld runs go as few advances ({advances})");
        assert!(
            !before_share.contains("secret 1"),
            "nothing of the restricted incident left the server before the share"
        );
        assert!(
            !before_share.contains("note 6") && before_share.contains("note 10"),
            "only the open incident's notes did"
        );
        assert!(texts.contains("note 26"), "while shared, its notes reach BKA");
        serving.abort();
    }

    #[tokio::test]
    async fn the_whole_room_resumes_from_the_log_an_agency_from_its_picture() {
        let log = opening();
        let mut room = State::default();
        log.iter().for_each(|e| room.apply(e));
        let source = Arc::new(Log { room: Projection::new(room, (), 1 << 20), log: log.clone() });
        let (serving, mut client) = pair(source.clone(), Audience::Room, Some(2)).await;
        let Some(Ok(Message::Text(text))) = client.next().await else { panic!() };
        assert_eq!(
            serde_json::from_str::<ServerMessage>(&text).unwrap().range(),
            Some((2, 3)),
            "the room: the log after 2"
        );
        serving.abort();
        let bka = Audience::Agency(AgencyCode::parse("BKA").unwrap());
        let (serving, mut client) = pair(source, bka, Some(2)).await;
        let Some(Ok(Message::Text(text))) = client.next().await else { panic!() };
        let ServerMessage::Snapshot { seq, state } = serde_json::from_str::<ServerMessage>(&text).unwrap() else {
            panic!("an agency resumes from its picture")
        };
        assert_eq!((seq, state.incidents.len()), (4, 1), "without the restricted incident");
        serving.abort();
    }
}

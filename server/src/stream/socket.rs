//! One bounded WebSocket, for the live and replay streams alike: its limits, reading what a
//! client may send, and writing with merged flushes and fragmentation. (The HTTP upgrade that
//! opens one is the HTTP boundary's: [`crate::http::upgrade`].)
//!
//! Why not axum's `WebSocketUpgrade`: tungstenite keeps its write buffer at the capacity of the
//! largest message it ever held, for the connection's life. A room snapshot is megabytes and a
//! position batch hundreds of kilobytes, so 500 dashboards held about 1 MB each. Messages here go
//! out as frames of at most [`FRAGMENT_BYTES`] (RFC 6455 fragmentation, which every client
//! reassembles), so what a socket keeps stays near its small write buffer whatever the room's
//! size. axum's `Message` cannot carry raw frames; tokio-tungstenite's can.

use bytes::Bytes;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use hyper_util::rt::TokioIo;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::{Frame, Utf8Bytes};
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use vigie_domain::wire::{ClientMessage, ServerMessage, StreamErrorCode, MAX_CLIENT_MESSAGE_BYTES};
use vigie_domain::Seq;

pub type Socket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;
pub type Sink<T> = SplitSink<WebSocketStream<T>, Message>;

/// Largest frame written; longer messages are fragmented.
pub const FRAGMENT_BYTES: usize = 32 * 1024;
/// Bytes buffered before tungstenite writes to the socket.
const WRITE_BUFFER_BYTES: usize = 32 * 1024;
/// Past this much unwritten, a write fails instead of growing. tungstenite writes its buffer out
/// once it passes [`WRITE_BUFFER_BYTES`] and the sink waits for that before taking the next
/// frame, so a socket holds about one buffer plus one fragment; this cap is only a backstop.
const MAX_WRITE_BUFFER_BYTES: usize = 256 * 1024;
/// The most a stream socket itself holds (write cap plus read buffer), for the memory bound.
pub const MAX_SOCKET_BYTES: usize = MAX_WRITE_BUFFER_BYTES + READ_BUFFER_BYTES;
/// Read chunk: clients send small messages only.
const READ_BUFFER_BYTES: usize = 8 * 1024;
/// Replies to client messages waiting for the writer; a client that floods fills it and is dropped.
pub const REPLY_QUEUE: usize = 16;
/// WebSocket close code for "policy violation" (RFC 6455), used when the client does not read.
pub const CLOSE_POLICY: u16 = 1008;
/// WebSocket close code for "service restart".
pub const CLOSE_RESTART: u16 = 1012;
/// WebSocket close code (private range) for "the session or token has ended; sign in again".
pub const CLOSE_SIGNED_OUT: u16 = 4401;

/// The limits every stream socket runs with (see the constants above).
pub fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .max_write_buffer_size(MAX_WRITE_BUFFER_BYTES)
        .max_message_size(Some(MAX_CLIENT_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_CLIENT_MESSAGE_BYTES))
}

/// What a client's message asks of the writer.
pub enum Reply {
    Heartbeat,
    Error { code: StreamErrorCode, message: String },
}

impl Reply {
    /// The answer, for a client standing at `seq`.
    pub fn into_message(self, seq: Seq, now_ms: i64) -> ServerMessage {
        match self {
            Reply::Heartbeat => ServerMessage::Heartbeat { seq, at_ms: now_ms },
            Reply::Error { code, message } => ServerMessage::Error { seq, code, message },
        }
    }
}

/// Reads what the client sends: only `ping` is understood; anything else gets an error reply.
pub async fn read_client<T: AsyncRead + AsyncWrite + Unpin>(
    mut stream: SplitStream<WebSocketStream<T>>,
    replies: mpsc::Sender<Reply>,
) {
    while let Some(Ok(message)) = stream.next().await {
        let reply = match message {
            Message::Text(text) => match serde_json::from_str::<ClientMessage>(&text) {
                Ok(ClientMessage::Ping) => Reply::Heartbeat,
                Err(e) => {
                    Reply::Error { code: StreamErrorCode::BadMessage, message: format!("not a client message: {e}") }
                }
            },
            Message::Binary(_) => Reply::Error {
                code: StreamErrorCode::BadMessage,
                message: "the stream takes JSON text messages".into(),
            },
            Message::Close(_) => break,
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
        };
        if replies.try_send(reply).is_err() {
            break; // flooding faster than we answer: drop the client
        }
    }
}

/// Queues every message (fragmented past [`FRAGMENT_BYTES`]) then flushes once (write merging);
/// gives up after `write_timeout`.
pub async fn write_all<T: AsyncRead + AsyncWrite + Unpin>(
    sink: &mut Sink<T>,
    write_timeout: Duration,
    messages: impl Iterator<Item = Bytes>,
) -> Result<(), &'static str> {
    let write = async move {
        for bytes in messages {
            for frame in fragments(bytes)? {
                sink.feed(frame).await.map_err(|_| "the connection failed")?;
            }
        }
        sink.flush().await.map_err(|_| "the connection failed")
    };
    match timeout(write_timeout, write).await {
        Ok(result) => result,
        Err(_) => Err("write timeout: the client is not reading"),
    }
}

/// A text message as one frame, or as a first text frame and continuation frames.
fn fragments(bytes: Bytes) -> Result<Vec<Message>, &'static str> {
    if bytes.len() <= FRAGMENT_BYTES {
        return Ok(vec![Message::Text(Utf8Bytes::try_from(bytes).map_err(|_| "a server message was not UTF-8")?)]);
    }
    // Fragments may split a UTF-8 sequence; only the reassembled message must be valid UTF-8.
    std::str::from_utf8(&bytes).map_err(|_| "a server message was not UTF-8")?;
    let count = bytes.len().div_ceil(FRAGMENT_BYTES);
    Ok((0..count)
        .map(|i| {
            let part = bytes.slice(i * FRAGMENT_BYTES..((i + 1) * FRAGMENT_BYTES).min(bytes.len()));
            let opcode = if i == 0 { OpCode::Data(Data::Text) } else { OpCode::Data(Data::Continue) };
            Message::Frame(Frame::message(part, opcode, i + 1 == count))
        })
        .collect())
}

pub async fn close<T: AsyncRead + AsyncWrite + Unpin>(sink: &mut Sink<T>, code: u16, reason: &'static str) {
    let frame = CloseFrame { code: CloseCode::from(code), reason: Utf8Bytes::from_static(reason) };
    let _ = timeout(Duration::from_secs(1), sink.send(Message::Close(Some(frame)))).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_go_as_a_text_frame_then_continuations_short_ones_whole() {
        assert!(matches!(fragments(Bytes::from_static(b"{\"type\":\"heartbeat\"}")).unwrap()[..], [Message::Text(_)]));
        // A multi-byte character straddles the first cut: fragments split bytes, not characters.
        let text = format!("{}é{}", "a".repeat(FRAGMENT_BYTES - 1), "b".repeat(FRAGMENT_BYTES + 10));
        let frames = fragments(Bytes::from(text.clone())).unwrap();
        assert_eq!(frames.len(), 3);
        let mut whole = Vec::new();
        for (i, m) in frames.iter().enumerate() {
            let Message::Frame(f) = m else { panic!("raw frames") };
            let expected = if i == 0 { OpCode::Data(Data::Text) } else { OpCode::Data(Data::Continue) };
            assert_eq!((f.header().opcode, f.header().is_final), (expected, i == 2));
            assert!(f.payload().len() <= FRAGMENT_BYTES);
            whole.extend_from_slice(f.payload());
        }
        assert_eq!(String::from_utf8(whole).unwrap(), text);
        assert!(fragments(Bytes::from(vec![0xff; FRAGMENT_BYTES + 1])).is_err(), "not UTF-8");
    }
}

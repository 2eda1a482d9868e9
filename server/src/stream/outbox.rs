//! What is waiting for one client, bounded in bytes.
//!
//! Consecutive position batches waiting in an outbox merge into one (latest fix per unit), and
//! consecutive advances into one, so a client that is behind gets the newest picture rather than a
//! backlog; a snapshot replaces everything queued before it. Anything else that would push the
//! outbox past its bound empties it and marks it overflowed, and the client's writer resyncs it.
//! Nothing is ever skipped silently.

use parking_lot::Mutex;
use std::collections::VecDeque;
use tokio::sync::Notify;

use super::frame::Frame;

#[derive(Default)]
struct Queue {
    frames: VecDeque<Frame>,
    bytes: usize,
    overflowed: bool,
}

pub struct Outbox {
    queue: Mutex<Queue>,
    ready: Notify,
    limit_bytes: usize,
}

/// What the writer takes from an outbox in one go.
pub struct Drained {
    pub frames: VecDeque<Frame>,
    /// Frames were dropped to stay within the bound: the client must be resynced.
    pub overflowed: bool,
}

impl Outbox {
    pub(super) fn new(limit_bytes: usize) -> Self {
        Self { queue: Mutex::new(Queue::default()), ready: Notify::new(), limit_bytes }
    }

    pub(super) fn push(&self, frame: Frame) {
        // Held for a few pointer moves, never across an await.
        let mut q = self.queue.lock();
        if let Frame::Snapshot { .. } = frame {
            // The client's room is replaced: nothing queued before matters, overflow included.
            *q = Queue::default();
        } else if q.overflowed {
            return; // the writer will resync; queueing more would only waste memory
        }
        let absorbed = match q.frames.back_mut() {
            Some(back) => {
                let before = back.cost_bytes();
                let absorbed = back.absorb(&frame);
                if absorbed {
                    let after = back.cost_bytes();
                    q.bytes = q.bytes + after - before;
                }
                absorbed
            }
            None => false,
        };
        if !absorbed {
            q.bytes += frame.cost_bytes();
            q.frames.push_back(frame);
        }
        // A snapshot alone may exceed the bound (a big room); it is delivered whole.
        if q.bytes > self.limit_bytes && q.frames.len() > 1 {
            // At the bound: drop the queue and flag it, so memory stays bounded and the client
            // gets an explicit resync instead of a silent gap.
            q.frames.clear();
            q.bytes = 0;
            q.overflowed = true;
        }
        drop(q);
        self.ready.notify_one();
    }

    /// Takes everything queued.
    pub fn drain(&self) -> Drained {
        let mut q = self.queue.lock();
        q.bytes = 0;
        Drained { frames: std::mem::take(&mut q.frames), overflowed: q.overflowed }
    }

    /// Resolves when something was queued since the last drain.
    pub async fn ready(&self) {
        self.ready.notified().await;
    }

    pub fn queued_bytes(&self) -> usize {
        self.queue.lock().bytes
    }
}

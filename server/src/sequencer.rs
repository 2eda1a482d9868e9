//! The single writer. One task owns `seq`, the write-side state and the store's write path: it
//! takes whatever commands are queued, decides each against the state (folding accepted events in
//! before deciding the next), commits all resulting events in one transaction (group commit),
//! publishes the batch to the hub, and only then answers each command.
//!
//! Bounds: the queue holds at most [`QUEUE_WEIGHT`] of work (a fix counts one); a submitter waits
//! at most [`ADMISSION_WAIT`] for room, then gets [`CommandError::Busy`] (503 with Retry-After).
//! A transaction takes at most [`MAX_BATCH`] commands and [`MAX_BATCH_WEIGHT`] of work.
//!
//! Failure: when a commit reports an error, the writer does not guess. It asks the log where it
//! stands: if the batch is there (the error came after the commit), it is published and answered
//! as committed; if not, the write-side state is rebuilt from the log and every submitter is told
//! to retry; if the log cannot be read, the writer refuses commands (and `/healthz` says so) until
//! it can. The in-memory room therefore never differs from the log.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;
use vigie_domain::authority::{authorize, Denied, Principal};
use vigie_domain::{decide, Command, LoggedEvent, Refusal, Seq, State};

use crate::clock::Clock;
use crate::hub::Hub;
use crate::store::Store;

/// Work (fixes, or one per other command) waiting for the writer. At 5 000 fixes a second this
/// is about 40 s of a busy room's positions; past it, submitters wait, then are shed.
pub const QUEUE_WEIGHT: u64 = 200_000;
/// How long a submitter waits for room in the queue before it is told to retry later.
pub const ADMISSION_WAIT: Duration = Duration::from_secs(2);
/// Most commands decided and committed in one transaction.
const MAX_BATCH: usize = 2_048;
/// Most work in one transaction: a commit stays short, so acknowledgements stay prompt.
const MAX_BATCH_WEIGHT: u64 = 50_000;
/// How long the writer waits before trying again to read a log it could not read.
const RETRY_RECOVERY: Duration = Duration::from_millis(500);

/// Who gives a command.
#[derive(Clone, Debug)]
pub enum Author {
    /// A signed-in user or an integration's token: authorised by the domain's table
    /// ([`vigie_domain::authority::authorize`]) against the room as it is when the command is decided.
    Principal(Principal),
    /// One of the room's own services (the demo's simulated services), named in the record; no
    /// client can act as one.
    Service(String),
    /// The server writing the record for oversight ([`Command::Record`] only): the actor it names
    /// is the principal whose access or administration it records.
    Recorder(String),
}

impl Author {
    pub fn service(name: impl Into<String>) -> Self {
        Author::Service(name.into())
    }

    /// Whether it may give `command` in `state`, and if so the actor its events record.
    fn actor_for(&self, state: &State, command: &Command) -> Result<String, Denied> {
        match self {
            Author::Service(name) => Ok(name.clone()),
            Author::Recorder(actor) if matches!(command, Command::Record { .. }) => Ok(actor.clone()),
            Author::Recorder(_) => Err(Denied {
                right: vigie_domain::authority::Right::WriteRecord,
                message: "the recorder only writes the record".into(),
            }),
            Author::Principal(p) => {
                authorize(state, p, command)?;
                let role = match p.roles.len() {
                    1 => p.roles.first().copied(),
                    _ => p.role_for(state, command),
                };
                Ok(role.map_or_else(|| p.user.clone(), |r| p.actor(r)))
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The author may not give this command: nothing was done.
    #[error(transparent)]
    Denied(#[from] Denied),
    /// The command was not committed (store failure or shutdown); retrying later is safe.
    #[error("{0}")]
    Unavailable(&'static str),
    /// The queue stayed full for [`ADMISSION_WAIT`]: nothing was done; retry after a moment.
    #[error("the room is busy; retry in a moment")]
    Busy,
}

/// How the writer is doing, for `/healthz`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    Ok,
    /// The last commit failed; the writer is rebuilding from the log.
    Recovering,
    /// The writer task has ended (shutdown, or a panic).
    Stopped,
}

struct Submission {
    author: Author,
    command: Command,
    reply: oneshot::Sender<Result<Vec<LoggedEvent>, CommandError>>,
    /// This command's share of [`QUEUE_WEIGHT`], given back once it is answered.
    _room: OwnedSemaphorePermit,
}

#[derive(Clone)]
pub struct Sequencer {
    tx: mpsc::UnboundedSender<Submission>,
    room: Arc<Semaphore>,
    health: Arc<AtomicU8>,
}

pub struct SequencerTask {
    store: Store,
    hub: Arc<Hub>,
    clock: Arc<dyn Clock>,
    state: State,
    snapshot_every: u64,
    /// Weight ([`vigie_domain::Event::weight`]) committed since the last snapshot.
    weight_since_snapshot: u64,
    health: Arc<AtomicU8>,
    /// Whether `state` is known to equal the log (false after a commit whose outcome is unknown).
    in_step: bool,
}

impl Sequencer {
    /// Starts the writer on `state` (the log as loaded), `weight_since_snapshot` after the last
    /// stored snapshot. It stops when `shutdown` turns true, after committing what was already
    /// queued and writing a snapshot.
    pub fn start(
        store: Store,
        hub: Arc<Hub>,
        clock: Arc<dyn Clock>,
        state: State,
        weight_since_snapshot: u64,
        snapshot_every: u64,
        shutdown: watch::Receiver<bool>,
    ) -> (Self, JoinHandle<()>) {
        // Unbounded in count, bounded in weight by `room` (every command weighs at least one).
        let (tx, rx) = mpsc::unbounded_channel();
        let health = Arc::new(AtomicU8::new(Health::Ok as u8));
        let task = SequencerTask {
            store,
            hub,
            clock,
            state,
            snapshot_every,
            weight_since_snapshot,
            health: health.clone(),
            in_step: true,
        };
        let room = Arc::new(Semaphore::new(QUEUE_WEIGHT as usize));
        (Self { tx, room, health }, tokio::spawn(task.run(rx, shutdown)))
    }

    /// Decides and commits `command`; returns its events once they are durable and published.
    pub async fn submit(&self, author: Author, command: Command) -> Result<Vec<LoggedEvent>, CommandError> {
        let weight = command.weight().min(QUEUE_WEIGHT) as u32;
        let room = tokio::time::timeout(ADMISSION_WAIT, self.room.clone().acquire_many_owned(weight)).await;
        let room = match room {
            Err(_) => return Err(CommandError::Busy),
            Ok(Err(_)) => return Err(CommandError::Unavailable("the server is shutting down")),
            Ok(Ok(permit)) => permit,
        };
        let (reply, answer) = oneshot::channel();
        let submission = Submission { author, command, reply, _room: room };
        self.tx.send(submission).map_err(|_| CommandError::Unavailable("the server is shutting down"))?;
        answer.await.map_err(|_| CommandError::Unavailable("the server is shutting down"))?
    }

    pub fn health(&self) -> Health {
        if self.tx.is_closed() {
            return Health::Stopped;
        }
        match self.health.load(Ordering::Relaxed) {
            0 => Health::Ok,
            _ => Health::Recovering,
        }
    }
}

impl SequencerTask {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Submission>, mut shutdown: watch::Receiver<bool>) {
        let mut carry: Option<Submission> = None;
        loop {
            let first = match carry.take() {
                Some(s) => s,
                None => tokio::select! {
                    biased;
                    _ = shutdown.wait_for(|stop| *stop) => break,
                    first = rx.recv() => match first { Some(s) => s, None => break },
                },
            };
            let mut weight = first.command.weight();
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH && weight < MAX_BATCH_WEIGHT {
                match rx.try_recv() {
                    Ok(s) if weight + s.command.weight() > MAX_BATCH_WEIGHT => {
                        carry = Some(s);
                        break;
                    }
                    Ok(s) => {
                        weight += s.command.weight();
                        batch.push(s);
                    }
                    Err(_) => break,
                }
            }
            self.commit(batch).await;
        }
        // Commit what was accepted into the queue before the stop, then refuse the rest.
        rx.close();
        let mut rest: Vec<Submission> = carry.into_iter().collect();
        while let Ok(s) = rx.try_recv() {
            rest.push(s);
        }
        if !rest.is_empty() {
            self.commit(rest).await;
        }
        if self.in_step {
            if let Err(e) = self.store.save_snapshot(&self.state).await {
                tracing::warn!(error = %e, "could not write the shutdown snapshot");
            }
        }
    }

    async fn commit(&mut self, batch: Vec<Submission>) {
        if !self.in_step && !self.recover().await {
            for s in batch {
                let _ = s.reply.send(Err(CommandError::Unavailable("the log cannot be read; retry")));
            }
            return;
        }
        let before: Seq = self.state.seq;
        // The log's time never runs backwards, even if the wall clock does.
        let at_ms = self.clock.now_ms().max(self.state.at_ms);
        let mut logged = Vec::new();
        let mut outcomes = Vec::with_capacity(batch.len());
        for s in &batch {
            let actor = match s.author.actor_for(&self.state, &s.command) {
                Ok(actor) => actor,
                Err(denied) => {
                    outcomes.push(Err(CommandError::Denied(denied)));
                    continue;
                }
            };
            match decide(&self.state, &s.command, &actor, at_ms) {
                Ok(events) => {
                    let start = logged.len();
                    for event in events {
                        let e = LoggedEvent { seq: self.state.seq + 1, at_ms, actor: actor.clone(), event };
                        self.state.apply(&e);
                        logged.push(e);
                    }
                    outcomes.push(Ok(start..logged.len()));
                }
                Err(refusal) => outcomes.push(Err(CommandError::Refused(refusal))),
            }
        }
        if !logged.is_empty() {
            if let Err(e) = self.store.append(&logged).await {
                tracing::error!(error = %e, "committing a batch reported an error; asking the log where it stands");
                if !self.settle(before).await {
                    for s in batch {
                        let _ = s.reply.send(Err(CommandError::Unavailable("the log could not be written; retry")));
                    }
                    return;
                }
                tracing::warn!(seq = self.state.seq, "the batch was committed despite the error; publishing it");
            }
            self.weight_since_snapshot += logged.iter().map(|e| e.event.weight()).sum::<u64>();
            if let Err(gap) = self.hub.publish(&logged) {
                // The writer owns seq, so this is a bug: the room keeps its picture (the log is the
                // truth and a restart rebuilds from it) and says so loudly.
                tracing::error!(%gap, "the writer's batch does not follow the room");
            }
        }
        for (s, outcome) in batch.into_iter().zip(outcomes) {
            let answer = outcome.map(|range| logged[range].to_vec());
            let _ = s.reply.send(answer); // the submitter may have gone; the event stands
        }
        self.maybe_snapshot();
    }

    /// After a commit that reported an error: whether the batch is in the log after all. If not,
    /// the write-side state is rebuilt from the log (or marked out of step if it cannot be read).
    async fn settle(&mut self, before: Seq) -> bool {
        let expected = self.state.seq;
        match self.store.head_seq().await {
            Ok(head) if head == expected => true,
            Ok(head) if head == before => {
                self.in_step = false;
                self.recover().await;
                false
            }
            Ok(head) => {
                tracing::error!(head, before, expected, "the log holds part of a batch; rebuilding from it");
                self.in_step = false;
                self.recover().await;
                false
            }
            Err(e) => {
                tracing::error!(error = %e, "the log cannot be read after a failed commit; refusing commands until it can");
                self.in_step = false;
                self.health.store(Health::Recovering as u8, Ordering::Relaxed);
                false
            }
        }
    }

    /// Rebuilds the write-side state from the log; true when it is in step again.
    async fn recover(&mut self) -> bool {
        self.health.store(Health::Recovering as u8, Ordering::Relaxed);
        match self.store.load_state().await {
            Ok(loaded) if loaded.state.seq == self.hub.read(|s| s.seq) => {
                self.state = loaded.state;
                self.weight_since_snapshot = loaded.weight_since_snapshot;
                self.in_step = true;
                self.health.store(Health::Ok as u8, Ordering::Relaxed);
                true
            }
            Ok(loaded) => {
                // The log moved without the hub: never expected (only this task writes). Refuse
                // commands rather than fork the room; a restart rebuilds everything from the log.
                tracing::error!(log = loaded.state.seq, room = self.hub.read(|s| s.seq), "the log and the room differ");
                false
            }
            Err(e) => {
                tracing::error!(error = %e, "reading the log to recover failed");
                tokio::time::sleep(RETRY_RECOVERY).await;
                false
            }
        }
    }

    fn maybe_snapshot(&mut self) {
        if self.weight_since_snapshot < self.snapshot_every {
            return;
        }
        self.weight_since_snapshot = 0;
        let (store, state) = (self.store.clone(), self.state.clone());
        tokio::spawn(async move {
            if let Err(e) = store.save_snapshot(&state).await {
                tracing::warn!(error = %e, seq = state.seq, "writing a snapshot failed; startup will replay more");
            }
        });
    }
}

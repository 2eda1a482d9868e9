//! The single writer. One task owns `seq`, the write-side state and the store's write path: it
//! takes whatever commands are queued, decides each against the state (folding accepted events in
//! before deciding the next), commits all resulting events in one transaction (group commit),
//! publishes the batch to the hub, and only then answers each command.

use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use vigie_domain::{decide, Command, LoggedEvent, Refusal, State};

use crate::clock::Clock;
use crate::hub::Hub;
use crate::store::Store;

/// Commands waiting for the sequencer; past this, submitters wait (backpressure on HTTP).
const QUEUE_CAPACITY: usize = 8_192;
/// Most commands decided and committed in one transaction.
const MAX_BATCH: usize = 2_048;

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The command was not committed (store failure or shutdown); retrying later is safe.
    #[error("{0}")]
    Unavailable(&'static str),
}

struct Submission {
    actor: String,
    command: Command,
    reply: oneshot::Sender<Result<Vec<LoggedEvent>, CommandError>>,
}

#[derive(Clone)]
pub struct Sequencer {
    tx: mpsc::Sender<Submission>,
}

pub struct SequencerTask {
    store: Store,
    hub: Arc<Hub>,
    clock: Arc<dyn Clock>,
    state: State,
    snapshot_every: u64,
    last_snapshot_seq: u64,
    /// Weight ([`vigie_domain::Event::weight`]) committed since the last snapshot.
    weight_since_snapshot: u64,
}

impl Sequencer {
    /// Starts the writer on `state` (the log as loaded). It stops when `shutdown` turns true,
    /// after committing what was already queued and writing a snapshot.
    pub fn start(
        store: Store,
        hub: Arc<Hub>,
        clock: Arc<dyn Clock>,
        state: State,
        snapshot_every: u64,
        shutdown: watch::Receiver<bool>,
    ) -> (Self, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
        let last_snapshot_seq = state.seq;
        let task = SequencerTask { store, hub, clock, state, snapshot_every, last_snapshot_seq, weight_since_snapshot: 0 };
        (Self { tx }, tokio::spawn(task.run(rx, shutdown)))
    }

    /// Decides and commits `command`; returns its events once they are durable and published.
    pub async fn submit(&self, actor: &str, command: Command) -> Result<Vec<LoggedEvent>, CommandError> {
        let (reply, answer) = oneshot::channel();
        let submission = Submission { actor: actor.to_owned(), command, reply };
        self.tx.send(submission).await.map_err(|_| CommandError::Unavailable("the server is shutting down"))?;
        answer.await.map_err(|_| CommandError::Unavailable("the server is shutting down"))?
    }
}

impl SequencerTask {
    async fn run(mut self, mut rx: mpsc::Receiver<Submission>, mut shutdown: watch::Receiver<bool>) {
        loop {
            let first = tokio::select! {
                biased;
                _ = shutdown.wait_for(|stop| *stop) => break,
                first = rx.recv() => match first { Some(s) => s, None => break },
            };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(s) => batch.push(s),
                    Err(_) => break,
                }
            }
            self.commit(batch).await;
        }
        // Commit what was accepted into the queue before the stop, then refuse the rest.
        rx.close();
        let mut rest = Vec::new();
        while let Ok(s) = rx.try_recv() {
            rest.push(s);
        }
        if !rest.is_empty() {
            self.commit(rest).await;
        }
        if let Err(e) = self.store.save_snapshot(&self.state).await {
            tracing::warn!(error = %e, "could not write the shutdown snapshot");
        }
    }

    async fn commit(&mut self, batch: Vec<Submission>) {
        // The log's time never runs backwards, even if the wall clock does.
        let at_ms = self.clock.now_ms().max(self.state.at_ms);
        let mut logged = Vec::new();
        let mut outcomes = Vec::with_capacity(batch.len());
        for s in &batch {
            match decide(&self.state, &s.command, &s.actor, at_ms) {
                Ok(events) => {
                    let start = logged.len();
                    for event in events {
                        let e = LoggedEvent { seq: self.state.seq + 1, at_ms, actor: s.actor.clone(), event };
                        self.state.apply(&e);
                        self.weight_since_snapshot += e.event.weight();
                        logged.push(e);
                    }
                    outcomes.push(Ok(start..logged.len()));
                }
                Err(refusal) => outcomes.push(Err(refusal)),
            }
        }
        if !logged.is_empty() {
            if let Err(e) = self.store.append(&logged).await {
                tracing::error!(error = %e, "committing a batch failed; nothing of it was acknowledged");
                self.recover().await;
                for s in batch {
                    let _ = s.reply.send(Err(CommandError::Unavailable("the log could not be written; retry")));
                }
                return;
            }
            self.hub.publish(&logged);
        }
        for (s, outcome) in batch.into_iter().zip(outcomes) {
            let answer = outcome.map(|range| logged[range].to_vec()).map_err(CommandError::from);
            let _ = s.reply.send(answer); // the submitter may have gone; the event stands
        }
        self.maybe_snapshot();
    }

    /// After a failed commit the write-side state is ahead of the log: rebuild it from the log.
    async fn recover(&mut self) {
        match self.store.load_state().await {
            Ok(state) => self.state = state,
            Err(e) => tracing::error!(error = %e, "reloading the state after a failed commit failed"),
        }
    }

    fn maybe_snapshot(&mut self) {
        if self.weight_since_snapshot < self.snapshot_every {
            return;
        }
        self.weight_since_snapshot = 0;
        self.last_snapshot_seq = self.state.seq;
        let (store, state) = (self.store.clone(), self.state.clone());
        tokio::spawn(async move {
            if let Err(e) = store.save_snapshot(&state).await {
                tracing::warn!(error = %e, seq = state.seq, "writing a snapshot failed; startup will replay more");
            }
        });
    }
}

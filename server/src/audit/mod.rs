//! The record for oversight: the room's log as a transparency log, so that judges, inspectors
//! and partner rooms can check what was done without trusting whoever runs the server.
//!
//! - [`raw`]: events as stored (the bytes the leaves commit to), read in pages.
//! - [`key`]: the log's Ed25519 signing key, in a file of its own.
//! - [`checkpoint`]: signed checkpoints (C2SP), at least every second while events flow.
//! - [`verify`]: recompute the tree of the live log, or check an export offline.
//! - [`export`]: the self-contained, versioned export file.
//! - [`witness`]: `vigie audit witness`, another party co-signing checkpoints and refusing forks.
//! - [`retention`]: purging old content by rule while the tree still verifies.
//! - [`pending`]: records of changes made outside the server (the CLI), appended when it runs.
//! - [`cli`]: `vigie audit key|verify|export|witness`.
//!
//! The tree itself is written by the store with the events (`crate::store::leaf`, what one event's
//! leaf commits to; `crate::store::tree`, the Merkle tree and its proofs).
//!
//! Access and administration are recorded in the same log as operational events
//! ([`vigie_domain::record::Record`]), so the same tree covers them.

pub mod checkpoint;
pub mod cli;
pub mod export;
pub mod key;
pub mod pending;
pub mod raw;
pub mod retention;
pub mod verify;
pub mod witness;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use vigie_domain::authority::Principal;
use vigie_domain::record::Record;
use vigie_domain::{Command, IncidentId};

use crate::sequencer::{Author, CommandError, Sequencer};
use key::LogKey;

/// How long a view of one restricted incident by one user is recorded once: reopening its card
/// within this time adds nothing (a wall screen reopening it all day would flood the record).
pub const VIEW_RECORDED_FOR_MS: i64 = 10 * 60 * 1000;
/// Most (user, incident) views remembered for [`VIEW_RECORDED_FOR_MS`]; past it the oldest go.
const MAX_REMEMBERED_VIEWS: usize = 10_000;

/// The record's parts a running server holds.
pub struct Audit {
    pub key: Arc<LogKey>,
    /// One verification of the live log at a time (it reads all of it).
    verifying: Arc<tokio::sync::Semaphore>,
    /// Views of restricted incidents recorded lately: (user, incident) → when.
    viewed: parking_lot::Mutex<HashMap<(String, IncidentId), i64>>,
}

impl Audit {
    pub fn new(key: LogKey) -> Self {
        Audit { key: Arc::new(key), verifying: Arc::new(tokio::sync::Semaphore::new(1)), viewed: Default::default() }
    }

    /// The turn to verify the live log, unless a verification is running.
    pub fn verifying_turn(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.verifying.clone().try_acquire_owned().ok()
    }

    pub fn is_verifying(&self) -> bool {
        self.verifying.available_permits() == 0
    }

    /// Whether a view of `incident` by `user` at `now_ms` is to be recorded (not recorded lately).
    pub fn first_view(&self, user: &str, incident: IncidentId, now_ms: i64) -> bool {
        let mut viewed = self.viewed.lock();
        if viewed.len() >= MAX_REMEMBERED_VIEWS {
            viewed.retain(|_, at| now_ms - *at < VIEW_RECORDED_FOR_MS);
            if viewed.len() >= MAX_REMEMBERED_VIEWS {
                viewed.clear();
            }
        }
        match viewed.get(&(user.to_owned(), incident)) {
            Some(at) if now_ms - *at < VIEW_RECORDED_FOR_MS => false,
            _ => {
                viewed.insert((user.to_owned(), incident), now_ms);
                true
            }
        }
    }
}

/// Where the log's key lives by default: beside the database (`vigie.db` → `vigie-audit.key`).
pub fn default_key_path(database: &Path) -> PathBuf {
    let stem = database.file_stem().map_or_else(|| "vigie".into(), |s| s.to_string_lossy().into_owned());
    database.with_file_name(format!("{stem}-audit.key"))
}

/// The actor a record names for `principal` (its first role: records are about the person).
pub fn actor_of(principal: &Principal) -> String {
    principal.roles.first().map_or_else(|| principal.user.clone(), |r| principal.actor(*r))
}

/// Appends `record` to the log as `actor`, and waits until it is durable.
pub async fn record(sequencer: &Sequencer, actor: String, record: Record) -> Result<(), CommandError> {
    sequencer.submit(Author::Recorder(actor), Command::Record { record }).await.map(|_| ())
}

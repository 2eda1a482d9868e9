//! Checkpoints: the tree's size and root, the log's name and the time, in the C2SP
//! tlog-checkpoint text format, signed as a C2SP signed note:
//!
//! ```text
//! <origin>                 the log's name (its key's name)
//! <size>                   events covered: seq 1..=size
//! <root, base64>
//! time <ms since epoch>    an extension line
//!
//! — <origin> <base64 of key id and Ed25519 signature>
//! — <witness> <…>          witnesses' co-signatures, when kept with it
//! ```
//!
//! The room signs one at least every second while events flow, and at shutdown.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use base64::prelude::{Engine, BASE64_STANDARD};
use signed_note::{Note, VerifierList};
use sqlx::{Row, SqlitePool};
use tlog_tiles::checkpoint::Checkpoint;
use tlog_tiles::tlog::Hash;
use tokio::sync::watch;

use super::key::{verifier, LogKey};
use crate::clock::Clock;
use crate::store::tree::TreeHead;

/// How often a new checkpoint is signed while the tree grows.
pub const EVERY: Duration = Duration::from_secs(1);

/// A checkpoint as signed and stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Signed {
    pub size: u64,
    pub root: Hash,
    pub at_ms: i64,
    /// The signed note, as served and exported.
    pub note: String,
}

/// Signs the checkpoint of `head` at `at_ms`.
pub fn sign(key: &LogKey, head: TreeHead, at_ms: i64) -> anyhow::Result<Signed> {
    let body = Checkpoint::new(key.name(), head.size, head.root, &format!("time {at_ms}\n"))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut note = Note::new(&body.to_bytes(), &[])?;
    note.add_sigs(&[&key.signer])?;
    let note = String::from_utf8(note.to_bytes()).context("a note is UTF-8")?;
    Ok(Signed { size: head.size, root: head.root, at_ms, note })
}

/// Checks `note`'s signature by `public` (and that it is a checkpoint of that log); returns it.
pub fn open(note: &str, public: &str) -> anyhow::Result<Signed> {
    let verifier = verifier(public)?;
    let origin = signed_note::Verifier::name(&verifier).to_owned();
    let parsed = Note::from_bytes(note.as_bytes()).map_err(|e| anyhow::anyhow!("not a signed note: {e}"))?;
    parsed
        .verify(&VerifierList::new(vec![Box::new(verifier)]))
        .map_err(|e| anyhow::anyhow!("the checkpoint is not signed by {origin}'s key: {e}"))?;
    let body = Checkpoint::from_bytes(parsed.text()).map_err(|e| anyhow::anyhow!("not a checkpoint: {e}"))?;
    if body.origin() != origin {
        bail!("the checkpoint is of log {:?}, not {origin:?}", body.origin());
    }
    let at_ms = body
        .extension()
        .lines()
        .find_map(|l| l.strip_prefix("time ")?.parse::<i64>().ok())
        .context("the checkpoint has no time line")?;
    Ok(Signed { size: body.size(), root: *body.hash(), at_ms, note: note.to_owned() })
}

pub fn encode_hash(h: &Hash) -> String {
    BASE64_STANDARD.encode(h.0)
}

pub fn decode_hash(text: &str) -> anyhow::Result<Hash> {
    let bytes = BASE64_STANDARD.decode(text.trim()).with_context(|| format!("{text:?} is not base64"))?;
    Ok(Hash(bytes.try_into().map_err(|_| anyhow::anyhow!("a hash is 32 bytes"))?))
}

pub async fn save(pool: &SqlitePool, signed: &Signed) -> anyhow::Result<()> {
    sqlx::query("INSERT INTO audit_checkpoints (size, at_ms, note) VALUES ($1, $2, $3) ON CONFLICT (size) DO NOTHING")
        .bind(signed.size as i64)
        .bind(signed.at_ms)
        .bind(&signed.note)
        .execute(pool)
        .await?;
    Ok(())
}

fn from_row(row: &sqlx::sqlite::SqliteRow, public: Option<&str>) -> anyhow::Result<Signed> {
    let note: String = row.get("note");
    match public {
        Some(public) => open(&note, public),
        None => {
            // Unchecked read (the verifier checks every signature itself).
            let parsed = Note::from_bytes(note.as_bytes()).map_err(|e| anyhow::anyhow!("{e}"))?;
            let body = Checkpoint::from_bytes(parsed.text()).map_err(|e| anyhow::anyhow!("{e}"))?;
            Ok(Signed { size: body.size(), root: *body.hash(), at_ms: row.get("at_ms"), note })
        }
    }
}

/// The latest checkpoint signed.
pub async fn latest(pool: &SqlitePool) -> anyhow::Result<Option<Signed>> {
    let row = sqlx::query("SELECT size, at_ms, note FROM audit_checkpoints ORDER BY size DESC LIMIT 1")
        .fetch_optional(pool)
        .await?;
    row.map(|r| from_row(&r, None)).transpose()
}

/// The checkpoint of exactly `size`, if one was signed.
pub async fn at_size(pool: &SqlitePool, size: u64) -> anyhow::Result<Option<Signed>> {
    let row = sqlx::query("SELECT size, at_ms, note FROM audit_checkpoints WHERE size = $1")
        .bind(size as i64)
        .fetch_optional(pool)
        .await?;
    row.map(|r| from_row(&r, None)).transpose()
}

/// Signs and stores the checkpoint of `head` unless one of that size exists; returns it.
pub async fn sign_head(pool: &SqlitePool, key: &LogKey, head: TreeHead, at_ms: i64) -> anyhow::Result<Option<Signed>> {
    if head.size == 0 || at_size(pool, head.size).await?.is_some() {
        return Ok(None);
    }
    let c = sign(key, head, at_ms)?;
    save(pool, &c).await?;
    Ok(Some(c))
}

/// Signs a checkpoint whenever the tree has grown, at most every [`EVERY`], until `shutdown`
/// (the server signs a last one once the writer has stopped).
pub async fn run(
    pool: SqlitePool,
    key: Arc<LogKey>,
    clock: Arc<dyn Clock>,
    mut heads: watch::Receiver<TreeHead>,
    mut shutdown: watch::Receiver<bool>,
) {
    // The head at start (a log written before checkpoints existed, or an unclean stop) is signed.
    heads.mark_changed();
    loop {
        tokio::select! {
            _ = shutdown.wait_for(|s| *s) => return,
            changed = heads.changed() => if changed.is_err() { return },
        }
        let head = *heads.borrow_and_update();
        if let Err(e) = sign_head(&pool, &key, head, clock.now_ms()).await {
            tracing::warn!(error = %e, size = head.size, "could not sign a checkpoint; will sign the next head");
        }
        tokio::select! {
            _ = shutdown.wait_for(|s| *s) => return,
            _ = tokio::time::sleep(EVERY) => {}
        }
    }
}

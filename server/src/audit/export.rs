//! The export for oversight: a self-contained, versioned JSON file an inspector verifies on their
//! own machine with the log's published key (`vigie audit verify --file F --key K`, or the
//! independent `tools/verify_audit.py`). The format is documented in the README.
//!
//! It holds the events of a time range as stored (`first_seq..=last_seq`); the "left edge" (the
//! hashes of the complete subtrees of the events before the range); one or more anchors — signed
//! checkpoints, with the co-signatures witnesses gave them, and a consistency proof from the tree
//! ending at the range's last event; the purge records covering purged events in the range, each
//! with an inclusion proof; and the public keys of the log and its witnesses.

use std::io::Write;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use sqlx::{Row, SqlitePool};
use vigie_domain::Event;

use super::checkpoint::{self, encode_hash, Signed};
use super::raw::{self, RawEvent};
use crate::store::codec;
use crate::store::tree;

pub const FORMAT: &str = "vigie-audit-export/1";

#[derive(Debug, Serialize, Deserialize)]
pub struct ExportFile {
    pub format: String,
    /// The log's name (its checkpoints' origin).
    pub log: String,
    /// The log's public key as the server knows it (check it against the published one).
    pub public_key: String,
    pub from_ms: i64,
    pub to_ms: i64,
    /// The range's events are `first_seq..=first_seq + events.len() - 1`.
    pub first_seq: u64,
    /// Base64 hashes of the complete subtrees of events `1..first_seq`, largest first.
    pub left_edge: Vec<String>,
    pub events: Vec<ExportedEvent>,
    pub anchors: Vec<Anchor>,
    pub purges: Vec<ProvedEvent>,
    /// Witnesses whose co-signatures appear on the anchors: `name` and public `key`.
    pub witnesses: Vec<WitnessKey>,
}

/// An event as stored, and the event it decodes to (for reading; a verifier checks they agree).
#[derive(Debug, Serialize, Deserialize)]
pub struct ExportedEvent {
    #[serde(flatten)]
    pub raw: RawEvent,
    /// The decoded event, when the body is in the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<serde_json::Value>,
}

impl std::ops::Deref for ExportedEvent {
    type Target = RawEvent;
    fn deref(&self) -> &RawEvent {
        &self.raw
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Anchor {
    /// The signed note (with witnesses' co-signature lines).
    pub checkpoint: String,
    /// Base64 hashes proving the tree ending at the range's last event is a prefix of this one.
    pub consistency: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ProvedEvent {
    pub event: RawEvent,
    /// Base64 hashes: the event's inclusion proof in the first anchor.
    pub proof: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WitnessKey {
    pub name: String,
    pub key: String,
}

/// What goes into an export.
pub struct Range {
    pub from_ms: i64,
    pub to_ms: i64,
    /// Whether position batches keep their fixes (else only their digest: a day of positions is
    /// large and seldom what an inspector asks about; the proof holds either way).
    pub with_positions: bool,
    /// Most bytes of events written (the API's bound; the CLI has none).
    pub max_bytes: Option<usize>,
}

/// Builds the export of `range` from the live log. The range ends at the latest checkpoint: what
/// was committed after it is covered by the next one (within a second).
pub async fn build(pool: &SqlitePool, public_key: &str, range: &Range) -> anyhow::Result<ExportFile> {
    let Some(latest) = checkpoint::latest(pool).await? else { bail!("the log has no checkpoint yet") };
    let bounds = sqlx::query(
        "SELECT MIN(seq) AS first, MAX(seq) AS last FROM events WHERE at_ms >= $1 AND at_ms < $2 AND seq <= $3",
    )
    .bind(range.from_ms)
    .bind(range.to_ms)
    .bind(latest.size as i64)
    .fetch_one(pool)
    .await?;
    let (Some(first), Some(last)) = (bounds.get::<Option<i64>, _>("first"), bounds.get::<Option<i64>, _>("last"))
    else {
        bail!("no event was committed in that range (before the latest checkpoint)");
    };
    let (first, last) = (first as u64, last as u64);
    let left = tree::read(pool, &tree::left_edge_indexes(first - 1)).await?;
    let mut events = Vec::new();
    let mut bytes = 0usize;
    let mut purged_kinds = std::collections::BTreeSet::new();
    let mut after = first - 1;
    while after < last {
        let page = raw::page(pool, after, last).await?;
        let Some(end) = page.last().map(|e| e.seq) else { bail!("event {} is missing from the log", after + 1) };
        for e in page {
            if let Some(rule) = &e.purged {
                purged_kinds.insert((rule.clone(), e.kind.clone()));
            }
            let e = if !range.with_positions && e.kind == codec::POSITIONS_KIND { e.without_body()? } else { e };
            let event = decode(&e)?;
            bytes += e.body.as_ref().map_or(64, |b| b.len() * 4 / 3 + 64) + e.actor.len();
            if range.max_bytes.is_some_and(|max| bytes > max) {
                bail!(
                    "the range holds more than {} MB of events: export a shorter one",
                    range.max_bytes.unwrap_or(0) >> 20
                );
            }
            events.push(ExportedEvent { raw: e, event });
        }
        after = end;
    }
    let mut anchors = vec![anchor(pool, &latest, last).await?];
    // The latest witnessed checkpoint that covers the range, if it is not the latest.
    let witnessed = sqlx::query("SELECT MAX(size) AS size FROM audit_cosignatures WHERE size >= $1")
        .bind(last as i64)
        .fetch_one(pool)
        .await?
        .get::<Option<i64>, _>("size");
    if let Some(size) = witnessed.map(|s| s as u64).filter(|s| *s != latest.size) {
        if let Some(c) = checkpoint::at_size(pool, size).await? {
            anchors.push(anchor(pool, &c, last).await?);
        }
    }
    let mut witnesses = Vec::new();
    for row in sqlx::query("SELECT DISTINCT witness, key FROM audit_cosignatures").fetch_all(pool).await? {
        witnesses.push(WitnessKey { name: row.get("witness"), key: row.get("key") });
    }
    let purges = purge_records(pool, &purged_kinds, latest.size).await?;
    Ok(ExportFile {
        format: FORMAT.into(),
        log: super::key::verifier(public_key).map(|v| signed_note::Verifier::name(&v).to_owned())?,
        public_key: public_key.to_owned(),
        from_ms: range.from_ms,
        to_ms: range.to_ms,
        first_seq: first,
        left_edge: left.iter().map(encode_hash).collect(),
        events,
        anchors,
        purges,
        witnesses,
    })
}

/// `c` with its co-signatures, and the proof from the tree of `last` events to it.
async fn anchor(pool: &SqlitePool, c: &Signed, last: u64) -> anyhow::Result<Anchor> {
    let consistency = if last == c.size { Vec::new() } else { tree::consistency(pool, c.size, last).await? };
    let mut note = c.note.clone();
    for row in sqlx::query("SELECT signature FROM audit_cosignatures WHERE size = $1 ORDER BY witness")
        .bind(c.size as i64)
        .fetch_all(pool)
        .await?
    {
        let line: String = row.get("signature");
        note.push_str(line.trim_end());
        note.push('\n');
    }
    Ok(Anchor { checkpoint: note, consistency: consistency.iter().map(encode_hash).collect() })
}

/// The purge records of the given (rule, kind) pairs in the tree of `size` events, each proved.
async fn purge_records(
    pool: &SqlitePool,
    wanted: &std::collections::BTreeSet<(String, String)>,
    size: u64,
) -> anyhow::Result<Vec<ProvedEvent>> {
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query("SELECT seq FROM events WHERE kind = 'audit.purged' AND seq <= $1 ORDER BY seq")
        .bind(size as i64)
        .fetch_all(pool)
        .await?;
    let mut out = Vec::new();
    for row in rows {
        let seq = row.get::<i64, _>("seq") as u64;
        let Some(event) = raw::one(pool, seq).await? else { continue };
        let proof = tree::inclusion(pool, size, seq - 1).await?;
        out.push(ProvedEvent { event, proof: proof.iter().map(encode_hash).collect() });
    }
    Ok(out)
}

/// The event a stored body says, as JSON: the body itself for JSON bodies (so any verifier
/// compares it with the bytes exactly), the decoded fixes for a position batch (binary).
fn decode(e: &RawEvent) -> anyhow::Result<Option<serde_json::Value>> {
    let Some(body) = &e.body else { return Ok(None) };
    if e.kind != codec::POSITIONS_KIND {
        return Ok(Some(serde_json::from_slice(body).with_context(|| format!("event {} is not JSON", e.seq))?));
    }
    let event: Event = codec::decode(&e.kind, body, e.at_ms).with_context(|| format!("decoding event {}", e.seq))?;
    Ok(Some(serde_json::to_value(&event)?))
}

/// Whether an exported event's readable form is what its stored bytes say.
pub fn check_decoded(e: &ExportedEvent, _file: &ExportFile) -> anyhow::Result<()> {
    if e.event.is_some() && e.event != decode(&e.raw)? {
        bail!("its readable form is not what its stored bytes say");
    }
    Ok(())
}

/// Writes `file` as JSON.
pub fn write(file: &ExportFile, out: impl Write) -> anyhow::Result<()> {
    serde_json::to_writer(std::io::BufWriter::new(out), file)?;
    Ok(())
}

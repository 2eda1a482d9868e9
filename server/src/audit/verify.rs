//! Verification: recompute the tree of the live log and check every checkpoint against it, or
//! check an export file offline with nothing but the log's public key.
//!
//! What is checked, and named when broken:
//! - every event is there, in order, with no gap (a deleted row names its seq);
//! - every event's stored fields and content give the leaf stored for it (an edited byte, or two
//!   swapped rows, names the first seq that differs);
//! - every checkpoint is signed by the log's key (a replaced key is refused) and its root is the
//!   root of the first `size` events recomputed from them — so consecutive checkpoints are
//!   consistent, each a prefix of the next;
//! - no checkpoint covers more than the log holds (a truncated tail names the first missing seq);
//! - every purged event is covered by a recorded purge of its kind and time.

use std::time::Instant;

use anyhow::Context;
use serde::Serialize;
use sqlx::{Row, SqlitePool};
use tlog_tiles::tlog::{self, split_stored_hash_index, stored_hash_index, Hash};
use vigie_domain::record::Record;
use vigie_domain::Event;

use vigie_domain::api::Verification;

use super::checkpoint::{self, Signed};
use super::export::ExportFile;
use super::raw::{self, RawEvent};
use crate::store::tree::Frontier;
use crate::store::Store;

/// The outcome of a verification.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    pub ok: bool,
    /// Events checked.
    pub events: u64,
    /// Checkpoints checked (signature and root).
    pub checkpoints: u64,
    /// The first seq found broken, if any.
    pub first_bad_seq: Option<u64>,
    /// What is wrong, first first (at most [`MAX_PROBLEMS`]).
    pub problems: Vec<String>,
    /// Purged content, by rule.
    pub purged: Vec<PurgedRange>,
    /// Co-signatures that verified, as `witness@size`.
    pub witnessed: Vec<String>,
    pub took_ms: u64,
}

/// A stretch of events whose content a retention rule purged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PurgedRange {
    pub rule: String,
    pub kind: String,
    pub first_seq: u64,
    pub last_seq: u64,
    pub events: u64,
    /// Whether a recorded purge covers every event of the range.
    pub recorded: bool,
    #[serde(skip)]
    latest_ms: i64,
}

const MAX_PROBLEMS: usize = 20;

impl Report {
    fn problem(&mut self, seq: Option<u64>, text: String) {
        if let Some(seq) = seq {
            self.first_bad_seq = Some(self.first_bad_seq.map_or(seq, |s| s.min(seq)));
        }
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(text);
        }
    }

    /// One line per finding, for the terminal.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if self.ok {
            out.push_str(&format!(
                "OK: {} events and {} checkpoints verified in {} ms\n",
                self.events, self.checkpoints, self.took_ms
            ));
        } else {
            out.push_str(&format!(
                "BROKEN at seq {}: {} events and {} checkpoints read in {} ms\n",
                self.first_bad_seq.map_or_else(|| "?".into(), |s| s.to_string()),
                self.events,
                self.checkpoints,
                self.took_ms
            ));
        }
        for p in &self.problems {
            out.push_str(&format!("  - {p}\n"));
        }
        for w in &self.witnessed {
            out.push_str(&format!("  co-signed: {w}\n"));
        }
        for r in &self.purged {
            out.push_str(&format!(
                "  purged under {}: {} {} events, seq {}..={}{}\n",
                r.rule,
                r.events,
                r.kind,
                r.first_seq,
                r.last_seq,
                if r.recorded { "" } else { " (NO recorded purge covers them)" }
            ));
        }
        out
    }
}

/// Follows purged events and purge records through a scan.
#[derive(Default)]
struct Purges {
    ranges: Vec<PurgedRange>,
    /// (rule, kind, before_ms, through_seq) of each recorded purge.
    records: Vec<(String, String, i64, u64)>,
}

impl Purges {
    fn see(&mut self, e: &RawEvent, decoded: Option<&Event>) {
        if let Some(Event::Recorded { record: Record::Purged { rule, kind, before_ms, through_seq, .. } }) = decoded {
            self.records.push((rule.clone(), kind.clone(), *before_ms, *through_seq));
        }
        let Some(rule) = &e.purged else { return };
        match self.ranges.iter_mut().rev().find(|r| r.rule == *rule && r.kind == e.kind) {
            Some(r) if r.last_seq < e.seq => {
                r.last_seq = e.seq;
                r.events += 1;
                r.latest_ms = r.latest_ms.max(e.at_ms);
            }
            _ => self.ranges.push(PurgedRange {
                rule: rule.clone(),
                kind: e.kind.clone(),
                first_seq: e.seq,
                last_seq: e.seq,
                events: 1,
                recorded: false,
                latest_ms: e.at_ms,
            }),
        }
    }

    fn finish(mut self, report: &mut Report) {
        for r in &mut self.ranges {
            r.recorded = self.records.iter().any(|(rule, kind, before, through)| {
                *rule == r.rule && *kind == r.kind && r.latest_ms < *before && r.last_seq <= *through
            });
            if !r.recorded {
                let text = format!(
                    "events {}..={} ({}) are marked purged under {} but no recorded purge covers them",
                    r.first_seq, r.last_seq, r.kind, r.rule
                );
                report.problem(Some(r.first_seq), text);
            }
        }
        report.purged = self.ranges;
    }
}

/// Decodes a JSON body (not position batches), to find purge records.
fn decoded(e: &RawEvent) -> Option<Event> {
    if !e.kind.starts_with("audit.") {
        return None;
    }
    serde_json::from_slice(e.body.as_deref()?).ok()
}

/// The stored checkpoints in order of size, read a page at a time (one a second is millions a
/// year), each signature checked as it is read.
struct Checkpoints<'a> {
    pool: &'a SqlitePool,
    public: &'a str,
    page: std::collections::VecDeque<Signed>,
    after: u64,
    done: bool,
}

impl Checkpoints<'_> {
    const PAGE: i64 = 5_000;

    async fn peek(&mut self, report: &mut Report) -> anyhow::Result<Option<&Signed>> {
        while self.page.is_empty() && !self.done {
            let rows = sqlx::query("SELECT size, note FROM audit_checkpoints WHERE size > $1 ORDER BY size LIMIT $2")
                .bind(self.after.min(i64::MAX as u64) as i64)
                .bind(Self::PAGE)
                .fetch_all(self.pool)
                .await?;
            self.done = (rows.len() as i64) < Self::PAGE;
            for row in &rows {
                let size = row.get::<i64, _>("size") as u64;
                self.after = size;
                report.checkpoints += 1;
                match checkpoint::open(row.get("note"), self.public) {
                    Ok(c) if c.size == size => self.page.push_back(c),
                    Ok(c) => {
                        report.problem(Some(size), format!("the checkpoint stored as size {size} says size {}", c.size))
                    }
                    Err(e) => report.problem(Some(size), format!("checkpoint of size {size}: {e:#}")),
                }
            }
        }
        Ok(self.page.front())
    }

    fn pop(&mut self) -> Option<Signed> {
        self.page.pop_front()
    }
}

/// Verifies the live log in `pool` against `public` (the log's public key).
pub async fn live(pool: &SqlitePool, public: &str) -> anyhow::Result<Report> {
    let started = Instant::now();
    let mut report = Report::default();
    let mut checkpoints = Checkpoints { pool, public, page: Default::default(), after: 0, done: false };
    // The size of the last checkpoint whose root was recomputed.
    let mut matched = 0;
    let mut frontier = Frontier::default();
    let mut purges = Purges::default();
    let mut broken = false;
    'scan: loop {
        let page = raw::page(pool, frontier.size(), u64::MAX).await?;
        if page.is_empty() {
            break;
        }
        let first = frontier.size();
        let stored = stored_leaves(pool, first, first + page.len() as u64).await?;
        for e in page {
            let expected = frontier.size() + 1;
            if e.seq != expected {
                report.problem(Some(expected), format!("event {expected} is missing (the next is {})", e.seq));
                broken = true;
                break 'scan;
            }
            let leaf = match e.leaf() {
                Ok(leaf) => leaf,
                Err(err) => {
                    report.problem(Some(e.seq), format!("event {}: {err:#}", e.seq));
                    broken = true;
                    break 'scan;
                }
            };
            match stored.get(&(e.seq - 1)) {
                Some(h) if *h == leaf => {}
                Some(_) => {
                    report.problem(
                        Some(e.seq),
                        format!("event {} does not match its leaf: it was changed after it was written", e.seq),
                    );
                    broken = true;
                    break 'scan;
                }
                None => {
                    report.problem(Some(e.seq), format!("event {} has no leaf in the tree", e.seq));
                    broken = true;
                    break 'scan;
                }
            }
            purges.see(&e, decoded(&e).as_ref());
            frontier.push(leaf);
            report.events += 1;
            while checkpoints.peek(&mut report).await?.is_some_and(|c| c.size <= frontier.size()) {
                let c = checkpoints.pop().expect("peeked");
                if frontier.head().root != c.root {
                    report.problem(
                        Some(matched + 1),
                        format!(
                            "the first {} events do not give the root signed at checkpoint {} (time {}): \
                             events {}..={} were rewritten",
                            c.size,
                            c.size,
                            c.at_ms,
                            matched + 1,
                            c.size
                        ),
                    );
                    broken = true;
                    break 'scan;
                }
                matched = c.size;
            }
        }
    }
    if !broken {
        if let Some(c) = checkpoints.peek(&mut report).await?.cloned() {
            report.problem(
                Some(frontier.size() + 1),
                format!(
                    "the log ends at event {} but checkpoint {} (time {}) covers events up to {}: \
                     events {}..={} were removed",
                    frontier.size(),
                    c.size,
                    c.at_ms,
                    c.size,
                    frontier.size() + 1,
                    c.size
                ),
            );
        }
        // Count the rest, checking their signatures.
        while checkpoints.peek(&mut report).await?.is_some() {
            checkpoints.pop();
        }
    }
    purges.finish(&mut report);
    let mut cosignatures = sqlx::query(
        "SELECT c.size, c.witness, c.key, c.signature, k.note FROM audit_cosignatures c \
         JOIN audit_checkpoints k ON k.size = c.size ORDER BY c.size",
    )
    .fetch(pool);
    while let Some(row) = futures_util::TryStreamExt::try_next(&mut cosignatures).await? {
        let size = row.get::<i64, _>("size") as u64;
        let witness: String = row.get("witness");
        match super::witness::check_cosignature(row.get("note"), row.get("signature"), row.get("key")) {
            Ok(()) => {
                if report.witnessed.len() >= MAX_PROBLEMS {
                    report.witnessed.remove(0);
                }
                report.witnessed.push(format!("{witness}@{size}"));
            }
            Err(e) => report.problem(None, format!("the co-signature of {witness} on checkpoint {size}: {e:#}")),
        }
    }
    report.ok = report.problems.is_empty();
    report.took_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// The stored leaf hashes of leaves `[from, to)`, by leaf index.
async fn stored_leaves(pool: &SqlitePool, from: u64, to: u64) -> anyhow::Result<std::collections::HashMap<u64, Hash>> {
    let (lo, hi) = (stored_hash_index(0, from), stored_hash_index(0, to));
    let rows = sqlx::query("SELECT idx, hash FROM audit_hashes WHERE idx >= $1 AND idx < $2")
        .bind(lo as i64)
        .bind(hi as i64)
        .fetch_all(pool)
        .await?;
    let mut out = std::collections::HashMap::with_capacity((to - from) as usize);
    for row in rows {
        let (level, n) = split_stored_hash_index(row.get::<i64, _>("idx") as u64);
        if level == 0 {
            let bytes: &[u8] = row.get("hash");
            out.insert(n, Hash(bytes.try_into().context("a stored hash is 32 bytes")?));
        }
    }
    Ok(out)
}

/// Verifies an export file against `public` (the log's public key, as published), offline.
pub fn file(export: &ExportFile, public: &str) -> anyhow::Result<Report> {
    let started = Instant::now();
    let mut report = Report::default();
    if export.format != super::export::FORMAT {
        anyhow::bail!("this file is {:?}; this verifier reads {:?}", export.format, super::export::FORMAT);
    }
    // The anchors: signed checkpoints the range is proved into.
    let mut anchors = Vec::new();
    for a in &export.anchors {
        match checkpoint::open(&a.checkpoint, public) {
            Ok(c) => anchors.push((c, a)),
            Err(e) => report.problem(None, format!("an anchor checkpoint: {e:#}")),
        }
        report.checkpoints += 1;
    }
    if anchors.is_empty() {
        report.problem(None, "no checkpoint in the file is signed by this key".into());
    }
    // The range's leaves, after the left edge, give the root of the first `last` events.
    let first = export.first_seq;
    let left: Vec<Hash> = export.left_edge.iter().map(|h| checkpoint::decode_hash(h)).collect::<Result<_, _>>()?;
    let mut frontier = Frontier::from_left_edge(first.saturating_sub(1), &left)?;
    let mut purges = Purges::default();
    for e in &export.events {
        let expected = frontier.size() + 1;
        if e.seq != expected {
            report
                .problem(Some(expected), format!("event {expected} is missing from the file (the next is {})", e.seq));
            break;
        }
        if let Err(err) = super::export::check_decoded(e, export) {
            report.problem(Some(e.seq), format!("event {}: {err:#}", e.seq));
        }
        match e.leaf() {
            Ok(leaf) => frontier.push(leaf),
            Err(err) => {
                report.problem(Some(e.seq), format!("event {}: {err:#}", e.seq));
                break;
            }
        };
        purges.see(e, decoded(e).as_ref());
        report.events += 1;
    }
    let head = frontier.head();
    if report.problems.is_empty() {
        for (c, a) in &anchors {
            let proof: Vec<Hash> =
                a.consistency.iter().map(|h| checkpoint::decode_hash(h)).collect::<Result<_, _>>()?;
            let fits = if head.size == c.size {
                head.root == c.root
            } else {
                head.size > 0 && tlog::check_tree(&proof, c.size, c.root, head.size, head.root).is_ok()
            };
            if !fits {
                report.problem(
                    Some(first),
                    format!(
                        "events {first}..={} are not the ones the log signed at size {} (time {}): \
                         an event was changed, added or left out",
                        head.size, c.size, c.at_ms
                    ),
                );
            }
            for w in super::witness::cosigners(&a.checkpoint, &export.witnesses) {
                report.witnessed.push(format!("{w}@{}", c.size));
            }
        }
    }
    // Purge records proved into the first anchor by inclusion.
    if let Some((c, _)) = anchors.first() {
        for p in &export.purges {
            let proof: Vec<Hash> = p.proof.iter().map(|h| checkpoint::decode_hash(h)).collect::<Result<_, _>>()?;
            let ok = p.event.leaf().is_ok_and(|leaf| {
                p.event.seq >= 1 && tlog::check_record(&proof, c.size, c.root, p.event.seq - 1, leaf).is_ok()
            });
            if ok {
                purges.see(&p.event, decoded(&p.event).as_ref());
            } else {
                report.problem(Some(p.event.seq), format!("the purge record {} is not in the signed log", p.event.seq));
            }
        }
    }
    purges.finish(&mut report);
    report.ok = report.problems.is_empty();
    report.took_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// The last stored verification of the live log.
pub async fn last(pool: &SqlitePool) -> anyhow::Result<Option<Verification>> {
    let row = sqlx::query("SELECT * FROM audit_verifications ORDER BY id DESC LIMIT 1").fetch_optional(pool).await?;
    Ok(row.map(|r| Verification {
        at_ms: r.get("at_ms"),
        ok: r.get::<i64, _>("ok") != 0,
        size: r.get::<i64, _>("size") as u64,
        checkpoints: r.get::<i64, _>("checkpoints") as u64,
        first_bad_seq: r.get::<Option<i64>, _>("first_bad_seq").map(|s| s as u64),
        detail: r.get("detail"),
        took_ms: r.get::<i64, _>("took_ms") as u64,
    }))
}

/// Verifies the live log and stores the result (logged loudly when broken).
pub async fn run_and_store(store: &Store, public: &str, at_ms: i64) {
    let report = match live(&store.pool, public).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "the verification could not read the log");
            return;
        }
    };
    if report.ok {
        tracing::info!(events = report.events, took_ms = report.took_ms, "the log verifies");
    } else {
        tracing::error!(first_bad_seq = ?report.first_bad_seq, report = %report.render(), "the log does not verify");
    }
    let saved = sqlx::query(
        "INSERT INTO audit_verifications (at_ms, ok, size, checkpoints, first_bad_seq, detail, took_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(at_ms)
    .bind(report.ok)
    .bind(report.events as i64)
    .bind(report.checkpoints as i64)
    .bind(report.first_bad_seq.map(|s| s as i64))
    .bind(report.render())
    .bind(report.took_ms as i64)
    .execute(&store.writer)
    .await;
    if let Err(e) = saved {
        tracing::warn!(error = %e, "could not store a verification's result");
    }
}

/// How often the server verifies its own log (and a minute after it starts).
pub const EVERY: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

/// Verifies the live log a minute after start and every [`EVERY`].
pub async fn run(state: crate::AppState, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let mut wait = std::time::Duration::from_secs(60);
    loop {
        tokio::select! {
            _ = shutdown.wait_for(|s| *s) => return,
            _ = tokio::time::sleep(wait) => {}
        }
        wait = EVERY;
        let Some(_turn) = state.audit.verifying_turn() else { continue };
        run_and_store(&state.store, &state.audit.key.public, state.clock.now_ms()).await;
    }
}

//! The durable log, through sqlx. SQLite (WAL, `synchronous=FULL`) is the embedded default; the
//! queries are plain SQL with `$n` parameters so a PostgreSQL backend can share them.
//!
//! Connections: the sequencer writes through a connection of its own (`writer`), so no reader
//! ever delays a commit; readers share a small pool, and every page read of a log takes one of
//! [`HEAVY_READS`] permits, so history seeks, exports and catch-ups cannot crowd each other or
//! the room out. A page is bounded in work ([`PAGE_WEIGHT`], a fix counting one), not only in
//! events, because one position batch may hold 10 000 fixes. Imported scenarios live in a
//! database file of their own (`<log>-scenarios.db`): a large import never holds the live log's
//! write lock.
//!
//! The live log is also a transparency log (`crate::audit`); its tree is kept here ([`tree`],
//! [`leaf`]): [`Store::append`] computes each event's salted leaf and the tree's new hashes, writes
//! them in the events' transaction, and publishes the new tree head for the checkpoint signer.

pub mod codec;
pub mod leaf;
pub mod replay;
pub mod tree;

use anyhow::{bail, Context};
use futures_util::TryStreamExt;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use vigie_domain::{LoggedEvent, Seq, State};

use replay::Log;

use tree::{Frontier, TreeHead};

/// Most work in one page read from a log: a fix counts one, any other event one. About 5 MB of
/// decoded fixes; a page holds at least one event, and an event at most 10 000 fixes.
pub const PAGE_WEIGHT: u64 = 50_000;
/// Page reads of a log running at once (seeks, exports, catch-ups, history pages, startup).
pub const HEAVY_READS: usize = 3;
/// Events per page when replaying the tail at startup (further bounded by [`PAGE_WEIGHT`]).
const LOAD_PAGE: i64 = 10_000;

type Query<'q> = sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>;

#[derive(Clone)]
pub struct Store {
    /// Readers of the live log's database (features keep their own tables there, e.g. base-map
    /// layers in `crate::basemap::store`).
    pub(crate) pool: SqlitePool,
    /// The one connection that writes the live log's database.
    pub(crate) writer: SqlitePool,
    /// Imported scenarios, in their own database file.
    scenarios: SqlitePool,
    heavy: Arc<Semaphore>,
    fault: Arc<AtomicU8>,
    /// The live log's database file.
    path: PathBuf,
    /// The tree's right edge as the log stands (only the writer appends).
    frontier: Arc<parking_lot::Mutex<Frontier>>,
    /// The tree's head after each commit, for the checkpoint signer.
    heads: Arc<tokio::sync::watch::Sender<TreeHead>>,
}

/// A page of a log; `more` when it was cut (by count or by [`PAGE_WEIGHT`]) and more may follow.
#[derive(Debug, Default)]
pub struct Page {
    pub events: Vec<LoggedEvent>,
    pub more: bool,
}

/// The room as the log leaves it, and the work folded since the latest snapshot (so snapshot
/// spacing survives a restart or a crash).
pub struct Loaded {
    pub state: State,
    pub weight_since_snapshot: u64,
}

/// A failure to inject into the next live commit, for tests of the writer's failure paths.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Fault {
    None = 0,
    /// The transaction is rolled back and an error reported.
    BeforeCommit = 1,
    /// The transaction is committed, then an error reported (an ambiguous failure).
    AfterCommit = 2,
}

impl Store {
    /// Opens (creating if needed) and migrates the database at `url` and its scenarios' file.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("postgres") {
            bail!("PostgreSQL is not supported by this build yet; use a sqlite:// URL");
        }
        let options = SqliteConnectOptions::from_str(url)
            .with_context(|| format!("{url} is not a SQLite URL (expected sqlite://PATH)"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // An acknowledged event must survive a power cut, not only a crash; group commit pays
            // for the fsync once per batch.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(5));
        let path = options.get_filename().to_owned();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let connect = |max: u32, options: SqliteConnectOptions| {
            SqlitePoolOptions::new().max_connections(max).connect_with(options)
        };
        let writer = connect(1, options.clone()).await.with_context(|| format!("opening {url}"))?;
        sqlx::migrate!("../migrations/sqlite").run(&writer).await.context("migrating the database")?;
        let pool = connect(6, options.clone()).await.with_context(|| format!("opening {url}"))?;
        let scenarios_path = scenarios_file(&path);
        let scenarios = connect(2, options.filename(&scenarios_path))
            .await
            .with_context(|| format!("opening {}", scenarios_path.display()))?;
        sqlx::migrate!("../migrations/sqlite-scenarios")
            .run(&scenarios)
            .await
            .context("migrating the scenarios' database")?;
        let frontier = catch_up_tree(&writer).await.context("bringing the log's Merkle tree up to date")?;
        let heads = tokio::sync::watch::channel(frontier.head()).0;
        Ok(Self {
            pool,
            writer,
            scenarios,
            heavy: Arc::new(Semaphore::new(HEAVY_READS)),
            fault: Arc::new(AtomicU8::new(Fault::None as u8)),
            path,
            frontier: Arc::new(parking_lot::Mutex::new(frontier)),
            heads: Arc::new(heads),
        })
    }

    /// The readers' pool of the live log's database (verification and tools).
    pub fn readers(&self) -> &SqlitePool {
        &self.pool
    }

    /// The connection that writes the live log's database (checkpoints; never events, which only
    /// [`Store::append`] writes).
    pub fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    /// The tree's head after each commit.
    pub fn tree_heads(&self) -> tokio::sync::watch::Receiver<TreeHead> {
        self.heads.subscribe()
    }

    /// The tree's head as the log stands.
    pub fn tree_head(&self) -> TreeHead {
        *self.heads.borrow()
    }

    /// Makes the next live commit fail as `fault` says (tests only).
    #[doc(hidden)]
    pub fn inject_fault(&self, fault: Fault) {
        self.fault.store(fault as u8, Ordering::SeqCst);
    }

    /// Appends a batch to the live log in one transaction, with each event's salt and the tree's
    /// new hashes: all of it is durable, or none of it.
    pub async fn append(&self, events: &[LoggedEvent]) -> anyhow::Result<()> {
        let fault = self.fault.swap(Fault::None as u8, Ordering::SeqCst);
        let mut frontier = self.frontier.lock().clone();
        if frontier.size() != events.first().map_or(0, |e| e.seq.saturating_sub(1)) {
            // A commit whose outcome was unknown: read the tree as the log has it.
            frontier = Frontier::load(&self.writer, tree::stored_size(&self.writer).await?).await?;
        }
        let mut rows = Vec::with_capacity(events.len());
        let mut hashes = Vec::with_capacity(events.len() * 2);
        for e in events {
            let (kind, body, salt) = (e.event.kind(), codec::encode(&e.event, e.at_ms), leaf::salt());
            let digest = leaf::content_digest(&salt, &body);
            hashes.extend(frontier.push(leaf::leaf_hash(e.seq, e.at_ms, &e.actor, kind, &digest)));
            rows.push((e, kind, body, salt));
        }
        let mut tx = self.writer.begin().await?;
        // Many rows per statement: a statement's round trip through sqlx's worker costs more than
        // the rows it writes.
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            let sql = rows_sql("INSERT INTO events (seq, at_ms, actor, kind, body, salt) VALUES ", 6, chunk.len());
            let mut query = sqlx::query(&sql);
            for (e, kind, body, salt) in chunk {
                query = query
                    .bind(seq_param(e.seq))
                    .bind(e.at_ms)
                    .bind(&e.actor)
                    .bind(*kind)
                    .bind(&body[..])
                    .bind(&salt[..]);
            }
            query.execute(&mut *tx).await?;
        }
        insert_hashes(&mut tx, &hashes).await?;
        if fault == Fault::BeforeCommit as u8 {
            tx.rollback().await?;
            anyhow::bail!("injected failure before the commit");
        }
        tx.commit().await?;
        let head = frontier.head();
        *self.frontier.lock() = frontier;
        self.heads.send_replace(head);
        if fault == Fault::AfterCommit as u8 {
            anyhow::bail!("injected failure after the commit");
        }
        Ok(())
    }

    /// The last seq in the live log (0 when empty).
    pub async fn head_seq(&self) -> anyhow::Result<Seq> {
        let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS head FROM events").fetch_one(&self.writer).await?;
        Ok(row.get::<i64, _>("head") as Seq)
    }

    /// Whether the store answers a trivial query within a second.
    pub async fn is_healthy(&self) -> bool {
        let ping = sqlx::query("SELECT 1").fetch_one(&self.pool);
        matches!(tokio::time::timeout(Duration::from_secs(1), ping).await, Ok(Ok(_)))
    }

    /// Events with `seq > after`, in order: up to `limit`, and at most [`PAGE_WEIGHT`] of work.
    pub async fn events_after(&self, after: Seq, limit: i64) -> anyhow::Result<Page> {
        let query =
            sqlx::query("SELECT seq, at_ms, actor, kind, body FROM events WHERE seq > $1 ORDER BY seq LIMIT $2")
                .bind(seq_param(after))
                .bind(limit);
        self.read_page(Log::Live, query, limit).await
    }

    /// Events committed in `[from_ms, to_ms)` with `seq > after`, in order (a page, as
    /// [`Store::events_after`]); without position batches if `without_positions` (the timeline).
    pub async fn events_between(
        &self,
        from_ms: i64,
        to_ms: i64,
        after: Seq,
        limit: i64,
        without_positions: bool,
    ) -> anyhow::Result<Page> {
        let query = sqlx::query(
            "SELECT seq, at_ms, actor, kind, body FROM events \
             WHERE at_ms >= $1 AND at_ms < $2 AND seq > $3 AND kind <> $5 ORDER BY seq LIMIT $4",
        )
        .bind(from_ms)
        .bind(to_ms)
        .bind(seq_param(after))
        .bind(limit)
        // No event kind is empty, so "" excludes nothing.
        .bind(if without_positions { codec::POSITIONS_KIND } else { "" });
        self.read_page(Log::Live, query, limit).await
    }

    /// Reads one page of `query` (which selects `seq, at_ms, actor, kind, body` with `LIMIT
    /// limit`), stopping before [`PAGE_WEIGHT`] is passed; rows are decoded one at a time, so the
    /// page is all that is held.
    async fn read_page(&self, log: Log, query: Query<'_>, limit: i64) -> anyhow::Result<Page> {
        let _turn = self.heavy.acquire().await.context("the store is closed")?;
        let mut rows = query.fetch(self.pool_of(log));
        let (mut page, mut weight) = (Page::default(), 0);
        while let Some(row) = rows.try_next().await? {
            let event = decode_row(&row)?;
            let w = event.event.weight();
            if !page.events.is_empty() && weight + w > PAGE_WEIGHT {
                page.more = true;
                return Ok(page);
            }
            weight += w;
            page.events.push(event);
        }
        page.more = page.events.len() as i64 >= limit;
        Ok(page)
    }

    /// The latest `limit` events other than position batches, oldest first.
    pub async fn recent_events(&self, limit: i64) -> anyhow::Result<Vec<LoggedEvent>> {
        let rows =
            sqlx::query("SELECT seq, at_ms, actor, kind, body FROM events WHERE kind <> $1 ORDER BY seq DESC LIMIT $2")
                .bind(codec::POSITIONS_KIND)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
        let mut events = rows.iter().map(decode_row).collect::<anyhow::Result<Vec<_>>>()?;
        events.reverse();
        Ok(events)
    }

    pub async fn save_snapshot(&self, state: &State) -> anyhow::Result<()> {
        let body = serde_json::to_vec(state)?;
        sqlx::query("INSERT INTO snapshots (seq, at_ms, state) VALUES ($1, $2, $3) ON CONFLICT (seq) DO NOTHING")
            .bind(state.seq as i64)
            .bind(state.at_ms)
            .bind(body)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// The room as the log leaves it: the latest snapshot plus every event after it. Refuses to
    /// start on a log with a gap, which would mean lost events.
    pub async fn load_state(&self) -> anyhow::Result<Loaded> {
        let row =
            sqlx::query("SELECT state FROM snapshots ORDER BY seq DESC LIMIT 1").fetch_optional(&self.pool).await?;
        let mut state = match row {
            Some(row) => serde_json::from_slice(row.get::<&[u8], _>("state")).context("reading the latest snapshot")?,
            None => State::default(),
        };
        let mut weight_since_snapshot = 0;
        loop {
            let page = self.events_after(state.seq, LOAD_PAGE).await?;
            for e in &page.events {
                if Some(e.seq) != state.seq.checked_add(1) {
                    bail!("the log has a gap: event {} follows {}", e.seq, state.seq);
                }
                state.apply(e);
                weight_since_snapshot += e.event.weight();
            }
            if !page.more {
                return Ok(Loaded { state, weight_since_snapshot });
            }
        }
    }

    pub async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
        self.scenarios.close().await;
    }

    fn pool_of(&self, log: Log) -> &SqlitePool {
        match log {
            Log::Live => &self.pool,
            Log::Scenario(_) => &self.scenarios,
        }
    }
}

impl Store {
    /// The live log's database file.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// A private folder beside the log for job files (`vigie.db` → `vigie-jobs/`).
    pub fn jobs_dir(&self) -> PathBuf {
        beside(&self.path, "jobs")
    }

    /// A file beside the log, named after it (`vigie.db` → `vigie-search.db` for `search.db`).
    pub fn beside(&self, suffix: &str) -> PathBuf {
        beside(&self.path, suffix)
    }
}

/// Where a log's imported scenarios live: `vigie.db` → `vigie-scenarios.db`, beside it.
fn scenarios_file(log: &std::path::Path) -> PathBuf {
    beside(log, "scenarios.db")
}

fn beside(log: &std::path::Path, suffix: &str) -> PathBuf {
    let stem = log.file_stem().map_or_else(|| "vigie".into(), |s| s.to_string_lossy().into_owned());
    log.with_file_name(format!("{stem}-{suffix}"))
}

/// A seq as a query parameter: seqs past `i64::MAX` cannot exist, so they read as "after the end".
fn seq_param(seq: Seq) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

/// Stores tree hashes (index, hash) inside `tx`.
async fn insert_hashes(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    hashes: &[(u64, tlog_tiles::tlog::Hash)],
) -> Result<(), sqlx::Error> {
    for chunk in hashes.chunks(ROWS_PER_INSERT) {
        let sql = rows_sql("INSERT INTO audit_hashes (idx, hash) VALUES ", 2, chunk.len());
        let mut query = sqlx::query(&sql);
        for (idx, hash) in chunk {
            query = query.bind(*idx as i64).bind(&hash.0[..]);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Rows written by one INSERT: full chunks share one prepared statement; a batch's last, shorter
/// chunk is one of at most this many others.
const ROWS_PER_INSERT: usize = 32;

/// `head` followed by `rows` groups of `width` numbered parameters: `($1, $2), ($3, $4)`.
fn rows_sql(head: &str, width: usize, rows: usize) -> String {
    let mut sql = String::with_capacity(head.len() + rows * width * 5);
    sql.push_str(head);
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..width {
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${}", r * width + c + 1));
        }
        sql.push(')');
    }
    sql
}

/// Brings the tree up to the log's head and returns its right edge: events logged before the tree
/// existed (a database from before this version) get their salt and leaf now, in pages. The record
/// of those events starts at the upgrade; every later event's leaf is written with it.
async fn catch_up_tree(writer: &SqlitePool) -> anyhow::Result<Frontier> {
    let size = tree::stored_size(writer).await?;
    let signed: Option<i64> = sqlx::query_scalar("SELECT MAX(size) FROM audit_checkpoints").fetch_one(writer).await?;
    if signed.is_some_and(|s| s as u64 > size) {
        // The tree was cut or removed after checkpoints were signed: rebuilding it cannot make the
        // log agree with them again, and verification will say so.
        tracing::error!(tree = size, signed = ?signed, "the Merkle tree is shorter than checkpoints signed; rebuilding it from the events — run `vigie audit verify`");
    }
    let mut frontier = Frontier::load(writer, size).await?;
    loop {
        let rows = sqlx::query(
            "SELECT seq, at_ms, actor, kind, body, salt, digest FROM events WHERE seq > $1 ORDER BY seq LIMIT 5000",
        )
        .bind(seq_param(frontier.size()))
        .fetch_all(writer)
        .await?;
        if rows.is_empty() {
            return Ok(frontier);
        }
        let mut tx = writer.begin().await?;
        let mut hashes = Vec::new();
        for row in &rows {
            let seq = row.get::<i64, _>("seq") as u64;
            if seq != frontier.size() + 1 {
                bail!("the log has a gap: event {seq} follows {}", frontier.size());
            }
            let digest = match (row.get::<Option<Vec<u8>>, _>("salt"), row.get::<Option<Vec<u8>>, _>("digest")) {
                (_, Some(digest)) => digest.try_into().map_err(|_| anyhow::anyhow!("event {seq}: bad digest"))?,
                (Some(salt), None) => leaf::content_digest(&salt, row.get::<&[u8], _>("body")),
                (None, None) => {
                    let salt = leaf::salt();
                    sqlx::query("UPDATE events SET salt = $1 WHERE seq = $2")
                        .bind(&salt[..])
                        .bind(seq as i64)
                        .execute(&mut *tx)
                        .await?;
                    leaf::content_digest(&salt, row.get::<&[u8], _>("body"))
                }
            };
            let leaf = leaf::leaf_hash(seq, row.get("at_ms"), row.get("actor"), row.get("kind"), &digest);
            hashes.extend(frontier.push(leaf));
        }
        insert_hashes(&mut tx, &hashes).await?;
        tx.commit().await?;
        tracing::info!(size = frontier.size(), "added earlier events to the log's Merkle tree");
    }
}

fn decode_row(row: &sqlx::sqlite::SqliteRow) -> anyhow::Result<LoggedEvent> {
    let seq: i64 = row.get("seq");
    let at_ms: i64 = row.get("at_ms");
    let kind: &str = row.get("kind");
    let event =
        codec::decode(kind, row.get::<&[u8], _>("body"), at_ms).with_context(|| format!("decoding event {seq}"))?;
    Ok(LoggedEvent { seq: seq as Seq, at_ms, actor: row.get("actor"), event })
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_insert_numbers_its_rows_parameters_in_order() {
        assert_eq!(super::rows_sql("INSERT INTO t (a, b) VALUES ", 2, 1), "INSERT INTO t (a, b) VALUES ($1, $2)");
        assert_eq!(super::rows_sql("V ", 3, 2), "V ($1, $2, $3), ($4, $5, $6)");
    }
}

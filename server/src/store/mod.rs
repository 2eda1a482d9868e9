//! The durable log, through sqlx. SQLite (WAL, `synchronous=FULL`) is the embedded default; the
//! queries are plain SQL with `$n` parameters so a PostgreSQL backend can share them.
//!
//! Only the sequencer writes, so there is never write contention; readers (catch-up, history,
//! replay) read concurrently thanks to WAL.

pub mod basemap;
pub mod codec;
pub mod replay;

use anyhow::{bail, Context};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use std::str::FromStr;
use std::time::Duration;
use vigie_domain::{LoggedEvent, Seq, State};

/// Rows read per query when replaying the tail at startup.
const LOAD_PAGE: i64 = 10_000;

#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Opens (creating if needed) and migrates the database at `url`.
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
        if let Some(dir) = options.get_filename().parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .with_context(|| format!("opening {url}"))?;
        sqlx::migrate!("../migrations/sqlite").run(&pool).await.context("migrating the database")?;
        Ok(Self { pool })
    }

    /// Appends a batch to the live log in one transaction: all of it is durable, or none of it.
    pub async fn append(&self, events: &[LoggedEvent]) -> Result<(), sqlx::Error> {
        self.append_to(replay::Log::Live, events).await
    }

    /// Up to `limit` events with `seq > after`, in order.
    pub async fn events_after(&self, after: Seq, limit: i64) -> anyhow::Result<Vec<LoggedEvent>> {
        let rows = sqlx::query("SELECT seq, at_ms, actor, kind, body FROM events WHERE seq > $1 ORDER BY seq LIMIT $2")
            .bind(after as i64)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(decode_row).collect()
    }

    /// Up to `limit` events committed in `[from_ms, to_ms)` with `seq > after`, in order;
    /// without position batches if `without_positions` (what the timeline reads).
    pub async fn events_between(
        &self,
        from_ms: i64,
        to_ms: i64,
        after: Seq,
        limit: i64,
        without_positions: bool,
    ) -> anyhow::Result<Vec<LoggedEvent>> {
        let rows = sqlx::query(
            "SELECT seq, at_ms, actor, kind, body FROM events \
             WHERE at_ms >= $1 AND at_ms < $2 AND seq > $3 AND kind <> $5 ORDER BY seq LIMIT $4",
        )
        .bind(from_ms)
        .bind(to_ms)
        .bind(after as i64)
        .bind(limit)
        // No event kind is empty, so "" excludes nothing.
        .bind(if without_positions { codec::POSITIONS_KIND } else { "" })
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(decode_row).collect()
    }

    /// The latest `limit` events other than position batches, oldest first.
    pub async fn recent_events(&self, limit: i64) -> anyhow::Result<Vec<LoggedEvent>> {
        let rows = sqlx::query(
            "SELECT seq, at_ms, actor, kind, body FROM events WHERE kind <> $1 ORDER BY seq DESC LIMIT $2",
        )
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
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The room as the log leaves it: the latest snapshot plus every event after it. Refuses to
    /// start on a log with a gap, which would mean lost events.
    pub async fn load_state(&self) -> anyhow::Result<State> {
        let row = sqlx::query("SELECT state FROM snapshots ORDER BY seq DESC LIMIT 1").fetch_optional(&self.pool).await?;
        let mut state = match row {
            Some(row) => serde_json::from_slice(row.get::<&[u8], _>("state")).context("reading the latest snapshot")?,
            None => State::default(),
        };
        loop {
            let page = self.events_after(state.seq, LOAD_PAGE).await?;
            for e in &page {
                if e.seq != state.seq + 1 {
                    bail!("the log has a gap: event {} follows {}", e.seq, state.seq);
                }
                state.apply(e);
            }
            if (page.len() as i64) < LOAD_PAGE {
                return Ok(state);
            }
        }
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn decode_row(row: &sqlx::sqlite::SqliteRow) -> anyhow::Result<LoggedEvent> {
    let seq: i64 = row.get("seq");
    let at_ms: i64 = row.get("at_ms");
    let kind: &str = row.get("kind");
    let event = codec::decode(kind, row.get::<&[u8], _>("body"), at_ms).with_context(|| format!("decoding event {seq}"))?;
    Ok(LoggedEvent { seq: seq as Seq, at_ms, actor: row.get("actor"), event })
}

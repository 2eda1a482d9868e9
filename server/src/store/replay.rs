//! What replay reads and keeps: the room at any past moment (nearest snapshot plus the tail),
//! ranges of a log, imported scenarios (their own tables, never the live log) and sessions.

use anyhow::Context;
use sqlx::Row;
use vigie_domain::{LoggedEvent, Seq, State};

use super::{codec, seq_param, Page, Query, Store};

/// Which log replay reads: this server's own, or an imported scenario's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Log {
    Live,
    Scenario(u32),
}

impl Log {
    pub(super) fn events(self) -> &'static str {
        match self {
            Log::Live => "events",
            Log::Scenario(_) => "scenario_events",
        }
    }

    fn snapshots(self) -> &'static str {
        match self {
            Log::Live => "snapshots",
            Log::Scenario(_) => "scenario_snapshots",
        }
    }

    /// The predicate that keeps a scenario's rows, as parameter `$n` (the query's last), bound by
    /// [`Log::bind`].
    fn only(self, n: usize) -> String {
        match self {
            Log::Live => String::new(),
            Log::Scenario(_) => format!("AND scenario_id = ${n}"),
        }
    }

    pub(super) fn bind(self, query: Query<'_>) -> Query<'_> {
        match self {
            Log::Live => query,
            Log::Scenario(id) => query.bind(i64::from(id)),
        }
    }
}

/// Rows read per query when folding a tail (further bounded by [`super::PAGE_WEIGHT`]).
pub const FOLD_PAGE: i64 = 5_000;

/// The events in `(after, up_to]` of a log, a page at a time (see [`Store::pages`]).
pub struct Pages<'a> {
    store: &'a Store,
    log: Log,
    after: Seq,
    up_to: Seq,
}

impl Pages<'_> {
    /// The next page, or `None` at the end.
    pub async fn next(&mut self) -> anyhow::Result<Option<Vec<LoggedEvent>>> {
        if self.after >= self.up_to {
            return Ok(None);
        }
        let page = self.store.log_range(self.log, self.after, self.up_to, FOLD_PAGE, false).await?;
        let Some(last) = page.events.last().map(|e| e.seq) else { return Ok(None) };
        self.after = last;
        Ok(Some(page.events))
    }
}

pub use vigie_domain::api::ScenarioInfo;

impl Store {
    /// Reads the events in `(after, up_to]` of `log` page by page: folding a tail, playing, exporting.
    pub fn pages(&self, log: Log, after: Seq, up_to: Seq) -> Pages<'_> {
        Pages { store: self, log, after, up_to }
    }

    /// The last seq committed at or before `at_ms` (0 when none).
    pub async fn seq_at(&self, log: Log, at_ms: i64) -> anyhow::Result<Seq> {
        // `at_ms` never decreases along `seq`, so the at_ms index answers in one step.
        let sql = format!(
            "SELECT seq FROM {} WHERE at_ms <= $1 {} ORDER BY at_ms DESC, seq DESC LIMIT 1",
            log.events(),
            log.only(2)
        );
        let row = log.bind(sqlx::query(&sql).bind(at_ms)).fetch_optional(self.pool_of(log)).await?;
        Ok(row.map_or(0, |r| r.get::<i64, _>("seq") as Seq))
    }

    /// Events with `after < seq <= up_to`, in order, without position batches if asked: up to
    /// `limit`, and at most [`super::PAGE_WEIGHT`] of work.
    pub async fn log_range(
        &self,
        log: Log,
        after: Seq,
        up_to: Seq,
        limit: i64,
        without_positions: bool,
    ) -> anyhow::Result<Page> {
        let sql = format!(
            "SELECT seq, at_ms, actor, kind, body FROM {} WHERE seq > $1 AND seq <= $2 AND kind <> $3 {} ORDER BY seq LIMIT $4",
            log.events(),
            log.only(5)
        );
        let query = sqlx::query(&sql)
            .bind(seq_param(after))
            .bind(seq_param(up_to))
            // No event kind is empty, so "" excludes nothing.
            .bind(if without_positions { codec::POSITIONS_KIND } else { "" })
            .bind(limit);
        self.read_page(log, log.bind(query), limit).await
    }

    /// The latest snapshot taken at or before `at_ms`, if any.
    pub async fn snapshot_before(&self, log: Log, at_ms: i64) -> anyhow::Result<Option<State>> {
        let sql = format!(
            // Ordered as the at_ms index is, so SQLite walks the index and reads one state; ordered
            // by seq alone it sorted every earlier snapshot, blobs included (300 ms at the end of a day).
            "SELECT state FROM {} WHERE at_ms <= $1 {} ORDER BY at_ms DESC, seq DESC LIMIT 1",
            log.snapshots(),
            log.only(2)
        );
        let _turn = self.heavy.acquire().await.context("the store is closed")?;
        let Some(row) = log.bind(sqlx::query(&sql).bind(at_ms)).fetch_optional(self.pool_of(log)).await? else {
            return Ok(None);
        };
        Ok(Some(serde_json::from_slice(row.get::<&[u8], _>("state")).context("reading a snapshot")?))
    }

    /// The time of the nearest event other than a position report strictly after (or before) `at_ms`.
    pub async fn next_event_time(&self, log: Log, at_ms: i64, forward: bool) -> anyhow::Result<Option<i64>> {
        let (cmp, order) = if forward { (">", "ASC") } else { ("<", "DESC") };
        let sql = format!(
            "SELECT at_ms FROM {} WHERE at_ms {cmp} $1 AND kind <> $2 {} ORDER BY at_ms {order} LIMIT 1",
            log.events(),
            log.only(3)
        );
        let query = log.bind(sqlx::query(&sql).bind(at_ms).bind(codec::POSITIONS_KIND));
        Ok(query.fetch_optional(self.pool_of(log)).await?.map(|r| r.get::<i64, _>("at_ms")))
    }

    /// Starts an import: the scenario exists but is not listed until [`Store::finish_scenario`].
    pub async fn create_scenario(&self, name: &str, from_ms: i64, to_ms: i64, now_ms: i64) -> anyhow::Result<u32> {
        let row = sqlx::query(
            "INSERT INTO scenarios (name, from_ms, to_ms, events, imported_at_ms) VALUES ($1, $2, $3, 0, $4) RETURNING scenario_id",
        )
        .bind(name)
        .bind(from_ms)
        .bind(to_ms)
        .bind(now_ms)
        .fetch_one(&self.scenarios)
        .await?;
        Ok(row.get::<i64, _>("scenario_id") as u32)
    }

    /// Appends a page of a scenario's events in one transaction: all of it is stored, or none.
    pub async fn append_scenario(&self, scenario_id: u32, events: &[LoggedEvent]) -> anyhow::Result<()> {
        let mut tx = self.scenarios.begin().await?;
        insert_scenario_events(&mut tx, scenario_id, events).await?;
        Ok(tx.commit().await?)
    }

    pub async fn save_scenario_snapshot(&self, scenario_id: u32, state: &State) -> anyhow::Result<()> {
        sqlx::query("INSERT INTO scenario_snapshots (scenario_id, seq, at_ms, state) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
            .bind(i64::from(scenario_id))
            .bind(state.seq as i64)
            .bind(state.at_ms)
            .bind(serde_json::to_vec(state)?)
            .execute(&self.scenarios)
            .await?;
        Ok(())
    }

    pub async fn finish_scenario(&self, scenario_id: u32, events: u64) -> anyhow::Result<()> {
        sqlx::query("UPDATE scenarios SET complete = 1, events = $1 WHERE scenario_id = $2")
            .bind(events as i64)
            .bind(i64::from(scenario_id))
            .execute(&self.scenarios)
            .await?;
        Ok(())
    }

    /// Removes a scenario and everything imported with it (also used to clean up a failed import).
    pub async fn delete_scenario(&self, scenario_id: u32) -> anyhow::Result<bool> {
        let mut tx = self.scenarios.begin().await?;
        for table in ["scenario_events", "scenario_snapshots"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE scenario_id = $1"))
                .bind(i64::from(scenario_id))
                .execute(&mut *tx)
                .await?;
        }
        let done = sqlx::query("DELETE FROM scenarios WHERE scenario_id = $1")
            .bind(i64::from(scenario_id))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn scenarios(&self) -> anyhow::Result<Vec<ScenarioInfo>> {
        let rows = sqlx::query(
            "SELECT scenario_id, name, from_ms, to_ms, events, imported_at_ms FROM scenarios WHERE complete = 1 ORDER BY scenario_id",
        )
        .fetch_all(&self.scenarios)
        .await?;
        Ok(rows.iter().map(scenario_row).collect())
    }

    /// One imported scenario (not one still importing).
    pub async fn scenario(&self, scenario_id: u32) -> anyhow::Result<Option<ScenarioInfo>> {
        let row = sqlx::query(
            "SELECT scenario_id, name, from_ms, to_ms, events, imported_at_ms FROM scenarios WHERE complete = 1 AND scenario_id = $1",
        )
        .bind(i64::from(scenario_id))
        .fetch_optional(&self.scenarios)
        .await?;
        Ok(row.as_ref().map(scenario_row))
    }

    /// Removes scenarios whose import never finished (the server stopped during one).
    pub async fn drop_unfinished_scenarios(&self) -> anyhow::Result<()> {
        let rows =
            sqlx::query("SELECT scenario_id FROM scenarios WHERE complete = 0").fetch_all(&self.scenarios).await?;
        for r in rows {
            self.delete_scenario(r.get::<i64, _>("scenario_id") as u32).await?;
        }
        Ok(())
    }
}

fn scenario_row(r: &sqlx::sqlite::SqliteRow) -> ScenarioInfo {
    ScenarioInfo {
        scenario_id: r.get::<i64, _>("scenario_id") as u32,
        name: r.get("name"),
        from_ms: r.get("from_ms"),
        to_ms: r.get("to_ms"),
        events: r.get::<i64, _>("events") as u64,
        imported_at_ms: r.get("imported_at_ms"),
    }
}

/// Inserts an imported scenario's `events` inside `tx` (the live log is written by
/// [`Store::append`] alone, with its tree).
async fn insert_scenario_events(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    scenario_id: u32,
    events: &[LoggedEvent],
) -> Result<(), sqlx::Error> {
    let sql =
        "INSERT INTO scenario_events (seq, at_ms, actor, kind, body, scenario_id) VALUES ($1, $2, $3, $4, $5, $6)";
    for e in events {
        sqlx::query(sql)
            .bind(seq_param(e.seq))
            .bind(e.at_ms)
            .bind(&e.actor)
            .bind(e.event.kind())
            .bind(codec::encode(&e.event, e.at_ms))
            .bind(i64::from(scenario_id))
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

//! Records of changes made outside the running server: `vigie user add|passwd|disable|token|…`
//! writes the accounts' tables directly (the server may be running, and only its writer appends to
//! the log). Each such change leaves a pending record here, in the same database; the server moves
//! pending records into the log every [`EVERY`] (and at start), so the record misses no console
//! change. A crash between appending and removing one appends it twice: the record may repeat a
//! console change, never lose it.

use std::time::Duration;

use sqlx::{Row, SqlitePool};
use tokio::sync::watch;
use vigie_domain::record::Record;

use crate::sequencer::Sequencer;

pub const EVERY: Duration = Duration::from_secs(2);
/// Pending records moved per round.
const PER_ROUND: i64 = 500;

/// Who acts at the console: the operating-system account that ran the command.
pub fn console_actor() -> String {
    let user = std::env::var("SUDO_USER").or_else(|_| std::env::var("USER")).unwrap_or_else(|_| "unknown".into());
    format!("console:{user}")
}

/// Leaves `record` for the server to append.
pub async fn add(pool: &SqlitePool, at_ms: i64, record: &Record) -> anyhow::Result<()> {
    sqlx::query("INSERT INTO audit_pending (at_ms, actor, record) VALUES ($1, $2, $3)")
        .bind(at_ms)
        .bind(console_actor())
        .bind(serde_json::to_string(record)?)
        .execute(pool)
        .await?;
    Ok(())
}

/// Appends pending records to the log, oldest first; returns how many.
pub async fn drain(pool: &SqlitePool, sequencer: &Sequencer) -> anyhow::Result<usize> {
    let rows = sqlx::query("SELECT id, actor, record FROM audit_pending ORDER BY id LIMIT $1")
        .bind(PER_ROUND)
        .fetch_all(pool)
        .await?;
    for row in &rows {
        let id: i64 = row.get("id");
        match serde_json::from_str::<Record>(row.get("record")) {
            Ok(record) => super::record(sequencer, row.get("actor"), record).await?,
            Err(e) => {
                let text: String = row.get("record");
                tracing::error!(id, error = %e, record = %text, "a pending record cannot be read; it is dropped")
            }
        }
        sqlx::query("DELETE FROM audit_pending WHERE id = $1").bind(id).execute(pool).await?;
    }
    Ok(rows.len())
}

pub async fn run(pool: SqlitePool, sequencer: Sequencer, mut shutdown: watch::Receiver<bool>) {
    loop {
        if let Err(e) = drain(&pool, &sequencer).await {
            tracing::warn!(error = %e, "moving console records into the log failed; will retry");
        }
        tokio::select! {
            _ = shutdown.wait_for(|s| *s) => return,
            _ = tokio::time::sleep(EVERY) => {}
        }
    }
}

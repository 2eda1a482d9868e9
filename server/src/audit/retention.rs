//! Retention: privacy law limits how long positions (and message bodies) may be kept. A rule
//! (`VIGIE_RETAIN_POSITIONS_DAYS`, `VIGIE_RETAIN_MESSAGES_DAYS`) purges the content of older
//! events while the tree still verifies: the event's seq, time, actor and kind stay, its leaf
//! stays, `digest` keeps SHA-256(salt || body) and the salt and body go. The purge is itself
//! recorded first (`Record::Purged`: rule, kind, before when, up to which seq, how many), so a
//! verifier accepts a purged event only under a recorded purge, and the room's picture lets the
//! same content go (the reducer). Snapshots taken before the purge hold the content too: they are
//! replaced by one of the room as it is after it.

use std::time::Duration;

use anyhow::Context;
use sqlx::Row;
use vigie_domain::record::Record;
use vigie_domain::Event;

use crate::sequencer::Sequencer;
use crate::store::{codec, Store};

/// How often the rules are applied (and once at start).
pub const EVERY: Duration = Duration::from_secs(3600);
/// Events purged per transaction.
const PAGE: i64 = 2_000;
const DAY_MS: i64 = 86_400_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// As recorded and shown: `positions:30d`.
    pub name: String,
    /// The event kind whose content goes.
    pub kind: &'static str,
    pub days: u32,
}

impl Rule {
    pub fn positions(days: u32) -> Self {
        Rule { name: format!("positions:{days}d"), kind: codec::POSITIONS_KIND, days }
    }

    pub fn messages(days: u32) -> Self {
        Rule { name: format!("messages:{days}d"), kind: "message_posted", days }
    }

    /// What replaces the body: an event of the same kind without the content (so replay and the
    /// room still fold it).
    fn emptied(&self, body: &[u8], at_ms: i64) -> anyhow::Result<Vec<u8>> {
        let event = codec::decode(self.kind, body, at_ms)?;
        let emptied = match event {
            Event::PositionsReported { .. } => Event::PositionsReported { fixes: Vec::new() },
            Event::MessagePosted { message_id, channel_id, sender_agency, priority, ack_required, .. } => {
                Event::MessagePosted {
                    message_id,
                    channel_id,
                    sender_agency,
                    priority,
                    body: String::new(),
                    ack_required,
                }
            }
            other => anyhow::bail!("retention does not purge {} events", other.kind()),
        };
        Ok(codec::encode(&emptied, at_ms))
    }
}

/// Applies `rule` at `now_ms`: records the purge, then purges; returns how many events.
pub async fn apply(store: &Store, sequencer: &Sequencer, rule: &Rule, now_ms: i64) -> anyhow::Result<u64> {
    let before_ms = now_ms.saturating_sub(i64::from(rule.days) * DAY_MS);
    let pool = &store.writer;
    let row = sqlx::query(
        "SELECT MAX(seq) AS through, COUNT(*) AS n FROM events WHERE kind = $1 AND at_ms < $2 AND purged IS NULL",
    )
    .bind(rule.kind)
    .bind(before_ms)
    .fetch_one(pool)
    .await?;
    let (Some(through), n) = (row.get::<Option<i64>, _>("through"), row.get::<i64, _>("n")) else { return Ok(0) };
    let record = Record::Purged {
        rule: rule.name.clone(),
        kind: rule.kind.into(),
        before_ms,
        through_seq: through as u64,
        events: n as u64,
    };
    super::record(sequencer, "retention".into(), record).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut purged = 0u64;
    loop {
        let rows = sqlx::query(
            "SELECT seq, at_ms, body, salt FROM events \
             WHERE kind = $1 AND at_ms < $2 AND seq <= $3 AND purged IS NULL ORDER BY seq LIMIT $4",
        )
        .bind(rule.kind)
        .bind(before_ms)
        .bind(through)
        .bind(PAGE)
        .fetch_all(pool)
        .await?;
        if rows.is_empty() {
            break;
        }
        let mut tx = pool.begin().await?;
        for row in &rows {
            let seq: i64 = row.get("seq");
            let body: &[u8] = row.get("body");
            let salt: Option<Vec<u8>> = row.get("salt");
            let salt = salt.with_context(|| format!("event {seq} has no salt"))?;
            let digest = crate::store::leaf::content_digest(&salt, body);
            let emptied = rule.emptied(body, row.get("at_ms")).with_context(|| format!("purging event {seq}"))?;
            sqlx::query("UPDATE events SET digest = $1, salt = NULL, body = $2, purged = $3 WHERE seq = $4")
                .bind(&digest[..])
                .bind(emptied)
                .bind(&rule.name)
                .bind(seq)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        purged += rows.len() as u64;
    }
    Ok(purged)
}

/// The purges recorded whose cut-off falls after `from_ms` (they took content from a range that
/// starts there), oldest first.
pub async fn purges(pool: &sqlx::SqlitePool, from_ms: i64) -> anyhow::Result<Vec<vigie_domain::replay::Purge>> {
    let rows = sqlx::query("SELECT body FROM events WHERE kind = 'audit.purged' ORDER BY seq").fetch_all(pool).await?;
    let mut out: Vec<vigie_domain::replay::Purge> = Vec::new();
    for row in rows {
        let event: Event = serde_json::from_slice(row.get::<&[u8], _>("body"))?;
        if let Event::Recorded { record: Record::Purged { rule, kind, before_ms, .. } } = event {
            if before_ms > from_ms {
                // The latest cut-off of a rule says it all.
                out.retain(|p| p.rule != rule);
                out.push(vigie_domain::replay::Purge { rule, kind, before_ms });
            }
        }
    }
    Ok(out)
}

/// The rules configured.
pub fn rules(config: &crate::config::Config) -> Vec<Rule> {
    let positions = config.retain_positions_days.map(Rule::positions);
    positions.into_iter().chain(config.retain_messages_days.map(Rule::messages)).collect()
}

/// Applies the configured rules at start and every [`EVERY`].
pub async fn run(state: crate::AppState, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let rules = rules(&state.config);
    if rules.is_empty() {
        return;
    }
    loop {
        let mut purged = 0;
        for rule in &rules {
            match apply(&state.store, &state.sequencer, rule, state.clock.now_ms()).await {
                Ok(n) => {
                    if n > 0 {
                        tracing::info!(rule = %rule.name, events = n, "retention purged old content");
                    }
                    purged += n;
                }
                Err(e) => tracing::warn!(rule = %rule.name, error = %e, "retention could not purge; will retry"),
            }
        }
        if purged > 0 {
            if let Err(e) = renew_snapshots(&state.store, &state.hub.read(|s| s.clone())).await {
                tracing::warn!(error = %e, "could not replace the snapshots after a purge");
            }
        }
        tokio::select! {
            _ = shutdown.wait_for(|s| *s) => return,
            _ = tokio::time::sleep(EVERY) => {}
        }
    }
}

/// Replaces the snapshots (which hold purged content) by `state`, the room after the purge.
pub async fn renew_snapshots(store: &Store, state: &vigie_domain::State) -> anyhow::Result<()> {
    store.save_snapshot(state).await?;
    sqlx::query("DELETE FROM snapshots WHERE seq < $1").bind(state.seq as i64).execute(&store.writer).await?;
    Ok(())
}

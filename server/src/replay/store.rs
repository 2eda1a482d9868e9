//! Where replay sessions are kept so a debrief survives a restart: a table beside the log
//! (training state, not events), read and written only by [`super::Replays`].

use sqlx::Row;
use vigie_domain::replay::SessionInfo;

use crate::store::Store;

/// A stored session: its id, its trainer's key and what its followers know of it.
pub struct Stored {
    pub session_id: String,
    pub trainer_key: String,
    pub info: SessionInfo,
}

impl Store {
    pub async fn save_session(&self, session_id: &str, trainer_key: &str, info: &SessionInfo) -> anyhow::Result<()> {
        let info = serde_json::to_string(info)?;
        sqlx::query(
            "INSERT INTO replay_sessions (session_id, trainer_key, info) VALUES ($1, $2, $3) \
             ON CONFLICT (session_id) DO UPDATE SET info = excluded.info",
        )
        .bind(session_id)
        .bind(trainer_key)
        .bind(info)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Every stored session that still reads; one that does not is skipped with a warning.
    pub async fn sessions(&self) -> anyhow::Result<Vec<Stored>> {
        let rows =
            sqlx::query("SELECT session_id, trainer_key, info FROM replay_sessions").fetch_all(&self.pool).await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                let session_id: String = r.get("session_id");
                match serde_json::from_str::<SessionInfo>(r.get("info")) {
                    Ok(info) => Some(Stored { session_id, trainer_key: r.get("trainer_key"), info }),
                    Err(e) => {
                        tracing::warn!(error = %e, session = %session_id, "skipping an unreadable replay session");
                        None
                    }
                }
            })
            .collect())
    }

    pub async fn delete_session(&self, session_id: &str) -> anyhow::Result<()> {
        sqlx::query("DELETE FROM replay_sessions WHERE session_id = $1").bind(session_id).execute(&self.writer).await?;
        Ok(())
    }
}

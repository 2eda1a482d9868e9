//! Server-side sessions: an opaque random token in an `HttpOnly`, `SameSite=Strict` cookie, only
//! its SHA-256 stored. A session ends after [`IDLE_MS`] without use or [`ABSOLUTE_MS`] after
//! sign-in, on sign-out, and — every session of the account — when its password changes or it is
//! disabled.

use sha2::{Digest, Sha256};
use sqlx::Row;
use vigie_domain::authority::Principal;

use crate::store::Store;

/// A session unused this long has ended (OWASP ASVS asks for an idle timeout).
pub const IDLE_MS: i64 = 30 * 60_000;
/// A session ends this long after sign-in whatever its use: one long shift.
pub const ABSOLUTE_MS: i64 = 12 * 3_600_000;
/// The cookie's name.
pub const COOKIE: &str = "vigie_session";

/// The SHA-256 of a token, as stored.
pub fn digest(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

impl Store {
    /// Opens a session for `login`: the token for the cookie (shown once, never stored).
    /// An `enrolling` session may only enrol a second factor ([`super::totp`]).
    pub async fn open_session(&self, login: &str, now_ms: i64, enrolling: bool) -> anyhow::Result<String> {
        let token = crate::token::hex(32);
        sqlx::query(
            "INSERT INTO sessions (token_sha256, login, created_at_ms, last_seen_ms, enrolling) VALUES ($1, $2, $3, $3, $4)",
        )
        .bind(digest(&token))
        .bind(login)
        .bind(now_ms)
        .bind(i64::from(enrolling))
            .execute(&self.writer)
            .await?;
        Ok(token)
    }

    /// The principal of a live session, which counts as a use. An ended one (idle, too old, or its
    /// account disabled) is removed and gives `None`.
    /// The principal of a live session and whether it is only enrolling.
    pub async fn session(&self, token: &str, now_ms: i64) -> anyhow::Result<Option<(Principal, bool)>> {
        let key = digest(token);
        // The session and its account in one read.
        let row = sqlx::query(
            "SELECT u.*, s.created_at_ms AS session_created_ms, s.last_seen_ms, s.enrolling FROM sessions s \
             JOIN users u ON u.login = s.login WHERE s.token_sha256 = $1",
        )
        .bind(&key)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let (created, seen): (i64, i64) = (row.get("session_created_ms"), row.get("last_seen_ms"));
        let live = now_ms - seen <= IDLE_MS && now_ms - created <= ABSOLUTE_MS;
        let user = super::users::user_row(&row)?;
        if !live || user.disabled {
            self.close_session(token).await?;
            return Ok(None);
        }
        // A use is recorded at most once a minute: the idle timeout needs no finer grain, and a
        // busy screen's every request does not write.
        if now_ms - seen >= 60_000 {
            sqlx::query("UPDATE sessions SET last_seen_ms = $2 WHERE token_sha256 = $1")
                .bind(&key)
                .bind(now_ms)
                .execute(&self.writer)
                .await?;
        }
        Ok(Some((user.principal(), row.get::<i64, _>("enrolling") != 0)))
    }

    /// The session (by its stored key) has enrolled its second factor: it may do everything now.
    pub async fn finish_enrolment(&self, key: &str) -> anyhow::Result<()> {
        sqlx::query("UPDATE sessions SET enrolling = 0 WHERE token_sha256 = $1")
            .bind(key)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Which of the sessions with these stored keys are still live at `now_ms` (the watch on open
    /// streams asks this every few seconds, in one read). Reading does not count as a use.
    pub async fn live_session_keys(&self, keys: &[String], now_ms: i64) -> anyhow::Result<Vec<String>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "SELECT s.token_sha256 FROM sessions s JOIN users u ON u.login = s.login \
             WHERE s.token_sha256 IN (SELECT value FROM json_each($1)) AND u.disabled = 0 \
             AND $2 - s.last_seen_ms <= $3 AND $2 - s.created_at_ms <= $4",
        )
        .bind(serde_json::to_string(keys)?)
        .bind(now_ms)
        .bind(IDLE_MS)
        .bind(ABSOLUTE_MS)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| r.get("token_sha256")).collect())
    }

    /// Marks the sessions with these stored keys as used at `now_ms` (a screen following the
    /// stream is in use even when nobody clicks).
    pub async fn touch_sessions(&self, keys: &[String], now_ms: i64) -> anyhow::Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        sqlx::query("UPDATE sessions SET last_seen_ms = $2 WHERE token_sha256 IN (SELECT value FROM json_each($1))")
            .bind(serde_json::to_string(keys)?)
            .bind(now_ms)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Which of the tokens with these ids are still live (not revoked, owner not disabled).
    pub async fn live_token_ids(&self, ids: &[i64]) -> anyhow::Result<Vec<i64>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "SELECT t.id FROM api_tokens t JOIN users u ON u.login = t.login \
             WHERE t.id IN (SELECT value FROM json_each($1)) AND t.revoked_at_ms IS NULL AND u.disabled = 0",
        )
        .bind(serde_json::to_string(ids)?)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| r.get("id")).collect())
    }

    pub async fn close_session(&self, token: &str) -> anyhow::Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_sha256 = $1").bind(digest(token)).execute(&self.writer).await?;
        Ok(())
    }

    /// Ends every session of `login` (password changed, account disabled).
    pub async fn close_sessions_of(&self, login: &str) -> anyhow::Result<u64> {
        Ok(sqlx::query("DELETE FROM sessions WHERE login = $1")
            .bind(login)
            .execute(&self.writer)
            .await?
            .rows_affected())
    }
}

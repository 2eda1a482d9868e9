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

fn digest(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

impl Store {
    /// Opens a session for `login`: the token for the cookie (shown once, never stored).
    pub async fn open_session(&self, login: &str, now_ms: i64) -> anyhow::Result<String> {
        let token = crate::token::hex(32);
        sqlx::query("INSERT INTO sessions (token_sha256, login, created_at_ms, last_seen_ms) VALUES ($1, $2, $3, $3)")
            .bind(digest(&token))
            .bind(login)
            .bind(now_ms)
            .execute(&self.writer)
            .await?;
        Ok(token)
    }

    /// The principal of a live session, which counts as a use. An ended one (idle, too old, or its
    /// account disabled) is removed and gives `None`.
    pub async fn session(&self, token: &str, now_ms: i64) -> anyhow::Result<Option<Principal>> {
        let key = digest(token);
        // The session and its account in one read.
        let row = sqlx::query(
            "SELECT u.*, s.created_at_ms AS session_created_ms, s.last_seen_ms FROM sessions s \
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
        sqlx::query("UPDATE sessions SET last_seen_ms = $2 WHERE token_sha256 = $1")
            .bind(&key)
            .bind(now_ms)
            .execute(&self.writer)
            .await?;
        Ok(Some(user.principal()))
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

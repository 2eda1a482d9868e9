//! API tokens for integrations: `vgt_` and 64 hex digits (256 random bits), shown once at issue,
//! only its SHA-256 stored. A token acts as its owner's account — its agency and roles — limited to
//! the scopes it was issued with; it stops working when revoked or when its owner is disabled.

use sqlx::Row;
use std::collections::BTreeSet;
use vigie_domain::authority::{Principal, Scope};

use super::sessions::digest;
use crate::store::Store;

/// What every token starts with, so a secret scanner (and a human) can tell one.
pub const PREFIX: &str = "vgt_";
/// Most tokens listed or held by one account.
pub const MAX_PER_ACCOUNT: i64 = 100;

pub use vigie_domain::api::ApiToken as TokenInfo;

/// Whether `raw` has a token's shape (checked before any lookup).
pub fn well_formed(raw: &str) -> bool {
    raw.strip_prefix(PREFIX).is_some_and(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A token's name: 1 to 64 printable characters.
pub fn check_name(name: &str) -> Result<(), String> {
    let n = name.trim().chars().count();
    if (1..=64).contains(&n) && !name.chars().any(char::is_control) {
        Ok(())
    } else {
        Err("a token's name is 1 to 64 printable characters".into())
    }
}

fn info(r: &sqlx::sqlite::SqliteRow) -> anyhow::Result<TokenInfo> {
    Ok(TokenInfo {
        id: r.get("id"),
        name: r.get("name"),
        login: r.get("login"),
        scopes: serde_json::from_str::<BTreeSet<Scope>>(r.get("scopes"))?.into_iter().collect(),
        created_at_ms: r.get("created_at_ms"),
        last_used_ms: r.get("last_used_ms"),
        revoked_at_ms: r.get("revoked_at_ms"),
    })
}

impl Store {
    /// Issues a token for `login`'s account: its id and the token (shown once, never stored).
    pub async fn issue_token(
        &self,
        login: &str,
        name: &str,
        scopes: &BTreeSet<Scope>,
        now_ms: i64,
    ) -> anyhow::Result<(i64, String)> {
        check_name(name).map_err(anyhow::Error::msg)?;
        anyhow::ensure!(!scopes.is_empty(), "a token has at least one scope");
        anyhow::ensure!(self.user(login).await?.is_some(), "no account {login}");
        let held: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM api_tokens WHERE login = $1 AND revoked_at_ms IS NULL")
                .bind(login)
                .fetch_one(&self.pool)
                .await?;
        anyhow::ensure!(held < MAX_PER_ACCOUNT, "{login} holds {MAX_PER_ACCOUNT} live tokens; revoke one first");
        let token = format!("{PREFIX}{}", crate::token::hex(32));
        let id = sqlx::query_scalar(
            "INSERT INTO api_tokens (name, login, scopes, token_sha256, created_at_ms) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(name.trim())
        .bind(login)
        .bind(serde_json::to_string(scopes)?)
        .bind(digest(&token))
        .bind(now_ms)
        .fetch_one(&self.writer)
        .await?;
        Ok((id, token))
    }

    /// The principal and scopes a live token acts with, and its id. A use is recorded at most once
    /// a minute (so a gateway's every batch does not write).
    pub async fn token(&self, token: &str, now_ms: i64) -> anyhow::Result<Option<(i64, Principal, BTreeSet<Scope>)>> {
        let row = sqlx::query(
            "SELECT u.*, t.id AS token_id, t.scopes AS token_scopes, t.last_used_ms FROM api_tokens t \
             JOIN users u ON u.login = t.login WHERE t.token_sha256 = $1 AND t.revoked_at_ms IS NULL",
        )
        .bind(digest(token))
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let user = super::users::user_row(&row)?;
        if user.disabled {
            return Ok(None);
        }
        let id: i64 = row.get("token_id");
        let scopes = serde_json::from_str(row.get("token_scopes"))?;
        let used: Option<i64> = row.get("last_used_ms");
        if used.is_none_or(|u| now_ms - u >= 60_000) {
            sqlx::query("UPDATE api_tokens SET last_used_ms = $2 WHERE id = $1")
                .bind(id)
                .bind(now_ms)
                .execute(&self.writer)
                .await?;
        }
        Ok(Some((id, user.principal(), scopes)))
    }

    /// Tokens, newest first: every account's, or one account's.
    pub async fn tokens(&self, login: Option<&str>) -> anyhow::Result<Vec<TokenInfo>> {
        let rows = sqlx::query("SELECT * FROM api_tokens WHERE $1 IS NULL OR login = $1 ORDER BY id DESC LIMIT 1000")
            .bind(login)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(info).collect()
    }

    /// Revokes a token. Whether a live token was revoked.
    pub async fn revoke_token(&self, id: i64, now_ms: i64) -> anyhow::Result<bool> {
        let done = sqlx::query("UPDATE api_tokens SET revoked_at_ms = $2 WHERE id = $1 AND revoked_at_ms IS NULL")
            .bind(id)
            .bind(now_ms)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

//! The accounts table and signing in against it.

use sqlx::Row;
use std::collections::BTreeSet;
use vigie_domain::authority::{Principal, Role};
use vigie_domain::AgencyCode;

use super::password;
use crate::store::Store;

/// An account as listed (never its hash).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct User {
    pub login: String,
    pub display_name: String,
    pub agency: AgencyCode,
    pub roles: BTreeSet<Role>,
    pub disabled: bool,
    pub created_at_ms: i64,
}

impl User {
    pub fn principal(&self) -> Principal {
        Principal { user: self.login.clone(), agency: self.agency.clone(), roles: self.roles.clone() }
    }

    /// As an admin sees it.
    pub fn account(&self) -> vigie_domain::api::Account {
        vigie_domain::api::Account {
            login: self.login.clone(),
            display_name: self.display_name.clone(),
            agency: self.agency.to_string(),
            roles: self.roles.iter().copied().collect(),
            disabled: self.disabled,
            created_at_ms: self.created_at_ms,
        }
    }
}

/// A login: 1 to 64 of `a-z 0-9 . _ -`, so it reads the same everywhere it is shown or logged.
pub fn check_login(login: &str) -> Result<(), String> {
    let ok = (1..=64).contains(&login.len())
        && login.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err("a login is 1 to 64 characters of a-z, 0-9, '.', '_' or '-'".into())
    }
}

fn check_name(name: &str) -> Result<(), String> {
    let n = name.trim().chars().count();
    if (1..=80).contains(&n) && !name.chars().any(char::is_control) {
        Ok(())
    } else {
        Err("a display name is 1 to 80 printable characters".into())
    }
}

pub(super) fn user_row(r: &sqlx::sqlite::SqliteRow) -> anyhow::Result<User> {
    Ok(User {
        login: r.get("login"),
        display_name: r.get("display_name"),
        agency: AgencyCode::parse(r.get("agency")).map_err(|e| anyhow::anyhow!("{}", e.message))?,
        roles: serde_json::from_str(r.get("roles"))?,
        disabled: r.get::<i64, _>("disabled") != 0,
        created_at_ms: r.get("created_at_ms"),
    })
}

impl Store {
    /// Adds an account with an already hashed password. Refused if the login is taken.
    pub async fn add_user(&self, user: &User, password_hash: &str) -> anyhow::Result<()> {
        check_login(&user.login).map_err(anyhow::Error::msg)?;
        check_name(&user.display_name).map_err(anyhow::Error::msg)?;
        anyhow::ensure!(!user.roles.is_empty(), "an account has at least one role");
        let done = sqlx::query(
            "INSERT INTO users (login, display_name, agency, roles, password_hash, disabled, created_at_ms, password_changed_at_ms) \
             VALUES ($1, $2, $3, $4, $5, 0, $6, $6) ON CONFLICT (login) DO NOTHING",
        )
        .bind(&user.login)
        .bind(user.display_name.trim())
        .bind(user.agency.as_str())
        .bind(serde_json::to_string(&user.roles)?)
        .bind(password_hash)
        .bind(user.created_at_ms)
        .execute(&self.writer)
        .await?;
        anyhow::ensure!(done.rows_affected() == 1, "the login {} is taken", user.login);
        Ok(())
    }

    pub async fn users(&self) -> anyhow::Result<Vec<User>> {
        let rows = sqlx::query("SELECT * FROM users ORDER BY login").fetch_all(&self.pool).await?;
        rows.iter().map(user_row).collect()
    }

    pub async fn user(&self, login: &str) -> anyhow::Result<Option<User>> {
        let row = sqlx::query("SELECT * FROM users WHERE login = $1").bind(login).fetch_optional(&self.pool).await?;
        row.as_ref().map(user_row).transpose()
    }

    /// Replaces an account's password hash. Whether the account exists.
    pub async fn set_password(&self, login: &str, password_hash: &str, now_ms: i64) -> anyhow::Result<bool> {
        let done = sqlx::query("UPDATE users SET password_hash = $2, password_changed_at_ms = $3 WHERE login = $1")
            .bind(login)
            .bind(password_hash)
            .bind(now_ms)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Changes an account's display name, agency and roles (each when given). Whether it exists.
    pub async fn update_user(
        &self,
        login: &str,
        display_name: Option<&str>,
        agency: Option<&AgencyCode>,
        roles: Option<&BTreeSet<Role>>,
    ) -> anyhow::Result<bool> {
        if let Some(name) = display_name {
            check_name(name).map_err(anyhow::Error::msg)?;
        }
        if let Some(roles) = roles {
            anyhow::ensure!(!roles.is_empty(), "an account has at least one role");
        }
        let done = sqlx::query(
            "UPDATE users SET display_name = COALESCE($2, display_name), agency = COALESCE($3, agency), \
             roles = COALESCE($4, roles) WHERE login = $1",
        )
        .bind(login)
        .bind(display_name.map(str::trim))
        .bind(agency.map(|a| a.as_str()))
        .bind(roles.map(serde_json::to_string).transpose()?)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Disables (or enables again) an account. Whether the account exists.
    pub async fn set_disabled(&self, login: &str, disabled: bool) -> anyhow::Result<bool> {
        let done = sqlx::query("UPDATE users SET disabled = $2 WHERE login = $1")
            .bind(login)
            .bind(i64::from(disabled))
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The principal `login` signs in as, if `password` is its password and the account is not
    /// disabled. One answer, `None`, whatever the reason, after the same work (a missing login is
    /// checked against a decoy hash), so the answer tells nothing of which logins exist. The
    /// hashing runs on a blocking thread.
    pub async fn sign_in(&self, login: &str, password: &str) -> anyhow::Result<Option<Principal>> {
        let row = sqlx::query("SELECT * FROM users WHERE login = $1").bind(login).fetch_optional(&self.pool).await?;
        let (user, stored) = match &row {
            Some(r) => (Some(user_row(r)?), r.get::<String, _>("password_hash")),
            None => (None, password::decoy().to_owned()),
        };
        let password = password.to_owned();
        let matches = tokio::task::spawn_blocking(move || password::verify(&password, &stored)).await?;
        Ok(user.filter(|u| matches && !u.disabled).map(|u| u.principal()))
    }
}

//! `vigie user add|passwd|disable|enable|list`: what a room's administrator runs on the server.
//! Every change is left for the record for oversight (`crate::audit::pending`), which the server
//! appends to its log.
//! A password is read from `VIGIE_PASSWORD` when set (scripts), else from the first line of
//! standard input; it is never an argument (arguments show in the process list).

use std::collections::BTreeSet;
use std::io::BufRead;
use vigie_domain::authority::{Role, Scope};
use vigie_domain::record::Record;
use vigie_domain::AgencyCode;

use super::password;
use super::users::User;
use crate::audit::pending;
use crate::store::Store;

#[derive(clap::Subcommand)]
pub enum Action {
    /// Create an account (the password is read as said above).
    Add {
        login: String,
        /// The agency the account acts for, e.g. PP.
        #[arg(long)]
        agency: String,
        /// One or more of dispatcher, commander, liaison, trainer, trainee, auditor, admin.
        #[arg(long = "role", required = true, value_parser = parse_role)]
        roles: Vec<Role>,
        /// The name shown to others; defaults to the login.
        #[arg(long)]
        name: Option<String>,
    },
    /// Set an account's password.
    Passwd { login: String },
    /// Disable an account (it stays, so the record keeps its name).
    Disable { login: String },
    /// Enable a disabled account again.
    Enable { login: String },
    /// List the accounts.
    List,
    /// Issue an API token for an integration, acting as LOGIN's account within the scopes given;
    /// the token is printed once.
    Token {
        login: String,
        /// What the token is for (shown in listings), e.g. "AVL gateway".
        #[arg(long)]
        name: String,
        /// One or more of room:read, positions:write, units:write, incidents:write,
        /// messages:write, replay, admin.
        #[arg(long = "scope", required = true, value_parser = parse_scope)]
        scopes: Vec<Scope>,
    },
    /// List API tokens (every account's, or LOGIN's).
    Tokens { login: Option<String> },
    /// Revoke an API token by id.
    Revoke { id: i64 },
}

/// What `vigie serve` says on a database without accounts (it does not run open).
pub const FIRST_ADMIN: &str = "This room has no accounts yet, and Vigie does not run open.\n\
Create the first administrator, then start again:\n\n\
    VIGIE_PASSWORD='a long passphrase' vigie user add admin --agency PP --role admin\n\n\
(or type the password on standard input). The admin then adds the room's people with\n\
`vigie user add LOGIN --agency CODE --role ROLE`. To try Vigie, `vigie demo` opens a seeded room\n\
with demo accounts.";

/// Whether the database at `database_url` holds any account.
pub async fn has_accounts(database_url: &str) -> anyhow::Result<bool> {
    let store = Store::open(database_url).await?;
    let any = !store.users().await?.is_empty();
    store.close().await;
    Ok(any)
}

fn parse_scope(raw: &str) -> Result<Scope, String> {
    Scope::parse(raw).ok_or_else(|| {
        format!("{raw} is not a scope: room:read, positions:write, units:write, incidents:write, messages:write, replay or admin")
    })
}

fn parse_role(raw: &str) -> Result<Role, String> {
    serde_json::from_value(serde_json::Value::String(raw.to_owned()))
        .map_err(|_| format!("{raw} is not a role: dispatcher, commander, liaison, trainer, trainee, auditor or admin"))
}

/// The password to set: `VIGIE_PASSWORD`, else the first line of standard input.
pub fn read_password() -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("VIGIE_PASSWORD") {
        return Ok(p);
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// Runs `action` on the accounts beside the log at `database_url`, taking a password from
/// `password` when one is needed. Returns what to print.
pub async fn run(
    action: Action,
    database_url: &str,
    password: impl FnOnce() -> anyhow::Result<String>,
) -> anyhow::Result<String> {
    let store = Store::open(database_url).await?;
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as i64;
    let said = match action {
        Action::Add { login, agency, roles, name } => {
            let agency = AgencyCode::parse(&agency).map_err(|e| anyhow::anyhow!("--agency: {}", e.message))?;
            let secret = password()?;
            password::check_policy(&secret).map_err(anyhow::Error::msg)?;
            let user = User {
                display_name: name.unwrap_or_else(|| login.clone()),
                login,
                agency,
                roles: roles.into_iter().collect::<BTreeSet<_>>(),
                disabled: false,
                created_at_ms: now_ms,
            };
            store.add_user(&user, &password::hash(&secret)?).await?;
            let roles_named = user.roles.iter().map(|r| r.name().to_owned()).collect();
            let entry =
                Record::AccountAdded { login: user.login.clone(), agency: user.agency.to_string(), roles: roles_named };
            pending::add(store.writer(), now_ms, &entry).await?;
            let known = store.load_state().await?.state.agencies.contains_key(&user.agency);
            let warning = if known { "" } else { " (that agency is not registered in the room yet)" };
            format!("added {} of {} as {}{warning}", user.login, user.agency, roles_text(&user.roles))
        }
        Action::Passwd { login } => {
            let secret = password()?;
            password::check_policy(&secret).map_err(anyhow::Error::msg)?;
            anyhow::ensure!(store.set_password(&login, &password::hash(&secret)?, now_ms).await?, "no account {login}");
            let ended = store.close_sessions_of(&login).await?;
            let entry = Record::AccountChanged { login: login.clone(), changes: vec!["password".into()] };
            pending::add(store.writer(), now_ms, &entry).await?;
            format!("password of {login} changed; {ended} session(s) ended")
        }
        Action::Disable { login } => {
            anyhow::ensure!(store.set_disabled(&login, true).await?, "no account {login}");
            let ended = store.close_sessions_of(&login).await?;
            let entry = Record::AccountChanged { login: login.clone(), changes: vec!["disabled".into()] };
            pending::add(store.writer(), now_ms, &entry).await?;
            format!("{login} disabled; {ended} session(s) ended")
        }
        Action::Enable { login } => {
            anyhow::ensure!(store.set_disabled(&login, false).await?, "no account {login}");
            let entry = Record::AccountChanged { login: login.clone(), changes: vec!["enabled".into()] };
            pending::add(store.writer(), now_ms, &entry).await?;
            format!("{login} enabled")
        }
        Action::Token { login, name, scopes } => {
            let scopes = scopes.into_iter().collect::<BTreeSet<_>>();
            let (id, token) = store.issue_token(&login, &name, &scopes, now_ms).await?;
            tracing::info!(id, login = %login, "API token issued");
            let scopes = scopes.iter().map(|s| s.name().to_owned()).collect();
            pending::add(store.writer(), now_ms, &Record::TokenIssued { login, token_id: id, scopes }).await?;
            token
        }
        Action::Tokens { login } => store
            .tokens(login.as_deref())
            .await?
            .iter()
            .map(|t| {
                let scopes: Vec<&str> = t.scopes.iter().map(|s| s.name()).collect();
                let state = if t.revoked_at_ms.is_some() { " (revoked)" } else { "" };
                format!("{}\t{}\t{}\t{}{state}", t.id, t.login, scopes.join(","), t.name)
            })
            .collect::<Vec<_>>()
            .join("\n"),
        Action::Revoke { id } => {
            let login = store.tokens(None).await?.into_iter().find(|t| t.id == id).map(|t| t.login).unwrap_or_default();
            anyhow::ensure!(store.revoke_token(id, now_ms).await?, "no live token {id}");
            pending::add(store.writer(), now_ms, &Record::TokenRevoked { login, token_id: id }).await?;
            format!("token {id} revoked")
        }
        Action::List => {
            let users = store.users().await?;
            if users.is_empty() {
                "no accounts yet: create the first admin with `vigie user add LOGIN --agency CODE --role admin`".into()
            } else {
                users
                    .iter()
                    .map(|u| {
                        let state = if u.disabled { " (disabled)" } else { "" };
                        format!("{}\t{}\t{}\t{}{state}", u.login, u.agency, roles_text(&u.roles), u.display_name)
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            }
        }
    };
    store.close().await;
    Ok(said)
}

fn roles_text(roles: &BTreeSet<Role>) -> String {
    roles
        .iter()
        .map(|r| serde_json::to_value(r).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default())
        .collect::<Vec<_>>()
        .join(",")
}

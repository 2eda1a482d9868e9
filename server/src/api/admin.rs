//! Administration: the room's accounts, API tokens and agency-pair sharing rules. Admins only
//! (role `admin`, and a token's `admin` scope). Account and token changes are not room events; a
//! sharing rule is (it changes who sees what, so it is in the log and the record).
//!
//! Any change to an account but its display name ends its sessions and closes its streams: they
//! were opened as what it was. The last enabled admin cannot be disabled or lose the role, so the
//! room can always be administered from its own page.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::collections::BTreeSet;
use vigie_domain::api::{
    Account, AccountChanges, AgencyPolicy, ApiToken, Committed, ErrorCode, IssuedToken, NewAccount, NewApiToken,
    SharingRule,
};
use vigie_domain::authority::{Role, Scope};
use vigie_domain::record::Record;
use vigie_domain::Command;

use super::{agency_code, record_as, submit};
use crate::http::access::{roles, Auth, Routes, Rule};
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, ApiPath};
use crate::identity::caller::Credential;
use crate::identity::password;
use crate::identity::users::{check_login, User};
use crate::AppState;

pub fn routes() -> Routes {
    let admin = Rule::Roles(roles::ADMIN, Scope::Admin);
    Routes::default()
        .get("/api/v1/admin/users", admin, users)
        .post("/api/v1/admin/users", admin, add_user)
        .patch("/api/v1/admin/users/{login}", admin, change_user)
        .get("/api/v1/admin/tokens", admin, tokens)
        .post("/api/v1/admin/tokens", admin, issue_token)
        .delete("/api/v1/admin/tokens/{id}", admin, revoke_token)
        .get("/api/v1/admin/agency-policies", admin, policies)
        .post("/api/v1/admin/agency-policies", admin, set_policy)
        .get("/api/v1/sharing-rules", admin, sharing)
        .post("/api/v1/sharing-rules", admin, set_sharing)
}

/// The agencies that require a second factor of all their accounts.
async fn policies(State(app): State<AppState>) -> Result<Json<Vec<AgencyPolicy>>, ApiError> {
    let agencies = app.store.agencies_requiring_totp().await.map_err(internal("reading policies"))?;
    Ok(Json(agencies.into_iter().map(|agency| AgencyPolicy { agency, require_second_factor: true }).collect()))
}

/// Requires (or no longer) a second factor of every account of an agency: those without one enrol
/// at their next sign-in.
async fn set_policy(
    State(app): State<AppState>,
    Auth(caller): Auth,
    ApiJson(body): ApiJson<AgencyPolicy>,
) -> Result<Json<AgencyPolicy>, ApiError> {
    let agency = agency_code(&body.agency, "agency")?;
    app.store
        .set_agency_requires_totp(agency.as_str(), body.require_second_factor)
        .await
        .map_err(internal("setting a policy"))?;
    tracing::info!(agency = %agency, require = body.require_second_factor, "second-factor policy set");
    let entry =
        Record::PolicyChanged { agency: agency.to_string(), second_factor_required: body.require_second_factor };
    record_as(&app, &caller, entry).await?;
    Ok(Json(AgencyPolicy { agency: agency.to_string(), require_second_factor: body.require_second_factor }))
}

/// Every agency-pair rule of the room (an admin manages them all, whatever its own agency).
async fn sharing(State(app): State<AppState>) -> Json<Vec<SharingRule>> {
    Json(app.hub.read(|s| {
        s.sharing
            .iter()
            .map(|(from, to)| SharingRule { from: from.to_string(), to: to.to_string(), shared: true })
            .collect()
    }))
}

fn internal(doing: &'static str) -> impl Fn(anyhow::Error) -> ApiError {
    move |e| ApiError::internal(doing, e)
}

async fn users(State(app): State<AppState>) -> Result<Json<Vec<Account>>, ApiError> {
    let users = app.store.users().await.map_err(internal("listing accounts"))?;
    Ok(Json(users.iter().map(User::account).collect()))
}

fn roles_of(given: &[Role]) -> Result<BTreeSet<Role>, ApiError> {
    let roles: BTreeSet<Role> = given.iter().copied().collect();
    if roles.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::Invalid,
            "an account has at least one role",
        )
        .field("roles"));
    }
    Ok(roles)
}

fn policy(secret: &str) -> Result<String, ApiError> {
    password::check_policy(secret)
        .map_err(|why| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::Invalid, why).field("password"))?;
    password::hash(secret).map_err(internal("hashing a password"))
}

async fn add_user(
    State(app): State<AppState>,
    Auth(caller): Auth,
    ApiJson(body): ApiJson<NewAccount>,
) -> Result<(StatusCode, Json<Account>), ApiError> {
    check_login(&body.login)
        .map_err(|why| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::Invalid, why).field("login"))?;
    let user = User {
        display_name: body.display_name.clone().unwrap_or_else(|| body.login.clone()),
        login: body.login.clone(),
        agency: agency_code(&body.agency, "agency")?,
        roles: roles_of(&body.roles)?,
        disabled: false,
        created_at_ms: app.clock.now_ms(),
    };
    let secret = body.password;
    let hash =
        tokio::task::spawn_blocking(move || policy(&secret)).await.map_err(|e| internal("hashing")(e.into()))??;
    if app.store.user(&user.login).await.map_err(internal("reading an account"))?.is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::Conflict,
            format!("the login {} is taken", user.login),
        )
        .field("login"));
    }
    app.store.add_user(&user, &hash).await.map_err(internal("adding an account"))?;
    tracing::info!(login = %user.login, agency = %user.agency, "account added");
    let entry = Record::AccountAdded {
        login: user.login.clone(),
        agency: user.agency.to_string(),
        roles: user.roles.iter().map(|r| r.name().to_owned()).collect(),
    };
    record_as(&app, &caller, entry).await?;
    Ok((StatusCode::CREATED, Json(user.account())))
}

/// Whether `login` is the last enabled admin.
async fn last_admin(app: &AppState, login: &str) -> Result<bool, ApiError> {
    let users = app.store.users().await.map_err(internal("listing accounts"))?;
    let admins: Vec<&User> = users.iter().filter(|u| !u.disabled && u.roles.contains(&Role::Admin)).collect();
    Ok(admins.len() == 1 && admins[0].login == login)
}

async fn change_user(
    State(app): State<AppState>,
    Auth(caller): Auth,
    ApiPath(login): ApiPath<String>,
    ApiJson(body): ApiJson<AccountChanges>,
) -> Result<Json<Account>, ApiError> {
    let Some(before) = app.store.user(&login).await.map_err(internal("reading an account"))? else {
        return Err(ApiError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, format!("no account {login}")));
    };
    let agency = body.agency.as_deref().map(|a| agency_code(a, "agency")).transpose()?;
    let roles = body.roles.as_deref().map(roles_of).transpose()?;
    let loses_admin = body.disabled == Some(true) || roles.as_ref().is_some_and(|r| !r.contains(&Role::Admin));
    if loses_admin && before.roles.contains(&Role::Admin) && !before.disabled && last_admin(&app, &login).await? {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::Conflict,
            format!("{login} is the last admin: make another one first"),
        ));
    }
    let hash = match body.password.clone() {
        Some(secret) => Some(
            tokio::task::spawn_blocking(move || policy(&secret)).await.map_err(|e| internal("hashing")(e.into()))??,
        ),
        None => None,
    };
    let now_ms = app.clock.now_ms();
    app.store
        .update_user(&login, body.display_name.as_deref(), agency.as_ref(), roles.as_ref())
        .await
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::Invalid, e.to_string()))?;
    if let Some(disabled) = body.disabled {
        app.store.set_disabled(&login, disabled).await.map_err(internal("disabling an account"))?;
    }
    if let Some(hash) = &hash {
        app.store.set_password(&login, hash, now_ms).await.map_err(internal("setting a password"))?;
    }
    let reset = body.reset_second_factor == Some(true);
    if reset {
        app.store.remove_totp(&login).await.map_err(internal("resetting a second factor"))?;
    }
    let ends_sessions = agency.is_some() || roles.is_some() || body.disabled == Some(true) || hash.is_some() || reset;
    if ends_sessions {
        app.store.close_sessions_of(&login).await.map_err(internal("ending sessions"))?;
        app.access.end_login(&login);
    }
    tracing::info!(login = %login, by = %caller.principal.user, ends_sessions, "account changed");
    let after = app.store.user(&login).await.map_err(internal("reading an account"))?.expect("it was there");
    let changes = account_changes(&before, &after, hash.is_some(), reset);
    if !changes.is_empty() {
        record_as(&app, &caller, Record::AccountChanged { login: login.clone(), changes }).await?;
    }
    if reset {
        record_as(&app, &caller, Record::SecondFactorReset { login: login.clone() }).await?;
    }
    Ok(Json(after.account()))
}

/// What changed in an account, in words for the record (never the password itself).
fn account_changes(before: &User, after: &User, password: bool, reset: bool) -> Vec<String> {
    let roles = |u: &User| u.roles.iter().map(|r| r.name().to_owned()).collect::<Vec<_>>().join("+");
    let mut changes = Vec::new();
    if before.display_name != after.display_name {
        changes.push(format!("name: {} → {}", before.display_name, after.display_name));
    }
    if before.agency != after.agency {
        changes.push(format!("agency: {} → {}", before.agency, after.agency));
    }
    if before.roles != after.roles {
        changes.push(format!("roles: {} → {}", roles(before), roles(after)));
    }
    if before.disabled != after.disabled {
        changes.push(if after.disabled { "disabled" } else { "enabled" }.into());
    }
    if password {
        changes.push("password".into());
    }
    if reset {
        changes.push("second factor reset".into());
    }
    changes
}

async fn tokens(State(app): State<AppState>) -> Result<Json<Vec<ApiToken>>, ApiError> {
    Ok(Json(app.store.tokens(None).await.map_err(internal("listing tokens"))?))
}

async fn issue_token(
    State(app): State<AppState>,
    Auth(caller): Auth,
    ApiJson(body): ApiJson<NewApiToken>,
) -> Result<(StatusCode, Json<IssuedToken>), ApiError> {
    let refuse = |field: &str, why: String| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::Invalid, why).field(field.to_owned())
    };
    crate::identity::tokens::check_name(&body.name).map_err(|why| refuse("name", why))?;
    if body.scopes.is_empty() {
        return Err(refuse("scopes", "a token has at least one scope".into()));
    }
    if app.store.user(&body.login).await.map_err(internal("reading an account"))?.is_none() {
        return Err(ApiError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, format!("no account {}", body.login))
            .field("login"));
    }
    let scopes = body.scopes.iter().copied().collect();
    let (id, token) = app
        .store
        .issue_token(&body.login, &body.name, &scopes, app.clock.now_ms())
        .await
        .map_err(|e| ApiError::new(StatusCode::CONFLICT, ErrorCode::LimitReached, e.to_string()))?;
    tracing::info!(id, login = %body.login, "API token issued");
    let entry = Record::TokenIssued {
        login: body.login.clone(),
        token_id: id,
        scopes: body.scopes.iter().map(|s| s.name().to_owned()).collect(),
    };
    record_as(&app, &caller, entry).await?;
    Ok((StatusCode::CREATED, Json(IssuedToken { id, token })))
}

async fn revoke_token(
    State(app): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    let tokens = app.store.tokens(None).await.map_err(internal("listing tokens"))?;
    let login = tokens.into_iter().find(|t| t.id == id).map(|t| t.login).unwrap_or_default();
    if !app.store.revoke_token(id, app.clock.now_ms()).await.map_err(internal("revoking a token"))? {
        return Err(ApiError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, format!("no live token {id}")));
    }
    app.access.end(&Credential::Token(id));
    tracing::info!(id, "API token revoked");
    record_as(&app, &caller, Record::TokenRevoked { login, token_id: id }).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn set_sharing(
    State(app): State<AppState>,
    Auth(caller): Auth,
    ApiJson(body): ApiJson<SharingRule>,
) -> Result<Json<Committed>, ApiError> {
    let command = Command::SetSharing {
        from: agency_code(&body.from, "from")?,
        to: agency_code(&body.to, "to")?,
        shared: body.shared,
    };
    Ok(Json(submit(&app, &caller, command).await?))
}

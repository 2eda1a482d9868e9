//! Signing in and out: `POST /api/v1/session` (login and password → a session cookie),
//! `GET /api/v1/session` (who this browser is), `DELETE /api/v1/session` (sign out).
//!
//! A failed sign-in answers 401 with one message whatever the reason (unknown login, wrong
//! password, disabled account) after the same work; repeated failures are slowed down per login
//! and per address (429 with `Retry-After`, also without telling whether the login exists).

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use vigie_domain::api::ErrorCode;
use vigie_domain::api::{DemoAccount, Me, SignIn, TotpCode, TotpEnrolment};
use vigie_domain::record::Record;

use crate::http::access::{Auth, Routes, Rule};
use crate::http::error::ApiError;
use crate::http::extract::ApiJson;
use crate::identity::caller::{session_token, Caller, Credential};
use crate::identity::sessions::digest;
use crate::identity::sessions::{ABSOLUTE_MS, COOKIE};
use crate::identity::totp;
use crate::AppState;

pub fn routes() -> Routes {
    Routes::default()
        .post("/api/v1/session", Rule::Public, sign_in)
        .get("/api/v1/session", Rule::Public, whoami)
        .delete("/api/v1/session", Rule::Public, sign_out)
        .get("/api/v1/session/demo-accounts", Rule::Public, demo_accounts)
        .post("/api/v1/session/totp", Rule::Session, begin_totp)
        .post("/api/v1/session/totp/confirm", Rule::Session, confirm_totp)
}

/// The demo's accounts, offered for one click on the sign-in page — in `vigie demo` only; a real
/// room answers 404.
async fn demo_accounts(State(app): State<AppState>) -> Result<Json<Vec<DemoAccount>>, ApiError> {
    if !app.config.demo {
        return Err(ApiError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, "only a demo offers its accounts"));
    }
    let users = app.store.users().await.map_err(|e| ApiError::internal("listing the demo's accounts", e))?;
    Ok(Json(
        users
            .into_iter()
            .filter(|u| !u.disabled)
            .map(|u| DemoAccount { login: u.login, agency: u.agency.to_string(), roles: u.roles.into_iter().collect() })
            .collect(),
    ))
}

fn refused() -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, ErrorCode::SignInFailed, "wrong login or password")
}

async fn sign_in(State(app): State<AppState>, request: Request) -> Result<Response, ApiError> {
    let address = crate::http::peer_ip(&request);
    // A session the browser already holds is ended: a sign-in always starts a fresh one (no
    // fixation: a token planted before sign-in never becomes a signed-in session).
    if let Some(old) = session_token(request.headers()) {
        app.store.close_session(old).await.map_err(|e| ApiError::internal("closing a session", e))?;
        app.access.end(&Credential::Session(digest(old)));
    }
    let body = axum::body::to_bytes(request.into_body(), 4 * 1024)
        .await
        .map_err(|_| ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::TooLarge, "a sign-in is a few bytes"))?;
    let SignIn { login, password, code } = serde_json::from_slice(&body)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::BadBody, format!("not a sign-in: {e}")))?;
    let now_ms = app.clock.now_ms();
    let wait_ms = app.sign_ins.wait_ms(&login, address, now_ms);
    if wait_ms > 0 {
        let seconds = (wait_ms + 999) / 1000;
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::TooManyAttempts,
            format!("too many failed sign-ins; try again in {seconds} s"),
        )
        .retry_after(u32::try_from(seconds).unwrap_or(u32::MAX)));
    }
    let principal = app.store.sign_in(&login, &password).await.map_err(|e| ApiError::internal("signing in", e))?;
    let Some(principal) = principal else {
        app.sign_ins.failed(&login, address, now_ms);
        super::record_refusal(&app, address, &login, "wrong login or password").await;
        return Err(refused());
    };
    // The second factor: an account that has one gives its current code (once); one that must have
    // one and has not gets a session that can only enrol (not in a demo, whose accounts are for
    // trying the room).
    let factor = app.store.factor(&principal.user).await.map_err(|e| ApiError::internal("signing in", e))?;
    let enrolling = if factor.enabled {
        let Some(code) = code else {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::SecondFactorRequired,
                "enter the code from your authenticator app",
            ));
        };
        let secret = factor.secret.as_deref().unwrap_or_default();
        let step = totp::matching_step(secret, &principal.user, &code, now_ms)
            .map_err(|e| ApiError::internal("checking a code", e))?;
        let fresh = match step {
            Some(step) => {
                app.store.use_totp_step(&principal.user, step).await.map_err(|e| ApiError::internal("signing in", e))?
            }
            None => false,
        };
        if !fresh {
            app.sign_ins.failed(&login, address, now_ms);
            super::record_refusal(&app, address, &login, "wrong or already used code").await;
            return Err(ApiError::new(StatusCode::UNAUTHORIZED, ErrorCode::SignInFailed, "wrong or already used code"));
        }
        false
    } else {
        !app.config.demo
            && totp::required(&app.store, &principal).await.map_err(|e| ApiError::internal("signing in", e))?
    };
    app.sign_ins.succeeded(&login);
    let entry = Record::SignedIn { login: principal.user.clone(), second_factor: factor.enabled };
    super::record(&app, crate::audit::actor_of(&principal), entry).await?;
    let token = app
        .store
        .open_session(&principal.user, now_ms, enrolling)
        .await
        .map_err(|e| ApiError::internal("opening a session", e))?;
    let secure =
        app.config.tls_cert.is_some() || app.config.public_url.as_deref().is_some_and(|u| u.starts_with("https://"));
    let cookie = format!(
        "{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{}",
        ABSOLUTE_MS / 1000,
        if secure { "; Secure" } else { "" }
    );
    let mut response = Json(Me { enrolling, ..Me::from(principal) }).into_response();
    response.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).expect("hex and ASCII"));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

async fn whoami(Auth(caller): Auth) -> Json<Me> {
    Json(Me { enrolling: caller.enrolling, ..caller.principal.into() })
}

/// The session's stored key: the second factor belongs to people, not to tokens.
fn session_key(caller: &Caller) -> Result<&str, ApiError> {
    match &caller.credential {
        Credential::Session(key) => Ok(key),
        Credential::Token(_) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            "a second factor is enrolled from a signed-in browser, not with a token",
        )),
    }
}

/// Starts enrolling a second factor: a new secret, shown once (QR code and base32).
async fn begin_totp(State(app): State<AppState>, Auth(caller): Auth) -> Result<Response, ApiError> {
    session_key(&caller)?;
    let login = &caller.principal.user;
    let factor = app.store.factor(login).await.map_err(|e| ApiError::internal("reading a second factor", e))?;
    if factor.enabled {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::Conflict,
            "a second factor is already set up; an admin can reset it (a lost phone)",
        ));
    }
    let secret = totp::new_secret();
    app.store.begin_totp(login, &secret).await.map_err(|e| ApiError::internal("starting enrolment", e))?;
    let (otpauth_url, qr_svg) =
        totp::enrolment(&secret, login).map_err(|e| ApiError::internal("drawing a QR code", e))?;
    let mut answer = Json(TotpEnrolment { secret, otpauth_url, qr_svg }).into_response();
    answer.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(answer)
}

/// Confirms enrolment with a first code: the factor is on, and the session may do everything.
async fn confirm_totp(
    State(app): State<AppState>,
    Auth(caller): Auth,
    ApiJson(body): ApiJson<TotpCode>,
) -> Result<Json<Me>, ApiError> {
    let key = session_key(&caller)?.to_owned();
    let login = &caller.principal.user;
    let factor = app.store.factor(login).await.map_err(|e| ApiError::internal("reading a second factor", e))?;
    let Some(secret) = factor.secret.filter(|_| !factor.enabled) else {
        return Err(ApiError::new(StatusCode::CONFLICT, ErrorCode::Conflict, "start enrolment first"));
    };
    let now_ms = app.clock.now_ms();
    let step = totp::matching_step(&secret, login, &body.code, now_ms)
        .map_err(|e| ApiError::internal("checking a code", e))?;
    let fresh = match step {
        Some(step) => app.store.use_totp_step(login, step).await.map_err(|e| ApiError::internal("enrolling", e))?,
        None => false,
    };
    if !fresh {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::Invalid,
            "that code is not the current one",
        )
        .field("code"));
    }
    app.store.finish_enrolment(&key).await.map_err(|e| ApiError::internal("enrolling", e))?;
    tracing::info!(login = %login, "second factor enrolled");
    super::record_as(&app, &caller, Record::SecondFactorEnrolled { login: login.clone() }).await?;
    Ok(Json(Me { enrolling: false, ..caller.principal.into() }))
}

/// Ends the session on the server (its open streams close at once) and clears the cookie.
async fn sign_out(State(app): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(token) = session_token(&headers) {
        let who = app.store.session(token, app.clock.now_ms()).await.ok().flatten();
        app.store.close_session(token).await.map_err(|e| ApiError::internal("closing a session", e))?;
        app.access.end(&Credential::Session(digest(token)));
        if let Some((principal, _)) = who {
            let entry = Record::SignedOut { login: principal.user.clone() };
            super::record(&app, crate::audit::actor_of(&principal), entry).await?;
        }
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    let expired = format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    response.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&expired).expect("ASCII"));
    Ok(response)
}

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
use vigie_domain::api::{DemoAccount, Me, SignIn};

use crate::http::access::{Auth, Routes, Rule};
use crate::http::error::ApiError;
use crate::identity::caller::{session_token, Credential};
use crate::identity::sessions::digest;
use crate::identity::sessions::{ABSOLUTE_MS, COOKIE};
use crate::AppState;

pub fn routes() -> Routes {
    Routes::default()
        .post("/api/v1/session", Rule::Public, sign_in)
        .get("/api/v1/session", Rule::Public, whoami)
        .delete("/api/v1/session", Rule::Public, sign_out)
        .get("/api/v1/session/demo-accounts", Rule::Public, demo_accounts)
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
    let SignIn { login, password } = serde_json::from_slice(&body)
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
        return Err(refused());
    };
    app.sign_ins.succeeded(&login);
    let token = app
        .store
        .open_session(&principal.user, now_ms)
        .await
        .map_err(|e| ApiError::internal("opening a session", e))?;
    let secure =
        app.config.tls_cert.is_some() || app.config.public_url.as_deref().is_some_and(|u| u.starts_with("https://"));
    let cookie = format!(
        "{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{}",
        ABSOLUTE_MS / 1000,
        if secure { "; Secure" } else { "" }
    );
    let mut response = Json(Me::from(principal)).into_response();
    response.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).expect("hex and ASCII"));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

async fn whoami(Auth(caller): Auth) -> Json<Me> {
    Json(caller.principal.into())
}

/// Ends the session on the server (its open streams close at once) and clears the cookie.
async fn sign_out(State(app): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(token) = session_token(&headers) {
        app.store.close_session(token).await.map_err(|e| ApiError::internal("closing a session", e))?;
        app.access.end(&Credential::Session(digest(token)));
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    let expired = format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    response.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&expired).expect("ASCII"));
    Ok(response)
}

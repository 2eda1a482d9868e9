//! The HTTP API under `/api/v1/`, one module per feature, each exporting `router()`; this module
//! only merges them. The contract is `openapi.json`, served at `/api/v1/openapi.json`.

mod admin;
mod agencies;
mod audit;
mod basemap;
pub mod cap;
mod incidents;
mod log;
mod messages;
pub mod replay;
mod search;
pub mod session;
mod stream;
mod units;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use vigie_domain::api::ErrorCode;
use vigie_domain::{Command, Event};

use crate::http::access::{Routes, Rule};
use crate::http::error::ApiError;
use crate::identity::caller::Caller;
use crate::sequencer::{Author, Health};
use crate::AppState;

/// Bodies of ordinary commands: an incident with a full area polygon fits with room to spare.
pub const COMMAND_BODY_LIMIT: usize = 64 * 1024;
/// Signing in and enrolling a second factor: a login, a password and a code.
pub const SESSION_BODY_LIMIT: usize = 4 * 1024;
/// Position batches: up to 10 000 reports.
pub const POSITIONS_BODY_LIMIT: usize = 4 * 1024 * 1024;

pub const OPENAPI: &str = include_str!("openapi.json");

/// Every route of the API with its rule ([`Routes`]): the router is built from it, and the
/// route-table test walks it.
pub fn routes(state: &AppState) -> Routes {
    let commands = Routes::default()
        .merge(admin::routes())
        .merge(audit::routes())
        .merge(agencies::routes())
        .merge(basemap::routes())
        .merge(incidents::routes())
        .merge(messages::routes())
        .merge(log::routes())
        .merge(search::routes())
        .wrap(|r| r.layer(DefaultBodyLimit::max(COMMAND_BODY_LIMIT)))
        // Registered after the general limit so their own limits apply.
        .merge(units::routes())
        .merge(cap::routes())
        .wrap(|r| r.layer(axum::middleware::from_fn_with_state(state.clone(), intake)));
    Routes::default()
        .get("/healthz", Rule::Public, health)
        .get("/api/v1/openapi.json", Rule::Public, openapi)
        .merge(commands)
        .merge(replay::routes())
        .merge(session::routes().wrap(|r| r.layer(DefaultBodyLimit::max(SESSION_BODY_LIMIT))))
        .merge(stream::routes())
}

/// How long a command's body waits for room in the intake before it is refused with 503.
const INTAKE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Admits a command's body into the intake: the bytes of command bodies being received, parsed
/// or waiting for the writer are bounded (`VIGIE_INTAKE_BYTES`), so a flood of large batches
/// cannot hold memory without limit. A body takes its declared length (or the largest a command
/// may have, when undeclared) before it is read; past the bound it waits up to [`INTAKE_WAIT`],
/// then gets 503 with `Retry-After`. Reads pass freely.
async fn intake(State(app): State<AppState>, request: Request, next: Next) -> Response {
    // Reads pass; so does a request without a credential, which the gate refuses before its body
    // is read (an anonymous client holds none of the intake).
    if matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS)
        || request.extensions().get::<Caller>().is_none()
    {
        return next.run(request).await;
    }
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(POSITIONS_BODY_LIMIT as u64);
    let share = declared.clamp(1, (POSITIONS_BODY_LIMIT as u64).min(app.config.intake_bytes as u64)) as u32;
    // One address may hold a quarter of the intake: a host that declares large bodies and sends
    // them slowly (until the request deadline) cannot take the whole room's intake.
    let peer = crate::http::peer_ip(&request);
    let Some(_address_share) = app.intake_by_address.take_many(peer, share as usize) else {
        return ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::Busy,
            "this address is sending too much at once; retry in a moment",
        )
        .retry_after(1)
        .into_response();
    };
    match tokio::time::timeout(INTAKE_WAIT, app.intake.acquire_many(share)).await {
        Ok(Ok(_held_until_answered)) => next.run(request).await,
        _ => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Busy,
            "the room is receiving too much at once; retry in a moment",
        )
        .retry_after(1)
        .into_response(),
    }
}

/// Healthy when the writer runs and is in step with the log, and the store answers: 200, else 503.
async fn health(State(state): State<AppState>) -> Response {
    let writer = state.sequencer.health();
    let store_ok = state.store.is_healthy().await;
    let ok = writer == Health::Ok && store_ok;
    let body = json!({
        "status": if ok { "ok" } else { "unhealthy" },
        "seq": state.hub.read(|s| s.seq),
        "writer": writer,
        "store": if store_ok { "ok" } else { "unreachable" },
    });
    let status = if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(body)).into_response()
}

async fn openapi() -> impl IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], OPENAPI)
}

pub use vigie_domain::api::Committed;

/// Parses an agency code given in `field` of a request.
pub fn agency_code(code: &str, field: &str) -> Result<vigie_domain::AgencyCode, ApiError> {
    Ok(vigie_domain::AgencyCode::parse(code).map_err(|r| r.within(field))?)
}

/// The answer to a command that creates something: 201 with the new id under `key`, the seq and
/// the events. `id_of` reads the id from the first event; a creation without one is a server bug
/// (reported as `doing`).
pub fn created(
    committed: Committed,
    doing: &str,
    key: &str,
    id_of: impl Fn(&Event) -> Option<u64>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Some(id) = committed.events.first().and_then(|e| id_of(&e.event)) else {
        return Err(ApiError::internal(doing, format!("no event carrying {key}")));
    };
    let mut body = serde_json::Map::new();
    body.insert(key.into(), id.into());
    body.insert("seq".into(), committed.seq.into());
    body.insert("events".into(), json!(committed.events));
    Ok((StatusCode::CREATED, Json(Value::Object(body))))
}

/// The agency named in `field`, or the caller's own when none is given. Naming another one is not
/// refused here: the domain's table decides (a dispatcher may not act for another agency; an admin
/// registers units for any).
pub fn or_own(given: Option<&str>, caller: &Caller, field: &str) -> Result<vigie_domain::AgencyCode, ApiError> {
    match given {
        Some(code) => agency_code(code, field),
        None => Ok(caller.principal.agency.clone()),
    }
}

/// Appends `record` to the record for oversight as `actor` and waits until it is durable: what it
/// records is not answered before (an access the record would miss is refused instead).
pub async fn record(app: &AppState, actor: String, record: vigie_domain::record::Record) -> Result<(), ApiError> {
    Ok(crate::audit::record(&app.sequencer, actor, record).await?)
}

/// [`record`] as the caller.
pub async fn record_as(app: &AppState, caller: &Caller, entry: vigie_domain::record::Record) -> Result<(), ApiError> {
    record(app, crate::audit::actor_of(&caller.principal), entry).await
}

/// Records a refused sign-in (best effort: a failure to record it is logged, and the refusal
/// stands). `login` is what was typed, cut to 64 characters.
pub async fn record_refusal(app: &AppState, address: std::net::IpAddr, login: &str, reason: &str) {
    let login: String = login.chars().take(64).collect();
    let entry = vigie_domain::record::Record::SignInFailed { login, reason: reason.into() };
    if let Err(e) = record(app, format!("sign-in:{address}"), entry).await {
        tracing::warn!(error = %e.message, "could not record a refused sign-in");
    }
}

/// Submits a command as the caller and waits until it is committed (the domain's table authorises
/// it against the room when it is decided).
pub async fn submit(state: &AppState, caller: &Caller, command: Command) -> Result<Committed, ApiError> {
    let events = state.sequencer.submit(Author::Principal(caller.principal.clone()), command).await?;
    let seq = events.last().map_or(0, |e| e.seq);
    Ok(Committed { seq, events })
}

//! The HTTP API under `/api/v1/`, one module per feature, each exporting `router()`; this module
//! only merges them. The contract is `openapi.json`, served at `/api/v1/openapi.json`.

mod agencies;
mod basemap;
pub mod error;
pub mod extract;
mod incidents;
mod log;
mod messages;
pub mod replay;
mod units;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{json, Value};
use vigie_domain::{Command, Event, LoggedEvent, Seq};

use crate::AppState;
use error::ApiError;

/// Bodies of ordinary commands: an incident with a full area polygon fits with room to spare.
pub const COMMAND_BODY_LIMIT: usize = 64 * 1024;
/// Position batches: up to 10 000 reports.
pub const POSITIONS_BODY_LIMIT: usize = 4 * 1024 * 1024;

pub const OPENAPI: &str = include_str!("openapi.json");

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health))
        .route("/api/v1/openapi.json", get(openapi))
        .merge(agencies::router())
        .merge(basemap::router())
        .merge(incidents::router())
        .merge(messages::router())
        .merge(log::router())
        .layer(DefaultBodyLimit::max(COMMAND_BODY_LIMIT))
        // Registered after the general limit so their own limits apply.
        .merge(units::router())
        .merge(replay::router())
}

async fn health(state: axum::extract::State<AppState>) -> impl IntoResponse {
    Json(json!({ "status": "ok", "seq": state.hub.read(|s| s.seq) }))
}

async fn openapi() -> impl IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], OPENAPI)
}

/// What every accepted command answers: the seq the room is at after it, and its events.
#[derive(Serialize)]
pub struct Committed {
    pub seq: Seq,
    pub events: Vec<LoggedEvent>,
}

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

/// Submits a command as `actor` and waits until it is committed.
pub async fn submit(state: &AppState, actor: &str, command: Command) -> Result<Committed, ApiError> {
    let events = state.sequencer.submit(actor, command).await?;
    let seq = events.last().map_or(0, |e| e.seq);
    Ok(Committed { seq, events })
}

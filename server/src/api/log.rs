//! Reading the room: the current state, a summary, server stats, and the log by seq or time range.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use vigie_domain::api::EventsPage;
use vigie_domain::authority::Scope;
use vigie_domain::time::{check_ms, EARLIEST_MS, LATEST_MS};
use vigie_domain::visibility::{record_for, view, Viewer};
use vigie_domain::wire::ServerMessage;
use vigie_domain::{Seq, Summary};

use crate::replay::seek::state_after_seq;
use crate::store::replay::Log;

use crate::http::access::{roles, Auth, Routes, Rule};
use crate::http::error::ApiError;
use crate::http::extract::ApiQuery;
use crate::AppState;

/// Most events one page of `/api/v1/events` returns.
pub const MAX_PAGE: i64 = 5_000;

pub fn routes() -> Routes {
    let read = Rule::Roles(roles::READ_ROOM, Scope::RoomRead);
    Routes::default()
        .get("/api/v1/state", read, current_state)
        .get("/api/v1/summary", read, summary)
        .get("/api/v1/stats", read, stats)
        .get("/api/v1/events", read, events)
}

/// The caller's picture of the room ([`view`]).
async fn current_state(State(state): State<AppState>, Auth(caller): Auth) -> Json<ServerMessage> {
    let viewer = caller.principal.viewer();
    let room = state.hub.read(|s| view(s, &viewer));
    Json(ServerMessage::Snapshot { seq: room.seq, state: Box::new(room) })
}

/// The summary of the caller's picture: figures count only what it may see.
async fn summary(State(state): State<AppState>, Auth(caller): Auth) -> Json<Value> {
    let now_ms = state.clock.now_ms();
    let viewer = caller.principal.viewer();
    let stale = state.config.stale_after_ms();
    let (seq, summary) = state.hub.read(|s| match &viewer {
        Viewer::Room => (s.seq, Summary::of(s, now_ms, stale)),
        viewer => (s.seq, Summary::of(&view(s, viewer), now_ms, stale)),
    });
    Json(json!({ "seq": seq, "at_ms": now_ms, "summary": summary }))
}

async fn stats(State(state): State<AppState>) -> Json<Value> {
    let hub = state.hub.stats();
    Json(json!({
        "seq": state.hub.read(|s| s.seq),
        "stream_clients": hub.subscribers,
        "queued_bytes": hub.queued_bytes,
        "max_client_queued_bytes": hub.max_outbox_bytes,
        "outbox_limit_bytes": state.config.outbox_bytes,
        "cot": state.cot_counters.values(),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventsQuery {
    #[serde(default)]
    after_seq: Seq,
    limit: Option<i64>,
    from_ms: Option<i64>,
    to_ms: Option<i64>,
    /// Leave out position batches (the timeline's view of the log).
    #[serde(default)]
    without_positions: bool,
}

/// A page of the log as the caller may read it ([`record_for`]): an agency's page leaves out what
/// it may not see (so a page may hold fewer events than `limit`; `next_after_seq` goes on).
async fn events(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<EventsQuery>,
) -> Result<Json<EventsPage>, ApiError> {
    let limit = q.limit.unwrap_or(1_000);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::bad_request("limit", format!("limit is 1 to {MAX_PAGE}")));
    }
    if q.after_seq > i64::MAX as u64 {
        return Err(ApiError::bad_request("after_seq", format!("after_seq is at most {}", i64::MAX)));
    }
    let head_seq = state.hub.read(|s| s.seq);
    let page = match (q.from_ms, q.to_ms, q.without_positions) {
        (None, None, false) => state.store.events_after(q.after_seq, limit).await,
        (from, to, without_positions) => {
            let from_ms = from.map(|t| check_ms("from_ms", t)).transpose()?.unwrap_or(EARLIEST_MS);
            let to_ms = to.map(|t| check_ms("to_ms", t)).transpose()?.unwrap_or(LATEST_MS);
            if from_ms >= to_ms {
                return Err(ApiError::bad_request("to_ms", "to_ms must be after from_ms"));
            }
            state.store.events_between(from_ms, to_ms, q.after_seq, limit, without_positions).await
        }
    }
    .map_err(|e| ApiError::internal("reading the log", e))?;
    let next_after_seq = page.more.then(|| page.events.last().map(|e| e.seq)).flatten();
    let viewer = caller.principal.viewer();
    let events = match (page.events.first(), &viewer) {
        (Some(first), Viewer::Agency(_)) => {
            let mut room = state_after_seq(&state.store, Log::Live, first.seq - 1)
                .await
                .map_err(|e| ApiError::internal("reading the log", e))?;
            record_for(&mut room, &viewer, page.events)
        }
        _ => page.events,
    };
    Ok(Json(EventsPage { events, next_after_seq, head_seq: Some(head_seq) }))
}

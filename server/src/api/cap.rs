//! CAP 1.2: alerts in (`POST /api/v1/cap`, as `vigie cap import` and the feed poller use it), and
//! the room's incidents out — each as a CAP alert, and an Atom feed of those every agency sees, the
//! shape a public warning gateway (FR-Alert, IPAWS) ingests.
//!
//! The body is XML, parsed by `vigie_adapters::cap` (no DTD, no external entity, no XInclude,
//! at most 1 MiB): a refusal is a 400 naming the element, and reads nothing from disk or network.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use vigie_adapters::cap::alert::{CapAlert, MAX_ALERT_BYTES};
use vigie_adapters::cap::{feed, room};
use vigie_domain::api::ErrorCode;
use vigie_domain::authority::Scope;
use vigie_domain::{Event, IncidentId, IncidentStatus};

use super::submit;
use crate::http::access::{roles, Auth, Routes, Rule};
use crate::http::error::ApiError;
use crate::http::extract::ApiPath;
use crate::AppState;

/// CAP's media type (RFC 7303's `+xml` form, as the OASIS profile names it).
pub const CAP_TYPE: &str = "application/cap+xml";

pub fn routes() -> Routes {
    let read = Rule::Roles(roles::READ_ROOM, Scope::RoomRead);
    let import = Routes::default()
        .post("/api/v1/cap", Rule::Roles(roles::RECEIVE_ALERTS, Scope::IncidentsWrite), import)
        .wrap(|r| r.layer(DefaultBodyLimit::max(MAX_ALERT_BYTES + 1024)));
    Routes::default()
        .get("/api/v1/incidents/{incident_id}/cap", read, incident)
        .get("/api/v1/cap/feed", read, atom)
        .merge(import)
}

fn cap_error(e: vigie_adapters::cap::alert::CapError) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::BadRequest, e.message).field(e.field)
}

/// Brings one CAP 1.2 alert into the room: 201 with the new alert's id, 200 for an update or a
/// cancellation (the id of the alert it acted on), 409 for a message already received.
async fn import(
    State(state): State<AppState>,
    Auth(caller): Auth,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let media = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let media = media.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if !matches!(media.as_str(), CAP_TYPE | "application/xml" | "text/xml") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedMediaType,
            format!("send a CAP 1.2 alert as {CAP_TYPE} (or application/xml)"),
        ));
    }
    let cap = CapAlert::parse(&body).map_err(cap_error)?;
    let mut command = room::receive(&cap).map_err(cap_error)?;
    state
        .geocoder
        .resolve(&state.store, &mut command)
        .await
        .map_err(|e| ApiError::internal("reading geocodes", format!("{e:#}")))?;
    let committed = submit(&state, &caller, command).await?;
    let acted = committed.events.iter().find_map(|e| match &e.event {
        Event::AlertIssued { alert } => Some((StatusCode::CREATED, alert.alert_id)),
        Event::AlertUpdated { alert } => Some((StatusCode::OK, alert.alert_id)),
        Event::AlertCancelled { alert_id } => Some((StatusCode::OK, *alert_id)),
        _ => None,
    });
    let Some((status, alert_id)) = acted else {
        return Err(ApiError::internal("importing an alert", "the command committed no alert event"));
    };
    Ok((status, Json(json!({ "alert_id": alert_id.0, "seq": committed.seq }))))
}

fn xml(body: String, media: &'static str) -> Response {
    ([(header::CONTENT_TYPE, media)], body).into_response()
}

/// The sender CAP messages of this room carry: its log's name (`vigie.room` unless set).
fn sender(state: &AppState) -> String {
    state.config.log_name.clone()
}

/// One incident as a CAP 1.2 alert, through the same audience filter and record as its details.
async fn incident(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<u32>,
) -> Result<Response, ApiError> {
    let incident = super::incidents::opened(&state, &caller, IncidentId(id)).await?;
    let lead = state.hub.read(|s| s.agencies.get(&incident.lead_agency).cloned());
    Ok(xml(room::incident(&incident, lead.as_ref(), &sender(&state)).to_xml(), CAP_TYPE))
}

/// An Atom feed of the room's public alerts: every open incident the whole room sees (never a
/// restricted one), newest change first, each linking to its CAP alert.
async fn atom(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let base = state.config.public_url.clone().unwrap_or_else(|| {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
        format!("http://{host}")
    });
    let base = base.trim_end_matches('/');
    let name = sender(&state);
    let (mut entries, updated) = state.hub.read(|s| {
        let entries: Vec<(i64, feed::Entry)> = s
            .incidents
            .values()
            .filter(|i| !i.restricted && i.status != IncidentStatus::Closed)
            .map(|i| {
                (
                    i.updated_at_ms,
                    feed::Entry {
                        id: format!("urn:vigie:{name}:{}:{}", i.incident_id, i.updated_at_ms),
                        title: format!("{} {:?} — {}", i.incident_id, i.kind, i.address),
                        updated_ms: i.updated_at_ms,
                        summary: format!("{:?} · {:?} · {}", i.priority, i.status, i.lead_agency),
                        cap_url: format!("{base}/api/v1/incidents/{}/cap", i.incident_id.0),
                    },
                )
            })
            .collect();
        (entries, s.at_ms)
    });
    entries.sort_by_key(|e| std::cmp::Reverse(e.0));
    let entries: Vec<feed::Entry> = entries.into_iter().map(|(_, e)| e).take(feed::MAX_ITEMS).collect();
    let body = feed::atom(
        &format!("Vigie {name}"),
        &format!("urn:vigie:{name}"),
        &format!("{base}/api/v1/cap/feed"),
        updated,
        &entries,
    );
    xml(body, "application/atom+xml")
}

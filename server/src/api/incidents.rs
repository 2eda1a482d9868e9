//! Incidents: creation, updates, status lifecycle, unit assignment and notes.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, patch, post};
use axum::{Json, Router};
use serde_json::Value;
use vigie_domain::api::{AddNote, AssignUnit, ChangeIncidentStatus, CreateIncident, LonLat, UpdateIncident};
use vigie_domain::event::IncidentChanges;
use vigie_domain::{Area, Command, Event, IncidentId, Point, UnitId};

use super::{agency_code as agency, created, submit, Committed};
use crate::http::error::ApiError;
use crate::http::extract::{Actor, ApiJson, ApiPath};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/incidents", post(create))
        .route("/api/v1/incidents/{incident_id}", patch(update))
        .route("/api/v1/incidents/{incident_id}/status", post(change_status))
        .route("/api/v1/incidents/{incident_id}/assignments", post(assign))
        .route("/api/v1/incidents/{incident_id}/assignments/{unit_id}", delete(release))
        .route("/api/v1/incidents/{incident_id}/notes", post(add_note))
}

fn point(l: &LonLat, field: &str) -> Result<Point, ApiError> {
    Ok(Point::parse(l.lon, l.lat).map_err(|r| r.within(field))?)
}

fn parse_area(ring: &[[f64; 2]]) -> Result<Area, ApiError> {
    Ok(Area::parse(ring).map_err(|r| r.within("area"))?)
}

async fn create(
    State(state): State<AppState>,
    Actor(actor): Actor,
    ApiJson(body): ApiJson<CreateIncident>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let command = Command::CreateIncident {
        kind: body.kind,
        priority: body.priority,
        location: point(&body.location, "location")?,
        area: body.area.as_deref().map(parse_area).transpose()?,
        address: body.address,
        lead_agency: agency(&body.lead_agency, "lead_agency")?,
        restricted: false,
    };
    let committed = submit(&state, &actor, command).await?;
    created(committed, "creating an incident", "incident_id", |e| match e {
        Event::IncidentCreated { incident_id, .. } => Some(u64::from(incident_id.0)),
        _ => None,
    })
}

async fn update(
    State(state): State<AppState>,
    Actor(actor): Actor,
    ApiPath(incident_id): ApiPath<u32>,
    ApiJson(body): ApiJson<UpdateIncident>,
) -> Result<Json<Committed>, ApiError> {
    let changes = IncidentChanges {
        kind: body.kind,
        priority: body.priority,
        location: body.location.map(|l| point(&l, "location")).transpose()?,
        area: match body.area {
            None => None,
            Some(None) => Some(None),
            Some(Some(ring)) => Some(Some(parse_area(&ring)?)),
        },
        address: body.address,
        lead_agency: body.lead_agency.map(|c| agency(&c, "lead_agency")).transpose()?,
    };
    let command = Command::UpdateIncident { incident_id: IncidentId(incident_id), changes };
    Ok(Json(submit(&state, &actor, command).await?))
}

async fn change_status(
    State(state): State<AppState>,
    Actor(actor): Actor,
    ApiPath(incident_id): ApiPath<u32>,
    ApiJson(body): ApiJson<ChangeIncidentStatus>,
) -> Result<Json<Committed>, ApiError> {
    let command = Command::ChangeIncidentStatus { incident_id: IncidentId(incident_id), status: body.status };
    Ok(Json(submit(&state, &actor, command).await?))
}

async fn assign(
    State(state): State<AppState>,
    Actor(actor): Actor,
    ApiPath(incident_id): ApiPath<u32>,
    ApiJson(body): ApiJson<AssignUnit>,
) -> Result<Json<Committed>, ApiError> {
    let command = Command::AssignUnit { incident_id: IncidentId(incident_id), unit_id: UnitId(body.unit_id) };
    Ok(Json(submit(&state, &actor, command).await?))
}

async fn release(
    State(state): State<AppState>,
    Actor(actor): Actor,
    ApiPath((incident_id, unit_id)): ApiPath<(u32, u32)>,
) -> Result<Json<Committed>, ApiError> {
    let command = Command::ReleaseUnit { incident_id: IncidentId(incident_id), unit_id: UnitId(unit_id) };
    Ok(Json(submit(&state, &actor, command).await?))
}

async fn add_note(
    State(state): State<AppState>,
    Actor(actor): Actor,
    ApiPath(incident_id): ApiPath<u32>,
    ApiJson(body): ApiJson<AddNote>,
) -> Result<(StatusCode, Json<Committed>), ApiError> {
    let command = Command::AddNote { incident_id: IncidentId(incident_id), text: body.text };
    Ok((StatusCode::CREATED, Json(submit(&state, &actor, command).await?)))
}

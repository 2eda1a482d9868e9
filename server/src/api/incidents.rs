//! Incidents: creation, updates, status lifecycle, unit assignment and notes.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, patch, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;
use vigie_domain::event::{present, IncidentChanges};
use vigie_domain::{Area, Command, Event, IncidentId, IncidentKind, IncidentStatus, Point, Priority, UnitId};

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LonLat {
    lon: f64,
    lat: f64,
}

impl LonLat {
    fn parse(&self, field: &str) -> Result<Point, ApiError> {
        Ok(Point::parse(self.lon, self.lat).map_err(|r| r.within(field))?)
    }
}

fn parse_area(ring: &[[f64; 2]]) -> Result<Area, ApiError> {
    Ok(Area::parse(ring).map_err(|r| r.within("area"))?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateIncident {
    kind: IncidentKind,
    priority: Priority,
    location: LonLat,
    /// Outer ring as `[lon, lat]` pairs.
    area: Option<Vec<[f64; 2]>>,
    address: String,
    lead_agency: String,
}

async fn create(
    State(state): State<AppState>,
    Actor(actor): Actor,
    ApiJson(body): ApiJson<CreateIncident>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let command = Command::CreateIncident {
        kind: body.kind,
        priority: body.priority,
        location: body.location.parse("location")?,
        area: body.area.as_deref().map(parse_area).transpose()?,
        address: body.address,
        lead_agency: agency(&body.lead_agency, "lead_agency")?,
    };
    let committed = submit(&state, &actor, command).await?;
    created(committed, "creating an incident", "incident_id", |e| match e {
        Event::IncidentCreated { incident_id, .. } => Some(u64::from(incident_id.0)),
        _ => None,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateIncident {
    kind: Option<IncidentKind>,
    priority: Option<Priority>,
    location: Option<LonLat>,
    /// `null` removes the area; absent leaves it.
    #[serde(default, deserialize_with = "present")]
    area: Option<Option<Vec<[f64; 2]>>>,
    address: Option<String>,
    lead_agency: Option<String>,
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
        location: body.location.map(|l| l.parse("location")).transpose()?,
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeStatus {
    status: IncidentStatus,
}

async fn change_status(
    State(state): State<AppState>,
    Actor(actor): Actor,
    ApiPath(incident_id): ApiPath<u32>,
    ApiJson(body): ApiJson<ChangeStatus>,
) -> Result<Json<Committed>, ApiError> {
    let command = Command::ChangeIncidentStatus { incident_id: IncidentId(incident_id), status: body.status };
    Ok(Json(submit(&state, &actor, command).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Assign {
    unit_id: u32,
}

async fn assign(
    State(state): State<AppState>,
    Actor(actor): Actor,
    ApiPath(incident_id): ApiPath<u32>,
    ApiJson(body): ApiJson<Assign>,
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddNote {
    text: String,
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

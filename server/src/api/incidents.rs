//! Incidents: creation, updates, status lifecycle, unit assignment and notes.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::Value;
use vigie_domain::api::{
    AddNote, AgencyRef, AssignUnit, ChangeIncidentStatus, CreateIncident, LonLat, Restrict, UpdateIncident,
};
use vigie_domain::authority::Scope;
use vigie_domain::event::IncidentChanges;
use vigie_domain::{Area, Command, Event, IncidentId, Point, UnitId};

use super::{agency_code as agency, created, or_own, submit, Committed};
use crate::http::access::{roles, Auth, Routes, Rule};
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, ApiPath};
use crate::AppState;

pub fn routes() -> Routes {
    let lead = Rule::Roles(roles::DISPATCH, Scope::IncidentsWrite);
    let work = Rule::Roles(roles::WORK_INCIDENTS, Scope::IncidentsWrite);
    let dispatch = Rule::Roles(roles::DISPATCH, Scope::UnitsWrite);
    let share = Rule::Roles(roles::SHARE, Scope::IncidentsWrite);
    Routes::default()
        .post("/api/v1/incidents", lead, create)
        .get("/api/v1/incidents/{incident_id}", Rule::Roles(roles::READ_ROOM, Scope::RoomRead), details)
        .patch("/api/v1/incidents/{incident_id}", lead, update)
        .post("/api/v1/incidents/{incident_id}/status", work, change_status)
        .post("/api/v1/incidents/{incident_id}/restriction", work, restrict)
        .post("/api/v1/incidents/{incident_id}/shares", share, share_with)
        .delete("/api/v1/incidents/{incident_id}/shares/{agency}", share, unshare)
        .post("/api/v1/incidents/{incident_id}/assignments", dispatch, assign)
        .delete("/api/v1/incidents/{incident_id}/assignments/{unit_id}", dispatch, release)
        .post("/api/v1/incidents/{incident_id}/notes", work, add_note)
}

/// One incident as the caller may see it (404 when it may not: a restricted incident's existence
/// is not told). Opening a restricted incident's details is recorded for oversight — once per
/// user and incident every [`crate::audit::VIEW_RECORDED_FOR_MS`] — before they are answered.
async fn details(
    State(app): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<u32>,
) -> Result<Json<vigie_domain::Incident>, ApiError> {
    Ok(Json(opened(&app, &caller, IncidentId(id)).await?))
}

/// The incident `id` as `caller` may see it, its opening recorded when it is restricted (see
/// [`details`]); every read of one incident's details goes through here (its CAP form too).
pub(super) async fn opened(
    app: &AppState,
    caller: &crate::identity::caller::Caller,
    id: IncidentId,
) -> Result<vigie_domain::Incident, ApiError> {
    let viewer = caller.principal.viewer();
    let incident = app.hub.read(|s| vigie_domain::visibility::incident(s, &viewer, id));
    let Some(incident) = incident else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            vigie_domain::api::ErrorCode::NotFound,
            format!("no incident {id}"),
        ));
    };
    if incident.restricted && app.audit.first_view(&caller.principal.user, id, app.clock.now_ms()) {
        let entry = vigie_domain::record::Record::RestrictedViewed { incident_id: id };
        super::record_as(app, caller, entry).await?;
    }
    Ok(incident)
}

fn point(l: &LonLat, field: &str) -> Result<Point, ApiError> {
    Ok(Point::parse(l.lon, l.lat).map_err(|r| r.within(field))?)
}

fn parse_area(ring: &[[f64; 2]]) -> Result<Area, ApiError> {
    Ok(Area::parse(ring).map_err(|r| r.within("area"))?)
}

async fn create(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(body): ApiJson<CreateIncident>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let command = Command::CreateIncident {
        kind: body.kind,
        priority: body.priority,
        location: point(&body.location, "location")?,
        area: body.area.as_deref().map(parse_area).transpose()?,
        address: body.address,
        lead_agency: or_own(body.lead_agency.as_deref(), &caller, "lead_agency")?,
        restricted: body.restricted,
    };
    let committed = submit(&state, &caller, command).await?;
    created(committed, "creating an incident", "incident_id", |e| match e {
        Event::IncidentCreated { incident_id, .. } => Some(u64::from(incident_id.0)),
        _ => None,
    })
}

async fn update(
    State(state): State<AppState>,
    Auth(caller): Auth,
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
    Ok(Json(submit(&state, &caller, command).await?))
}

async fn change_status(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath(incident_id): ApiPath<u32>,
    ApiJson(body): ApiJson<ChangeIncidentStatus>,
) -> Result<Json<Committed>, ApiError> {
    let command = Command::ChangeIncidentStatus { incident_id: IncidentId(incident_id), status: body.status };
    Ok(Json(submit(&state, &caller, command).await?))
}

async fn assign(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath(incident_id): ApiPath<u32>,
    ApiJson(body): ApiJson<AssignUnit>,
) -> Result<Json<Committed>, ApiError> {
    let command = Command::AssignUnit { incident_id: IncidentId(incident_id), unit_id: UnitId(body.unit_id) };
    Ok(Json(submit(&state, &caller, command).await?))
}

async fn release(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath((incident_id, unit_id)): ApiPath<(u32, u32)>,
) -> Result<Json<Committed>, ApiError> {
    let command = Command::ReleaseUnit { incident_id: IncidentId(incident_id), unit_id: UnitId(unit_id) };
    Ok(Json(submit(&state, &caller, command).await?))
}

async fn add_note(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath(incident_id): ApiPath<u32>,
    ApiJson(body): ApiJson<AddNote>,
) -> Result<(StatusCode, Json<Committed>), ApiError> {
    let command = Command::AddNote { incident_id: IncidentId(incident_id), text: body.text };
    Ok((StatusCode::CREATED, Json(submit(&state, &caller, command).await?)))
}

async fn restrict(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath(incident_id): ApiPath<u32>,
    ApiJson(body): ApiJson<Restrict>,
) -> Result<Json<Committed>, ApiError> {
    let command = Command::RestrictIncident { incident_id: IncidentId(incident_id), restricted: body.restricted };
    Ok(Json(submit(&state, &caller, command).await?))
}

async fn share_with(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath(incident_id): ApiPath<u32>,
    ApiJson(body): ApiJson<AgencyRef>,
) -> Result<(StatusCode, Json<Committed>), ApiError> {
    let command =
        Command::ShareIncident { incident_id: IncidentId(incident_id), agency: agency(&body.agency, "agency")? };
    Ok((StatusCode::CREATED, Json(submit(&state, &caller, command).await?)))
}

async fn unshare(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath((incident_id, code)): ApiPath<(u32, String)>,
) -> Result<Json<Committed>, ApiError> {
    let command = Command::UnshareIncident { incident_id: IncidentId(incident_id), agency: agency(&code, "agency")? };
    Ok(Json(submit(&state, &caller, command).await?))
}

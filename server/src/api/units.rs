//! Units: registration, status changes and batched position reports.

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::Value;
use vigie_domain::api::{AgencyRef, ChangeUnitStatus, PositionBatch, PositionsAccepted, RegisterUnit};
use vigie_domain::authority::Scope;
use vigie_domain::{Command, Event, Fix, UnitId};

use super::{agency_code, created, or_own, submit, Committed, COMMAND_BODY_LIMIT, POSITIONS_BODY_LIMIT};
use crate::http::access::{roles, Auth, Routes, Rule};
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, ApiPath};
use crate::AppState;

pub fn routes() -> Routes {
    let dispatch = Rule::Roles(roles::DISPATCH, Scope::UnitsWrite);
    let hide = Rule::Roles(roles::HIDE_UNITS, Scope::UnitsWrite);
    let commands = Routes::default()
        .post("/api/v1/units", Rule::Roles(roles::REGISTER_UNITS, Scope::UnitsWrite), register)
        .post("/api/v1/units/{unit_id}/status", dispatch, change_status)
        .post("/api/v1/units/{unit_id}/hidden_from", hide, hide_from)
        .delete("/api/v1/units/{unit_id}/hidden_from/{agency}", hide, reveal_to)
        .wrap(|r| r.layer(DefaultBodyLimit::max(COMMAND_BODY_LIMIT)));
    let positions = Routes::default()
        .post("/api/v1/positions", Rule::Roles(roles::DISPATCH, Scope::PositionsWrite), report_positions)
        .wrap(|r| r.layer(DefaultBodyLimit::max(POSITIONS_BODY_LIMIT)));
    commands.merge(positions)
}

async fn register(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(body): ApiJson<RegisterUnit>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let agency = or_own(body.agency.as_deref(), &caller, "agency")?;
    let hidden_from = body
        .hidden_from
        .iter()
        .enumerate()
        .map(|(i, c)| agency_code(c, &format!("hidden_from[{i}]")))
        .collect::<Result<_, _>>()?;
    let command = Command::RegisterUnit {
        callsign: body.callsign,
        agency,
        kind: body.kind,
        status: body.status,
        hidden_from,
        device_uid: None,
    };
    let committed = submit(&state, &caller, command).await?;
    created(committed, "registering a unit", "unit_id", |e| match e {
        Event::UnitRegistered { unit_id, .. } => Some(u64::from(unit_id.0)),
        _ => None,
    })
}

async fn change_status(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath(unit_id): ApiPath<u32>,
    ApiJson(body): ApiJson<ChangeUnitStatus>,
) -> Result<Json<Committed>, ApiError> {
    let command = Command::ChangeUnitStatus { unit_id: UnitId(unit_id), status: body.status };
    Ok(Json(submit(&state, &caller, command).await?))
}

async fn report_positions(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(body): ApiJson<PositionBatch>,
) -> Result<Json<PositionsAccepted>, ApiError> {
    let fixes = body
        .reports
        .iter()
        .enumerate()
        .map(|(i, r)| {
            Fix::parse(UnitId(r.unit_id), r.lon, r.lat, r.heading_deg, r.speed_mps, r.accuracy_m, r.reported_at_ms)
                .map_err(|e| e.within(&format!("reports[{i}]")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let accepted = fixes.len();
    let committed = submit(&state, &caller, Command::ReportPositions { fixes }).await?;
    // Echoing thousands of fixes back would double the traffic of the busiest endpoint.
    Ok(Json(PositionsAccepted { seq: committed.seq, accepted }))
}

async fn hide_from(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath(unit_id): ApiPath<u32>,
    ApiJson(body): ApiJson<AgencyRef>,
) -> Result<(StatusCode, Json<Committed>), ApiError> {
    let command = Command::HideUnit { unit_id: UnitId(unit_id), agency: agency_code(&body.agency, "agency")? };
    Ok((StatusCode::CREATED, Json(submit(&state, &caller, command).await?)))
}

async fn reveal_to(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath((unit_id, code)): ApiPath<(u32, String)>,
) -> Result<Json<Committed>, ApiError> {
    let command = Command::RevealUnit { unit_id: UnitId(unit_id), agency: agency_code(&code, "agency")? };
    Ok(Json(submit(&state, &caller, command).await?))
}

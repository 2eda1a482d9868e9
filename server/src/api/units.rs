//! Units: registration, status changes and batched position reports.

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::Value;
use vigie_domain::api::{ChangeUnitStatus, PositionBatch, PositionsAccepted, RegisterUnit};
use vigie_domain::{Command, Event, Fix, UnitId};

use super::{agency_code, created, submit, Committed, COMMAND_BODY_LIMIT, POSITIONS_BODY_LIMIT};
use crate::http::error::ApiError;
use crate::http::extract::{Actor, ApiJson, ApiPath};
use crate::AppState;

pub fn router() -> Router<AppState> {
    let commands = Router::new()
        .route("/api/v1/units", post(register))
        .route("/api/v1/units/{unit_id}/status", post(change_status))
        .layer(DefaultBodyLimit::max(COMMAND_BODY_LIMIT));
    let positions = Router::new()
        .route("/api/v1/positions", post(report_positions))
        .layer(DefaultBodyLimit::max(POSITIONS_BODY_LIMIT));
    commands.merge(positions)
}

async fn register(
    State(state): State<AppState>,
    Actor(actor): Actor,
    ApiJson(body): ApiJson<RegisterUnit>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let agency = agency_code(&body.agency, "agency")?;
    let command = Command::RegisterUnit {
        callsign: body.callsign,
        agency,
        kind: body.kind,
        status: body.status,
        hidden_from: Default::default(),
    };
    let committed = submit(&state, &actor, command).await?;
    created(committed, "registering a unit", "unit_id", |e| match e {
        Event::UnitRegistered { unit_id, .. } => Some(u64::from(unit_id.0)),
        _ => None,
    })
}

async fn change_status(
    State(state): State<AppState>,
    Actor(actor): Actor,
    ApiPath(unit_id): ApiPath<u32>,
    ApiJson(body): ApiJson<ChangeUnitStatus>,
) -> Result<Json<Committed>, ApiError> {
    let command = Command::ChangeUnitStatus { unit_id: UnitId(unit_id), status: body.status };
    Ok(Json(submit(&state, &actor, command).await?))
}

async fn report_positions(
    State(state): State<AppState>,
    Actor(actor): Actor,
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
    let committed = submit(&state, &actor, Command::ReportPositions { fixes }).await?;
    // Echoing thousands of fixes back would double the traffic of the busiest endpoint.
    Ok(Json(PositionsAccepted { seq: committed.seq, accepted }))
}

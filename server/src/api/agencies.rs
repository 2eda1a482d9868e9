//! Agencies: registering who is in the room.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use vigie_domain::api::RegisterAgency;
use vigie_domain::authority::Scope;
use vigie_domain::{Agency, Command};

use super::{submit, Committed};
use crate::http::access::{roles, Auth, Routes, Rule};
use crate::http::error::ApiError;
use crate::http::extract::ApiJson;
use crate::AppState;

pub fn routes() -> Routes {
    Routes::default().post("/api/v1/agencies", Rule::Roles(roles::ADMIN, Scope::Admin), register)
}

async fn register(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(body): ApiJson<RegisterAgency>,
) -> Result<(StatusCode, Json<Committed>), ApiError> {
    let agency = Agency::parse(&body.code, &body.short_name, &body.full_name, body.kind, &body.country, &body.colour)?;
    let committed = submit(&state, &caller, Command::RegisterAgency { agency }).await?;
    Ok((StatusCode::CREATED, Json(committed)))
}

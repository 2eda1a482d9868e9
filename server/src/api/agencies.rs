//! Agencies: registering who is in the room.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use vigie_domain::api::RegisterAgency;
use vigie_domain::{Agency, Command};

use super::{submit, Committed};
use crate::http::error::ApiError;
use crate::http::extract::{Actor, ApiJson};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/agencies", post(register))
}

async fn register(
    State(state): State<AppState>,
    Actor(actor): Actor,
    ApiJson(body): ApiJson<RegisterAgency>,
) -> Result<(StatusCode, Json<Committed>), ApiError> {
    let agency = Agency::parse(&body.code, &body.short_name, &body.full_name, body.kind, &body.country, &body.colour)?;
    let committed = submit(&state, &actor, Command::RegisterAgency { agency }).await?;
    Ok((StatusCode::CREATED, Json(committed)))
}

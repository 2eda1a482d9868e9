//! The cartography the map draws: the list of layers, then each layer's GeoJSON.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};
use tower_http::compression::CompressionLayer;
use vigie_domain::api::ErrorCode;
use vigie_domain::authority::Scope;

use crate::basemap::{builtin, Role};
use crate::http::access::{roles, Routes, Rule};
use crate::http::error::ApiError;
use crate::http::extract::ApiPath;
use crate::AppState;

pub fn routes() -> Routes {
    let read = Rule::Roles(roles::ANYONE, Scope::RoomRead);
    Routes::default()
        .get("/api/v1/basemap", read, list)
        .get("/api/v1/basemap/{name}", read, layer)
        // Layers are large and compress about 5:1.
        .wrap(|r| r.layer(CompressionLayer::new()))
}

/// Imported layers in drawing order; the built-in sketch comes first, and only while the room has
/// imported no base layer of its own.
async fn list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let imported = state.store.layers().await.map_err(|e| ApiError::internal("listing base-map layers", e))?;
    let mut layers: Vec<_> = Vec::new();
    if !imported.iter().any(|l| l.role == Role::Base) {
        layers.extend(builtin::layers().iter().map(|l| l.info.clone()));
    }
    layers.extend(imported);
    Ok(Json(json!({ "layers": layers })))
}

async fn layer(State(state): State<AppState>, ApiPath(name): ApiPath<String>) -> Result<impl IntoResponse, ApiError> {
    let geojson = match builtin::layers().iter().find(|l| l.info.name == name) {
        Some(l) => l.geojson.clone(),
        None => state
            .store
            .layer_geojson(&name)
            .await
            .map_err(|e| ApiError::internal("reading a base-map layer", e))?
            .ok_or_else(|| {
                ApiError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, format!("no base-map layer {name:?}"))
                    .field("name")
            })?,
    };
    Ok(([(header::CONTENT_TYPE, "application/geo+json"), (header::CACHE_CONTROL, "no-cache")], geojson))
}

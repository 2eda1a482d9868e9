//! Where imported base-map layers are kept: a table beside the log (configuration, not events).

use sqlx::Row;

use super::{Layer, LayerInfo, Role};
use crate::store::Store;

/// The layers' names and import times, by name: what changes when a layer is imported again,
/// added or removed (those who read the layers watch it).
pub type Versions = Vec<(String, i64)>;

impl Store {
    /// Stores `layer`, replacing a layer of the same name (re-importing updates in place and keeps
    /// its drawing order).
    pub async fn put_layer(&self, layer: &Layer, now_ms: i64) -> anyhow::Result<()> {
        let i = &layer.info;
        sqlx::query(
            "INSERT INTO basemap_layers \
               (name, role, position, features, west, south, east, north, label_property, geojson, imported_at_ms) \
             VALUES ($1, $2, (SELECT COALESCE(MAX(position), 0) + 1 FROM basemap_layers), $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (name) DO UPDATE SET role = excluded.role, features = excluded.features, \
               west = excluded.west, south = excluded.south, east = excluded.east, north = excluded.north, \
               label_property = excluded.label_property, geojson = excluded.geojson, imported_at_ms = excluded.imported_at_ms",
        )
        .bind(&i.name)
        .bind(i.role.as_str())
        .bind(i.features as i64)
        .bind(i.bbox[0])
        .bind(i.bbox[1])
        .bind(i.bbox[2])
        .bind(i.bbox[3])
        .bind(&i.label_property)
        .bind(&layer.geojson)
        .bind(now_ms)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// The imported layers in drawing order (first imported, first drawn).
    pub async fn layers(&self) -> anyhow::Result<Vec<LayerInfo>> {
        let rows = sqlx::query(
            "SELECT name, role, features, west, south, east, north, label_property FROM basemap_layers ORDER BY position",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let role: String = r.try_get("role")?;
                Ok(LayerInfo {
                    name: r.try_get("name")?,
                    role: Role::parse(&role).ok_or_else(|| anyhow::anyhow!("unknown layer role {role:?}"))?,
                    features: r.try_get::<i64, _>("features")? as u32,
                    bbox: [r.try_get("west")?, r.try_get("south")?, r.try_get("east")?, r.try_get("north")?],
                    label_property: r.try_get("label_property")?,
                    builtin: false,
                })
            })
            .collect()
    }

    /// Each layer's name and import time ([`Versions`]).
    pub async fn layer_versions(&self) -> anyhow::Result<Versions> {
        Ok(sqlx::query_as("SELECT name, imported_at_ms FROM basemap_layers ORDER BY name")
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn layer_geojson(&self, name: &str) -> anyhow::Result<Option<String>> {
        Ok(sqlx::query_scalar("SELECT geojson FROM basemap_layers WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Whether a layer of that name existed.
    pub async fn remove_layer(&self, name: &str) -> anyhow::Result<bool> {
        let done = sqlx::query("DELETE FROM basemap_layers WHERE name = $1").bind(name).execute(&self.writer).await?;
        Ok(done.rows_affected() > 0)
    }
}

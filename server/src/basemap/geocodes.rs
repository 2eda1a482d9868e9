//! CAP geocodes drawn with the room's own layers. An alert may give its area only by code (an INSEE
//! commune or arrondissement code, a US county's SAME code) instead of a polygon; a layer imported
//! with `--geocode NAME=PROPERTY` keeps each feature's code, and an area given only by codes is
//! drawn with those features' outlines.
//!
//! The outlines are resolved when the alert comes in and kept with it in the log
//! (`AlertArea::resolved`), so a replay draws what the room drew then, whatever the layers became.
//! The codes are read from the layers again only when a layer was imported or removed.

use geo::{CoordsIter, Simplify};
use geojson::GeoJson;
use std::collections::HashMap;
use std::sync::Arc;
use vigie_domain::alert::{Geocode, MAX_ALERT_SHAPES};
use vigie_domain::geometry::MAX_AREA_VERTICES;
use vigie_domain::{Area, Command};

use super::store::Versions;
use crate::store::Store;

/// The property of a prepared feature that holds its codes (`{"INSEE": "75104"}`).
pub const PROPERTY: &str = "geocodes";

/// Outlines by (code name, code), as the layers last read hold them.
type Outlines = HashMap<(String, String), Vec<Area>>;

#[derive(Default)]
pub struct Geocoder {
    /// The layers' names and import times when read, and what they gave.
    read: tokio::sync::Mutex<Option<(Versions, Arc<Outlines>)>>,
}

impl Geocoder {
    /// Fills in the outlines of every area of `command` (an incoming alert) that is given only by
    /// geocodes; codes no layer knows are left as they are (the alert is still on the timeline).
    pub async fn resolve(&self, store: &Store, command: &mut Command) -> anyhow::Result<()> {
        let Command::ReceiveAlert { content, .. } = command else { return Ok(()) };
        let by_code_only = |a: &vigie_domain::alert::AlertArea| {
            a.polygons.is_empty() && a.circles.is_empty() && !a.geocodes.is_empty()
        };
        if !content.areas.iter().any(by_code_only) {
            return Ok(());
        }
        let outlines = self.outlines(store).await?;
        for area in content.areas.iter_mut().filter(|a| by_code_only(a)) {
            area.resolved = area
                .geocodes
                .iter()
                .flat_map(|Geocode { name, value }| outlines.get(&(name.clone(), value.clone())).into_iter().flatten())
                .take(MAX_ALERT_SHAPES)
                .cloned()
                .collect();
        }
        Ok(())
    }

    async fn outlines(&self, store: &Store) -> anyhow::Result<Arc<Outlines>> {
        let mut read = self.read.lock().await;
        let versions = store.layer_versions().await?;
        if let Some((_, outlines)) = read.as_ref().filter(|(seen, _)| *seen == versions) {
            return Ok(outlines.clone());
        }
        let mut outlines = Outlines::new();
        for (name, _) in &versions {
            let Some(text) = store.layer_geojson(name).await? else { continue };
            let found = tokio::task::spawn_blocking(move || outlines_of(&text)).await?;
            for (code, areas) in found {
                outlines.entry(code).or_default().extend(areas);
            }
        }
        let outlines = Arc::new(outlines);
        *read = Some((versions, outlines.clone()));
        Ok(outlines)
    }
}

/// The outlines of a prepared layer's coded features: each polygon's outer ring, simplified until
/// it fits an area's bound.
pub fn outlines_of(geojson: &str) -> Outlines {
    let mut out = Outlines::new();
    let Ok(GeoJson::FeatureCollection(fc)) = geojson.parse::<GeoJson>() else { return out };
    for feature in fc.features {
        let Some(codes) = feature.property(PROPERTY).and_then(|c| c.as_object()).cloned() else { continue };
        let Some(geometry) = feature.geometry else { continue };
        let Ok(shape) = geo::Geometry::<f64>::try_from(geometry.value) else { continue };
        let polygons = match shape {
            geo::Geometry::Polygon(p) => vec![p],
            geo::Geometry::MultiPolygon(m) => m.0,
            _ => continue,
        };
        let areas: Vec<Area> = polygons.iter().filter_map(|p| outline(p.exterior())).collect();
        for (name, value) in codes {
            if let Some(value) = value.as_str() {
                out.entry((name, value.to_owned())).or_default().extend(areas.iter().cloned());
            }
        }
    }
    out
}

/// A ring as an [`Area`], simplified (by doubling tolerances from about a metre) until it has at
/// most [`MAX_AREA_VERTICES`].
fn outline(ring: &geo::LineString<f64>) -> Option<Area> {
    let mut ring = ring.clone();
    let mut tolerance = 0.00001;
    while ring.coords_count() > MAX_AREA_VERTICES && tolerance < 1.0 {
        ring = ring.simplify(tolerance);
        tolerance *= 2.0;
    }
    let points: Vec<[f64; 2]> = ring.coords().map(|c| [c.x, c.y]).collect();
    Area::parse(&points).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coded_features_give_their_outlines_simplified_to_an_areas_bound() {
        // A 2 000-vertex circle-ish ring, coded 75104, and an uncoded square.
        let ring: Vec<[f64; 2]> = (0..=2000)
            .map(|i| {
                let t = std::f64::consts::TAU * f64::from(i % 2000) / 2000.0;
                [2.35 + 0.01 * t.cos(), 48.85 + 0.007 * t.sin()]
            })
            .collect();
        let geojson = serde_json::json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"label": "4e", "geocodes": {"INSEE": "75104"}},
             "geometry": {"type": "Polygon", "coordinates": [ring]}},
            {"type": "Feature", "properties": {"label": "square"},
             "geometry": {"type": "Polygon", "coordinates": [[[2.3, 48.8], [2.31, 48.8], [2.31, 48.81], [2.3, 48.8]]]}},
        ]})
        .to_string();
        let outlines = outlines_of(&geojson);
        assert_eq!(outlines.len(), 1);
        let areas = &outlines[&("INSEE".to_owned(), "75104".to_owned())];
        assert_eq!(areas.len(), 1);
        assert!((3..=MAX_AREA_VERTICES).contains(&areas[0].ring.len()), "{}", areas[0].ring.len());
    }
}

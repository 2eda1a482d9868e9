//! The sketch map shown when a room has imported no base map of its own: the demo cities' own
//! streets, outlines and rivers (see `demo::city::sketch`), as three base layers.

use geojson::{Feature, FeatureCollection, GeoJson, Geometry, GeometryValue, JsonObject};
use serde_json::Value;

use super::{LayerInfo, Role};
use crate::demo::city;

/// The built-in layers, drawn in this order.
pub const LAYERS: [&str; 3] = ["builtin-outline", "builtin-water", "builtin-streets"];

/// The built-in layers, made once per process (the map's API and the gazetteer both read them).
pub fn layers() -> &'static [super::Layer] {
    static LAYERS: std::sync::OnceLock<Vec<super::Layer>> = std::sync::OnceLock::new();
    LAYERS.get_or_init(build)
}

fn build() -> Vec<super::Layer> {
    let sketch = city::sketch();
    LAYERS
        .iter()
        .map(|name| {
            let kind = name.trim_start_matches("builtin-");
            let mut bbox = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
            let mut label_points = Vec::new();
            let mut features: Vec<Feature> = sketch
                .iter()
                .filter(|s| s.layer == kind)
                .map(|s| {
                    for p in &s.points {
                        bbox = vigie_domain::geometry::union(bbox, p.bbox());
                    }
                    let ring: Vec<Vec<f64>> = s.points.iter().map(|p| vec![p.lon, p.lat]).collect();
                    let value = if kind == "outline" {
                        let polygon = geo::Polygon::new(ring.iter().map(|c| (c[0], c[1])).collect(), vec![]);
                        if let Some(at) = super::label_point(&polygon.into()) {
                            label_points.push(super::labelled_point(at, &s.label));
                        }
                        GeometryValue::new_polygon(vec![ring])
                    } else {
                        GeometryValue::new_line_string(ring)
                    };
                    let mut properties = JsonObject::new();
                    properties.insert("label".into(), Value::String(s.label.clone()));
                    Feature { geometry: Some(Geometry::new(value)), properties: Some(properties), ..Feature::default() }
                })
                .collect();
            let shapes = features.len() as u32;
            features.extend(label_points);
            let info = LayerInfo {
                name: name.to_string(),
                role: Role::Base,
                features: shapes,
                bbox,
                label_property: Some("label".into()),
                builtin: true,
            };
            let geojson = GeoJson::FeatureCollection(FeatureCollection { bbox: None, features, foreign_members: None })
                .to_string();
            super::Layer { info, geojson }
        })
        .collect()
}

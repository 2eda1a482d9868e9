//! The room's cartography: GeoJSON layers imported with `vigie basemap import`, stored beside the
//! log (they are configuration, not events) and served to the map as they are, plus the built-in
//! sketch a fresh install shows.
//!
//! Import does the work once so every screen loads light: it validates every coordinate,
//! simplifies lines and outlines to about a metre (Douglas–Peucker), keeps one `label` property
//! per feature and records the bounding box.

pub mod builtin;
pub mod cli;
pub mod geocodes;
pub mod store;

use geo::{BoundingRect, Simplify};
use geojson::{Feature, FeatureCollection, GeoJson, Geometry, GeometryValue, JsonObject};
use serde::Serialize;
use serde_json::Value;

/// Degrees; about 1 m at these latitudes, below what a wall map shows.
const SIMPLIFY_DEG: f64 = 0.00001;
/// Properties tried, in order, for the name shown on the map.
const LABEL_KEYS: &[&str] = &["name", "label", "nom", "BoroName", "Precinct", "FireBN", "l_ar", "title"];
pub const MAX_NAME_CHARS: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Always drawn, under everything: land, water, streets.
    Base,
    /// A switchable jurisdiction layer drawn over the base: arrondissements, precincts, battalions.
    Overlay,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Base => "base",
            Role::Overlay => "overlay",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "base" => Some(Role::Base),
            "overlay" => Some(Role::Overlay),
            _ => None,
        }
    }
}

/// What the map needs to know of a layer before loading it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerInfo {
    pub name: String,
    pub role: Role,
    pub features: u32,
    /// `[west, south, east, north]`.
    pub bbox: [f64; 4],
    /// Which source property became the label, if any.
    pub label_property: Option<String>,
    pub builtin: bool,
}

/// A layer ready to store and serve.
pub struct Layer {
    pub info: LayerInfo,
    /// The prepared FeatureCollection, serialised once.
    pub geojson: String,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ImportError {
    #[error("layer name must be 1 to {MAX_NAME_CHARS} letters, digits, '-' or '_' (got {0:?})")]
    Name(String),
    #[error("not GeoJSON: {0}")]
    Parse(String),
    #[error("feature {feature}: {reason}")]
    Feature { feature: usize, reason: String },
    #[error("the file has no feature with a geometry")]
    Empty,
    #[error("property {0:?} is on no feature")]
    NoSuchProperty(String),
}

pub fn check_name(name: &str) -> Result<(), ImportError> {
    let ok = (1..=MAX_NAME_CHARS).contains(&name.chars().count())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(ImportError::Name(name.into()))
    }
}

/// A code the features carry, kept for CAP geocodes (`--geocode INSEE=c_arinsee`): the code's
/// name as alerts give it, and the property of the file that holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Geocoding {
    pub name: String,
    pub property: String,
}

impl std::str::FromStr for Geocoding {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.split_once('=') {
            Some((name, property)) if !name.trim().is_empty() && !property.trim().is_empty() => {
                Ok(Self { name: name.trim().into(), property: property.trim().into() })
            }
            _ => Err(format!("{s:?} is not NAME=PROPERTY (e.g. INSEE=c_arinsee)")),
        }
    }
}

/// Validates and prepares `text` (a FeatureCollection, a Feature or a bare Geometry). Each
/// feature keeps its `label`, and under `geocodes` the codes `geocodings` name.
pub fn prepare(
    name: &str,
    role: Role,
    text: &str,
    label: Option<&str>,
    geocodings: &[Geocoding],
) -> Result<Layer, ImportError> {
    check_name(name)?;
    let features = match text.parse::<GeoJson>().map_err(|e| ImportError::Parse(e.to_string()))? {
        GeoJson::FeatureCollection(fc) => fc.features,
        GeoJson::Feature(f) => vec![f],
        GeoJson::Geometry(g) => vec![Feature { geometry: Some(g), ..Feature::default() }],
    };
    let label_key = match label {
        Some(key) if features.iter().any(|f| f.property(key).is_some()) => Some(key.to_string()),
        Some(key) => return Err(ImportError::NoSuchProperty(key.into())),
        None => LABEL_KEYS.iter().find(|k| features.iter().any(|f| f.property(k).is_some())).map(|k| k.to_string()),
    };
    if let Some(g) = geocodings.iter().find(|g| !features.iter().any(|f| f.property(&g.property).is_some())) {
        return Err(ImportError::NoSuchProperty(g.property.clone()));
    }
    let mut out = Vec::with_capacity(features.len());
    let mut label_points = Vec::new();
    let mut bbox: Option<geo::Rect<f64>> = None;
    for (i, feature) in features.into_iter().enumerate() {
        let codes: JsonObject = geocodings
            .iter()
            .filter_map(|g| Some((g.name.clone(), Value::String(label_text(feature.property(&g.property)?)))))
            .filter(|(_, v)| v.as_str().is_some_and(|v| !v.is_empty()))
            .collect();
        let Some(geometry) = feature.geometry else { continue };
        let fail = |reason: String| ImportError::Feature { feature: i, reason };
        let geo: geo::Geometry<f64> = geometry.value.try_into().map_err(|e: geojson::Error| fail(e.to_string()))?;
        check_coordinates(&geo).map_err(fail)?;
        let geo = round_coordinates(simplify(geo));
        if let Some(rect) = geo.bounding_rect() {
            bbox = Some(match bbox {
                None => rect,
                Some(b) => geo::Rect::new(
                    geo::coord! { x: b.min().x.min(rect.min().x), y: b.min().y.min(rect.min().y) },
                    geo::coord! { x: b.max().x.max(rect.max().x), y: b.max().y.max(rect.max().y) },
                ),
            });
        }
        let mut properties = JsonObject::new();
        let label = label_key.as_deref().and_then(|k| feature.properties.as_ref()?.get(k)).map(label_text);
        let label = label.unwrap_or_default();
        if let Some(at) = label_point(&geo).filter(|_| !label.is_empty()) {
            label_points.push(labelled_point(at, &label));
        }
        properties.insert("label".into(), Value::String(label));
        if !codes.is_empty() {
            properties.insert(geocodes::PROPERTY.into(), Value::Object(codes));
        }
        out.push(Feature {
            geometry: Some(Geometry::new(GeometryValue::from(&geo))),
            properties: Some(properties),
            ..Feature::default()
        });
    }
    let Some(bbox) = bbox else { return Err(ImportError::Empty) };
    let features_in_file = out.len() as u32;
    // After the shapes, so a feature's index in the file is its index here.
    out.extend(label_points);
    let info = LayerInfo {
        name: name.into(),
        role,
        features: features_in_file,
        bbox: [bbox.min().x, bbox.min().y, bbox.max().x, bbox.max().y],
        label_property: label_key,
        builtin: false,
    };
    let geojson =
        GeoJson::FeatureCollection(FeatureCollection { bbox: None, features: out, foreign_members: None }).to_string();
    Ok(Layer { info, geojson })
}

/// Where an area's name goes: one point inside it (MapLibre would otherwise repeat a polygon's
/// label in every tile it covers). Lines are labelled along themselves.
pub fn label_point(geometry: &geo::Geometry<f64>) -> Option<geo::Point<f64>> {
    use geo::InteriorPoint;
    match geometry {
        geo::Geometry::Polygon(_) | geo::Geometry::MultiPolygon(_) => geometry.interior_point(),
        _ => None,
    }
}

/// A point feature carrying only a label.
pub fn labelled_point(at: geo::Point<f64>, label: &str) -> Feature {
    let mut properties = JsonObject::new();
    properties.insert("label".into(), Value::String(label.to_string()));
    let round = |v: f64| (v * 1e6).round() / 1e6;
    Feature {
        geometry: Some(Geometry::new(GeometryValue::new_point([round(at.x()), round(at.y())]))),
        properties: Some(properties),
        ..Feature::default()
    }
}

fn label_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.chars().take(120).collect(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Every position must be WGS84 lon/lat: files in a projected CRS (metres) are refused, not drawn
/// in the Atlantic.
fn check_coordinates(geometry: &geo::Geometry<f64>) -> Result<(), String> {
    use geo::CoordsIter;
    for c in geometry.coords_iter() {
        if !(c.x.is_finite() && c.y.is_finite() && (-180.0..=180.0).contains(&c.x) && (-90.0..=90.0).contains(&c.y)) {
            return Err(format!(
                "position [{}, {}] is not WGS84 longitude/latitude (is the file in a projected CRS?)",
                c.x, c.y
            ));
        }
    }
    Ok(())
}

/// Six decimals is 0.1 m: finer digits only cost bytes on every screen that loads the layer.
fn round_coordinates(geometry: geo::Geometry<f64>) -> geo::Geometry<f64> {
    use geo::MapCoords;
    let round = |v: f64| (v * 1e6).round() / 1e6;
    geometry.map_coords(|c| geo::coord! { x: round(c.x), y: round(c.y) })
}

fn simplify(geometry: geo::Geometry<f64>) -> geo::Geometry<f64> {
    use geo::Geometry as G;
    match geometry {
        G::LineString(g) => G::LineString(g.simplify(SIMPLIFY_DEG)),
        G::MultiLineString(g) => G::MultiLineString(g.simplify(SIMPLIFY_DEG)),
        G::Polygon(g) => G::Polygon(g.simplify(SIMPLIFY_DEG)),
        G::MultiPolygon(g) => G::MultiPolygon(g.simplify(SIMPLIFY_DEG)),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SQUARE: &str = r#"{"type":"FeatureCollection","features":[
        {"type":"Feature","properties":{"name":"Louvre","code":1},"geometry":{"type":"Polygon","coordinates":[[[2.33,48.86],[2.34,48.86],[2.34,48.87],[2.33,48.87],[2.33,48.86]]]}},
        {"type":"Feature","properties":{"name":"Seine"},"geometry":{"type":"LineString","coordinates":[[2.30,48.86],[2.3000001,48.86],[2.35,48.85]]}},
        {"type":"Feature","properties":{},"geometry":null}]}"#;

    #[test]
    fn prepares_labels_bbox_and_simplified_geometry() {
        let layer = prepare("paris-test", Role::Overlay, SQUARE, None, &[]).unwrap();
        assert_eq!(layer.info.features, 2, "features without geometry are dropped");
        assert_eq!(layer.info.label_property.as_deref(), Some("name"));
        assert_eq!(layer.info.bbox, [2.30, 48.85, 2.35, 48.87]);
        let v: Value = serde_json::from_str(&layer.geojson).unwrap();
        assert_eq!(v["features"][0]["properties"], serde_json::json!({ "label": "Louvre" }));
        let line = v["features"][1]["geometry"]["coordinates"].as_array().unwrap();
        assert_eq!(line.len(), 2, "a point 1 cm off the line is simplified away");
        let label_at = &v["features"][2];
        assert_eq!(
            (label_at["geometry"]["type"].as_str(), label_at["properties"]["label"].as_str()),
            (Some("Point"), Some("Louvre"))
        );
        let [x, y] = [0, 1].map(|i| label_at["geometry"]["coordinates"][i].as_f64().unwrap());
        assert!((2.33..2.34).contains(&x) && (48.86..48.87).contains(&y), "the label point is inside the area");
        let by_code = prepare("x", Role::Base, SQUARE, Some("code"), &[]).unwrap();
        let v: Value = serde_json::from_str(&by_code.geojson).unwrap();
        assert_eq!(v["features"][0]["properties"]["label"], "1");
        // Codes for CAP geocodes are kept under their alerts' name, on the features that have one.
        let insee: Geocoding = "INSEE=code".parse().unwrap();
        let coded = prepare("x", Role::Overlay, SQUARE, None, &[insee]).unwrap();
        let v: Value = serde_json::from_str(&coded.geojson).unwrap();
        assert_eq!(v["features"][0]["properties"]["geocodes"], serde_json::json!({"INSEE": "1"}));
        assert!(v["features"][1]["properties"].get("geocodes").is_none());
        assert!("INSEE".parse::<Geocoding>().is_err() && "=x".parse::<Geocoding>().is_err());
    }

    #[test]
    fn refuses_what_it_cannot_draw_with_a_reason() {
        assert!(matches!(prepare("a b", Role::Base, SQUARE, None, &[]), Err(ImportError::Name(_))));
        assert!(matches!(prepare("x", Role::Base, "{not json", None, &[]), Err(ImportError::Parse(_))));
        assert_eq!(
            prepare("x", Role::Base, SQUARE, Some("nope"), &[]).err(),
            Some(ImportError::NoSuchProperty("nope".into()))
        );
        let missing: Geocoding = "INSEE=nope".parse().unwrap();
        assert_eq!(
            prepare("x", Role::Base, SQUARE, None, &[missing]).err(),
            Some(ImportError::NoSuchProperty("nope".into()))
        );
        let projected =
            r#"{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[651000.0,6862000.0]}}"#;
        let err = prepare("x", Role::Base, projected, None, &[]).err().unwrap();
        assert!(err.to_string().starts_with("feature 0: position [651000, 6862000] is not WGS84"), "{err}");
        let empty = r#"{"type":"FeatureCollection","features":[]}"#;
        assert_eq!(prepare("x", Role::Base, empty, None, &[]).err(), Some(ImportError::Empty));
    }
}

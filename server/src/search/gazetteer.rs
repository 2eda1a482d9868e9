//! The gazetteer: the places the base map names — arrondissements, precincts, battalions, streets —
//! each once per layer and name (a street drawn in many pieces is one place, its box around them
//! all), read from the layers the map draws (the built-in sketch while no base layer is imported).
//!
//! Layers are imported by `vigie basemap`, another process: [`refresh`] compares the layers' names
//! and import times with what it indexed, and reads them again only when they changed.

use geo::BoundingRect;
use geojson::GeoJson;
use std::collections::BTreeMap;
use vigie_domain::search::Place;

use super::Index;
use crate::basemap::store::Versions;
use crate::basemap::{builtin, Role};
use crate::store::Store;

/// Most places indexed (past it, a layer's further names are left out, with a warning).
pub const MAX_PLACES: usize = 200_000;

/// Reads the places again if the layers changed since `seen`.
pub async fn refresh(index: &Index, store: &Store, seen: &mut Option<Versions>) -> anyhow::Result<()> {
    let now = store.layer_versions().await?;
    if seen.as_ref() == Some(&now) {
        return Ok(());
    }
    let places = places(store).await?;
    index.clear(true).await?;
    let puts: Vec<_> = places
        .iter()
        .enumerate()
        .filter_map(|(n, place)| {
            let doc = place.document(u32::try_from(n).ok()?);
            Some((doc.subject.key()?, doc, serde_json::to_string(place).ok()))
        })
        .collect();
    for chunk in puts.chunks(super::CHUNK) {
        index.write(chunk, &[]).await?;
    }
    tracing::info!(places = places.len(), layers = now.len(), "gazetteer indexed");
    *seen = Some(now);
    Ok(())
}

/// Every place of the layers the map draws, in drawing order.
async fn places(store: &Store) -> anyhow::Result<Vec<Place>> {
    let imported = store.layers().await?;
    let mut out = Vec::new();
    if !imported.iter().any(|l| l.role == Role::Base) {
        let sketch = || builtin::layers().iter().flat_map(|l| places_of(&l.info.name, &l.geojson)).collect::<Vec<_>>();
        out.extend(tokio::task::spawn_blocking(sketch).await?);
    }
    for layer in imported {
        let Some(text) = store.layer_geojson(&layer.name).await? else { continue };
        let name = layer.name.clone();
        out.extend(tokio::task::spawn_blocking(move || places_of(&name, &text)).await?);
        if out.len() > MAX_PLACES {
            tracing::warn!(layer = %layer.name, "the gazetteer holds {MAX_PLACES} places; the rest are left out");
            out.truncate(MAX_PLACES);
            break;
        }
    }
    Ok(out)
}

/// The named places of one prepared layer (features labelled by `basemap::prepare`).
pub fn places_of(layer: &str, geojson: &str) -> Vec<Place> {
    let Ok(GeoJson::FeatureCollection(fc)) = geojson.parse::<GeoJson>() else { return Vec::new() };
    let mut by_label: BTreeMap<String, (usize, [f64; 4])> = BTreeMap::new();
    for (i, feature) in fc.features.into_iter().enumerate() {
        let label = feature.property("label").and_then(|l| l.as_str()).map(|l| l.trim().to_owned());
        let Some(label) = label.filter(|l| !l.is_empty()) else { continue };
        let Some(geometry) = feature.geometry else { continue };
        let Ok(shape) = geo::Geometry::<f64>::try_from(geometry.value) else { continue };
        let Some(rect) = shape.bounding_rect() else { continue };
        let b = [rect.min().x, rect.min().y, rect.max().x, rect.max().y];
        by_label.entry(label).and_modify(|(_, a)| *a = vigie_domain::geometry::union(*a, b)).or_insert((i, b));
    }
    let mut places: Vec<(usize, Place)> = by_label
        .into_iter()
        .map(|(label, (first, bbox))| (first, Place { layer: layer.to_owned(), label, bbox }))
        .collect();
    places.sort_by_key(|(first, _)| *first);
    places.into_iter().map(|(_, p)| p).collect()
}

/// Keeps the places' keys in range (a key holds a 32-bit place number).
const _: () = assert!(MAX_PLACES < u32::MAX as usize);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_place_drawn_in_pieces_is_one_place_with_one_box() {
        let geojson = r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","properties":{"label":"Rue de Rivoli"},"geometry":{"type":"LineString","coordinates":[[2.33,48.86],[2.34,48.857]]}},
            {"type":"Feature","properties":{"label":"Bourse"},"geometry":{"type":"Point","coordinates":[2.34,48.87]}},
            {"type":"Feature","properties":{"label":"Rue de Rivoli"},"geometry":{"type":"LineString","coordinates":[[2.34,48.857],[2.36,48.855]]}},
            {"type":"Feature","properties":{"label":""},"geometry":{"type":"Point","coordinates":[2.3,48.8]}}
        ]}"#;
        let places = places_of("streets", geojson);
        assert_eq!(places.len(), 2);
        assert_eq!(places[0].label, "Rue de Rivoli");
        assert_eq!(places[0].bbox, [2.33, 48.855, 2.36, 48.86]);
        assert_eq!((places[1].label.as_str(), places[1].bbox), ("Bourse", [2.34, 48.87, 2.34, 48.87]));
        assert!(places_of("x", "not geojson").is_empty());
    }
}

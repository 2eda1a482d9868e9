//! The base map: `vigie basemap import` (the real binary) on real public GeoJSON, then served to
//! the map. Needs `../shared/data/` (the project's reference data); skips where it is absent.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::spawn_in;

pub fn shared_data(file: &str) -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data").join(file);
    if path.exists() {
        Some(path)
    } else {
        eprintln!("skipped: {} is absent", path.display());
        None
    }
}

pub fn vigie(db: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args(["basemap"])
        .args(args)
        .env("VIGIE_DATABASE_URL", db)
        .env("RUST_LOG", "warn")
        .output()
        .expect("vigie runs");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[tokio::test]
async fn a_fresh_room_draws_the_built_in_sketch() {
    let dir = std::sync::Arc::new(tempfile::TempDir::new().unwrap());
    let app = spawn_in(dir, |_| {}).await;
    let (status, list) = app.get("/api/v1/basemap").await;
    assert_eq!(status, 200);
    let names: Vec<&str> = list["layers"].as_array().unwrap().iter().map(|l| l["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["builtin-outline", "builtin-water", "builtin-streets"]);
    let (status, outline) = app.get("/api/v1/basemap/builtin-outline").await;
    assert_eq!(status, 200);
    let labels: Vec<(&str, &str)> = outline["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["geometry"]["type"].as_str().unwrap(), f["properties"]["label"].as_str().unwrap()))
        .collect();
    assert_eq!(labels, [("Polygon", "Manhattan"), ("Polygon", "Paris"), ("Point", "Manhattan"), ("Point", "Paris")]);
    let (status, err) = app.get("/api/v1/basemap/nowhere").await;
    assert_eq!((status, err["error"]["code"].as_str()), (404, Some("not_found")));
}

#[tokio::test]
async fn imported_jurisdictions_are_served_with_their_names_and_a_base_replaces_the_sketch() {
    let (Some(arr), Some(precincts), Some(boroughs)) = (
        shared_data("paris-arrondissements.geojson"),
        shared_data("nyc-police_precincts.geojson"),
        shared_data("nyc-boroughs.geojson"),
    ) else {
        return;
    };
    let dir = std::sync::Arc::new(tempfile::TempDir::new().unwrap());
    let db = format!("sqlite://{}", dir.path().join("vigie.db").display());
    let (ok, out) = vigie(&db, &["import", arr.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert!(out.contains("overlay layer \"paris-arrondissements\": 20 features, labels from name"), "{out}");
    let (ok, out) = vigie(&db, &["import", precincts.to_str().unwrap(), "--name", "precincts"]);
    assert!(ok && out.contains("76 features, labels from Precinct"), "{out}");

    // A file in a projected CRS, or a bad name, is refused with the reason; nothing is stored.
    let projected = dir.path().join("lambert.geojson");
    std::fs::write(
        &projected,
        r#"{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[651000,6862000]}}"#,
    )
    .unwrap();
    let (ok, out) = vigie(&db, &["import", projected.to_str().unwrap()]);
    assert!(!ok && out.contains("is not WGS84 longitude/latitude"), "{out}");
    let (ok, out) = vigie(&db, &["import", arr.to_str().unwrap(), "--name", "bad name"]);
    assert!(!ok && out.contains("layer name must be"), "{out}");

    let app = spawn_in(dir.clone(), |_| {}).await;
    let (_, list) = app.get("/api/v1/basemap").await;
    let names: Vec<&str> = list["layers"].as_array().unwrap().iter().map(|l| l["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["builtin-outline", "builtin-water", "builtin-streets", "paris-arrondissements", "precincts"]);
    let paris = &list["layers"][3];
    let bbox: Vec<f64> = paris["bbox"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert!(bbox[0] > 2.22 && bbox[2] < 2.47 && bbox[1] > 48.81 && bbox[3] < 48.91, "Paris's extent: {bbox:?}");

    let response = app
        .http
        .get(format!("{}/api/v1/basemap/paris-arrondissements", app.base))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "application/geo+json");
    let (_, layer) = app.get("/api/v1/basemap/paris-arrondissements").await;
    // One label point per arrondissement, after the 20 shapes.
    let mut labels: Vec<String> = layer["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["geometry"]["type"] == "Point")
        .map(|f| f["properties"]["label"].as_str().unwrap().to_string())
        .collect();
    labels.sort();
    assert!(labels.iter().any(|l| l == "Hôtel-de-Ville"), "{labels:?}");
    assert_eq!(labels.len(), 20);
    let (_, precincts) = app.get("/api/v1/basemap/precincts").await;
    assert!(precincts["features"].as_array().unwrap().iter().any(|f| f["properties"]["label"] == "14"));
    let dir = app.stop().await;

    // Importing a base layer means the room has its own map: the sketch is no longer served.
    let (ok, out) = vigie(&db, &["import", boroughs.to_str().unwrap(), "--role", "base"]);
    assert!(ok, "{out}");
    let (ok, out) = vigie(&db, &["remove", "precincts"]);
    assert!(ok, "{out}");
    let app = spawn_in(dir, |_| {}).await;
    let (_, list) = app.get("/api/v1/basemap").await;
    let names: Vec<&str> = list["layers"].as_array().unwrap().iter().map(|l| l["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["paris-arrondissements", "nyc-boroughs"]);
    app.stop().await;
}

//! The map panel: owns the JS `RoomMap` (app/js/room_map.js) and feeds it diffs of the room.
//!
//! What crosses to the script is typed here ([`UnitMark`], [`IncidentMark`], [`AreaMark`], each
//! serialised as the JSON its JSDoc describes), colours included: the palette is Rust's
//! ([`crate::ui::palette`]), the script only draws what it is given. The map is told which units
//! to remove as well as which to add, so a replay that jumps back removes the units that did not
//! exist yet (or had no position yet) at the new moment.

use leptos::prelude::*;
#[cfg(feature = "hydrate")]
use vigie_domain::{IncidentStatus, State, Unit, UnitId, UnitKind};

#[cfg(feature = "hydrate")]
use super::Selection;
use super::Ui;
#[cfg(feature = "hydrate")]
use crate::ui::palette;

#[cfg(feature = "hydrate")]
mod js {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen(module = "/js/room_map.js")]
    extern "C" {
        pub type RoomMap;
        #[wasm_bindgen(constructor)]
        pub fn new(container: &web_sys::HtmlElement, callbacks: &JsValue) -> RoomMap;
        #[wasm_bindgen(method, js_name = upsertUnits)]
        pub fn upsert_units(this: &RoomMap, json: &str);
        #[wasm_bindgen(method, js_name = removeUnits)]
        pub fn remove_units(this: &RoomMap, json: &str);
        #[wasm_bindgen(method, js_name = setIncidents)]
        pub fn set_incidents(this: &RoomMap, points: &str, areas: &str);
        #[wasm_bindgen(method, js_name = setAlerts)]
        pub fn set_alerts(this: &RoomMap, json: &str);
        #[wasm_bindgen(method, js_name = flyTo)]
        pub fn fly_to(this: &RoomMap, lon: f64, lat: f64, zoom: f64);
        #[wasm_bindgen(method)]
        pub fn fit(this: &RoomMap, west: f64, south: f64, east: f64, north: f64);
        #[wasm_bindgen(method)]
        pub fn follow(this: &RoomMap, id: JsValue);
    }
}

#[component]
pub fn MapPanel() -> impl IntoView {
    #[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
    let ui = expect_context::<Ui>();
    let container = NodeRef::<leptos::html::Div>::new();
    #[cfg(feature = "hydrate")]
    {
        use std::rc::Rc;
        let map: StoredValue<Option<Rc<js::RoomMap>>, LocalStorage> = StoredValue::new_local(None);
        // The units the map draws, so a jump (a snapshot) can remove those the room no longer shows.
        let drawn: StoredValue<std::collections::BTreeSet<UnitId>, LocalStorage> =
            StoredValue::new_local(Default::default());
        Effect::new(move |_| {
            let Some(el) = container.get() else { return };
            if map.with_value(|m| m.is_some()) {
                return;
            }
            let m = Rc::new(js::RoomMap::new(&el, &callbacks(ui)));
            map.set_value(Some(m));
        });
        // Positions and statuses: by diff, whatever changed since the last look.
        Effect::new(move |_| {
            ui.live.moves.track();
            ui.selected.track();
            let Some(m) = map.get_value() else { return };
            let dirty = ui.live.dirty.try_update_value(|d| d.take()).unwrap_or_default();
            let now_ms = ui.live.now_ms.get_untracked();
            let stale_after = ui.live.stale_after_ms;
            let selected = ui.selected.get_untracked();
            // Serialised while the state is borrowed: the marks borrow callsigns and colours.
            let (marks, shown, gone) = ui.live.state.with_value(|s| {
                let units: Box<dyn Iterator<Item = &Unit>> = if dirty.all {
                    Box::new(s.units.values())
                } else {
                    Box::new(dirty.units.iter().filter_map(|id| s.units.get(id)))
                };
                let marks: Vec<UnitMark> =
                    units.filter_map(|u| unit_mark(s, u, now_ms, stale_after, selected)).collect();
                let shown: Vec<UnitId> = marks.iter().map(|m| UnitId(m.id)).collect();
                // Units only leave the picture when the room is replaced (a jump): checked then only.
                let gone: Vec<UnitId> = if dirty.all {
                    let drawable = |id: &UnitId| s.units.get(id).is_some_and(|u| u.last_fix.is_some());
                    drawn.with_value(|d| d.iter().filter(|id| !drawable(id)).copied().collect())
                } else {
                    Vec::new()
                };
                let json = (!marks.is_empty()).then(|| serde_json::to_string(&marks).unwrap_or_default());
                (json, shown, gone)
            });
            if !gone.is_empty() {
                drawn.update_value(|d| {
                    gone.iter().for_each(|id| {
                        d.remove(id);
                    })
                });
                m.remove_units(&serde_json::to_string(&gone).unwrap_or_default());
            }
            if let Some(json) = marks {
                drawn.update_value(|d| d.extend(shown));
                m.upsert_units(&json);
            }
            if dirty.incidents || dirty.all {
                let (points, areas) = ui.live.state.with_value(|s| incident_features(s, selected));
                m.set_incidents(&points, &areas);
            }
        });
        // Outside alerts: those in force at the room's moment. They fade by the clock (expiry,
        // effective time), so a replay shows them come and go when the room did.
        Effect::new(move |previous: Option<Vec<(vigie_domain::AlertId, i64)>>| {
            ui.live.moves.track();
            let now_ms = ui.live.now_ms.get();
            let active: Vec<(vigie_domain::AlertId, i64)> = ui.live.state.with_value(|s| {
                s.alerts.values().filter(|a| a.is_active(now_ms)).map(|a| (a.alert_id, a.updated_at_ms)).collect()
            });
            if previous.as_ref() != Some(&active) {
                if let Some(m) = map.get_value() {
                    let json = ui.live.state.with_value(|s| alert_features(s, now_ms));
                    m.set_alerts(&json);
                }
            }
            active
        });
        // Staleness moves with the clock: redraw the units whose staleness flipped.
        Effect::new(move |previous: Option<std::collections::BTreeSet<vigie_domain::UnitId>>| {
            let now_ms = ui.live.now_ms.get();
            let stale_after = ui.live.stale_after_ms;
            let stale: std::collections::BTreeSet<_> = ui.live.state.with_value(|s| {
                s.units.values().filter(|u| u.is_stale(now_ms, stale_after)).map(|u| u.unit_id).collect()
            });
            if let Some(previous) = previous {
                let flipped: Vec<_> = previous.symmetric_difference(&stale).copied().collect();
                if !flipped.is_empty() {
                    ui.live.dirty.update_value(|d| d.units.extend(flipped));
                    ui.live.moves.update(|n| *n += 1);
                }
            }
            stale
        });
        // Selection: redraw the previous and the new selection, and bring it into view.
        Effect::new(move |previous: Option<Selection>| {
            let selected = ui.selected.get();
            for s in [previous.unwrap_or(Selection::None), selected] {
                match s {
                    Selection::Unit(id) => ui.live.dirty.update_value(|d| {
                        d.units.insert(id);
                    }),
                    Selection::Incident(_) => ui.live.dirty.update_value(|d| d.incidents = true),
                    Selection::None => {}
                }
            }
            ui.live.moves.update(|n| *n += 1);
            selected
        });
        Effect::new(move |_| {
            let Some((lon, lat, zoom)) = ui.fly_to.get() else { return };
            if let Some(m) = map.get_value() {
                m.fly_to(lon, lat, zoom);
            }
        });
        Effect::new(move |_| {
            let Some([w, s, e, n]) = ui.fit.get() else { return };
            if let Some(m) = map.get_value() {
                m.fit(w, s, e, n);
            }
        });
        Effect::new(move |_| {
            let followed = ui.followed.get();
            if let Some(m) = map.get_value() {
                m.follow(followed.map_or(wasm_bindgen::JsValue::NULL, |id| wasm_bindgen::JsValue::from(id.0)));
            }
        });
    }
    view! { <div class="map" node_ref=container data-testid="map"></div> }
}

#[cfg(feature = "hydrate")]
fn callbacks(ui: Ui) -> wasm_bindgen::JsValue {
    use wasm_bindgen::prelude::*;
    let on_select = Closure::<dyn Fn(String, u32)>::new(move |kind: String, id: u32| {
        ui.selected.set(match kind.as_str() {
            "unit" => Selection::Unit(vigie_domain::UnitId(id)),
            _ => Selection::Incident(vigie_domain::IncidentId(id)),
        });
    });
    // A replay is read-only: a long-press places nothing.
    let on_place = Closure::<dyn Fn(f64, f64)>::new(move |lon: f64, lat: f64| {
        if !ui.read_only() {
            ui.placing.set(Some((lon, lat)));
        }
    });
    let on_map_click = Closure::<dyn Fn(f64, f64)>::new(move |lon: f64, lat: f64| {
        if ui.placing.get_untracked().is_some() {
            ui.placing.set(Some((lon, lat)));
        }
    });
    let object = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&object, &"onSelect".into(), on_select.as_ref());
    let _ = js_sys::Reflect::set(&object, &"onPlace".into(), on_place.as_ref());
    let _ = js_sys::Reflect::set(&object, &"onMapClick".into(), on_map_click.as_ref());
    // The map lives as long as the page.
    on_select.forget();
    on_place.forget();
    on_map_click.forget();
    object.into()
}

/// One unit for the map (see `upsertUnits` in room_map.js).
#[cfg(feature = "hydrate")]
#[derive(serde::Serialize)]
struct UnitMark<'a> {
    id: u32,
    lon: f64,
    lat: f64,
    /// Heading in degrees, or -1 when unknown (no arrow).
    h: f64,
    kind: UnitKind,
    /// The agency's colour (the disc).
    colour: &'a str,
    /// The status's colour (the ring).
    ring: &'static str,
    stale: bool,
    cs: &'a str,
    sel: bool,
}

#[cfg(feature = "hydrate")]
fn unit_mark<'a>(
    s: &'a State,
    u: &'a Unit,
    now_ms: i64,
    stale_after_ms: i64,
    selected: Selection,
) -> Option<UnitMark<'a>> {
    let fix = u.last_fix.as_ref()?;
    Some(UnitMark {
        id: u.unit_id.0,
        lon: fix.position.lon,
        lat: fix.position.lat,
        h: fix.heading_deg.unwrap_or(-1.0),
        kind: u.kind,
        colour: s.agencies.get(&u.agency).map_or(palette::NO_AGENCY, |a| a.colour.as_str()),
        ring: palette::status(u.status),
        stale: u.is_stale(now_ms, stale_after_ms),
        cs: &u.callsign,
        sel: selected == Selection::Unit(u.unit_id),
    })
}

/// A GeoJSON feature of the incidents' sources (see `setIncidents` in room_map.js).
#[cfg(feature = "hydrate")]
#[derive(serde::Serialize)]
struct Feature<G, P> {
    r#type: &'static str,
    geometry: G,
    properties: P,
}

#[cfg(feature = "hydrate")]
#[derive(serde::Serialize)]
#[serde(tag = "type")]
enum Geometry {
    Point { coordinates: [f64; 2] },
    Polygon { coordinates: [Vec<[f64; 2]>; 1] },
}

/// An open incident's marker.
#[cfg(feature = "hydrate")]
#[derive(serde::Serialize)]
struct IncidentMark {
    id: u32,
    label: String,
    colour: &'static str,
    sel: bool,
}

/// An open incident's area.
#[cfg(feature = "hydrate")]
#[derive(serde::Serialize)]
struct AreaMark {
    id: u32,
    colour: &'static str,
}

#[cfg(feature = "hydrate")]
#[derive(serde::Serialize)]
struct Collection<T> {
    r#type: &'static str,
    features: Vec<T>,
}

#[cfg(feature = "hydrate")]
fn incident_features(s: &State, selected: Selection) -> (String, String) {
    let open = s.incidents.values().filter(|i| i.status != IncidentStatus::Closed);
    let (mut points, mut areas) = (Vec::new(), Vec::new());
    for i in open {
        let colour = palette::priority(i.priority);
        points.push(Feature {
            r#type: "Feature",
            geometry: Geometry::Point { coordinates: [i.location.lon, i.location.lat] },
            properties: IncidentMark {
                id: i.incident_id.0,
                label: i.incident_id.to_string(),
                colour,
                sel: selected == Selection::Incident(i.incident_id),
            },
        });
        if let Some(area) = &i.area {
            areas.push(Feature {
                r#type: "Feature",
                geometry: Geometry::Polygon { coordinates: [area.ring.iter().map(|p| [p.lon, p.lat]).collect()] },
                properties: AreaMark { id: i.incident_id.0, colour },
            });
        }
    }
    (collection(points), collection(areas))
}

/// An outside alert's area (see `setAlerts` in room_map.js).
#[cfg(feature = "hydrate")]
#[derive(serde::Serialize)]
struct AlertMark<'a> {
    id: u32,
    colour: &'static str,
    label: &'a str,
}

/// The areas of the alerts in force at `now_ms`: polygons (and the outlines of areas given by
/// geocodes) as they are, circles as 48-gons (a radius of 0, a point, as a 50 m disc so it shows).
#[cfg(feature = "hydrate")]
fn alert_features(s: &State, now_ms: i64) -> String {
    let mut features = Vec::new();
    for alert in s.alerts.values().filter(|a| a.is_active(now_ms)) {
        let colour = palette::severity(alert.content.severity);
        let label = alert.content.headline.as_deref().unwrap_or(&alert.content.event);
        let properties = || AlertMark { id: alert.alert_id.0, colour, label };
        for area in &alert.content.areas {
            for p in area.polygons.iter().chain(&area.resolved) {
                let ring = p.ring.iter().chain(p.ring.first()).map(|pt| [pt.lon, pt.lat]).collect();
                features.push(Feature {
                    r#type: "Feature",
                    geometry: Geometry::Polygon { coordinates: [ring] },
                    properties: properties(),
                });
            }
            for c in &area.circles {
                features.push(Feature {
                    r#type: "Feature",
                    geometry: Geometry::Polygon {
                        coordinates: [circle(c.centre.lon, c.centre.lat, c.radius_m.max(50.0))],
                    },
                    properties: properties(),
                });
            }
        }
    }
    collection(features)
}

/// A circle as a closed ring of 48 points (an equirectangular approximation, exact enough at a
/// city's scale and for a warning's outline).
#[cfg(feature = "hydrate")]
fn circle(lon: f64, lat: f64, radius_m: f64) -> Vec<[f64; 2]> {
    const METRES_PER_DEGREE: f64 = 111_320.0;
    let dlat = radius_m / METRES_PER_DEGREE;
    let dlon = dlat / lat.to_radians().cos().abs().max(0.01);
    (0..=48)
        .map(|i| {
            let a = std::f64::consts::TAU * f64::from(i) / 48.0;
            [lon + dlon * a.cos(), (lat + dlat * a.sin()).clamp(-90.0, 90.0)]
        })
        .collect()
}

#[cfg(feature = "hydrate")]
fn collection<T: serde::Serialize>(features: Vec<T>) -> String {
    serde_json::to_string(&Collection { r#type: "FeatureCollection", features }).unwrap_or_default()
}

//! The map panel: owns the JS `RoomMap` (app/js/room_map.js) and feeds it diffs of the room.

use leptos::prelude::*;
#[cfg(feature = "hydrate")]
use vigie_domain::{IncidentStatus, State, Unit};

#[cfg(feature = "hydrate")]
use super::Selection;
use super::Ui;

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
        #[wasm_bindgen(method, js_name = flyTo)]
        pub fn fly_to(this: &RoomMap, lon: f64, lat: f64, zoom: f64);
        #[wasm_bindgen(method)]
        pub fn fit(this: &RoomMap, west: f64, south: f64, east: f64, north: f64);
        #[wasm_bindgen(method)]
        pub fn follow(this: &RoomMap, id: JsValue);
        #[wasm_bindgen(method, js_name = overlayList)]
        pub fn overlay_list(this: &RoomMap) -> JsValue;
        #[wasm_bindgen(method, js_name = setOverlay)]
        pub fn set_overlay(this: &RoomMap, name: &str, visible: bool);
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
            let features: Vec<serde_json::Value> = ui.live.state.with_value(|s| {
                let units: Box<dyn Iterator<Item = &Unit>> = if dirty.all {
                    Box::new(s.units.values())
                } else {
                    Box::new(dirty.units.iter().filter_map(|id| s.units.get(id)))
                };
                units.filter_map(|u| unit_feature(s, u, now_ms, stale_after, selected)).collect()
            });
            if !features.is_empty() {
                m.upsert_units(&serde_json::to_string(&features).unwrap_or_default());
            }
            if dirty.incidents || dirty.all {
                let (points, areas) = ui.live.state.with_value(|s| incident_features(s, selected));
                m.set_incidents(&points, &areas);
            }
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
        if !ui.live.is_replay() {
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

#[cfg(feature = "hydrate")]
fn unit_feature(
    s: &State,
    u: &Unit,
    now_ms: i64,
    stale_after_ms: i64,
    selected: Selection,
) -> Option<serde_json::Value> {
    let fix = u.last_fix.as_ref()?;
    let colour = s.agencies.get(&u.agency).map_or("#8b949e", |a| a.colour.as_str());
    Some(serde_json::json!({
        "id": u.unit_id.0,
        "lon": fix.position.lon,
        "lat": fix.position.lat,
        "h": fix.heading_deg.unwrap_or(-1.0),
        "kind": u.kind,
        "colour": colour,
        "status": u.status,
        "stale": u.is_stale(now_ms, stale_after_ms),
        "cs": u.callsign,
        "sel": selected == Selection::Unit(u.unit_id),
    }))
}

#[cfg(feature = "hydrate")]
fn incident_features(s: &State, selected: Selection) -> (String, String) {
    let open = s.incidents.values().filter(|i| i.status != IncidentStatus::Closed);
    let mut points = Vec::new();
    let mut areas = Vec::new();
    for i in open {
        let colour = match i.priority {
            vigie_domain::Priority::P1 => "#f85149",
            vigie_domain::Priority::P2 => "#f0883e",
            vigie_domain::Priority::P3 => "#d29922",
            vigie_domain::Priority::P4 => "#58a6ff",
        };
        let sel = selected == Selection::Incident(i.incident_id);
        points.push(serde_json::json!({
            "type": "Feature",
            "geometry": { "type": "Point", "coordinates": [i.location.lon, i.location.lat] },
            "properties": { "id": i.incident_id.0, "priority": i.priority, "label": i.incident_id.to_string(), "sel": sel },
        }));
        if let Some(area) = &i.area {
            let ring: Vec<[f64; 2]> = area.ring.iter().map(|p| [p.lon, p.lat]).collect();
            areas.push(serde_json::json!({
                "type": "Feature",
                "geometry": { "type": "Polygon", "coordinates": [ring] },
                "properties": { "id": i.incident_id.0, "colour": colour },
            }));
        }
    }
    let fc = |f: Vec<serde_json::Value>| serde_json::json!({ "type": "FeatureCollection", "features": f }).to_string();
    (fc(points), fc(areas))
}

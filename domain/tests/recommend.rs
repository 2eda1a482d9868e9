//! The nearest-available recommendation: fitting kinds only, available and fresh only, nearest first.

mod support;

use support::*;
use vigie_domain::recommend::{eta_s, recommend};
use vigie_domain::*;

fn fix(unit: u32, lon: f64, lat: f64, at_ms: i64) -> Fix {
    Fix::parse(UnitId(unit), lon, lat, None, None, None, at_ms).unwrap()
}

/// The incident is a fire at (2.35, 48.85).
fn room_with_engines() -> Room {
    let mut room = staffed_room(); // units 1 PS-1 patrol, 2 FPT-1 engine, 3 VSAV-1 ambulance
    room.must(unit("FPT-2", "BSPP", UnitKind::FireEngine)); // 4
    room.must(unit("EPA-1", "BSPP", UnitKind::Ladder)); // 5
    room.must(unit("FPT-3", "BSPP", UnitKind::FireEngine)); // 6, never reports
    let now = room.now_ms;
    room.must(Command::ReportPositions {
        fixes: vec![
            fix(1, 2.3501, 48.8501, now), // nearest of all, but a patrol car does not fit a fire
            fix(2, 2.3600, 48.8500, now), // ~730 m
            fix(4, 2.3520, 48.8500, now), // ~150 m
            fix(5, 2.3500, 48.8600, now), // ~1.1 km
        ],
    });
    room
}

#[test]
fn fitting_available_units_come_nearest_first_with_an_eta() {
    let room = room_with_engines();
    let incident = &room.state.incidents[&IncidentId(1)];
    let ranked = recommend(&room.state, incident, room.now_ms, 60_000, 10);
    let ids: Vec<u32> = ranked.iter().map(|r| r.unit_id.0).collect();
    assert_eq!(ids, vec![4, 2, 5], "no patrol car, no unit without a position");
    assert!((ranked[0].distance_m - 146.6).abs() < 2.0, "{}", ranked[0].distance_m);
    assert!(ranked[0].eta_s < ranked[1].eta_s);
    assert_eq!(ranked[1].eta_s, eta_s(UnitKind::FireEngine, ranked[1].distance_m));
    assert_eq!(recommend(&room.state, incident, room.now_ms, 60_000, 2).len(), 2, "the limit holds");
}

#[test]
fn busy_and_stale_units_are_not_recommended() {
    let mut room = room_with_engines();
    room.must(Command::AssignUnit { incident_id: IncidentId(1), unit_id: UnitId(4) });
    let incident = room.state.incidents[&IncidentId(1)].clone();
    let ids = |room: &Room, now| -> Vec<u32> {
        recommend(&room.state, &incident, now, 60_000, 10).iter().map(|r| r.unit_id.0).collect()
    };
    assert_eq!(ids(&room, room.now_ms), vec![2, 5], "an assigned unit is no longer available");
    assert!(ids(&room, room.now_ms + 61_000).is_empty(), "after a minute of silence every unit is stale");
}

#[test]
fn a_helicopter_is_faster_than_a_foot_patrol_over_the_same_distance() {
    assert!(eta_s(UnitKind::Helicopter, 5_000.0) * 10 < eta_s(UnitKind::FootPatrol, 5_000.0));
    assert_eq!(eta_s(UnitKind::FireEngine, 0.0), 0);
}

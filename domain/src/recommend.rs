//! Which units to send: the nearest available units whose kind fits the incident, with a rough
//! ETA. Pure, so the dispatcher's screen and any server-side check rank exactly the same way.

use serde::{Deserialize, Serialize};

use crate::{Incident, Point, State, UnitId, UnitKind, UnitStatus};

/// One recommended unit, nearest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    pub unit_id: UnitId,
    pub kind: UnitKind,
    /// Straight-line (great-circle) distance from the unit's last fix.
    pub distance_m: f64,
    /// Rough time to reach the incident: distance × detour factor ÷ typical speed of the kind.
    pub eta_s: u32,
}

/// Typical average speed in an urban emergency run, and how much longer than the straight line
/// the path is (streets for vehicles; aircraft fly straight). Rough on purpose: the ETA orders
/// choices of the same order, it is not routing.
pub fn travel_profile(kind: UnitKind) -> (f64, f64) {
    match kind {
        UnitKind::Helicopter => (55.0, 1.0),
        UnitKind::Boat => (9.0, 1.2),
        UnitKind::FootPatrol | UnitKind::LiaisonOfficer => (1.5, 1.3),
        UnitKind::Motorcycle => (13.0, 1.35),
        _ => (10.0, 1.4),
    }
}

pub fn eta_s(kind: UnitKind, distance_m: f64) -> u32 {
    let (speed_mps, detour) = travel_profile(kind);
    (distance_m * detour / speed_mps).round().min(u32::MAX as f64) as u32
}

/// Available, non-stale units whose kind fits `incident`, nearest first (ties by id, so the
/// order is stable), at most `limit`. Units without a known position cannot be ranked and are
/// left out; so are stale ones, whose position may be far from the truth.
pub fn recommend(
    state: &State,
    incident: &Incident,
    now_ms: i64,
    stale_after_ms: i64,
    limit: usize,
) -> Vec<Recommendation> {
    recommend_at(state, incident.kind.fitting_unit_kinds(), &incident.location, now_ms, stale_after_ms, limit)
}

/// [`recommend`] for any place and set of kinds (e.g. before the incident exists).
pub fn recommend_at(
    state: &State,
    kinds: &[UnitKind],
    at: &Point,
    now_ms: i64,
    stale_after_ms: i64,
    limit: usize,
) -> Vec<Recommendation> {
    let mut ranked: Vec<Recommendation> = state
        .units
        .values()
        .filter(|u| u.status == UnitStatus::Available && kinds.contains(&u.kind))
        .filter(|u| !u.is_stale(now_ms, stale_after_ms))
        .filter_map(|u| {
            let fix = u.last_fix.as_ref()?;
            let distance_m = fix.position.distance_m(at);
            Some(Recommendation { unit_id: u.unit_id, kind: u.kind, distance_m, eta_s: eta_s(u.kind, distance_m) })
        })
        .collect();
    ranked.sort_by(|a, b| a.distance_m.total_cmp(&b.distance_m).then(a.unit_id.cmp(&b.unit_id)));
    ranked.truncate(limit);
    ranked
}

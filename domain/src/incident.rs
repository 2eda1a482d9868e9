//! Incidents: type, priority, place, lifecycle, assigned units and notes.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

use crate::{AgencyCode, Area, IncidentId, Point, Refusal, UnitId, UnitKind};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentKind {
    TerroristAttack,
    Shooting,
    Explosion,
    Fire,
    RoadAccident,
    MedicalEmergency,
    PublicOrder,
    SuspiciousPackage,
    Hostage,
    MissingPerson,
    Hazmat,
    Other,
}

impl IncidentKind {
    pub const ALL: [IncidentKind; 12] = [
        IncidentKind::TerroristAttack,
        IncidentKind::Shooting,
        IncidentKind::Explosion,
        IncidentKind::Fire,
        IncidentKind::RoadAccident,
        IncidentKind::MedicalEmergency,
        IncidentKind::PublicOrder,
        IncidentKind::SuspiciousPackage,
        IncidentKind::Hostage,
        IncidentKind::MissingPerson,
        IncidentKind::Hazmat,
        IncidentKind::Other,
    ];

    /// Unit kinds that usually answer this type of incident, most needed first.
    pub fn fitting_unit_kinds(self) -> &'static [UnitKind] {
        use UnitKind::*;
        match self {
            IncidentKind::TerroristAttack => {
                &[TacticalTeam, PatrolCar, Ambulance, MedicalTeam, FireEngine, CommandVehicle]
            }
            IncidentKind::Shooting | IncidentKind::Hostage => &[TacticalTeam, PatrolCar, Ambulance, CommandVehicle],
            IncidentKind::Explosion => &[FireEngine, RescueUnit, Ambulance, PatrolCar, Hazmat],
            IncidentKind::Fire => &[FireEngine, Ladder, RescueUnit, Ambulance],
            IncidentKind::RoadAccident => &[PatrolCar, Ambulance, RescueUnit, Motorcycle],
            IncidentKind::MedicalEmergency => &[Ambulance, MedicalTeam, FireEngine],
            IncidentKind::PublicOrder => &[PatrolCar, FootPatrol, Motorcycle, TacticalTeam, Helicopter],
            IncidentKind::SuspiciousPackage => &[PatrolCar, TacticalTeam, FootPatrol],
            IncidentKind::MissingPerson => &[PatrolCar, FootPatrol, Helicopter, Boat],
            IncidentKind::Hazmat => &[Hazmat, FireEngine, Ambulance],
            IncidentKind::Other => &[PatrolCar, FireEngine, Ambulance],
        }
    }
}

/// P1 is the most urgent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Priority {
    P1,
    P2,
    P3,
    P4,
}

impl Priority {
    pub const ALL: [Priority; 4] = [Priority::P1, Priority::P2, Priority::P3, Priority::P4];
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    New,
    Dispatched,
    OnScene,
    Contained,
    Closed,
}

impl IncidentStatus {
    pub const ALL: [IncidentStatus; 5] = [
        IncidentStatus::New,
        IncidentStatus::Dispatched,
        IncidentStatus::OnScene,
        IncidentStatus::Contained,
        IncidentStatus::Closed,
    ];

    /// The lifecycle `new → dispatched → on scene → contained → closed`. Any open incident may be
    /// closed (false alarm, cancelled); a contained incident may flare up back to on scene.
    pub fn can_become(self, to: IncidentStatus) -> bool {
        use IncidentStatus::*;
        matches!((self, to), (New, Dispatched) | (Dispatched, OnScene) | (OnScene, Contained) | (Contained, OnScene))
            || (self != Closed && to == Closed)
    }

    pub fn is_open(self) -> bool {
        self != IncidentStatus::Closed
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Note {
    pub author: String,
    pub at_ms: i64,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub incident_id: IncidentId,
    pub kind: IncidentKind,
    pub priority: Priority,
    pub location: Point,
    pub area: Option<Area>,
    pub address: String,
    pub lead_agency: AgencyCode,
    pub status: IncidentStatus,
    pub status_since_ms: i64,
    pub assigned: BTreeSet<UnitId>,
    pub notes: Vec<Note>,
    pub created_at_ms: i64,
    pub created_by: String,
    pub updated_at_ms: i64,
    pub updated_by: String,
    /// Visible only to its lead agency and the agencies in `shared_with` (else to the whole room).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub restricted: bool,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub shared_with: BTreeSet<AgencyCode>,
}

impl Incident {
    /// The box around its place and its area (`[west, south, east, north]`).
    pub fn bbox(&self) -> [f64; 4] {
        self.area
            .iter()
            .flat_map(|a| a.ring.iter())
            .fold(self.location.bbox(), |b, p| crate::geometry::union(b, p.bbox()))
    }

    /// The incident queue's order: most urgent first; within a priority, the longest waiting first.
    pub fn queue_key(&self) -> (Priority, i64, IncidentId) {
        (self.priority, self.created_at_ms, self.incident_id)
    }

    pub fn check_transition(&self, to: IncidentStatus) -> Result<(), Refusal> {
        if self.status.can_become(to) {
            Ok(())
        } else {
            Err(Refusal::conflict(
                "status",
                format!("{} cannot go from {:?} to {:?}", self.incident_id, self.status, to).to_lowercase(),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use IncidentStatus::*;

    #[test]
    fn the_lifecycle_allows_exactly_its_transitions() {
        let legal = [
            (New, Dispatched),
            (New, Closed),
            (Dispatched, OnScene),
            (Dispatched, Closed),
            (OnScene, Contained),
            (OnScene, Closed),
            (Contained, OnScene),
            (Contained, Closed),
        ];
        for from in IncidentStatus::ALL {
            for to in IncidentStatus::ALL {
                assert_eq!(from.can_become(to), legal.contains(&(from, to)), "{from:?} -> {to:?}");
            }
        }
    }

    #[test]
    fn every_incident_kind_has_fitting_units() {
        for kind in IncidentKind::ALL {
            assert!(!kind.fitting_unit_kinds().is_empty(), "{kind:?}");
        }
    }
}

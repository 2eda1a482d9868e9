//! Units: what they are, their status with the time they entered it, and their last fix.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

use crate::{AgencyCode, IncidentId, Point, Refusal, UnitId};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    PatrolCar,
    Motorcycle,
    FootPatrol,
    TacticalTeam,
    FireEngine,
    Ladder,
    RescueUnit,
    Hazmat,
    Ambulance,
    MedicalTeam,
    CommandVehicle,
    Helicopter,
    Boat,
    LiaisonOfficer,
}

impl UnitKind {
    pub const ALL: [UnitKind; 14] = [
        UnitKind::PatrolCar,
        UnitKind::Motorcycle,
        UnitKind::FootPatrol,
        UnitKind::TacticalTeam,
        UnitKind::FireEngine,
        UnitKind::Ladder,
        UnitKind::RescueUnit,
        UnitKind::Hazmat,
        UnitKind::Ambulance,
        UnitKind::MedicalTeam,
        UnitKind::CommandVehicle,
        UnitKind::Helicopter,
        UnitKind::Boat,
        UnitKind::LiaisonOfficer,
    ];
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitStatus {
    Available,
    Dispatched,
    EnRoute,
    OnScene,
    Transporting,
    AtHospital,
    OutOfService,
}

impl UnitStatus {
    pub const ALL: [UnitStatus; 7] = [
        UnitStatus::Available,
        UnitStatus::Dispatched,
        UnitStatus::EnRoute,
        UnitStatus::OnScene,
        UnitStatus::Transporting,
        UnitStatus::AtHospital,
        UnitStatus::OutOfService,
    ];

    /// Statuses that only make sense while the unit works an incident.
    pub fn needs_assignment(self) -> bool {
        !matches!(self, UnitStatus::Available | UnitStatus::OutOfService)
    }

    pub fn label(self) -> &'static str {
        match self {
            UnitStatus::Available => "available",
            UnitStatus::Dispatched => "dispatched",
            UnitStatus::EnRoute => "en route",
            UnitStatus::OnScene => "on scene",
            UnitStatus::Transporting => "transporting",
            UnitStatus::AtHospital => "at hospital",
            UnitStatus::OutOfService => "out of service",
        }
    }
}

/// Speed above which a report is refused: faster than any helicopter in service.
pub const MAX_SPEED_MPS: f64 = 120.0;
/// Reported accuracy above which a fix is useless on a city map.
pub const MAX_ACCURACY_M: f64 = 10_000.0;
/// How far ahead of the server's clock a report may be stamped (device clocks drift).
pub const MAX_FUTURE_SKEW_MS: i64 = 60_000;

/// One position report. Values are quantised at parse time (1e-7°, 0.01°, 0.01 m/s, 0.1 m) so the
/// compact position log gives back exactly what the live reducer saw.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawFix")]
pub struct Fix {
    pub unit_id: UnitId,
    pub position: Point,
    pub heading_deg: Option<f64>,
    pub speed_mps: Option<f64>,
    pub accuracy_m: Option<f64>,
    /// When the device took the fix (ms since the Unix epoch, UTC).
    pub reported_at_ms: i64,
}

/// A fix as it arrives, before [`Fix::parse`] checks it.
#[derive(Deserialize)]
struct RawFix {
    unit_id: UnitId,
    position: Point,
    heading_deg: Option<f64>,
    speed_mps: Option<f64>,
    accuracy_m: Option<f64>,
    reported_at_ms: i64,
}

impl TryFrom<RawFix> for Fix {
    type Error = Refusal;
    fn try_from(r: RawFix) -> Result<Self, Refusal> {
        Fix::parse(
            r.unit_id,
            r.position.lon,
            r.position.lat,
            r.heading_deg,
            r.speed_mps,
            r.accuracy_m,
            r.reported_at_ms,
        )
    }
}

impl Fix {
    pub fn parse(
        unit_id: UnitId,
        lon: f64,
        lat: f64,
        heading_deg: Option<f64>,
        speed_mps: Option<f64>,
        accuracy_m: Option<f64>,
        reported_at_ms: i64,
    ) -> Result<Self, Refusal> {
        let position = Point::parse(lon, lat)?;
        let heading_deg = heading_deg
            .map(|h| in_range("heading_deg", h, 0.0, 360.0, 100.0).map(|h| if h >= 360.0 { 0.0 } else { h }))
            .transpose()?;
        let speed_mps = speed_mps.map(|s| in_range("speed_mps", s, 0.0, MAX_SPEED_MPS, 100.0)).transpose()?;
        let accuracy_m = accuracy_m.map(|a| in_range("accuracy_m", a, 0.0, MAX_ACCURACY_M, 10.0)).transpose()?;
        if reported_at_ms <= 0 {
            return Err(Refusal::invalid("reported_at", "reported_at must be after 1970"));
        }
        crate::time::check_ms("reported_at", reported_at_ms)?;
        Ok(Self { unit_id, position, heading_deg, speed_mps, accuracy_m, reported_at_ms })
    }
}

/// Checks `min <= value <= max` and rounds to `1/scale`.
fn in_range(field: &str, value: f64, min: f64, max: f64, scale: f64) -> Result<f64, Refusal> {
    if value.is_finite() && (min..=max).contains(&value) {
        Ok((value * scale).round() / scale)
    } else {
        Err(Refusal::invalid(field, format!("{field} {value} is outside {min}..={max}")))
    }
}

/// The identifier a unit's own device gives itself in the field's protocols (a TAK device's
/// Cursor-on-Target `uid`, e.g. `ANDROID-352f3b1e`): how reports from that device find the unit.
/// Printable, 1 to [`DeviceUid::MAX_CHARS`] characters.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DeviceUid(String);

impl DeviceUid {
    pub const MAX_CHARS: usize = 256;

    pub fn parse(raw: &str) -> Result<Self, Refusal> {
        let n = raw.chars().count();
        if n == 0 || n > Self::MAX_CHARS || raw.chars().any(|c| c.is_control()) || raw.trim() != raw {
            return Err(Refusal::invalid(
                "device_uid",
                format!("a device uid is 1 to {} printable characters, without surrounding spaces", Self::MAX_CHARS),
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DeviceUid {
    type Error = Refusal;
    fn try_from(raw: String) -> Result<Self, Refusal> {
        Self::parse(&raw)
    }
}

impl From<DeviceUid> for String {
    fn from(uid: DeviceUid) -> String {
        uid.0
    }
}

impl std::fmt::Display for DeviceUid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Unit {
    pub unit_id: UnitId,
    pub callsign: String,
    pub agency: AgencyCode,
    pub kind: UnitKind,
    pub status: UnitStatus,
    pub status_since_ms: i64,
    pub incident_id: Option<IncidentId>,
    pub last_fix: Option<Fix>,
    /// Agencies that never receive anything of this unit (its own agency decides: undercover,
    /// protection details, intelligence). See [`crate::visibility`].
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub hidden_from: BTreeSet<AgencyCode>,
    /// The device that reports for it, when it came from a TAK device (linked at registration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_uid: Option<DeviceUid>,
}

impl Unit {
    /// A unit is stale when its last report is older than `stale_after_ms` (or it never reported).
    /// Derived from the clock, never stored, so replay decides it on the replay clock.
    pub fn is_stale(&self, now_ms: i64, stale_after_ms: i64) -> bool {
        match &self.last_fix {
            Some(fix) => now_ms - fix.reported_at_ms > stale_after_ms,
            None => true,
        }
    }

    pub fn time_in_status_ms(&self, now_ms: i64) -> i64 {
        (now_ms - self.status_since_ms).max(0)
    }

    /// Whether a dispatcher may move this unit to `to` by hand.
    pub fn check_status_change(&self, to: UnitStatus) -> Result<(), Refusal> {
        if self.status == to {
            return Err(Refusal::conflict("status", format!("{} is already {}", self.callsign, to.label())));
        }
        match (self.incident_id, to.needs_assignment()) {
            (None, true) => Err(Refusal::conflict(
                "status",
                format!("{} is not assigned to an incident, so it cannot be {}", self.callsign, to.label()),
            )),
            (Some(incident_id), false) => Err(Refusal::conflict(
                "status",
                format!("{} is assigned to {incident_id}: release it before making it {}", self.callsign, to.label()),
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(status: UnitStatus, incident_id: Option<IncidentId>) -> Unit {
        Unit {
            unit_id: UnitId(1),
            callsign: "PS-12".into(),
            agency: AgencyCode::parse("PP").unwrap(),
            kind: UnitKind::PatrolCar,
            status,
            status_since_ms: 1_000,
            incident_id,
            last_fix: None,
            hidden_from: BTreeSet::new(),
            device_uid: None,
        }
    }

    #[test]
    fn fixes_are_range_checked_field_by_field() {
        let f = |h, s, a| Fix::parse(UnitId(1), 2.35, 48.85, h, s, a, 1).unwrap_err().field.unwrap();
        assert_eq!(f(Some(361.0), None, None), "heading_deg");
        assert_eq!(f(Some(-1.0), None, None), "heading_deg");
        assert_eq!(f(None, Some(500.0), None), "speed_mps");
        assert_eq!(f(None, None, Some(-2.0)), "accuracy_m");
        assert_eq!(Fix::parse(UnitId(1), 2.35, 48.85, None, None, None, 0).unwrap_err().field.unwrap(), "reported_at");
    }

    #[test]
    fn a_heading_of_360_is_north() {
        let fix = Fix::parse(UnitId(1), 2.35, 48.85, Some(360.0), Some(12.345), Some(4.56), 5).unwrap();
        assert_eq!(fix.heading_deg, Some(0.0));
        assert_eq!(fix.speed_mps, Some(12.35));
        assert_eq!(fix.accuracy_m, Some(4.6));
    }

    #[test]
    fn staleness_is_derived_from_the_clock() {
        let mut u = unit(UnitStatus::Available, None);
        assert!(u.is_stale(0, 30_000), "a unit that never reported is stale");
        u.last_fix = Some(Fix::parse(UnitId(1), 2.35, 48.85, None, None, None, 10_000).unwrap());
        assert!(!u.is_stale(40_000, 30_000));
        assert!(u.is_stale(40_001, 30_000));
    }

    #[test]
    fn free_units_may_only_be_available_or_out_of_service() {
        let u = unit(UnitStatus::Available, None);
        assert!(u.check_status_change(UnitStatus::OutOfService).is_ok());
        for to in [
            UnitStatus::Dispatched,
            UnitStatus::EnRoute,
            UnitStatus::OnScene,
            UnitStatus::Transporting,
            UnitStatus::AtHospital,
        ] {
            assert_eq!(u.check_status_change(to).unwrap_err().kind, crate::RefusalKind::Conflict);
        }
        assert!(u.check_status_change(UnitStatus::Available).is_err(), "no-op change is refused");
    }

    #[test]
    fn assigned_units_move_through_working_statuses_only() {
        let u = unit(UnitStatus::Dispatched, Some(IncidentId(4)));
        for to in [UnitStatus::EnRoute, UnitStatus::OnScene, UnitStatus::Transporting, UnitStatus::AtHospital] {
            assert!(u.check_status_change(to).is_ok(), "{to:?}");
        }
        assert!(u.check_status_change(UnitStatus::Available).is_err());
        assert!(u.check_status_change(UnitStatus::OutOfService).is_err());
    }

    #[test]
    fn time_in_status_never_goes_negative() {
        let u = unit(UnitStatus::Available, None);
        assert_eq!(u.time_in_status_ms(61_000), 60_000);
        assert_eq!(u.time_in_status_ms(0), 0);
    }
}

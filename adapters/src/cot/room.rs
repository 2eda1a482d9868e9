//! What a Cursor-on-Target event means for the room, and the room's units, incidents and messages
//! as CoT events: the one place where TAK's vocabulary meets Vigie's model.
//!
//! In: [`interpret`] reads an event as a position report, a GeoChat message, a receipt, an
//! emergency beacon or its cancellation, a ping, or something the room ignores (by rule, named).
//! Out: [`unit`], [`incident_marker`], [`incident_area`], [`message`], [`delete`], [`pong`] and, on
//! Vigie's own link to a TAK server, [`hello`].
//!
//! Unit kinds and CoT types map both ways ([`cot_type`], [`unit_kind`]): each kind has its own
//! type from the MIL-STD-2525 tree TAK uses (friendly: `a-f-…`), so a unit comes back as it went.
//! Everything Vigie sends has a uid under [`VIGIE_UID`], so an echo (TAK servers send a client's
//! own events back) is recognised and never taken for a new device.

use vigie_domain::{
    Agency, AgencyKind, Channel, ChannelId, DeviceUid, Fix, Incident, IncidentStatus, Message, MessageId,
    MessagePriority, Refusal, Unit, UnitId, UnitKind,
};

use crate::cot::event::{Chat, CotEvent, Group, Point, Track};

/// The prefix of every uid Vigie gives its events.
pub const VIGIE_UID: &str = "VIGIE.";
/// GeoChat's room for everyone, which is Vigie's all-room channel.
pub const ALL_CHAT_ROOMS: &str = "All Chat Rooms";
/// How long a TAK client keeps an incident marker without a refresh (Vigie refreshes the picture
/// well within it).
pub const MARKER_LIFE_MS: i64 = 5 * 60 * 1000;

/// What an incoming event asks of the room.
#[derive(Clone, Debug, PartialEq)]
pub enum Meaning {
    Position(Position),
    Chat {
        room: String,
        sender: Option<String>,
        text: String,
    },
    /// A GeoChat receipt of one of Vigie's messages: `read` (`b-t-f-r`), else delivered.
    Receipt {
        message_id: MessageId,
        read: bool,
    },
    /// An emergency beacon (`b-a-o-tbl` 911, `b-a-o-pan` ring the bell, `b-a-o-opn` troops in
    /// contact…) for the device `device`, or its cancellation (`b-a-o-can`).
    Emergency {
        device: DeviceUid,
        label: String,
        point: Option<(f64, f64)>,
        cancel: bool,
    },
    /// `t-x-c-t`: the client checks the link is alive and expects a `t-x-c-t-r`.
    Ping,
    /// Nothing for the room, and why (the rule's name, for the counters).
    Ignored(&'static str),
}

/// A device's position report, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct Position {
    pub device: DeviceUid,
    pub callsign: String,
    pub kind: UnitKind,
    pub lon: f64,
    pub lat: f64,
    pub heading_deg: Option<f64>,
    pub speed_mps: Option<f64>,
    pub accuracy_m: Option<f64>,
    pub at_ms: i64,
    pub stale_ms: i64,
}

impl Position {
    /// The report as a fix of `unit_id`, range-checked by the domain.
    pub fn fix(&self, unit_id: UnitId) -> Result<Fix, Refusal> {
        Fix::parse(unit_id, self.lon, self.lat, self.heading_deg, self.speed_mps, self.accuracy_m, self.at_ms)
    }

    /// A callsign the room accepts: at most `max` characters.
    pub fn callsign_within(&self, max: usize) -> String {
        self.callsign.chars().take(max).collect::<String>().trim().to_owned()
    }
}

/// Reads what `event` asks of the room.
pub fn interpret(event: &CotEvent) -> Meaning {
    let kind = event.kind.as_str();
    if event.uid.starts_with(VIGIE_UID) {
        return Meaning::Ignored("echo of Vigie's own event");
    }
    if kind == "t-x-c-t" {
        return Meaning::Ping;
    }
    if kind == "b-t-f" {
        return match (&event.chat, &event.remarks) {
            (Some(chat), Some(text)) => {
                Meaning::Chat { room: chat.room.clone(), sender: chat.sender_callsign.clone(), text: text.clone() }
            }
            _ => Meaning::Ignored("chat without room or text"),
        };
    }
    if kind == "b-t-f-d" || kind == "b-t-f-r" {
        return match event.receipt_for.as_deref().and_then(message_id) {
            Some(message_id) => Meaning::Receipt { message_id, read: kind == "b-t-f-r" },
            None => Meaning::Ignored("receipt for a message not Vigie's"),
        };
    }
    if let Some(alert) = kind.strip_prefix("b-a-o-") {
        let device = event.link.as_deref().unwrap_or(&event.uid);
        let Ok(device) = DeviceUid::parse(device) else { return Meaning::Ignored("emergency without a device") };
        let label = event.emergency.clone().unwrap_or_else(|| {
            match alert {
                "tbl" => "911 Alert",
                "pan" => "Ring The Bell",
                "opn" => "Troops In Contact",
                "c" => "Geo-fence Breached",
                _ => "Emergency",
            }
            .to_owned()
        });
        let point = known_point(&event.point);
        return Meaning::Emergency { device, label, point, cancel: alert == "can" };
    }
    if kind.starts_with("a-") {
        let Some((lat, lon)) = known_point(&event.point) else { return Meaning::Ignored("position at 0,0") };
        let Ok(device) = DeviceUid::parse(&event.uid) else { return Meaning::Ignored("uid not a device uid") };
        return Meaning::Position(Position {
            callsign: event.callsign.clone().unwrap_or_else(|| event.uid.clone()),
            kind: unit_kind(kind, event.group.as_ref().and_then(|g| g.role.as_deref())),
            device,
            lon,
            lat,
            heading_deg: event.track.map(|t| t.course),
            // A TAK device reports 0 speed when it does not know; a unit cannot exceed the
            // domain's bound, so a faster report is the device's error, refused by `Fix::parse`.
            speed_mps: event.track.map(|t| t.speed),
            accuracy_m: event.point.ce,
            at_ms: event.time_ms,
            stale_ms: event.stale_ms,
        });
    }
    Meaning::Ignored("a type the room does not show")
}

/// CoT puts "no position" at 0,0.
fn known_point(p: &Point) -> Option<(f64, f64)> {
    (p.lat != 0.0 || p.lon != 0.0).then_some((p.lat, p.lon))
}

/// Each unit kind's CoT type (friendly, from the MIL-STD-2525 tree TAK draws).
pub fn cot_type(kind: UnitKind) -> &'static str {
    match kind {
        UnitKind::PatrolCar => "a-f-G-E-V-C",
        UnitKind::Motorcycle => "a-f-G-E-V-C-M",
        UnitKind::FootPatrol => "a-f-G-U-C",
        UnitKind::TacticalTeam => "a-f-G-U-C-I",
        UnitKind::FireEngine => "a-f-G-E-V-U-F",
        UnitKind::Ladder => "a-f-G-E-V-U-L",
        UnitKind::RescueUnit => "a-f-G-U-U-S-R",
        UnitKind::Hazmat => "a-f-G-U-C-D",
        UnitKind::Ambulance => "a-f-G-E-V-U-A",
        UnitKind::MedicalTeam => "a-f-G-U-S-M",
        UnitKind::CommandVehicle => "a-f-G-U-H",
        UnitKind::Helicopter => "a-f-A-C-H",
        UnitKind::Boat => "a-f-S-X",
        UnitKind::LiaisonOfficer => "a-f-G-U-U-L",
    }
}

/// The unit kind of a device first seen with CoT type `cot` (any affiliation) and ATAK team role.
pub fn unit_kind(cot: &str, role: Option<&str>) -> UnitKind {
    // The affiliation (`a-f-`, `a-n-`, `a-u-`…) does not change what the unit is.
    let tail = cot.get(4..).unwrap_or("");
    if let Some(kind) = UnitKind::ALL.into_iter().find(|k| &cot_type(*k)[4..] == tail) {
        return kind;
    }
    match role {
        Some("Medic") => return UnitKind::MedicalTeam,
        Some("HQ") | Some("Team Lead") => return UnitKind::CommandVehicle,
        _ => {}
    }
    if tail.starts_with("A") {
        UnitKind::Helicopter
    } else if tail.starts_with("S") {
        UnitKind::Boat
    } else if tail.starts_with("G-E-V") {
        UnitKind::PatrolCar
    } else {
        // A person with a phone or a tablet: ATAK's own `a-f-G-U-C`.
        UnitKind::FootPatrol
    }
}

/// The ATAK team colour an agency's units show in.
fn team(agency: Option<&Agency>) -> &'static str {
    match agency.map(|a| a.kind) {
        Some(AgencyKind::Police) => "Blue",
        Some(AgencyKind::Gendarmerie) => "Dark Blue",
        Some(AgencyKind::FireRescue) => "Red",
        Some(AgencyKind::Ems) => "Green",
        Some(AgencyKind::CivilProtection) => "Yellow",
        Some(AgencyKind::Liaison) | None => "White",
    }
}

/// The uid a unit has on TAK: its device's, or Vigie's own.
pub fn unit_uid(unit: &Unit) -> String {
    unit.device_uid.as_ref().map_or_else(|| format!("{VIGIE_UID}unit.{}", unit.unit_id.0), |d| d.to_string())
}

/// A unit with a position, as TAK shows it; `None` before its first fix. It goes stale when the
/// room would call it stale (`stale_after_ms` after its fix).
pub fn unit(unit: &Unit, agency: Option<&Agency>, stale_after_ms: i64) -> Option<CotEvent> {
    let fix = unit.last_fix?;
    let track = match (fix.heading_deg, fix.speed_mps) {
        (None, None) => None,
        (course, speed) => Some(Track { course: course.unwrap_or(0.0), speed: speed.unwrap_or(0.0) }),
    };
    let point = Point { lat: fix.position.lat, lon: fix.position.lon, hae: None, ce: fix.accuracy_m, le: None };
    let stale_ms = fix.reported_at_ms.saturating_add(stale_after_ms);
    let mut e = CotEvent::new(unit_uid(unit), cot_type(unit.kind), fix.reported_at_ms, stale_ms, point);
    e.how = Some("m-g".into());
    e.callsign = Some(unit.callsign.clone());
    e.group = Some(Group { name: team(agency).into(), role: Some("Team Member".into()) });
    e.track = track;
    e.remarks = Some(format!("{} · {}", unit.agency, unit.status.label()));
    Some(e)
}

fn incident_uid(incident: &Incident) -> String {
    format!("{VIGIE_UID}incident.{}", incident.incident_id.0)
}

fn incident_area_uid(incident: &Incident) -> String {
    format!("{}.area", incident_uid(incident))
}

/// The uids an incident may have on TAK (its marker, its area), for deletes.
pub fn incident_uids(incident: &Incident) -> [String; 2] {
    [incident_uid(incident), incident_area_uid(incident)]
}

fn bare(uid: String, kind: &str, now_ms: i64, life_ms: i64, lat: f64, lon: f64) -> CotEvent {
    let point = Point { lat, lon, hae: None, ce: None, le: None };
    let mut e = CotEvent::new(uid, kind, now_ms, now_ms.saturating_add(life_ms), point);
    e.how = Some("h-g-i-g-o".into());
    e
}

/// An incident as a spot-map marker: its id, kind and priority as the callsign, its status and
/// address as remarks.
pub fn incident_marker(incident: &Incident, now_ms: i64) -> CotEvent {
    let p = incident.location;
    let mut e = bare(incident_uid(incident), "b-m-p-s-m", now_ms, MARKER_LIFE_MS, p.lat, p.lon);
    e.callsign = Some(format!("{} {:?} {:?}", incident.incident_id, incident.kind, incident.priority));
    e.remarks = Some(format!("{} · {:?} · {}", incident.address, incident.status, incident.lead_agency));
    e
}

/// An incident's area as a drawn polygon (`u-d-f`), if it has one.
pub fn incident_area(incident: &Incident, now_ms: i64) -> Option<CotEvent> {
    let area = incident.area.as_ref()?;
    let p = incident.location;
    let mut e = bare(incident_area_uid(incident), "u-d-f", now_ms, MARKER_LIFE_MS, p.lat, p.lon);
    e.callsign = Some(format!("{} area", incident.incident_id));
    e.shape = area.ring.iter().map(|pt| (pt.lat, pt.lon)).collect();
    Some(e)
}

/// Whether an incident still belongs on a TAK map.
pub fn incident_is_open(incident: &Incident) -> bool {
    incident.status != IncidentStatus::Closed
}

/// A message's uid and the `messageId` its receipts name.
pub fn message_uid(id: MessageId) -> String {
    format!("{VIGIE_UID}msg.{}", id.0)
}

/// The message a receipt names, if it is one of Vigie's.
pub fn message_id(uid: &str) -> Option<MessageId> {
    uid.strip_prefix(VIGIE_UID)?.strip_prefix("msg.")?.parse().ok().map(MessageId)
}

/// The GeoChat room a channel is on TAK: the all-room channel is "All Chat Rooms".
pub fn chat_room(channel: &Channel) -> String {
    if channel.channel_id == ChannelId::room() {
        ALL_CHAT_ROOMS.to_owned()
    } else {
        channel.name.clone()
    }
}

/// A message as GeoChat: sent by its agency, in its channel's room, flash and immediate ones
/// marked so.
pub fn message(m: &Message, channel: &Channel) -> CotEvent {
    let room = chat_room(channel);
    let mut e = bare(message_uid(m.message_id), "b-t-f", m.sent_at_ms, 24 * 3600 * 1000, 0.0, 0.0);
    let sender = format!("{} ({})", m.sender_agency, vigie_domain::actor::login_of(&m.sender_user));
    e.chat = Some(Chat { room, sender_callsign: Some(sender), message_id: Some(message_uid(m.message_id)) });
    e.remarks = Some(match m.priority {
        MessagePriority::Flash => format!("FLASH: {}", m.body),
        MessagePriority::Immediate => format!("IMMEDIATE: {}", m.body),
        _ => m.body.clone(),
    });
    e
}

/// Tells TAK clients to remove `uid` from their maps (`t-x-d-d`).
pub fn delete(uid: &str, now_ms: i64) -> CotEvent {
    let mut e = bare(format!("{VIGIE_UID}delete.{uid}"), "t-x-d-d", now_ms, 20_000, 0.0, 0.0);
    e.link = Some(uid.to_owned());
    e
}

/// Vigie's own situational-awareness report on a link to a TAK server: the first event a TAK
/// server reads from a client identifies it (FreeTAKServer waits for it before serving anyone
/// else), and repeated it keeps the link known. `name` tells the link apart (the principal).
pub fn hello(name: &str, callsign: &str, now_ms: i64, life_ms: i64) -> CotEvent {
    let mut e = bare(format!("{VIGIE_UID}link.{name}"), "a-f-G-U-C", now_ms, life_ms, 0.0, 0.0);
    e.how = Some("h-e".into());
    e.callsign = Some(callsign.to_owned());
    e.group = Some(Group { name: "White".into(), role: Some("HQ".into()) });
    e
}

/// The answer to a client's `t-x-c-t` ping.
pub fn pong(now_ms: i64) -> CotEvent {
    bare(format!("{VIGIE_UID}pong"), "t-x-c-t-r", now_ms, 20_000, 0.0, 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;
    use vigie_domain::AgencyCode;

    #[test]
    fn every_unit_kind_has_its_own_type_and_comes_back() {
        let types: BTreeSet<_> = UnitKind::ALL.iter().map(|k| cot_type(*k)).collect();
        assert_eq!(types.len(), UnitKind::ALL.len());
        for k in UnitKind::ALL {
            assert_eq!(unit_kind(cot_type(k), None), k, "{k:?}");
            assert_eq!(unit_kind(&cot_type(k).replacen("a-f-", "a-n-", 1), None), k, "any affiliation");
        }
        assert_eq!(unit_kind("a-f-G-U-C-X-Y", Some("Medic")), UnitKind::MedicalTeam);
        assert_eq!(unit_kind("a-h-A-M-F", None), UnitKind::Helicopter);
        assert_eq!(unit_kind("a-f-G", None), UnitKind::FootPatrol);
    }

    #[test]
    fn echoes_pings_and_unknown_types_are_named() {
        let mut e = bare("VIGIE.unit.3".into(), "a-f-G-U-C", 1, 1, 48.0, 2.0);
        assert_eq!(interpret(&e), Meaning::Ignored("echo of Vigie's own event"));
        e.uid = "x".into();
        e.kind = "t-x-c-t".into();
        assert_eq!(interpret(&e), Meaning::Ping);
        e.kind = "u-d-f".into();
        assert_eq!(interpret(&e), Meaning::Ignored("a type the room does not show"));
        e.kind = "a-f-G".into();
        e.point = Point { lat: 0.0, lon: 0.0, hae: None, ce: None, le: None };
        assert_eq!(interpret(&e), Meaning::Ignored("position at 0,0"));
    }

    #[test]
    fn a_receipt_names_vigie_s_message_and_an_emergency_its_device() {
        let mut e = bare("r1".into(), "b-t-f-r", 1, 1, 0.0, 0.0);
        e.receipt_for = Some(message_uid(MessageId(12)));
        assert_eq!(interpret(&e), Meaning::Receipt { message_id: MessageId(12), read: true });
        e.receipt_for = Some("someone-else".into());
        assert!(matches!(interpret(&e), Meaning::Ignored(_)));
        let mut alarm = bare("ANDROID-1-9-1-1".into(), "b-a-o-tbl", 1, 1, 48.1, 2.2);
        alarm.link = Some("ANDROID-1".into());
        let Meaning::Emergency { device, label, point, cancel } = interpret(&alarm) else { panic!() };
        assert_eq!(
            (device.as_str(), label.as_str(), point, cancel),
            ("ANDROID-1", "911 Alert", Some((48.1, 2.2)), false)
        );
        alarm.kind = "b-a-o-can".into();
        assert!(matches!(interpret(&alarm), Meaning::Emergency { cancel: true, .. }));
    }

    fn a_unit(kind: UnitKind, device: Option<String>, fix: Fix) -> Unit {
        Unit {
            unit_id: fix.unit_id,
            callsign: "PS-11".into(),
            agency: AgencyCode::parse("PP").unwrap(),
            kind,
            status: vigie_domain::UnitStatus::Available,
            status_since_ms: 0,
            incident_id: None,
            last_fix: Some(fix),
            hidden_from: BTreeSet::new(),
            device_uid: device.map(|d| DeviceUid::parse(&d).unwrap()),
        }
    }

    proptest! {
        /// A unit sent to TAK and read back (through XML) is the same unit at the same fix.
        #[test]
        fn a_unit_round_trips_through_cot(
            kind in proptest::sample::select(UnitKind::ALL.to_vec()),
            lon in -180.0f64..180.0, lat in -90.0f64..90.0,
            heading in proptest::option::of(0.0f64..359.0), speed in proptest::option::of(0.0f64..100.0),
            accuracy in proptest::option::of(0.0f64..1000.0), at in 1_700_000_000_000i64..1_900_000_000_000,
            device in proptest::option::of("ANDROID-[0-9a-f]{8}"),
        ) {
            prop_assume!(lat != 0.0 || lon != 0.0);
            let fix = Fix::parse(UnitId(7), lon, lat, heading, speed, accuracy, at).unwrap();
            let u = a_unit(kind, device.clone(), fix);
            let xml = unit(&u, None, 60_000).unwrap().to_xml();
            let back = CotEvent::parse(xml.as_bytes()).unwrap();
            match interpret(&back) {
                Meaning::Ignored(why) => prop_assert!(device.is_none() && why.starts_with("echo"), "{}", why),
                Meaning::Position(p) => {
                    prop_assert_eq!(p.kind, kind);
                    prop_assert_eq!(p.callsign.as_str(), "PS-11");
                    prop_assert_eq!(Some(p.device.to_string()), device);
                    let again = p.fix(UnitId(7)).unwrap();
                    prop_assert_eq!(again.position, fix.position);
                    prop_assert_eq!(again.reported_at_ms, fix.reported_at_ms);
                    prop_assert_eq!(again.accuracy_m, fix.accuracy_m);
                    if fix.heading_deg.is_some() || fix.speed_mps.is_some() {
                        prop_assert_eq!(again.heading_deg, Some(fix.heading_deg.unwrap_or(0.0)));
                        prop_assert_eq!(again.speed_mps, Some(fix.speed_mps.unwrap_or(0.0)));
                    }
                    prop_assert_eq!(p.stale_ms - p.at_ms, 60_000);
                }
                other => prop_assert!(false, "{:?}", other),
            }
        }
    }
}

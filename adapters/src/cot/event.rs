//! Cursor-on-Target events: one `<event>` with its `<point>` and the `<detail>` elements a room
//! uses (contact callsign, group, battery, track, remarks, GeoChat), parsed from untrusted bytes
//! into a validated [`CotEvent`] and encoded back.
//!
//! Written from the public CoT schema (MITRE's `Event.xsd`, the base CoT schema: `version`,
//! `uid`, `type`, `how`, `time`, `start`, `stale`; `point` with `lat`, `lon`, `hae`, `ce`, `le`)
//! and the TAK detail elements ATAK sends (`contact`, `__group`, `status`, `track`, `remarks`,
//! `__chat`).
//!
//! Bounds: an event is at most [`MAX_EVENT_BYTES`] and [`MAX_NODES`] XML nodes; a DTD is refused
//! (so no entity of any kind is expanded or fetched); every string is bounded and printable;
//! coordinates, heights, errors, course, speed and battery are range-checked; times are RFC 3339
//! within the domain's range. A refusal names the field.

use std::fmt::Write as _;

use crate::xml::{self, escape};

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Most bytes in one event (TAK events are a few hundred bytes; a chat with a long remark a few KB).
pub const MAX_EVENT_BYTES: usize = 64 * 1024;
/// Most XML nodes (elements, attributes' owners, texts) in one event.
pub const MAX_NODES: u32 = 512;
/// Most characters of a uid, a callsign, a group or a chat room.
pub const MAX_NAME_CHARS: usize = 256;
/// Most characters of remarks (the text of a chat message).
pub const MAX_REMARKS_CHARS: usize = 8_000;
/// CoT's "unknown" circular and linear errors.
const UNKNOWN_ERROR: f64 = 9_999_999.0;

#[derive(Clone, Debug, PartialEq)]
pub struct CotEvent {
    pub uid: String,
    /// The CoT type, e.g. `a-f-G-U-C` (a friendly ground unit), `b-t-f` (GeoChat).
    pub kind: String,
    pub how: Option<String>,
    pub time_ms: i64,
    pub start_ms: i64,
    pub stale_ms: i64,
    pub point: Point,
    pub callsign: Option<String>,
    pub group: Option<Group>,
    /// Per cent.
    pub battery: Option<u8>,
    pub track: Option<Track>,
    pub remarks: Option<String>,
    pub chat: Option<Chat>,
    /// The message a GeoChat receipt (`b-t-f-d` delivered, `b-t-f-r` read) is about
    /// (`__chatreceipt messageId`).
    pub receipt_for: Option<String>,
    /// What an emergency beacon says it is (`<emergency type="911 Alert">`).
    pub emergency: Option<String>,
    /// A drawn shape's vertices, `(lat, lon)`, from its `<link point="lat,lon"/>` elements
    /// (TAK's `u-d-f` freehand polygons and `u-d-r` rectangles); at most [`MAX_VERTICES`].
    pub shape: Vec<(f64, f64)>,
    /// The uid the first `<link uid>` names: the device an emergency beacon is for, the event a
    /// delete (`t-x-d-d`) removes.
    pub link: Option<String>,
}

/// Most vertices of a drawn shape.
pub const MAX_VERTICES: usize = 200;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    pub lat: f64,
    pub lon: f64,
    /// Height above the ellipsoid, metres.
    pub hae: Option<f64>,
    /// Circular error, metres (absent when unknown).
    pub ce: Option<f64>,
    /// Linear error, metres (absent when unknown).
    pub le: Option<f64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    /// The team colour, e.g. `Cyan`.
    pub name: String,
    pub role: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Track {
    /// Degrees from true north, [0, 360).
    pub course: f64,
    /// Metres per second.
    pub speed: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Chat {
    /// The room the message is for (`All Chat Rooms`, a group, a callsign).
    pub room: String,
    pub sender_callsign: Option<String>,
    /// The message's own id (`__chat messageId`), which receipts name.
    pub message_id: Option<String>,
}

/// Why bytes are not a CoT event: the field, and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct CotError {
    pub field: String,
    pub message: String,
}

fn refuse(field: &str, message: impl Into<String>) -> CotError {
    CotError { field: field.to_owned(), message: message.into() }
}

impl CotEvent {
    /// An event with its identity, times and point, and no detail (`start` is `time`).
    pub fn new(uid: String, kind: &str, time_ms: i64, stale_ms: i64, point: Point) -> Self {
        CotEvent {
            uid,
            kind: kind.to_owned(),
            how: None,
            time_ms,
            start_ms: time_ms,
            stale_ms,
            point,
            callsign: None,
            group: None,
            battery: None,
            track: None,
            remarks: None,
            chat: None,
            receipt_for: None,
            emergency: None,
            shape: Vec::new(),
            link: None,
        }
    }

    /// Whether the event's information is out of date at `now_ms`.
    pub fn is_stale(&self, now_ms: i64) -> bool {
        now_ms >= self.stale_ms
    }

    /// Parses one `<event>` (an XML declaration before it is allowed).
    pub fn parse(bytes: &[u8]) -> Result<Self, CotError> {
        if bytes.len() > MAX_EVENT_BYTES {
            return Err(refuse("event", format!("an event is at most {MAX_EVENT_BYTES} bytes")));
        }
        let doc = xml::document(bytes, MAX_NODES).map_err(|m| refuse("event", m))?;
        let event = doc.root_element();
        if event.tag_name().name() != "event" {
            return Err(refuse("event", format!("the root element is <{}>, not <event>", event.tag_name().name())));
        }
        let uid = name("uid", required(&event, "uid")?)?;
        let kind = required(&event, "type")?;
        if kind.is_empty() || kind.len() > 64 || !kind.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
        {
            return Err(refuse("type", "a CoT type is up to 64 letters, digits and '-', e.g. a-f-G-U-C"));
        }
        let how = event.attribute("how").map(|h| name("how", h)).transpose()?;
        let time_ms = instant("time", required(&event, "time")?)?;
        let start_ms = event.attribute("start").map(|s| instant("start", s)).transpose()?.unwrap_or(time_ms);
        let stale_ms = instant("stale", required(&event, "stale")?)?;
        let point = child(&event, "point").ok_or_else(|| refuse("point", "an event has a <point>"))?;
        let point = Point {
            lat: number(&point, "point.lat", "lat", -90.0, 90.0)?.ok_or_else(|| refuse("point.lat", "missing"))?,
            lon: number(&point, "point.lon", "lon", -180.0, 180.0)?.ok_or_else(|| refuse("point.lon", "missing"))?,
            hae: number(&point, "point.hae", "hae", -12_000.0, UNKNOWN_ERROR)?.filter(|h| *h != UNKNOWN_ERROR),
            ce: number(&point, "point.ce", "ce", 0.0, UNKNOWN_ERROR)?.filter(|e| *e != UNKNOWN_ERROR),
            le: number(&point, "point.le", "le", 0.0, UNKNOWN_ERROR)?.filter(|e| *e != UNKNOWN_ERROR),
        };
        let mut parsed = CotEvent::new(uid, kind, time_ms, stale_ms, point);
        parsed.how = how;
        parsed.start_ms = start_ms;
        if let Some(detail) = child(&event, "detail") {
            parsed.read_detail(&detail)?;
        }
        Ok(parsed)
    }

    fn read_detail(&mut self, detail: &roxmltree::Node) -> Result<(), CotError> {
        if let Some(contact) = child(detail, "contact") {
            self.callsign = contact.attribute("callsign").map(|c| name("contact.callsign", c)).transpose()?;
        }
        if let Some(group) = child(detail, "__group") {
            let group_name = group.attribute("name").map(|n| name("__group.name", n)).transpose()?;
            let role = group.attribute("role").map(|r| name("__group.role", r)).transpose()?;
            self.group = group_name.map(|name| Group { name, role });
        }
        if let Some(status) = child(detail, "status") {
            self.battery = number(&status, "status.battery", "battery", 0.0, 100.0)?.map(|b| b.round() as u8);
        }
        if let Some(track) = child(detail, "track") {
            let course = number(&track, "track.course", "course", 0.0, 360.0)?;
            let speed = number(&track, "track.speed", "speed", 0.0, 1_000.0)?;
            if let (Some(course), Some(speed)) = (course, speed) {
                self.track = Some(Track { course: course % 360.0, speed });
            }
        }
        if let Some(remarks) = child(detail, "remarks") {
            let text: String = remarks.children().filter_map(|n| n.text()).collect();
            if text.chars().count() > MAX_REMARKS_CHARS {
                return Err(refuse("remarks", format!("at most {MAX_REMARKS_CHARS} characters")));
            }
            if text.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
                return Err(refuse("remarks", "no control characters"));
            }
            self.remarks = Some(text.trim().to_owned()).filter(|t| !t.is_empty());
        }
        if let Some(chat) = child(detail, "__chat") {
            let room = chat.attribute("chatroom").ok_or_else(|| refuse("__chat.chatroom", "missing"))?;
            let sender = chat.attribute("senderCallsign").map(|s| name("__chat.senderCallsign", s)).transpose()?;
            let message_id = chat.attribute("messageId").map(|m| name("__chat.messageId", m)).transpose()?;
            self.chat = Some(Chat { room: name("__chat.chatroom", room)?, sender_callsign: sender, message_id });
        }
        if let Some(receipt) = child(detail, "__chatreceipt") {
            self.receipt_for =
                receipt.attribute("messageId").map(|m| name("__chatreceipt.messageId", m)).transpose()?;
        }
        if let Some(emergency) = child(detail, "emergency") {
            let label = emergency.attribute("type").unwrap_or("Emergency");
            self.emergency = Some(name("emergency.type", label)?);
        }
        if let Some(uid) = detail.children().filter(|n| n.has_tag_name("link")).find_map(|l| l.attribute("uid")) {
            self.link = Some(name("link.uid", uid)?);
        }
        for (i, link) in detail.children().filter(|n| n.has_tag_name("link")).enumerate() {
            let Some(raw) = link.attribute("point") else { continue };
            if i >= MAX_VERTICES {
                return Err(refuse("link.point", format!("a shape has at most {MAX_VERTICES} vertices")));
            }
            let mut parts = raw.split(',').map(str::trim);
            let coordinate = |part: Option<&str>, field: &str, limit: f64| -> Result<f64, CotError> {
                let value: f64 = part
                    .and_then(|p| p.parse().ok())
                    .ok_or_else(|| refuse(field, format!("{raw:?} is not \"lat,lon\"")))?;
                if !value.is_finite() || value.abs() > limit {
                    return Err(refuse(field, format!("{value} is outside [-{limit}, {limit}]")));
                }
                Ok(value)
            };
            let lat = coordinate(parts.next(), "link.point.lat", 90.0)?;
            let lon = coordinate(parts.next(), "link.point.lon", 180.0)?;
            self.shape.push((lat, lon));
        }
        Ok(())
    }

    /// The event as CoT XML (with an XML declaration), as TAK clients and servers read it.
    pub fn to_xml(&self) -> String {
        let mut out = String::with_capacity(512);
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>");
        let _ = write!(
            out,
            "<event version=\"2.0\" uid=\"{}\" type=\"{}\" time=\"{}\" start=\"{}\" stale=\"{}\" how=\"{}\">",
            escape(&self.uid),
            escape(&self.kind),
            rfc3339(self.time_ms),
            rfc3339(self.start_ms),
            rfc3339(self.stale_ms),
            escape(self.how.as_deref().unwrap_or("m-g")),
        );
        let p = &self.point;
        let _ = write!(
            out,
            "<point lat=\"{}\" lon=\"{}\" hae=\"{}\" ce=\"{}\" le=\"{}\"/>",
            p.lat,
            p.lon,
            p.hae.unwrap_or(UNKNOWN_ERROR),
            p.ce.unwrap_or(UNKNOWN_ERROR),
            p.le.unwrap_or(UNKNOWN_ERROR)
        );
        out.push_str("<detail>");
        if let Some(c) = &self.callsign {
            let _ = write!(out, "<contact callsign=\"{}\"/>", escape(c));
        }
        if let Some(g) = &self.group {
            let _ = write!(out, "<__group name=\"{}\"", escape(&g.name));
            if let Some(role) = &g.role {
                let _ = write!(out, " role=\"{}\"", escape(role));
            }
            out.push_str("/>");
        }
        if let Some(b) = self.battery {
            let _ = write!(out, "<status battery=\"{b}\"/>");
        }
        if let Some(t) = self.track {
            let _ = write!(out, "<track course=\"{}\" speed=\"{}\"/>", t.course, t.speed);
        }
        if let Some(chat) = &self.chat {
            let _ = write!(out, "<__chat chatroom=\"{}\"", escape(&chat.room));
            if let Some(s) = &chat.sender_callsign {
                let _ = write!(out, " senderCallsign=\"{}\"", escape(s));
            }
            if let Some(m) = &chat.message_id {
                let _ = write!(out, " messageId=\"{}\"", escape(m));
            }
            out.push_str("/>");
        }
        if let Some(m) = &self.receipt_for {
            let _ = write!(out, "<__chatreceipt messageId=\"{}\"/>", escape(m));
        }
        if let Some(e) = &self.emergency {
            let _ = write!(
                out,
                "<emergency type=\"{}\">{}</emergency>",
                escape(e),
                escape(self.callsign.as_deref().unwrap_or(""))
            );
        }
        if let Some(uid) = &self.link {
            let _ = write!(out, "<link uid=\"{}\" relation=\"p-p\"/>", escape(uid));
        }
        for (lat, lon) in &self.shape {
            let _ = write!(out, "<link point=\"{lat},{lon}\"/>");
        }
        if let Some(r) = &self.remarks {
            let _ = write!(out, "<remarks>{}</remarks>", escape(r));
        }
        out.push_str("</detail></event>");
        out
    }
}

fn child<'a, 'i>(node: &roxmltree::Node<'a, 'i>, tag: &str) -> Option<roxmltree::Node<'a, 'i>> {
    node.children().find(|n| n.is_element() && n.tag_name().name() == tag)
}

fn required<'a>(node: &roxmltree::Node<'a, '_>, attribute: &str) -> Result<&'a str, CotError> {
    node.attribute(attribute).ok_or_else(|| refuse(attribute, "missing"))
}

/// A bounded, printable name.
fn name(field: &str, raw: &str) -> Result<String, CotError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(refuse(field, "empty"));
    }
    if trimmed.chars().count() > MAX_NAME_CHARS {
        return Err(refuse(field, format!("at most {MAX_NAME_CHARS} characters")));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(refuse(field, "no control characters"));
    }
    Ok(trimmed.to_owned())
}

/// An optional number attribute within `[min, max]`.
fn number(node: &roxmltree::Node, field: &str, attribute: &str, min: f64, max: f64) -> Result<Option<f64>, CotError> {
    let Some(raw) = node.attribute(attribute) else { return Ok(None) };
    let value: f64 = raw.trim().parse().map_err(|_| refuse(field, format!("{raw:?} is not a number")))?;
    if !value.is_finite() || value < min || value > max {
        return Err(refuse(field, format!("{value} is outside [{min}, {max}]")));
    }
    Ok(Some(value))
}

/// An RFC 3339 time as ms since the epoch, within the domain's range.
fn instant(field: &str, raw: &str) -> Result<i64, CotError> {
    xml::instant(field, raw, "an RFC 3339 time (2026-11-30T05:00:00Z)").map_err(|m| refuse(field, m))
}

fn rfc3339(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A friendly ground unit's position as ATAK sends it (the shape of the CoT base schema and
    /// ATAK's detail elements; written for this test from the public schema).
    const POSITION: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<event version="2.0" uid="ANDROID-352f3b1e" type="a-f-G-U-C" time="2026-11-30T05:00:00.000Z" start="2026-11-30T05:00:00.000Z" stale="2026-11-30T05:06:00.000Z" how="m-g">
  <point lat="48.8566" lon="2.3522" hae="35.2" ce="4.9" le="9999999.0"/>
  <detail>
    <takv os="34" version="4.10.0" device="SAMSUNG SM-T" platform="ATAK-CIV"/>
    <contact endpoint="*:-1:stcp" callsign="PS-11"/>
    <uid Droid="PS-11"/>
    <__group role="Team Member" name="Cyan"/>
    <status battery="87"/>
    <track course="271.5" speed="12.3"/>
  </detail>
</event>"#;

    /// A GeoChat message to all rooms.
    const CHAT: &str = r#"<event version="2.0" uid="GeoChat.ANDROID-352f3b1e.All Chat Rooms.4c9a" type="b-t-f" time="2026-11-30T05:01:00Z" start="2026-11-30T05:01:00Z" stale="2026-12-01T05:01:00Z" how="h-g-i-g-o">
  <point lat="48.8566" lon="2.3522" hae="9999999.0" ce="9999999.0" le="9999999.0"/>
  <detail>
    <__chat parent="RootContactGroup" groupOwner="false" chatroom="All Chat Rooms" id="All Chat Rooms" senderCallsign="PS-11" messageId="4c9a1f0e-7d2b-4b8e-9a51-0d6f3c2e8b71">
      <chatgrp uid0="ANDROID-352f3b1e" uid1="All Chat Rooms" id="All Chat Rooms"/>
    </__chat>
    <link uid="ANDROID-352f3b1e" type="a-f-G-U-C" relation="p-p"/>
    <remarks source="BAO.F.ATAK.ANDROID-352f3b1e" to="All Chat Rooms" time="2026-11-30T05:01:00Z">Renfort demandé &amp; reçu, Place de la République</remarks>
  </detail>
</event>"#;

    #[test]
    fn a_position_report_parses_with_its_detail() {
        let e = CotEvent::parse(POSITION.as_bytes()).unwrap();
        assert_eq!((e.uid.as_str(), e.kind.as_str(), e.how.as_deref()), ("ANDROID-352f3b1e", "a-f-G-U-C", Some("m-g")));
        assert_eq!(
            (e.point.lat, e.point.lon, e.point.hae, e.point.ce, e.point.le),
            (48.8566, 2.3522, Some(35.2), Some(4.9), None)
        );
        assert_eq!(e.callsign.as_deref(), Some("PS-11"));
        assert_eq!(e.group, Some(Group { name: "Cyan".into(), role: Some("Team Member".into()) }));
        assert_eq!(e.battery, Some(87));
        assert_eq!(e.track, Some(Track { course: 271.5, speed: 12.3 }));
        assert_eq!(e.stale_ms - e.time_ms, 6 * 60 * 1000);
        assert!(!e.is_stale(e.time_ms) && e.is_stale(e.stale_ms));
    }

    #[test]
    fn a_geochat_message_parses_with_its_room_sender_and_text() {
        let e = CotEvent::parse(CHAT.as_bytes()).unwrap();
        assert_eq!(e.kind, "b-t-f");
        let chat = Chat {
            room: "All Chat Rooms".into(),
            sender_callsign: Some("PS-11".into()),
            message_id: Some("4c9a1f0e-7d2b-4b8e-9a51-0d6f3c2e8b71".into()),
        };
        assert_eq!(e.chat, Some(chat));
        assert_eq!(e.remarks.as_deref(), Some("Renfort demandé & reçu, Place de la République"));
        assert_eq!(e.point.hae, None);
    }

    /// ATAK's emergency beacon ("911 Alert"), its cancellation, a read receipt and a drawn polygon,
    /// in the shapes ATAK sends them (written for this test from the CoT type tree: `b-a-o-tbl`,
    /// `b-a-o-can`, `b-t-f-r`, `u-d-f`).
    const EMERGENCY: &str = r#"<event version="2.0" uid="ANDROID-352f3b1e-9-1-1" type="b-a-o-tbl" time="2026-11-30T05:02:00Z" start="2026-11-30T05:02:00Z" stale="2026-11-30T05:12:00Z" how="h-e"><point lat="48.8570" lon="2.3530" hae="9999999.0" ce="9999999.0" le="9999999.0"/><detail><link uid="ANDROID-352f3b1e" type="a-f-G-U-C" relation="p-p"/><contact callsign="PS-11-Alert"/><emergency type="911 Alert">PS-11</emergency></detail></event>"#;
    const RECEIPT: &str = r#"<event version="2.0" uid="4c9a1f0e" type="b-t-f-r" time="2026-11-30T05:03:00Z" start="2026-11-30T05:03:00Z" stale="2026-11-30T05:05:00Z" how="h-g-i-g-o"><point lat="0" lon="0" hae="9999999.0" ce="9999999.0" le="9999999.0"/><detail><__chatreceipt parent="RootContactGroup" chatroom="All Chat Rooms" id="All Chat Rooms" senderCallsign="PS-11" messageId="VIGIE.msg.12"/><link uid="ANDROID-352f3b1e" type="a-f-G-U-C" relation="p-p"/></detail></event>"#;
    const SHAPE: &str = r#"<event version="2.0" uid="drawing-1" type="u-d-f" time="2026-11-30T05:04:00Z" start="2026-11-30T05:04:00Z" stale="2026-12-01T05:04:00Z" how="h-e"><point lat="48.86" lon="2.35" hae="0" ce="9999999" le="9999999"/><detail><link point="48.861,2.349"/><link point="48.861,2.352"/><link point="48.858,2.352"/><link point="48.858,2.349"/><strokeColor value="-65536"/><contact callsign="Périmètre"/></detail></event>"#;

    #[test]
    fn an_emergency_a_receipt_and_a_shape_parse() {
        let e = CotEvent::parse(EMERGENCY.as_bytes()).unwrap();
        assert_eq!((e.kind.as_str(), e.emergency.as_deref()), ("b-a-o-tbl", Some("911 Alert")));
        assert_eq!(e.link.as_deref(), Some("ANDROID-352f3b1e"));
        let r = CotEvent::parse(RECEIPT.as_bytes()).unwrap();
        assert_eq!(r.receipt_for.as_deref(), Some("VIGIE.msg.12"));
        let s = CotEvent::parse(SHAPE.as_bytes()).unwrap();
        assert_eq!(s.shape, vec![(48.861, 2.349), (48.861, 2.352), (48.858, 2.352), (48.858, 2.349)]);
        assert_eq!(s.callsign.as_deref(), Some("Périmètre"));
        let bad = SHAPE.replace("48.858,2.349", "48.858");
        assert_eq!(CotEvent::parse(bad.as_bytes()).unwrap_err().field, "link.point.lon");
        let far = SHAPE.replace("48.858,2.349", "98.858,2.349");
        assert_eq!(CotEvent::parse(far.as_bytes()).unwrap_err().field, "link.point.lat");
    }

    #[test]
    fn hostile_xml_is_refused_naming_why_and_reads_nothing() {
        let xxe = r#"<?xml version="1.0"?><!DOCTYPE event [<!ENTITY x SYSTEM "file:///etc/passwd">]><event uid="a" type="a-f-G" time="2026-11-30T05:00:00Z" stale="2026-11-30T05:06:00Z"><point lat="1" lon="1"/><detail><remarks>&x;</remarks></detail></event>"#;
        assert_eq!(
            CotEvent::parse(xxe.as_bytes()).unwrap_err().message,
            "a DTD is not accepted (no entities, no external files)"
        );
        let laughs = format!(
            r#"<!DOCTYPE lolz [<!ENTITY lol "lol">{}]><event/>"#,
            (1..10)
                .map(|i| format!(
                    r#"<!ENTITY lol{i} "&lol{};&lol{};">"#,
                    if i == 1 { String::new() } else { (i - 1).to_string() },
                    if i == 1 { String::new() } else { (i - 1).to_string() }
                ))
                .collect::<String>()
        );
        assert_eq!(
            CotEvent::parse(laughs.as_bytes()).unwrap_err().message,
            "a DTD is not accepted (no entities, no external files)"
        );
        let deep = format!("<event>{}{}</event>", "<a>".repeat(600), "</a>".repeat(600));
        assert!(CotEvent::parse(deep.as_bytes()).unwrap_err().message.contains("nodes"));
        let big = vec![b' '; MAX_EVENT_BYTES + 1];
        assert_eq!(CotEvent::parse(&big).unwrap_err().field, "event");
    }

    #[test]
    fn an_out_of_range_value_is_refused_naming_its_field() {
        let bad = POSITION.replace(r#"lat="48.8566""#, r#"lat="91""#);
        assert_eq!(CotEvent::parse(bad.as_bytes()).unwrap_err().field, "point.lat");
        let bad = POSITION.replace(r#"battery="87""#, r#"battery="NaN""#);
        assert_eq!(CotEvent::parse(bad.as_bytes()).unwrap_err().field, "status.battery");
        let bad = POSITION.replace(r#"time="2026-11-30T05:00:00.000Z""#, r#"time="yesterday""#);
        assert_eq!(CotEvent::parse(bad.as_bytes()).unwrap_err().field, "time");
        let bad = POSITION.replace(r#"type="a-f-G-U-C""#, r#"type="a f""#);
        assert_eq!(CotEvent::parse(bad.as_bytes()).unwrap_err().field, "type");
    }

    fn text() -> impl Strategy<Value = String> {
        "[A-Za-zé0-9 &<>'\"._-]{1,40}".prop_map(|s| s.trim().to_owned()).prop_filter("not blank", |s| !s.is_empty())
    }

    fn event() -> impl Strategy<Value = CotEvent> {
        let times = (1_700_000_000_000i64..1_900_000_000_000, 0i64..86_400_000);
        let point = (
            -90.0f64..=90.0,
            -180.0f64..=180.0,
            proptest::option::of(-400.0f64..9_000.0),
            proptest::option::of(0.0f64..1_000.0),
        );
        let detail = (
            proptest::option::of(text()),
            proptest::option::of((text(), proptest::option::of(text()))),
            proptest::option::of(0u8..=100),
            proptest::option::of((0.0f64..360.0, 0.0f64..100.0)),
            proptest::option::of(text()),
            proptest::option::of((text(), proptest::option::of(text()), proptest::option::of(text()))),
        );
        let more = (
            proptest::option::of(text()),
            proptest::option::of(text()),
            proptest::collection::vec((-90.0f64..=90.0, -180.0f64..=180.0), 0..8),
            proptest::option::of(text()),
        );
        (text(), "[a-z](-[A-Za-z]){1,5}", times, point, detail, more).prop_map(
            |(
                uid,
                kind,
                (time_ms, life),
                (lat, lon, hae, ce),
                (callsign, group, battery, track, remarks, chat),
                (receipt_for, emergency, shape, link),
            )| {
                CotEvent {
                    uid,
                    kind,
                    how: Some("m-g".into()),
                    time_ms,
                    start_ms: time_ms,
                    stale_ms: time_ms + life,
                    point: Point { lat, lon, hae, ce, le: None },
                    callsign,
                    group: group.map(|(name, role)| Group { name, role }),
                    battery,
                    track: track.map(|(course, speed)| Track { course, speed }),
                    remarks,
                    chat: chat.map(|(room, sender_callsign, message_id)| Chat { room, sender_callsign, message_id }),
                    receipt_for,
                    emergency,
                    shape,
                    link,
                }
            },
        )
    }

    proptest! {
        #[test]
        fn an_event_comes_back_from_its_xml_exactly(e in event()) {
            let xml = e.to_xml();
            prop_assert_eq!(CotEvent::parse(xml.as_bytes()).unwrap(), e, "{}", xml);
        }

        /// Fuzzing with arbitrary bytes, and with a real event cut or spliced anywhere: a refusal,
        /// never a panic.
        #[test]
        fn arbitrary_bytes_are_refused_or_parsed_never_a_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..2048),
            cut in 0usize..POSITION.len(),
            splice in proptest::collection::vec(any::<u8>(), 0..16),
        ) {
            let _ = CotEvent::parse(&bytes);
            let mut spliced = POSITION.as_bytes()[..cut].to_vec();
            spliced.extend_from_slice(&splice);
            spliced.extend_from_slice(&POSITION.as_bytes()[cut..]);
            let _ = CotEvent::parse(&spliced);
            let _ = CotEvent::parse(&POSITION.as_bytes()[..cut]);
        }
    }
}

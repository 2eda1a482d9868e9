//! Checks for events and states that come from outside the room's own sequencer — an imported
//! scenario file — with the same parsers and bounds as live commands. Types that validate
//! (`Point`, `Fix`, `AgencyCode`, `Colour`) already refused bad values while deserializing; this
//! adds what only `decide` checks for live commands: text lengths, counts, times, identifiers.

use crate::agency::bounded_text;
use crate::command::{MAX_ADDRESS_CHARS, MAX_CALLSIGN_CHARS, MAX_FIXES_PER_BATCH, MAX_NOTE_CHARS};
use crate::event::IncidentChanges;
use crate::geometry::MAX_AREA_VERTICES;
use crate::message::MAX_BODY_CHARS;
use crate::time::check_ms;
use crate::{Agency, Area, Channel, ChannelId, Event, Incident, LoggedEvent, Message, Refusal, State, Unit};

/// Longest actor name (a user name or `system`).
pub const MAX_ACTOR_CHARS: usize = 64;
/// Longest channel name.
pub const MAX_CHANNEL_NAME_CHARS: usize = 80;

/// Whether `e` could have been written by a live room: every field within the live rules.
pub fn logged_event(e: &LoggedEvent) -> Result<(), Refusal> {
    check_ms("at_ms", e.at_ms)?;
    actor("actor", &e.actor)?;
    event(&e.event).map_err(|r| r.within("event"))
}

pub fn event(event: &Event) -> Result<(), Refusal> {
    match event {
        Event::AgencyRegistered { agency: a } => self::agency(a).map_err(|r| r.within("agency")),
        Event::UnitRegistered { callsign, .. } => text("callsign", callsign, MAX_CALLSIGN_CHARS),
        Event::PositionsReported { fixes } => {
            if fixes.is_empty() || fixes.len() > MAX_FIXES_PER_BATCH {
                return Err(Refusal::invalid(
                    "fixes",
                    format!("a position batch holds 1 to {MAX_FIXES_PER_BATCH} fixes"),
                ));
            }
            Ok(()) // each fix was parsed by `Fix::parse` when deserialized
        }
        Event::IncidentCreated { area, address, .. } => {
            area.as_ref().map_or(Ok(()), self::area)?;
            text("address", address, MAX_ADDRESS_CHARS)
        }
        Event::IncidentUpdated { changes, .. } => incident_changes(changes).map_err(|r| r.within("changes")),
        Event::NoteAdded { text: t, .. } => text("text", t, MAX_NOTE_CHARS),
        Event::ChannelCreated { channel: c } => self::channel(c).map_err(|r| r.within("channel")),
        Event::MessagePosted { channel_id, body, .. } => {
            ChannelId::parse(channel_id.as_str()).map_err(|r| r.within("channel_id"))?;
            text("body", body, MAX_BODY_CHARS)
        }
        Event::UnitStatusChanged { .. }
        | Event::IncidentStatusChanged { .. }
        | Event::UnitAssigned { .. }
        | Event::UnitReleased { .. }
        | Event::MessageAcknowledged { .. }
        | Event::IncidentRestricted { .. }
        | Event::IncidentShared { .. }
        | Event::IncidentUnshared { .. }
        | Event::UnitHidden { .. }
        | Event::UnitRevealed { .. }
        | Event::SharingChanged { .. }
        | Event::AlertCancelled { .. }
        | Event::Recorded { .. } => Ok(()), // ids, codes and enums only, checked by their types
        Event::AlertIssued { alert } | Event::AlertUpdated { alert } => {
            alert.content.check().map_err(|r| r.within("alert"))?;
            for (i, a) in alert.content.areas.iter().enumerate() {
                for (j, p) in a.polygons.iter().enumerate() {
                    self::area(p).map_err(|r| r.within(&format!("alert.areas[{i}].polygons[{j}]")))?;
                }
            }
            Ok(())
        }
    }
}

/// Whether `state` could have been folded by a live room from valid events.
pub fn state(state: &State) -> Result<(), Refusal> {
    check_ms("at_ms", state.at_ms)?;
    for a in state.agencies.values() {
        agency(a).map_err(|r| r.within(&format!("agencies.{}", a.code)))?;
    }
    for u in state.units.values() {
        unit(u).map_err(|r| r.within(&format!("units.{}", u.unit_id.0)))?;
    }
    for i in state.incidents.values() {
        incident(i).map_err(|r| r.within(&format!("incidents.{}", i.incident_id.0)))?;
    }
    for c in state.channels.values() {
        if c.channel_id.as_str() != ChannelId::ROOM {
            channel(c).map_err(|r| r.within(&format!("channels.{}", c.channel_id)))?;
        }
    }
    for m in state.messages.values() {
        message(m).map_err(|r| r.within(&format!("messages.{}", m.message_id.0)))?;
    }
    Ok(())
}

fn agency(a: &Agency) -> Result<(), Refusal> {
    Agency::parse(a.code.as_str(), &a.short_name, &a.full_name, a.kind, &a.country, a.colour.as_str()).map(|_| ())
}

fn unit(u: &Unit) -> Result<(), Refusal> {
    text("callsign", &u.callsign, MAX_CALLSIGN_CHARS)?;
    check_ms("status_since_ms", u.status_since_ms).map(|_| ())
}

fn incident(i: &Incident) -> Result<(), Refusal> {
    i.area.as_ref().map_or(Ok(()), area)?;
    text("address", &i.address, MAX_ADDRESS_CHARS)?;
    for (n, note) in i.notes.iter().enumerate() {
        text(&format!("notes[{n}].text"), &note.text, MAX_NOTE_CHARS)?;
        actor(&format!("notes[{n}].author"), &note.author)?;
        check_ms(&format!("notes[{n}].at_ms"), note.at_ms)?;
    }
    actor("created_by", &i.created_by)?;
    actor("updated_by", &i.updated_by)?;
    for (field, ms) in
        [("created_at_ms", i.created_at_ms), ("updated_at_ms", i.updated_at_ms), ("status_since_ms", i.status_since_ms)]
    {
        check_ms(field, ms)?;
    }
    Ok(())
}

fn channel(c: &Channel) -> Result<(), Refusal> {
    ChannelId::parse(c.channel_id.as_str()).map_err(|r| r.within("channel_id"))?;
    text("name", &c.name, MAX_CHANNEL_NAME_CHARS)?;
    if c.members.as_ref().is_some_and(|m| m.len() > 256) {
        return Err(Refusal::invalid("members", "a channel has at most 256 member agencies"));
    }
    Ok(())
}

fn message(m: &Message) -> Result<(), Refusal> {
    text("body", &m.body, MAX_BODY_CHARS)?;
    actor("sender_user", &m.sender_user)?;
    check_ms("sent_at_ms", m.sent_at_ms)?;
    for (n, ack) in m.acks.iter().enumerate() {
        actor(&format!("acks[{n}].user"), &ack.user)?;
        check_ms(&format!("acks[{n}].at_ms"), ack.at_ms)?;
    }
    Ok(())
}

fn area(a: &Area) -> Result<(), Refusal> {
    if a.ring.len() < 3 || a.ring.len() > MAX_AREA_VERTICES {
        return Err(Refusal::invalid("area", format!("an area has 3 to {MAX_AREA_VERTICES} vertices")));
    }
    Ok(()) // each vertex was parsed by `Point::parse` when deserialized
}

fn incident_changes(c: &IncidentChanges) -> Result<(), Refusal> {
    if let Some(Some(a)) = &c.area {
        area(a)?;
    }
    c.address.as_deref().map_or(Ok(()), |a| text("address", a, MAX_ADDRESS_CHARS))
}

/// A text field as live commands take it: not empty, bounded, no control characters.
fn text(field: &str, raw: &str, max_chars: usize) -> Result<(), Refusal> {
    bounded_text(field, raw, max_chars).map(|_| ())
}

/// Who did something: 1 to 64 printable characters.
fn actor(field: &str, raw: &str) -> Result<(), Refusal> {
    let ok = (1..=MAX_ACTOR_CHARS).contains(&raw.chars().count()) && !raw.chars().any(char::is_control);
    if ok {
        Ok(())
    } else {
        Err(Refusal::invalid(field, format!("{field} is 1 to {MAX_ACTOR_CHARS} printable characters")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_event(json: &str) -> Result<LoggedEvent, String> {
        let e: LoggedEvent = serde_json::from_str(json).map_err(|e| e.to_string())?;
        logged_event(&e).map_err(|r| format!("{}: {}", r.field.unwrap_or_default(), r.message))?;
        Ok(e)
    }

    #[test]
    fn hostile_values_in_imported_events_are_refused() {
        let ok =
            r#"{"seq":1,"at_ms":1795000000000,"actor":"d","event":{"type":"note_added","incident_id":1,"text":"ok"}}"#;
        assert!(parse_event(ok).is_ok());
        let cases = [
            r#"{"seq":1,"at_ms":1795000000000,"actor":"d","event":{"type":"positions_reported","fixes":[{"unit_id":1,"position":{"lon":1e308,"lat":0},"heading_deg":null,"speed_mps":null,"accuracy_m":null,"reported_at_ms":1}]}}"#,
            r#"{"seq":1,"at_ms":1795000000000,"actor":"d","event":{"type":"positions_reported","fixes":[{"unit_id":1,"position":{"lon":1,"lat":0},"heading_deg":null,"speed_mps":null,"accuracy_m":null,"reported_at_ms":-9223372036854775808}]}}"#,
            r#"{"seq":1,"at_ms":-9223372036854775808,"actor":"d","event":{"type":"note_added","incident_id":1,"text":"ok"}}"#,
            r##"{"seq":1,"at_ms":1795000000000,"actor":"d","event":{"type":"agency_registered","agency":{"code":"XX","short_name":"x","full_name":"x","kind":"police","country":"FR","colour":"#000;background-image:url(//x)"}}}"##,
            r#"{"seq":1,"at_ms":1795000000000,"actor":"","event":{"type":"note_added","incident_id":1,"text":"ok"}}"#,
        ];
        for case in cases {
            assert!(parse_event(case).is_err(), "{case}");
        }
        let long_address = format!(
            r#"{{"seq":1,"at_ms":1795000000000,"actor":"d","event":{{"type":"incident_created","incident_id":1,"kind":"fire","priority":"P1","location":{{"lon":2.3,"lat":48.8}},"area":null,"address":"{}","lead_agency":"PP"}}}}"#,
            "x".repeat(100_000)
        );
        assert_eq!(parse_event(&long_address).unwrap_err(), "event.address: address is longer than 200 characters");
    }
}

//! Commands: what someone asks the room to do, already parsed into domain types. [`decide`] checks
//! one against the current state and either refuses it (changing nothing) or returns the events
//! that record it. The sequencer folds those events in before deciding the next command, so a
//! batch of commands is decided exactly as if they had arrived one by one.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

use crate::agency::bounded_text;
use crate::alert::{AlertContent, AlertMessage, AlertRef, MAX_ALERTS};
use crate::event::IncidentChanges;
use crate::message::MAX_BODY_CHARS;
use crate::unit::MAX_FUTURE_SKEW_MS;
use crate::{
    Agency, AgencyCode, Alert, Area, Channel, ChannelId, DeviceUid, Event, Fix, IncidentId, IncidentKind,
    IncidentStatus, MessageId, MessagePriority, Point, Priority, Refusal, State, UnitId, UnitKind, UnitStatus,
};

/// Most fixes in one position batch: a whole fleet's second, not an unbounded upload.
pub const MAX_FIXES_PER_BATCH: usize = 10_000;
pub const MAX_CALLSIGN_CHARS: usize = 24;
pub const MAX_ADDRESS_CHARS: usize = 200;
pub const MAX_NOTE_CHARS: usize = 2_000;

// Caps on what the room holds, so no client can grow the state (and every snapshot, every new
// screen's first message) without bound. Each is far above a real exercise's needs.
pub const MAX_AGENCIES: usize = 200;
pub const MAX_UNITS: usize = 50_000;
pub const MAX_INCIDENTS: usize = 100_000;
pub const MAX_NOTES_PER_INCIDENT: usize = 5_000;
pub const MAX_CHANNELS: usize = 500;
pub const MAX_MESSAGES: usize = 500_000;
pub const MAX_ACKS_PER_MESSAGE: usize = 256;

/// Refuses a creation when `count` already reached `max`.
fn room_for(count: usize, max: usize, field: &str, what: &str) -> Result<(), Refusal> {
    if count >= max {
        Err(Refusal::limit(field, format!("the room already holds {max} {what}, the most it may")))
    } else {
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    RegisterAgency {
        agency: Agency,
    },
    RegisterUnit {
        callsign: String,
        agency: AgencyCode,
        kind: UnitKind,
        status: UnitStatus,
        #[serde(default)]
        hidden_from: BTreeSet<AgencyCode>,
        /// Links the unit to its device (a TAK gateway registers a device on first sight); one
        /// device, one unit.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        device_uid: Option<DeviceUid>,
    },
    ChangeUnitStatus {
        unit_id: UnitId,
        status: UnitStatus,
    },
    ReportPositions {
        fixes: Vec<Fix>,
    },
    CreateIncident {
        kind: IncidentKind,
        priority: Priority,
        location: Point,
        area: Option<Area>,
        address: String,
        lead_agency: AgencyCode,
        #[serde(default)]
        restricted: bool,
    },
    UpdateIncident {
        incident_id: IncidentId,
        changes: IncidentChanges,
    },
    ChangeIncidentStatus {
        incident_id: IncidentId,
        status: IncidentStatus,
    },
    AssignUnit {
        incident_id: IncidentId,
        unit_id: UnitId,
    },
    ReleaseUnit {
        incident_id: IncidentId,
        unit_id: UnitId,
    },
    AddNote {
        incident_id: IncidentId,
        text: String,
    },
    CreateChannel {
        channel: Channel,
    },
    PostMessage {
        channel_id: ChannelId,
        sender_agency: AgencyCode,
        priority: MessagePriority,
        body: String,
        ack_required: bool,
    },
    AcknowledgeMessage {
        message_id: MessageId,
        agency: AgencyCode,
    },
    RestrictIncident {
        incident_id: IncidentId,
        restricted: bool,
    },
    ShareIncident {
        incident_id: IncidentId,
        agency: AgencyCode,
    },
    UnshareIncident {
        incident_id: IncidentId,
        agency: AgencyCode,
    },
    HideUnit {
        unit_id: UnitId,
        agency: AgencyCode,
    },
    /// Sets an agency-pair rule: `to` sees every restricted incident `from` leads (or no longer).
    SetSharing {
        from: AgencyCode,
        to: AgencyCode,
        shared: bool,
    },
    RevealUnit {
        unit_id: UnitId,
        agency: AgencyCode,
    },
    /// Appends an entry to the record for oversight. Only the server gives it (as the principal
    /// whose access it records); no principal may ([`crate::authority::authorize`]).
    Record {
        record: crate::record::Record,
    },
    /// An alert message from outside the room (CAP 1.2, parsed and mapped at the edge): a new
    /// alert, an update of one it names, or a cancellation.
    ReceiveAlert {
        message: AlertMessage,
        content: AlertContent,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        references: Vec<AlertRef>,
    },
}

impl Command {
    /// What deciding and committing this command costs, roughly, in the unit of
    /// [`Event::weight`]: one per fix for a position batch, else one. Queues and batches are
    /// bounded by it, not by count.
    pub fn weight(&self) -> u64 {
        match self {
            Command::ReportPositions { fixes } => fixes.len().max(1) as u64,
            _ => 1,
        }
    }
}

/// Decides `command`, sent by `actor` at `now_ms`, against `state`.
pub fn decide(state: &State, command: &Command, actor: &str, now_ms: i64) -> Result<Vec<Event>, Refusal> {
    match command {
        Command::RegisterAgency { agency } => register_agency(state, agency),
        Command::RegisterUnit { callsign, agency, kind, status, hidden_from, device_uid } => {
            register_unit(state, callsign, agency, *kind, *status, hidden_from, device_uid.as_ref())
        }
        Command::ChangeUnitStatus { unit_id, status } => change_unit_status(state, *unit_id, *status),
        Command::ReportPositions { fixes } => report_positions(state, fixes, now_ms),
        Command::CreateIncident { kind, priority, location, area, address, lead_agency, restricted } => {
            room_for(state.incidents.len(), MAX_INCIDENTS, "", "incidents")?;
            known_agency(state, lead_agency, "lead_agency")?;
            Ok(vec![Event::IncidentCreated {
                incident_id: state.next_incident_id(),
                kind: *kind,
                priority: *priority,
                location: *location,
                area: area.clone(),
                address: bounded_text("address", address, MAX_ADDRESS_CHARS)?,
                lead_agency: lead_agency.clone(),
                restricted: *restricted,
            }])
        }
        Command::UpdateIncident { incident_id, changes } => update_incident(state, *incident_id, changes),
        Command::Record { record } => Ok(vec![Event::Recorded { record: record.clone() }]),
        Command::ReceiveAlert { message, content, references } => {
            receive_alert(state, *message, content, references, now_ms)
        }
        Command::ChangeIncidentStatus { incident_id, status } => change_incident_status(state, *incident_id, *status),
        Command::AssignUnit { incident_id, unit_id } => assign_unit(state, *incident_id, *unit_id),
        Command::ReleaseUnit { incident_id, unit_id } => release_unit(state, *incident_id, *unit_id),
        Command::AddNote { incident_id, text } => {
            let incident = open_incident(state, *incident_id)?;
            room_for(incident.notes.len(), MAX_NOTES_PER_INCIDENT, "", "notes on this incident")?;
            let text = bounded_text("text", text, MAX_NOTE_CHARS)?;
            Ok(vec![Event::NoteAdded { incident_id: *incident_id, text }])
        }
        Command::CreateChannel { channel } => create_channel(state, channel),
        Command::PostMessage { channel_id, sender_agency, priority, body, ack_required } => {
            let channel = state
                .channels
                .get(channel_id)
                .ok_or_else(|| Refusal::not_found("channel_id", format!("no channel {channel_id}")))?;
            known_agency(state, sender_agency, "sender_agency")?;
            room_for(state.messages.len(), MAX_MESSAGES, "", "messages")?;
            if !channel.admits(sender_agency) {
                return Err(Refusal::conflict(
                    "sender_agency",
                    format!("{sender_agency} is not a member of channel {channel_id}"),
                ));
            }
            Ok(vec![Event::MessagePosted {
                message_id: state.next_message_id(),
                channel_id: channel_id.clone(),
                sender_agency: sender_agency.clone(),
                priority: *priority,
                body: bounded_text("body", body, MAX_BODY_CHARS)?,
                ack_required: *ack_required,
            }])
        }
        Command::AcknowledgeMessage { message_id, agency } => acknowledge(state, *message_id, agency, actor),
        Command::RestrictIncident { incident_id, restricted } => {
            let incident = find_incident(state, *incident_id)?;
            if incident.restricted == *restricted {
                let now = if *restricted { "already restricted" } else { "not restricted" };
                return Err(Refusal::conflict("restricted", format!("{incident_id} is {now}")));
            }
            Ok(vec![Event::IncidentRestricted { incident_id: *incident_id, restricted: *restricted }])
        }
        Command::ShareIncident { incident_id, agency } => {
            let incident = find_incident(state, *incident_id)?;
            known_agency(state, agency, "agency")?;
            if incident.lead_agency == *agency {
                return Err(Refusal::conflict("agency", format!("{agency} leads {incident_id}: it always sees it")));
            }
            if incident.shared_with.contains(agency) {
                return Err(Refusal::conflict("agency", format!("{incident_id} is already shared with {agency}")));
            }
            room_for(incident.shared_with.len(), MAX_AGENCIES, "agency", "shares on this incident")?;
            Ok(vec![Event::IncidentShared { incident_id: *incident_id, agency: agency.clone() }])
        }
        Command::UnshareIncident { incident_id, agency } => {
            let incident = find_incident(state, *incident_id)?;
            if !incident.shared_with.contains(agency) {
                return Err(Refusal::conflict("agency", format!("{incident_id} is not shared with {agency}")));
            }
            Ok(vec![Event::IncidentUnshared { incident_id: *incident_id, agency: agency.clone() }])
        }
        Command::HideUnit { unit_id, agency } => {
            let unit = find_unit(state, *unit_id)?;
            known_agency(state, agency, "agency")?;
            if unit.agency == *agency {
                return Err(Refusal::conflict(
                    "agency",
                    format!("a unit cannot be hidden from its own agency {agency}"),
                ));
            }
            if unit.hidden_from.contains(agency) {
                return Err(Refusal::conflict("agency", format!("{} is already hidden from {agency}", unit.callsign)));
            }
            Ok(vec![Event::UnitHidden { unit_id: *unit_id, agency: agency.clone() }])
        }
        Command::RevealUnit { unit_id, agency } => {
            let unit = find_unit(state, *unit_id)?;
            if !unit.hidden_from.contains(agency) {
                return Err(Refusal::conflict("agency", format!("{} is not hidden from {agency}", unit.callsign)));
            }
            Ok(vec![Event::UnitRevealed { unit_id: *unit_id, agency: agency.clone() }])
        }
        Command::SetSharing { from, to, shared } => {
            known_agency(state, from, "from")?;
            known_agency(state, to, "to")?;
            if from == to {
                return Err(Refusal::conflict("to", format!("{from} always sees what it leads")));
            }
            if state.sharing.contains(&(from.clone(), to.clone())) == *shared {
                let now = if *shared { "already shares" } else { "does not share" };
                return Err(Refusal::conflict("to", format!("{from} {now} its restricted incidents with {to}")));
            }
            Ok(vec![Event::SharingChanged { from: from.clone(), to: to.clone(), shared: *shared }])
        }
    }
}

fn find_incident(state: &State, incident_id: IncidentId) -> Result<&crate::Incident, Refusal> {
    state
        .incidents
        .get(&incident_id)
        .ok_or_else(|| Refusal::not_found("incident_id", format!("no incident {incident_id}")))
}

fn find_unit(state: &State, unit_id: UnitId) -> Result<&crate::Unit, Refusal> {
    state.units.get(&unit_id).ok_or_else(|| Refusal::not_found("unit_id", format!("no unit {unit_id}")))
}

fn register_agency(state: &State, agency: &Agency) -> Result<Vec<Event>, Refusal> {
    if state.agencies.contains_key(&agency.code) {
        return Err(Refusal::conflict("code", format!("agency {} is already registered", agency.code)));
    }
    room_for(state.agencies.len(), MAX_AGENCIES, "", "agencies")?;
    Ok(vec![Event::AgencyRegistered { agency: agency.clone() }])
}

fn register_unit(
    state: &State,
    callsign: &str,
    agency: &AgencyCode,
    kind: UnitKind,
    status: UnitStatus,
    hidden_from: &BTreeSet<AgencyCode>,
    device_uid: Option<&DeviceUid>,
) -> Result<Vec<Event>, Refusal> {
    let callsign = bounded_text("callsign", callsign, MAX_CALLSIGN_CHARS)?;
    if let Some(linked) = device_uid.and_then(|d| state.unit_by_device(d)) {
        return Err(Refusal::conflict(
            "device_uid",
            format!(
                "device {} already reports for {}",
                linked.device_uid.as_ref().map_or("", |d| d.as_str()),
                linked.callsign
            ),
        ));
    }
    room_for(state.units.len(), MAX_UNITS, "", "units")?;
    known_agency(state, agency, "agency")?;
    if state.unit_by_callsign(&callsign).is_some() {
        return Err(Refusal::conflict("callsign", format!("callsign {callsign} is already in use")));
    }
    if status.needs_assignment() {
        return Err(Refusal::invalid("status", "a new unit is available or out of service"));
    }
    for (i, from) in hidden_from.iter().enumerate() {
        known_agency(state, from, &format!("hidden_from[{i}]"))?;
        if from == agency {
            return Err(Refusal::conflict(format!("hidden_from[{i}]"), "a unit cannot be hidden from its own agency"));
        }
    }
    Ok(vec![Event::UnitRegistered {
        unit_id: state.next_unit_id(),
        callsign,
        agency: agency.clone(),
        kind,
        status,
        hidden_from: hidden_from.clone(),
        device_uid: device_uid.cloned(),
    }])
}

fn change_unit_status(state: &State, unit_id: UnitId, status: UnitStatus) -> Result<Vec<Event>, Refusal> {
    known_unit(state, unit_id, "unit_id")?.check_status_change(status)?;
    Ok(vec![Event::UnitStatusChanged { unit_id, status }])
}

fn receive_alert(
    state: &State,
    message: AlertMessage,
    content: &AlertContent,
    references: &[AlertRef],
    now_ms: i64,
) -> Result<Vec<Event>, Refusal> {
    content.check()?;
    // The latest alert the message names (a CAP message may name several earlier ones).
    let named = references.iter().rev().find_map(|r| state.alert_by(&r.sender, &r.identifier));
    if state.alert_by(&content.sender, &content.identifier).is_some() {
        // Feeds repeat themselves: the same message twice changes nothing.
        return Err(Refusal::conflict(
            "identifier",
            format!("alert {} of {} was already received", content.identifier, content.sender),
        ));
    }
    match (message, named) {
        (AlertMessage::Cancel, Some(alert)) => Ok(vec![Event::AlertCancelled { alert_id: alert.alert_id }]),
        (AlertMessage::Cancel, None) => {
            Err(Refusal::not_found("references", "the cancellation names no alert the room holds"))
        }
        (AlertMessage::Update, Some(alert)) => Ok(vec![Event::AlertUpdated {
            alert: Box::new(Alert {
                alert_id: alert.alert_id,
                content: content.clone(),
                received_at_ms: alert.received_at_ms,
                updated_at_ms: now_ms,
                cancelled: false,
            }),
        }]),
        // An alert, or an update of one the room never saw: news either way.
        (AlertMessage::Alert | AlertMessage::Update, _) => {
            room_for(state.alerts.len(), MAX_ALERTS, "", "alerts")?;
            Ok(vec![Event::AlertIssued {
                alert: Box::new(Alert {
                    alert_id: state.next_alert_id(),
                    content: content.clone(),
                    received_at_ms: now_ms,
                    updated_at_ms: now_ms,
                    cancelled: false,
                }),
            }])
        }
    }
}

fn report_positions(state: &State, fixes: &[Fix], now_ms: i64) -> Result<Vec<Event>, Refusal> {
    if fixes.is_empty() {
        return Err(Refusal::invalid("reports", "a position batch holds at least one report"));
    }
    if fixes.len() > MAX_FIXES_PER_BATCH {
        return Err(Refusal::invalid(
            "reports",
            format!("a position batch holds at most {MAX_FIXES_PER_BATCH} reports"),
        ));
    }
    for (i, fix) in fixes.iter().enumerate() {
        known_unit(state, fix.unit_id, &format!("reports[{i}].unit_id"))?;
        if fix.reported_at_ms > now_ms + MAX_FUTURE_SKEW_MS {
            return Err(Refusal::invalid(
                format!("reports[{i}].reported_at"),
                format!("reported_at is more than {} s ahead of the server clock", MAX_FUTURE_SKEW_MS / 1000),
            ));
        }
    }
    Ok(vec![Event::PositionsReported { fixes: fixes.to_vec() }])
}

fn update_incident(state: &State, incident_id: IncidentId, changes: &IncidentChanges) -> Result<Vec<Event>, Refusal> {
    open_incident(state, incident_id)?;
    if changes.is_empty() {
        return Err(Refusal::invalid("", "an update changes at least one field"));
    }
    if let Some(lead) = &changes.lead_agency {
        known_agency(state, lead, "lead_agency")?;
    }
    let mut changes = changes.clone();
    if let Some(address) = &changes.address {
        changes.address = Some(bounded_text("address", address, MAX_ADDRESS_CHARS)?);
    }
    Ok(vec![Event::IncidentUpdated { incident_id, changes }])
}

fn change_incident_status(state: &State, incident_id: IncidentId, to: IncidentStatus) -> Result<Vec<Event>, Refusal> {
    let incident = known_incident(state, incident_id)?;
    incident.check_transition(to)?;
    if to == IncidentStatus::Dispatched && incident.assigned.is_empty() {
        return Err(Refusal::conflict(
            "status",
            format!("{incident_id} has no unit assigned: assign one to dispatch it"),
        ));
    }
    let mut events = Vec::new();
    if to == IncidentStatus::Closed {
        // Closing hands every assigned unit back to the pool.
        for unit_id in &incident.assigned {
            events.push(Event::UnitReleased { incident_id, unit_id: *unit_id });
            events.push(Event::UnitStatusChanged { unit_id: *unit_id, status: UnitStatus::Available });
        }
    }
    events.push(Event::IncidentStatusChanged { incident_id, status: to });
    Ok(events)
}

fn assign_unit(state: &State, incident_id: IncidentId, unit_id: UnitId) -> Result<Vec<Event>, Refusal> {
    let incident = open_incident(state, incident_id)?;
    let unit = known_unit(state, unit_id, "unit_id")?;
    match unit.incident_id {
        Some(current) if current == incident_id => {
            return Err(Refusal::conflict("unit_id", format!("{} is already assigned to {incident_id}", unit.callsign)))
        }
        Some(current) => {
            return Err(Refusal::conflict(
                "unit_id",
                format!("{} is assigned to {current}: release it before assigning it elsewhere", unit.callsign),
            ))
        }
        None => {}
    }
    if unit.status == UnitStatus::OutOfService {
        return Err(Refusal::conflict("unit_id", format!("{} is out of service", unit.callsign)));
    }
    let mut events = vec![
        Event::UnitAssigned { incident_id, unit_id },
        Event::UnitStatusChanged { unit_id, status: UnitStatus::Dispatched },
    ];
    if incident.status == IncidentStatus::New {
        events.push(Event::IncidentStatusChanged { incident_id, status: IncidentStatus::Dispatched });
    }
    Ok(events)
}

fn release_unit(state: &State, incident_id: IncidentId, unit_id: UnitId) -> Result<Vec<Event>, Refusal> {
    known_incident(state, incident_id)?;
    let unit = known_unit(state, unit_id, "unit_id")?;
    if unit.incident_id != Some(incident_id) {
        return Err(Refusal::conflict("unit_id", format!("{} is not assigned to {incident_id}", unit.callsign)));
    }
    Ok(vec![
        Event::UnitReleased { incident_id, unit_id },
        Event::UnitStatusChanged { unit_id, status: UnitStatus::Available },
    ])
}

fn create_channel(state: &State, channel: &Channel) -> Result<Vec<Event>, Refusal> {
    if state.channels.contains_key(&channel.channel_id) {
        return Err(Refusal::conflict("slug", format!("channel {} already exists", channel.channel_id)));
    }
    room_for(state.channels.len(), MAX_CHANNELS, "", "channels")?;
    let members = channel
        .members
        .as_ref()
        .filter(|m| m.len() >= 2)
        .ok_or_else(|| Refusal::invalid("members", "an inter-agency channel has at least two member agencies"))?;
    for agency in members {
        known_agency(state, agency, "members")?;
    }
    let name = bounded_text("name", &channel.name, 80)?;
    Ok(vec![Event::ChannelCreated { channel: Channel { name, ..channel.clone() } }])
}

fn acknowledge(state: &State, message_id: MessageId, agency: &AgencyCode, actor: &str) -> Result<Vec<Event>, Refusal> {
    let message = state
        .messages
        .get(&message_id)
        .ok_or_else(|| Refusal::not_found("message_id", format!("no message {message_id}")))?;
    known_agency(state, agency, "agency")?;
    let admitted = state.channels.get(&message.channel_id).is_some_and(|c| c.admits(agency));
    if !admitted {
        return Err(Refusal::conflict("agency", format!("{agency} is not a member of channel {}", message.channel_id)));
    }
    if message.acked_by(actor) {
        return Err(Refusal::conflict("message_id", format!("{actor} has already acknowledged {message_id}")));
    }
    if message.acks.len() >= MAX_ACKS_PER_MESSAGE {
        return Err(Refusal::limit(
            "message_id",
            format!("{message_id} already has {MAX_ACKS_PER_MESSAGE} acknowledgements, the most it may"),
        ));
    }
    Ok(vec![Event::MessageAcknowledged { message_id, agency: agency.clone() }])
}

fn known_agency(state: &State, code: &AgencyCode, field: &str) -> Result<(), Refusal> {
    if state.agencies.contains_key(code) {
        Ok(())
    } else {
        Err(Refusal::not_found(field, format!("no agency {code}")))
    }
}

fn known_unit<'s>(state: &'s State, unit_id: UnitId, field: &str) -> Result<&'s crate::Unit, Refusal> {
    state.units.get(&unit_id).ok_or_else(|| Refusal::not_found(field, format!("no unit {}", unit_id.0)))
}

fn known_incident(state: &State, incident_id: IncidentId) -> Result<&crate::Incident, Refusal> {
    state
        .incidents
        .get(&incident_id)
        .ok_or_else(|| Refusal::not_found("incident_id", format!("no incident {incident_id}")))
}

fn open_incident(state: &State, incident_id: IncidentId) -> Result<&crate::Incident, Refusal> {
    let incident = known_incident(state, incident_id)?;
    if incident.status.is_open() {
        Ok(incident)
    } else {
        Err(Refusal::conflict("incident_id", format!("{incident_id} is closed")))
    }
}

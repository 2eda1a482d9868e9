//! The room's picture and the one reducer that builds it from events.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

use crate::event::IncidentChanges;
use crate::incident::Note;
use crate::message::Ack;
use crate::record::Record;
use crate::{
    Agency, AgencyCode, Channel, ChannelId, Event, Incident, IncidentId, LoggedEvent, Message, MessageId, Seq, Unit,
    UnitId,
};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// The last event folded in; 0 for the empty room.
    pub seq: Seq,
    /// When that event was committed (ms since the Unix epoch).
    pub at_ms: i64,
    pub agencies: BTreeMap<AgencyCode, Agency>,
    pub units: BTreeMap<UnitId, Unit>,
    pub incidents: BTreeMap<IncidentId, Incident>,
    pub channels: BTreeMap<ChannelId, Channel>,
    pub messages: BTreeMap<MessageId, Message>,
    /// Agency-pair sharing rules `(from, to)`: `to` sees every restricted incident `from` leads
    /// (set by an admin: the French services share among themselves, say).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub sharing: BTreeSet<(AgencyCode, AgencyCode)>,
    /// Alerts from outside the room (CAP 1.2), in force or not: public, every agency sees them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub alerts: BTreeMap<crate::AlertId, crate::Alert>,
}

impl Default for State {
    /// The empty room: no one in it yet, but the all-room channel exists.
    fn default() -> Self {
        let room = Channel { channel_id: ChannelId::room(), name: "All room".into(), members: None };
        Self {
            seq: 0,
            at_ms: 0,
            agencies: BTreeMap::new(),
            units: BTreeMap::new(),
            incidents: BTreeMap::new(),
            channels: BTreeMap::from([(room.channel_id.clone(), room)]),
            messages: BTreeMap::new(),
            sharing: BTreeSet::new(),
            alerts: BTreeMap::new(),
        }
    }
}

impl State {
    pub fn next_unit_id(&self) -> UnitId {
        UnitId(self.units.keys().next_back().map_or(1, |id| id.0 + 1))
    }

    pub fn next_incident_id(&self) -> IncidentId {
        IncidentId(self.incidents.keys().next_back().map_or(1, |id| id.0 + 1))
    }

    pub fn next_alert_id(&self) -> crate::AlertId {
        crate::AlertId(self.alerts.keys().next_back().map_or(1, |id| id.0 + 1))
    }

    /// The alert a sender's message names, if the room holds it.
    pub fn alert_by(&self, sender: &str, identifier: &str) -> Option<&crate::Alert> {
        self.alerts.values().find(|a| a.is(sender, identifier))
    }

    pub fn next_message_id(&self) -> MessageId {
        MessageId(self.messages.keys().next_back().map_or(1, |id| id.0 + 1))
    }

    /// The unit a device reports for. A scan: a gateway asks once per device, on first sight.
    pub fn unit_by_device(&self, device: &crate::DeviceUid) -> Option<&Unit> {
        self.units.values().find(|u| u.device_uid.as_ref() == Some(device))
    }

    pub fn unit_by_callsign(&self, callsign: &str) -> Option<&Unit> {
        self.units.values().find(|u| u.callsign.eq_ignore_ascii_case(callsign))
    }

    /// Folds one event in. Total: `decide` only emits events that fit the state, and an event that
    /// names something unknown (which a valid log never holds) changes nothing rather than panic.
    ///
    /// `seq` only moves forward, so a client that receives a run of position batches merged into
    /// one (latest fix per unit) lands on the same picture as one that folded them one by one.
    pub fn apply(&mut self, logged: &LoggedEvent) {
        self.seq = self.seq.max(logged.seq);
        self.at_ms = logged.at_ms;
        let (at_ms, actor) = (logged.at_ms, logged.actor.as_str());
        match &logged.event {
            Event::AgencyRegistered { agency } => self.register_agency(agency),
            Event::UnitRegistered { unit_id, callsign, agency, kind, status, hidden_from, device_uid } => {
                let unit = Unit {
                    unit_id: *unit_id,
                    callsign: callsign.clone(),
                    agency: agency.clone(),
                    kind: *kind,
                    status: *status,
                    status_since_ms: at_ms,
                    incident_id: None,
                    last_fix: None,
                    hidden_from: hidden_from.clone(),
                    device_uid: device_uid.clone(),
                };
                self.units.insert(*unit_id, unit);
            }
            Event::UnitStatusChanged { unit_id, status } => {
                if let Some(unit) = self.units.get_mut(unit_id) {
                    unit.status = *status;
                    unit.status_since_ms = at_ms;
                }
            }
            Event::PositionsReported { fixes } => {
                for fix in fixes {
                    if let Some(unit) = self.units.get_mut(&fix.unit_id) {
                        // Latest wins: a late, older fix is kept in the log but not shown as current.
                        if unit.last_fix.is_none_or(|last| last.reported_at_ms <= fix.reported_at_ms) {
                            unit.last_fix = Some(*fix);
                        }
                    }
                }
            }
            Event::IncidentCreated {
                incident_id,
                kind,
                priority,
                location,
                area,
                address,
                lead_agency,
                restricted,
            } => {
                let incident = Incident {
                    incident_id: *incident_id,
                    kind: *kind,
                    priority: *priority,
                    location: *location,
                    area: area.clone(),
                    address: address.clone(),
                    lead_agency: lead_agency.clone(),
                    status: crate::IncidentStatus::New,
                    status_since_ms: at_ms,
                    assigned: BTreeSet::new(),
                    notes: Vec::new(),
                    created_at_ms: at_ms,
                    created_by: actor.to_owned(),
                    updated_at_ms: at_ms,
                    updated_by: actor.to_owned(),
                    restricted: *restricted,
                    shared_with: BTreeSet::new(),
                };
                let channel = Channel {
                    channel_id: ChannelId::for_incident(*incident_id),
                    name: format!("{incident_id} {address}"),
                    members: Some(BTreeSet::from([lead_agency.clone()])),
                };
                self.channels.insert(channel.channel_id.clone(), channel);
                self.incidents.insert(*incident_id, incident);
            }
            Event::IncidentUpdated { incident_id, changes } => {
                if let Some(incident) = self.incidents.get_mut(incident_id) {
                    apply_changes(incident, changes);
                    touch(incident, at_ms, actor);
                }
                if let Some(lead) = &changes.lead_agency {
                    self.admit_to_incident_channel(*incident_id, lead);
                }
            }
            Event::IncidentStatusChanged { incident_id, status } => {
                if let Some(incident) = self.incidents.get_mut(incident_id) {
                    incident.status = *status;
                    incident.status_since_ms = at_ms;
                    touch(incident, at_ms, actor);
                }
            }
            Event::UnitAssigned { incident_id, unit_id } => {
                let Some(unit) = self.units.get_mut(unit_id) else { return };
                unit.incident_id = Some(*incident_id);
                let agency = unit.agency.clone();
                if let Some(incident) = self.incidents.get_mut(incident_id) {
                    incident.assigned.insert(*unit_id);
                    touch(incident, at_ms, actor);
                }
                // Need-to-know: an agency with a unit on the incident reads its channel.
                self.admit_to_incident_channel(*incident_id, &agency);
            }
            Event::UnitReleased { incident_id, unit_id } => {
                if let Some(unit) = self.units.get_mut(unit_id) {
                    unit.incident_id = None;
                }
                if let Some(incident) = self.incidents.get_mut(incident_id) {
                    incident.assigned.remove(unit_id);
                    touch(incident, at_ms, actor);
                }
            }
            Event::NoteAdded { incident_id, text } => {
                if let Some(incident) = self.incidents.get_mut(incident_id) {
                    incident.notes.push(Note { author: actor.to_owned(), at_ms, text: text.clone() });
                    touch(incident, at_ms, actor);
                }
            }
            Event::ChannelCreated { channel } => {
                self.channels.insert(channel.channel_id.clone(), channel.clone());
            }
            Event::MessagePosted { message_id, channel_id, sender_agency, priority, body, ack_required } => {
                let message = Message {
                    message_id: *message_id,
                    channel_id: channel_id.clone(),
                    sender_user: actor.to_owned(),
                    sender_agency: sender_agency.clone(),
                    priority: *priority,
                    body: body.clone(),
                    ack_required: *ack_required,
                    acks: Vec::new(),
                    sent_at_ms: at_ms,
                };
                self.messages.insert(*message_id, message);
            }
            Event::MessageAcknowledged { message_id, agency } => {
                if let Some(message) = self.messages.get_mut(message_id) {
                    message.acks.push(Ack { user: actor.to_owned(), agency: agency.clone(), at_ms });
                }
            }
            Event::IncidentRestricted { incident_id, restricted } => {
                if let Some(incident) = self.incidents.get_mut(incident_id) {
                    incident.restricted = *restricted;
                    touch(incident, at_ms, actor);
                }
            }
            // Sharing is about who sees the incident, not a change to it: no touch.
            Event::IncidentShared { incident_id, agency } => {
                if let Some(incident) = self.incidents.get_mut(incident_id) {
                    incident.shared_with.insert(agency.clone());
                }
            }
            Event::IncidentUnshared { incident_id, agency } => {
                if let Some(incident) = self.incidents.get_mut(incident_id) {
                    incident.shared_with.remove(agency);
                }
            }
            Event::UnitHidden { unit_id, agency } => {
                if let Some(unit) = self.units.get_mut(unit_id) {
                    unit.hidden_from.insert(agency.clone());
                }
            }
            Event::UnitRevealed { unit_id, agency } => {
                if let Some(unit) = self.units.get_mut(unit_id) {
                    unit.hidden_from.remove(agency);
                }
            }
            // Retention purged content from the log: the picture lets it go too.
            Event::Recorded { record: Record::Purged { kind, before_ms, .. } } => self.forget(kind, *before_ms),
            // The rest of the record for oversight is kept apart from the room's picture.
            Event::Recorded { .. } => {}
            Event::AlertIssued { alert } | Event::AlertUpdated { alert } => {
                self.alerts.insert(alert.alert_id, (**alert).clone());
            }
            Event::AlertCancelled { alert_id } => {
                if let Some(alert) = self.alerts.get_mut(alert_id) {
                    alert.cancelled = true;
                    alert.updated_at_ms = at_ms;
                }
            }
            Event::SharingChanged { from, to, shared } => {
                let pair = (from.clone(), to.clone());
                if *shared {
                    self.sharing.insert(pair);
                } else {
                    self.sharing.remove(&pair);
                }
            }
        }
    }

    fn register_agency(&mut self, agency: &Agency) {
        let channel = Channel {
            channel_id: ChannelId::for_agency(&agency.code),
            name: agency.short_name.clone(),
            members: Some(BTreeSet::from([agency.code.clone()])),
        };
        self.channels.insert(channel.channel_id.clone(), channel);
        self.agencies.insert(agency.code.clone(), agency.clone());
    }

    fn admit_to_incident_channel(&mut self, incident_id: IncidentId, agency: &AgencyCode) {
        if let Some(members) =
            self.channels.get_mut(&ChannelId::for_incident(incident_id)).and_then(|c| c.members.as_mut())
        {
            members.insert(agency.clone());
        }
    }
}

impl State {
    /// Lets go of content older than `before_ms` that retention purged from the log: message bodies
    /// (`message_posted`), or units' last positions (`positions_reported`).
    fn forget(&mut self, kind: &str, before_ms: i64) {
        match kind {
            "message_posted" => {
                for m in self.messages.values_mut().filter(|m| m.sent_at_ms < before_ms) {
                    m.body.clear();
                }
            }
            "positions_reported" => {
                for u in self.units.values_mut() {
                    if u.last_fix.is_some_and(|f| f.reported_at_ms < before_ms) {
                        u.last_fix = None;
                    }
                }
            }
            _ => {}
        }
    }
}

fn apply_changes(incident: &mut Incident, changes: &IncidentChanges) {
    if let Some(kind) = changes.kind {
        incident.kind = kind;
    }
    if let Some(priority) = changes.priority {
        incident.priority = priority;
    }
    if let Some(location) = changes.location {
        incident.location = location;
    }
    if let Some(area) = &changes.area {
        incident.area = area.clone();
    }
    if let Some(address) = &changes.address {
        incident.address = address.clone();
    }
    if let Some(lead) = &changes.lead_agency {
        incident.lead_agency = lead.clone();
    }
}

fn touch(incident: &mut Incident, at_ms: i64, actor: &str) {
    incident.updated_at_ms = at_ms;
    incident.updated_by = actor.to_owned();
}

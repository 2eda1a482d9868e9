//! The timeline is the log, filtered: which events it shows, on which lane, and what each one is
//! about (agency, incident, unit, message), so a click can select it. Pure, so the room and replay
//! place events the same way.

use serde::{Deserialize, Serialize};

use crate::{AgencyCode, ChannelId, Event, IncidentId, LoggedEvent, MessageId, State, UnitId};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lane {
    Incidents,
    Units,
    Messages,
    /// Alerts from outside the room (CAP): issued, updated, cancelled.
    Alerts,
}

impl Lane {
    pub const ALL: [Lane; 4] = [Lane::Incidents, Lane::Units, Lane::Messages, Lane::Alerts];
}

/// One event as the timeline shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub seq: u64,
    pub at_ms: i64,
    pub lane: Lane,
    /// The agency it concerns (lead agency, the unit's agency, the sender).
    pub agency: Option<AgencyCode>,
    pub incident: Option<IncidentId>,
    pub unit: Option<UnitId>,
    pub message: Option<MessageId>,
}

/// Where `logged` goes on the timeline, judged against `state` (the room as the client holds it;
/// ids and codes never change, so the current state serves for past events). Position reports,
/// registrations and channel creation are not shown.
pub fn entry(state: &State, logged: &LoggedEvent) -> Option<Entry> {
    let lead = |id: &IncidentId| state.incidents.get(id).map(|i| i.lead_agency.clone());
    let agency_of = |id: &UnitId| state.units.get(id).map(|u| u.agency.clone());
    let incident_of_channel =
        |c: &ChannelId| state.incidents.keys().find(|i| ChannelId::for_incident(**i) == *c).copied();
    let (lane, agency, incident, unit, message) = match &logged.event {
        Event::AgencyRegistered { .. }
        | Event::UnitRegistered { .. }
        | Event::PositionsReported { .. }
        | Event::ChannelCreated { .. }
        | Event::Recorded { .. } => return None,
        Event::IncidentCreated { incident_id, lead_agency, .. } => {
            (Lane::Incidents, Some(lead_agency.clone()), Some(*incident_id), None, None)
        }
        Event::IncidentUpdated { incident_id, .. }
        | Event::IncidentStatusChanged { incident_id, .. }
        | Event::NoteAdded { incident_id, .. } => (Lane::Incidents, lead(incident_id), Some(*incident_id), None, None),
        Event::UnitStatusChanged { unit_id, .. } => {
            let incident = state.units.get(unit_id).and_then(|u| u.incident_id);
            (Lane::Units, agency_of(unit_id), incident, Some(*unit_id), None)
        }
        Event::UnitAssigned { incident_id, unit_id } | Event::UnitReleased { incident_id, unit_id } => {
            (Lane::Units, agency_of(unit_id), Some(*incident_id), Some(*unit_id), None)
        }
        Event::MessagePosted { message_id, channel_id, sender_agency, .. } => {
            (Lane::Messages, Some(sender_agency.clone()), incident_of_channel(channel_id), None, Some(*message_id))
        }
        Event::MessageAcknowledged { message_id, agency } => {
            let incident = state.messages.get(message_id).and_then(|m| incident_of_channel(&m.channel_id));
            (Lane::Messages, Some(agency.clone()), incident, None, Some(*message_id))
        }
        Event::IncidentRestricted { incident_id, .. }
        | Event::IncidentShared { incident_id, .. }
        | Event::IncidentUnshared { incident_id, .. } => {
            (Lane::Incidents, lead(incident_id), Some(*incident_id), None, None)
        }
        Event::UnitHidden { unit_id, .. } | Event::UnitRevealed { unit_id, .. } => {
            (Lane::Units, agency_of(unit_id), None, Some(*unit_id), None)
        }
        Event::SharingChanged { from, .. } => (Lane::Incidents, Some(from.clone()), None, None, None),
        Event::AlertIssued { .. } | Event::AlertUpdated { .. } | Event::AlertCancelled { .. } => {
            (Lane::Alerts, None, None, None, None)
        }
    };
    Some(Entry { seq: logged.seq, at_ms: logged.at_ms, lane, agency, incident, unit, message })
}

impl Entry {
    /// Whether the entry passes the timeline's filters (`None`: no filter).
    pub fn matches(&self, agency: Option<&AgencyCode>, incident: Option<IncidentId>) -> bool {
        agency.is_none_or(|a| self.agency.as_ref() == Some(a)) && incident.is_none_or(|i| self.incident == Some(i))
    }
}

//! The facts appended to the room's log. Each is past tense and carries every id it needs, so the
//! reducer never has to guess; the envelope ([`LoggedEvent`]) adds the sequence number, the time
//! and who did it.

use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeSet;

use crate::alert::{Alert, AlertId};
use crate::record::Record;
use crate::{
    Agency, AgencyCode, Area, Channel, ChannelId, DeviceUid, Fix, IncidentId, IncidentKind, IncidentStatus, MessageId,
    MessagePriority, Point, Priority, Seq, UnitId, UnitKind, UnitStatus,
};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoggedEvent {
    pub seq: Seq,
    /// When the server committed it (ms since the Unix epoch, UTC).
    pub at_ms: i64,
    /// Who caused it: the user name given with the command, or `system`.
    pub actor: String,
    pub event: Event,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    AgencyRegistered {
        agency: Agency,
    },
    UnitRegistered {
        unit_id: UnitId,
        callsign: String,
        agency: AgencyCode,
        kind: UnitKind,
        status: UnitStatus,
        /// Agencies the unit is hidden from from its first moment (they never learn it exists).
        #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
        hidden_from: BTreeSet<AgencyCode>,
        /// The device it is linked to (a TAK device's CoT uid): the link is part of the log, so a
        /// replay knows which device reported for which unit.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        device_uid: Option<DeviceUid>,
    },
    UnitStatusChanged {
        unit_id: UnitId,
        status: UnitStatus,
    },
    PositionsReported {
        fixes: Vec<Fix>,
    },
    IncidentCreated {
        incident_id: IncidentId,
        kind: IncidentKind,
        priority: Priority,
        location: Point,
        area: Option<Area>,
        address: String,
        lead_agency: AgencyCode,
        /// Restricted from its first moment: the rest of the room never learns it exists.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        restricted: bool,
    },
    IncidentUpdated {
        incident_id: IncidentId,
        changes: IncidentChanges,
    },
    IncidentStatusChanged {
        incident_id: IncidentId,
        status: IncidentStatus,
    },
    UnitAssigned {
        incident_id: IncidentId,
        unit_id: UnitId,
    },
    UnitReleased {
        incident_id: IncidentId,
        unit_id: UnitId,
    },
    NoteAdded {
        incident_id: IncidentId,
        text: String,
    },
    ChannelCreated {
        channel: Channel,
    },
    MessagePosted {
        message_id: MessageId,
        channel_id: ChannelId,
        sender_agency: AgencyCode,
        priority: MessagePriority,
        body: String,
        ack_required: bool,
    },
    MessageAcknowledged {
        message_id: MessageId,
        agency: AgencyCode,
    },
    /// The incident becomes visible only to its lead agency and those it is shared with
    /// (`restricted`), or to the whole room again.
    IncidentRestricted {
        incident_id: IncidentId,
        restricted: bool,
    },
    IncidentShared {
        incident_id: IncidentId,
        agency: AgencyCode,
    },
    IncidentUnshared {
        incident_id: IncidentId,
        agency: AgencyCode,
    },
    /// `agency` no longer receives anything of the unit.
    UnitHidden {
        unit_id: UnitId,
        agency: AgencyCode,
    },
    UnitRevealed {
        unit_id: UnitId,
        agency: AgencyCode,
    },
    /// An agency-pair rule: `to` sees (or no longer sees) every restricted incident `from` leads.
    SharingChanged {
        from: AgencyCode,
        to: AgencyCode,
        shared: bool,
    },
    /// An entry of the record for oversight (a sign-in, an account change, a view of a restricted
    /// incident, a purge): it does not change the room's picture, and only the room's own
    /// services and auditors read it.
    Recorded {
        record: Record,
    },
    /// An alert from outside the room (CAP 1.2) is in force.
    AlertIssued {
        alert: Box<Alert>,
    },
    /// A later message of its sender replaced its content.
    AlertUpdated {
        alert: Box<Alert>,
    },
    AlertCancelled {
        alert_id: AlertId,
    },
}

impl Event {
    /// The `type` tag, as stored in the log's `kind` column.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::AgencyRegistered { .. } => "agency_registered",
            Event::UnitRegistered { .. } => "unit_registered",
            Event::UnitStatusChanged { .. } => "unit_status_changed",
            Event::PositionsReported { .. } => "positions_reported",
            Event::IncidentCreated { .. } => "incident_created",
            Event::IncidentUpdated { .. } => "incident_updated",
            Event::IncidentStatusChanged { .. } => "incident_status_changed",
            Event::UnitAssigned { .. } => "unit_assigned",
            Event::UnitReleased { .. } => "unit_released",
            Event::NoteAdded { .. } => "note_added",
            Event::ChannelCreated { .. } => "channel_created",
            Event::MessagePosted { .. } => "message_posted",
            Event::MessageAcknowledged { .. } => "message_acknowledged",
            Event::IncidentRestricted { .. } => "incident_restricted",
            Event::IncidentShared { .. } => "incident_shared",
            Event::IncidentUnshared { .. } => "incident_unshared",
            Event::UnitHidden { .. } => "unit_hidden",
            Event::UnitRevealed { .. } => "unit_revealed",
            Event::SharingChanged { .. } => "sharing_changed",
            Event::Recorded { record } => record.kind(),
            Event::AlertIssued { .. } => "alert_issued",
            Event::AlertUpdated { .. } => "alert_updated",
            Event::AlertCancelled { .. } => "alert_cancelled",
        }
    }

    pub fn is_positions(&self) -> bool {
        matches!(self, Event::PositionsReported { .. })
    }

    /// What folding this event costs, roughly: one per fix for a position batch, else one. Snapshots
    /// are spaced by it, so a seek's tail is bounded in work, not merely in events.
    pub fn weight(&self) -> u64 {
        match self {
            Event::PositionsReported { fixes } => fixes.len().max(1) as u64,
            _ => 1,
        }
    }
}

/// The fields an incident update changes; absent fields stay as they are. `area: Some(None)`
/// (JSON `null`) removes the area.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct IncidentChanges {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<IncidentKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Point>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "present")]
    pub area: Option<Option<Area>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lead_agency: Option<AgencyCode>,
}

impl IncidentChanges {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Tells a field given as `null` (Some(None)) from a missing one (None, via `default`).
pub fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_tagged_by_their_kind() {
        let e = Event::UnitStatusChanged { unit_id: UnitId(3), status: UnitStatus::EnRoute };
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["type"], e.kind());
        assert_eq!(json["status"], "en_route");
    }

    #[test]
    fn an_area_given_as_null_is_removed_and_a_missing_one_is_kept() {
        let cleared: IncidentChanges = serde_json::from_str(r#"{"area":null}"#).unwrap();
        assert_eq!(cleared.area, Some(None));
        let untouched: IncidentChanges = serde_json::from_str(r#"{"priority":"P1"}"#).unwrap();
        assert_eq!(untouched.area, None);
        let back: IncidentChanges = serde_json::from_str(&serde_json::to_string(&cleared).unwrap()).unwrap();
        assert_eq!(back, cleared);
    }
}

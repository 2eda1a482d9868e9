//! Who may do what: every command is authorised here, by the principal's roles, its agency and who
//! owns what the command touches, before [`crate::decide`] judges it against the room. Pure, so
//! the table is tested whole (see the tests) and the server only asks.
//!
//! | role | may |
//! |---|---|
//! | dispatcher | its agency's units (register, status, positions, assign to and release from any incident it sees); incidents its agency leads (create, edit, status, restrict, share); notes and messages where its agency may; acknowledge for its agency |
//! | commander | incidents its agency leads (status, restrict, share), hide or show its agency's units, notes, messages, acknowledgements — no dispatching |
//! | liaison | messages in the channels its agency is a member of, acknowledgements for its agency — nothing else |
//! | trainer, trainee, auditor | no operational command (replay, scenarios and the record are theirs, outside the room) |
//! | admin | agencies, channels, sharing (incidents, and agency-pair rules) and hiding for any agency — no operations |
//!
//! Outside alerts (CAP 1.2) are brought in by a dispatcher or an admin (or the room's own feed
//! service); every agency sees them.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

use crate::command::Command;
use crate::visibility::Viewer;
use crate::{AgencyCode, IncidentId, State, UnitId};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Dispatcher,
    Commander,
    Liaison,
    Trainer,
    Trainee,
    Auditor,
    Admin,
}

impl Role {
    pub const ALL: [Role; 7] =
        [Role::Dispatcher, Role::Commander, Role::Liaison, Role::Trainer, Role::Trainee, Role::Auditor, Role::Admin];
}

/// Groups of roles, named by what they open in the room: the server's route rules and pages and
/// the UI's server functions use the same ones.
pub mod roles {
    use super::Role::{self, *};

    /// Everyone who reads the live room (a trainee follows replays only).
    pub const READ_ROOM: &[Role] = &[Dispatcher, Commander, Liaison, Trainer, Auditor, Admin];
    /// Everyone signed in.
    pub const ANYONE: &[Role] = &[Dispatcher, Commander, Liaison, Trainer, Trainee, Auditor, Admin];
    pub const DISPATCH: &[Role] = &[Dispatcher];
    /// Who works incidents: the dispatcher, and the commander on its own agency's.
    pub const WORK_INCIDENTS: &[Role] = &[Dispatcher, Commander];
    /// Who registers units: a dispatcher for its agency, an admin for any.
    pub const REGISTER_UNITS: &[Role] = &[Dispatcher, Admin];
    /// Who hides units: a commander for its agency, an admin for any.
    pub const HIDE_UNITS: &[Role] = &[Commander, Admin];
    /// Who shares incidents: the lead's dispatcher or commander, an admin.
    pub const SHARE: &[Role] = &[Dispatcher, Commander, Admin];
    /// Who posts and acknowledges messages.
    pub const MESSAGE: &[Role] = &[Dispatcher, Commander, Liaison];
    pub const ADMIN: &[Role] = &[Admin];
    /// Who drives replays, scenarios and exports.
    pub const TRAIN: &[Role] = &[Trainer];
    /// Who follows replays.
    pub const FOLLOW_REPLAYS: &[Role] = &[Trainer, Trainee];
    /// Who reads the record for oversight (and the witnesses, through an auditor's token).
    pub const AUDIT: &[Role] = &[Auditor];
    /// Who brings outside alerts (CAP) into the room.
    pub const RECEIVE_ALERTS: &[Role] = &[Dispatcher, Admin];
}

/// Who acts: a signed-in user (or an integration's token) of one agency, with its roles.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub user: String,
    pub agency: AgencyCode,
    pub roles: BTreeSet<Role>,
}

impl Principal {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn has_any(&self, roles: &[Role]) -> bool {
        roles.iter().any(|r| self.has(*r))
    }

    /// What the principal may see of the room: its agency's picture. An auditor (oversight: judges,
    /// inspectors, parliamentary staff) checks what every service did, so it sees the whole room —
    /// it has no operational right, so seeing is all it does.
    pub fn viewer(&self) -> Viewer {
        if self.has(Role::Auditor) {
            Viewer::Room
        } else {
            Viewer::Agency(self.agency.clone())
        }
    }

    /// The role that gives `command` its right: the first of the principal's roles that would be
    /// allowed it alone (recorded with the event, so the record says in which capacity it acted).
    pub fn role_for(&self, state: &State, command: &Command) -> Option<Role> {
        self.roles.iter().copied().find(|role| {
            let alone = Principal { user: self.user.clone(), agency: self.agency.clone(), roles: [*role].into() };
            authorize(state, &alone, command).is_ok()
        })
    }

    /// How an event records who acted: `login@AGENCY/role`.
    pub fn actor(&self, role: Role) -> String {
        crate::actor::actor(&self.user, &self.agency, role.name())
    }
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Dispatcher => "dispatcher",
            Role::Commander => "commander",
            Role::Liaison => "liaison",
            Role::Trainer => "trainer",
            Role::Trainee => "trainee",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }

    pub fn parse(raw: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.name() == raw)
    }
}

/// What an API token may be used for, on top of its owner's roles: an AVL gateway's token reports
/// positions and nothing else, even if its owner could do more. A signed-in browser has every scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Scope {
    /// Read the room: state, summary, the log, the stream, the base map.
    #[serde(rename = "room:read")]
    RoomRead,
    /// Report unit positions.
    #[serde(rename = "positions:write")]
    PositionsWrite,
    /// Register units, change their status, dispatch them, hide them.
    #[serde(rename = "units:write")]
    UnitsWrite,
    /// Open, edit, restrict and share incidents; notes.
    #[serde(rename = "incidents:write")]
    IncidentsWrite,
    /// Post and acknowledge messages.
    #[serde(rename = "messages:write")]
    MessagesWrite,
    /// Replay sessions, scenarios and exports.
    #[serde(rename = "replay")]
    Replay,
    /// Accounts, tokens, agencies and channels.
    #[serde(rename = "admin")]
    Admin,
    /// The record for oversight: read it, export it, fetch checkpoints and proofs, co-sign them.
    #[serde(rename = "audit")]
    Audit,
}

impl Scope {
    pub const ALL: [Scope; 8] = [
        Scope::RoomRead,
        Scope::PositionsWrite,
        Scope::UnitsWrite,
        Scope::IncidentsWrite,
        Scope::MessagesWrite,
        Scope::Replay,
        Scope::Admin,
        Scope::Audit,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scope::RoomRead => "room:read",
            Scope::PositionsWrite => "positions:write",
            Scope::UnitsWrite => "units:write",
            Scope::IncidentsWrite => "incidents:write",
            Scope::MessagesWrite => "messages:write",
            Scope::Replay => "replay",
            Scope::Admin => "admin",
            Scope::Audit => "audit",
        }
    }

    pub fn parse(raw: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.name() == raw)
    }
}

/// The rights a command needs: what a refusal names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Right {
    ManageAgencies,
    ManageChannels,
    RegisterUnits,
    DispatchUnits,
    ReportPositions,
    LeadIncidents,
    WorkIncidents,
    ShareIncidents,
    ManageSharing,
    HideUnits,
    PostMessages,
    Acknowledge,
    WriteRecord,
    ReceiveAlerts,
}

impl Right {
    pub fn name(self) -> &'static str {
        match self {
            Right::ManageAgencies => "manage_agencies",
            Right::ManageChannels => "manage_channels",
            Right::RegisterUnits => "register_units",
            Right::DispatchUnits => "dispatch_units",
            Right::ReportPositions => "report_positions",
            Right::LeadIncidents => "lead_incidents",
            Right::WorkIncidents => "work_incidents",
            Right::ShareIncidents => "share_incidents",
            Right::ManageSharing => "manage_sharing",
            Right::HideUnits => "hide_units",
            Right::PostMessages => "post_messages",
            Right::Acknowledge => "acknowledge",
            Right::WriteRecord => "write_record",
            Right::ReceiveAlerts => "receive_alerts",
        }
    }
}

/// A command the principal may not give: the right it lacks, and why, in words for the operator.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Denied {
    pub right: Right,
    pub message: String,
}

/// Whether `principal` may give `command` in `state`. What the command names but the room does not
/// hold is left to [`crate::decide`] (which answers "not found"), except where it would tell a
/// principal about something it may not see: then the answer is the same as for a refusal.
pub fn authorize(state: &State, principal: &Principal, command: &Command) -> Result<(), Denied> {
    let me = &principal.agency;
    let is = |role| principal.has(role);
    let deny = |right: Right, what: String| Err(Denied { right, message: what });
    let owns_unit = |id: &UnitId| state.units.get(id).is_none_or(|u| u.agency == *me);
    let leads = |id: &IncidentId| state.incidents.get(id).is_none_or(|i| i.lead_agency == *me);
    let sees = |id: &IncidentId| state.incidents.get(id).is_none_or(|i| principal.viewer().sees_incident(state, i));
    let callsign = |id: &UnitId| state.units.get(id).map_or_else(|| id.to_string(), |u| u.callsign.clone());
    match command {
        Command::RegisterAgency { .. } if is(Role::Admin) => Ok(()),
        Command::RegisterAgency { .. } => deny(Right::ManageAgencies, "only an admin registers agencies".into()),
        Command::CreateChannel { .. } if is(Role::Admin) => Ok(()),
        Command::CreateChannel { .. } => deny(Right::ManageChannels, "only an admin creates channels".into()),
        Command::RegisterUnit { agency, .. } => {
            if is(Role::Admin) || (is(Role::Dispatcher) && agency == me) {
                Ok(())
            } else {
                deny(Right::RegisterUnits, format!("only a dispatcher of {agency} (or an admin) registers its units"))
            }
        }
        Command::ChangeUnitStatus { unit_id, .. } => {
            if is(Role::Dispatcher) && owns_unit(unit_id) {
                Ok(())
            } else {
                deny(
                    Right::DispatchUnits,
                    format!("only a dispatcher of its agency changes {}'s status", callsign(unit_id)),
                )
            }
        }
        Command::ReportPositions { fixes } => match fixes.iter().find(|f| !owns_unit(&f.unit_id)) {
            None if is(Role::Dispatcher) => Ok(()),
            None => {
                deny(Right::ReportPositions, "only a dispatcher (or its agency's gateway) reports positions".into())
            }
            Some(f) => deny(Right::ReportPositions, format!("{} is not a unit of {me}", callsign(&f.unit_id))),
        },
        Command::AssignUnit { incident_id, unit_id } | Command::ReleaseUnit { incident_id, unit_id } => {
            let releasing_from_own = matches!(command, Command::ReleaseUnit { .. }) && leads(incident_id);
            if !is(Role::Dispatcher) {
                deny(Right::DispatchUnits, "only a dispatcher assigns and releases units".into())
            } else if !sees(incident_id) {
                deny(Right::WorkIncidents, format!("{me} does not work on {incident_id}"))
            } else if owns_unit(unit_id) || releasing_from_own {
                Ok(())
            } else {
                deny(Right::DispatchUnits, format!("{} is not a unit of {me}", callsign(unit_id)))
            }
        }
        Command::CreateIncident { lead_agency, .. } => {
            if is(Role::Dispatcher) && lead_agency == me {
                Ok(())
            } else {
                deny(Right::LeadIncidents, format!("only a dispatcher of {lead_agency} opens an incident it leads"))
            }
        }
        Command::UpdateIncident { incident_id, .. } => {
            if is(Role::Dispatcher) && leads(incident_id) {
                Ok(())
            } else {
                deny(Right::LeadIncidents, format!("only a dispatcher of {incident_id}'s lead agency edits it"))
            }
        }
        Command::ChangeIncidentStatus { incident_id, .. } | Command::RestrictIncident { incident_id, .. } => {
            if (is(Role::Dispatcher) || is(Role::Commander)) && leads(incident_id) {
                Ok(())
            } else {
                deny(
                    Right::LeadIncidents,
                    format!("only {incident_id}'s lead agency (dispatcher or commander) does that"),
                )
            }
        }
        Command::ShareIncident { incident_id, .. } | Command::UnshareIncident { incident_id, .. } => {
            if is(Role::Admin) || ((is(Role::Dispatcher) || is(Role::Commander)) && leads(incident_id)) {
                Ok(())
            } else {
                deny(Right::ShareIncidents, format!("only {incident_id}'s lead agency (or an admin) shares it"))
            }
        }
        Command::AddNote { incident_id, .. } => {
            if (is(Role::Dispatcher) || is(Role::Commander)) && sees(incident_id) {
                Ok(())
            } else {
                deny(
                    Right::WorkIncidents,
                    format!("only a dispatcher or commander who works on {incident_id} adds notes"),
                )
            }
        }
        Command::Record { .. } => deny(Right::WriteRecord, "only the server writes the record for oversight".into()),
        Command::ReceiveAlert { .. } if is(Role::Dispatcher) || is(Role::Admin) => Ok(()),
        Command::ReceiveAlert { .. } => {
            deny(Right::ReceiveAlerts, "only a dispatcher or an admin brings an outside alert into the room".into())
        }
        Command::SetSharing { .. } if is(Role::Admin) => Ok(()),
        Command::SetSharing { from, .. } => {
            deny(Right::ManageSharing, format!("only an admin sets what {from} shares with other agencies"))
        }
        Command::HideUnit { unit_id, .. } | Command::RevealUnit { unit_id, .. } => {
            if is(Role::Admin) || (is(Role::Commander) && owns_unit(unit_id)) {
                Ok(())
            } else {
                deny(
                    Right::HideUnits,
                    format!("only a commander of its agency (or an admin) hides {}", callsign(unit_id)),
                )
            }
        }
        Command::PostMessage { channel_id, sender_agency, .. } => {
            let member = state.channels.get(channel_id).is_none_or(|c| principal.viewer().reads_channel(state, c));
            if !(is(Role::Dispatcher) || is(Role::Commander) || is(Role::Liaison)) {
                deny(Right::PostMessages, "only a dispatcher, commander or liaison posts messages".into())
            } else if sender_agency != me || !member {
                deny(Right::PostMessages, format!("{me} does not post in {channel_id}"))
            } else {
                Ok(())
            }
        }
        Command::AcknowledgeMessage { agency, .. } => {
            if (is(Role::Dispatcher) || is(Role::Commander) || is(Role::Liaison)) && agency == me {
                Ok(())
            } else {
                deny(Right::Acknowledge, format!("only someone of {agency} acknowledges for it"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{agency, code, must};
    use crate::{
        Agency, AgencyKind, ChannelId, Fix, IncidentKind, IncidentStatus, MessageId, MessagePriority, Point, Priority,
        UnitKind, UnitStatus,
    };

    /// PP and BSPP; unit 1 is PP's, unit 2 BSPP's; incident 1 is led by PP, 2 by BSPP.
    fn room() -> State {
        let mut state = State::default();
        for c in ["PP", "BSPP"] {
            must(&mut state, agency(c));
        }
        for (callsign, agency) in [("PS-1", "PP"), ("FPT-1", "BSPP")] {
            let unit = Command::RegisterUnit {
                callsign: callsign.into(),
                agency: code(agency),
                kind: UnitKind::PatrolCar,
                status: UnitStatus::Available,
                hidden_from: BTreeSet::new(),
                device_uid: None,
            };
            must(&mut state, unit);
        }
        for lead in ["PP", "BSPP"] {
            must(&mut state, incident(lead));
        }
        state
    }

    fn incident(lead: &str) -> Command {
        Command::CreateIncident {
            kind: IncidentKind::Fire,
            priority: Priority::P2,
            location: Point::parse(2.35, 48.85).unwrap(),
            area: None,
            address: "quai".into(),
            lead_agency: code(lead),
            restricted: false,
        }
    }

    /// Every kind of command, on what PP owns (`mine`) or on what BSPP owns.
    fn commands(mine: bool) -> Vec<(&'static str, Command)> {
        let (agency, unit, inc) =
            if mine { ("PP", UnitId(1), IncidentId(1)) } else { ("BSPP", UnitId(2), IncidentId(2)) };
        let other = if mine { "BSPP" } else { "PP" };
        vec![
            (
                "register_agency",
                Command::RegisterAgency {
                    agency: Agency::parse("GN", "GN", "GN", AgencyKind::Gendarmerie, "FR", "#224466").unwrap(),
                },
            ),
            (
                "create_channel",
                Command::CreateChannel {
                    channel: crate::Channel {
                        channel_id: ChannelId::inter_agency("x").unwrap(),
                        name: "x".into(),
                        members: Some([code("PP"), code("BSPP")].into()),
                    },
                },
            ),
            (
                "register_unit",
                Command::RegisterUnit {
                    callsign: "N-1".into(),
                    agency: code(agency),
                    kind: UnitKind::PatrolCar,
                    status: UnitStatus::Available,
                    hidden_from: BTreeSet::new(),
                    device_uid: None,
                },
            ),
            ("unit_status", Command::ChangeUnitStatus { unit_id: unit, status: UnitStatus::OutOfService }),
            (
                "positions",
                Command::ReportPositions {
                    fixes: vec![Fix::parse(unit, 2.35, 48.85, None, None, None, 1_795_000_000_000).unwrap()],
                },
            ),
            ("assign", Command::AssignUnit { incident_id: inc, unit_id: unit }),
            ("release", Command::ReleaseUnit { incident_id: inc, unit_id: unit }),
            ("create_incident", incident(agency)),
            ("update_incident", Command::UpdateIncident { incident_id: inc, changes: Default::default() }),
            ("incident_status", Command::ChangeIncidentStatus { incident_id: inc, status: IncidentStatus::Dispatched }),
            ("restrict", Command::RestrictIncident { incident_id: inc, restricted: true }),
            ("share", Command::ShareIncident { incident_id: inc, agency: code(other) }),
            ("note", Command::AddNote { incident_id: inc, text: "x".into() }),
            ("hide", Command::HideUnit { unit_id: unit, agency: code(other) }),
            ("sharing", Command::SetSharing { from: code(agency), to: code(other), shared: true }),
            (
                "post",
                Command::PostMessage {
                    channel_id: ChannelId::for_agency(&code(agency)),
                    sender_agency: code(agency),
                    priority: MessagePriority::Routine,
                    body: "x".into(),
                    ack_required: false,
                },
            ),
            ("ack", Command::AcknowledgeMessage { message_id: MessageId(1), agency: code(agency) }),
        ]
    }

    /// The whole table for a PP principal of each role: `Y` allowed, `.` refused, on PP's own
    /// things (first string) and on BSPP's (second), in the order of [`commands`].
    #[test]
    fn the_role_table_holds_for_every_command_on_own_and_other_agencies_things() {
        // agency chan reg stat pos asgn rel crea upd ista rstr shr note hide sharing post ack
        let table: [(Role, &str, &str); 7] = [
            (Role::Dispatcher, "..YYYYYYYYYYY..YY", "............Y...."),
            (Role::Commander, ".........YYYYY.YY", "............Y...."),
            (Role::Liaison, "...............YY", "................."),
            (Role::Trainer, ".................", "................."),
            (Role::Trainee, ".................", "................."),
            (Role::Auditor, ".................", "................."),
            (Role::Admin, "YYY........Y.YY..", "YYY........Y.YY.."),
        ];
        let state = room();
        for (role, own, others) in table {
            let principal = Principal { user: "u".into(), agency: code("PP"), roles: [role].into() };
            for (expected, mine) in [(own.replace(' ', ""), true), (others.replace(' ', ""), false)] {
                let got: String = commands(mine)
                    .iter()
                    .map(|(_, c)| if authorize(&state, &principal, c).is_ok() { 'Y' } else { '.' })
                    .collect();
                let names: Vec<&str> = commands(mine).iter().map(|(n, _)| *n).collect();
                assert_eq!(got, expected, "{role:?} on {} things: {names:?}", if mine { "its own" } else { "BSPP's" });
            }
        }
    }

    #[test]
    fn a_refusal_names_the_missing_right_and_a_restricted_incident_is_not_worked_by_outsiders() {
        let mut state = room();
        state.incidents.get_mut(&IncidentId(2)).unwrap().restricted = true;
        let pp = Principal { user: "u".into(), agency: code("PP"), roles: [Role::Dispatcher].into() };
        let denied = authorize(&state, &pp, &Command::AssignUnit { incident_id: IncidentId(2), unit_id: UnitId(1) })
            .unwrap_err();
        assert_eq!(denied.right, Right::WorkIncidents, "PP's own unit, but BSPP's restricted incident: {denied}");
        let liaison = Principal { user: "l".into(), agency: code("PP"), roles: [Role::Liaison].into() };
        let denied = authorize(
            &state,
            &liaison,
            &Command::ChangeUnitStatus { unit_id: UnitId(1), status: UnitStatus::OutOfService },
        )
        .unwrap_err();
        assert_eq!((denied.right, denied.right.name()), (Right::DispatchUnits, "dispatch_units"));
        let admin = Principal { user: "a".into(), agency: code("PP"), roles: [Role::Admin].into() };
        assert!(
            authorize(&state, &admin, &Command::AddNote { incident_id: IncidentId(1), text: "x".into() }).is_err(),
            "an admin does not touch operations"
        );
    }
}

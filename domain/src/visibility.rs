//! Need-to-know: what a viewer may see of the room, decided from the state alone, so the server
//! filters every read path with the same rules and the browser folds exactly what it was sent.
//!
//! The rules:
//! - **Incidents** are visible to the whole room unless `restricted`; a restricted incident is
//!   visible to its lead agency and to the agencies it is shared with. Who it is shared with is the
//!   lead's business: other viewers see the incident, not the list.
//! - **Units** are visible to every agency they are not hidden from (never hidden from their own).
//!   Only the owning agency sees the list. A visible unit on an invisible incident shows no incident.
//! - **Channels**: an incident's channel is known to whoever sees the incident; an inter-agency
//!   channel only to its members; the room's and the agencies' own channels to everyone.
//!   **Messages** are read by the member agencies of their channel only.
//!
//! [`view`] is a viewer's picture of a state; [`see`] is what a viewer receives of one event. They
//! agree: folding what [`see`] gives, event by event, lands on [`view`] of the folded log (the
//! property test below checks it on random logs for random viewers).

use std::collections::BTreeSet;

use crate::{AgencyCode, Channel, Event, Incident, LoggedEvent, State, Unit};

/// Who is looking.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Viewer {
    /// Sees everything: the room's own services (the writer, the log, a replay of the whole room).
    Room,
    /// Sees what its agency may.
    Agency(AgencyCode),
}

/// What a viewer receives of one event.
#[derive(Clone, Debug, PartialEq)]
pub enum Seen {
    /// The event as it is.
    All,
    /// Part of it (a position batch without the fixes of hidden units).
    Part(Event),
    /// Nothing: the range it covers is an advance.
    Nothing,
    /// The viewer's picture changed beyond what the event says (something became visible or
    /// invisible to it): it gets its whole picture again, [`view`] of the state after the event.
    Picture,
}

impl Viewer {
    fn agency(&self) -> Option<&AgencyCode> {
        match self {
            Viewer::Room => None,
            Viewer::Agency(code) => Some(code),
        }
    }

    /// Whether the viewer sees `incident` in `state`: it is not restricted, or the viewer leads it,
    /// or it is shared with the viewer, or the lead shares all its restricted incidents with the
    /// viewer (an agency-pair rule).
    pub fn sees_incident(&self, state: &State, incident: &Incident) -> bool {
        self.agency().is_none_or(|a| {
            !incident.restricted
                || incident.lead_agency == *a
                || incident.shared_with.contains(a)
                || state.sharing.contains(&(incident.lead_agency.clone(), a.clone()))
        })
    }

    pub fn sees_unit(&self, unit: &Unit) -> bool {
        self.agency().is_none_or(|a| !unit.hidden_from.contains(a))
    }

    /// Whether the viewer knows the channel exists (its name and members).
    pub fn sees_channel(&self, state: &State, channel: &Channel) -> bool {
        let Some(agency) = self.agency() else { return true };
        match channel.channel_id.incident() {
            Some(id) => state.incidents.get(&id).is_none_or(|i| self.sees_incident(state, i)),
            None => !channel.channel_id.is_inter_agency() || channel.admits(agency),
        }
    }

    /// Whether the viewer reads the channel's messages.
    pub fn reads_channel(&self, state: &State, channel: &Channel) -> bool {
        self.sees_channel(state, channel) && self.agency().is_none_or(|a| channel.admits(a))
    }
}

/// One incident as the viewer's picture holds it ([`view`]), or `None` when it may not see it.
pub fn incident(state: &State, viewer: &Viewer, id: crate::IncidentId) -> Option<Incident> {
    let i = state.incidents.get(&id).filter(|i| viewer.sees_incident(state, i))?;
    let mut i = i.clone();
    if let Some(agency) = viewer.agency() {
        i.assigned.retain(|u| state.units.get(u).is_some_and(|u| viewer.sees_unit(u)));
        if i.lead_agency != *agency {
            i.shared_with = BTreeSet::new();
        }
    }
    Some(i)
}

/// The viewer's picture of `state`: what it may see, and nothing that points at what it may not.
pub fn view(state: &State, viewer: &Viewer) -> State {
    let Some(agency) = viewer.agency() else { return state.clone() };
    let incidents: std::collections::BTreeMap<_, _> =
        state.incidents.keys().filter_map(|id| incident(state, viewer, *id).map(|i| (*id, i))).collect();
    let units = state
        .units
        .iter()
        .filter(|(_, u)| viewer.sees_unit(u))
        .map(|(id, u)| {
            let mut u = u.clone();
            u.incident_id = u.incident_id.filter(|i| incidents.contains_key(i));
            if u.agency != *agency {
                u.hidden_from = BTreeSet::new();
            }
            (*id, u)
        })
        .collect();
    let channels: std::collections::BTreeMap<_, _> = state
        .channels
        .iter()
        .filter(|(_, c)| viewer.sees_channel(state, c))
        .map(|(k, c)| (k.clone(), c.clone()))
        .collect();
    let read = |m: &crate::Message| state.channels.get(&m.channel_id).is_some_and(|c| viewer.reads_channel(state, c));
    let messages = state.messages.iter().filter(|(_, m)| read(m)).map(|(k, m)| (*k, m.clone())).collect();
    // Sharing rules are the business of the two agencies they join.
    let sharing = state.sharing.iter().filter(|(from, to)| from == agency || to == agency).cloned().collect();
    State {
        seq: state.seq,
        at_ms: state.at_ms,
        agencies: state.agencies.clone(),
        units,
        incidents,
        channels,
        messages,
        sharing,
        alerts: state.alerts.clone(),
    }
}

/// What a viewer saw, before an event is folded, of the incident or unit the event is about: all
/// [`see_after`] needs of the room before the event, so a projection need not keep a copy of it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Before {
    incident: bool,
    leads: bool,
    reads: bool,
    unit: bool,
}

/// Takes [`Before`] for `event` from the room before it is folded.
pub fn see_before(state: &State, viewer: &Viewer, event: &Event) -> Before {
    let Some(agency) = viewer.agency() else { return Before::default() };
    let (incident, unit) = match event {
        Event::IncidentUpdated { incident_id, .. }
        | Event::IncidentRestricted { incident_id, .. }
        | Event::IncidentShared { incident_id, .. }
        | Event::IncidentUnshared { incident_id, .. } => (Some(*incident_id), None),
        Event::UnitAssigned { incident_id, unit_id } | Event::UnitReleased { incident_id, unit_id } => {
            (Some(*incident_id), Some(*unit_id))
        }
        Event::UnitHidden { unit_id, .. } | Event::UnitRevealed { unit_id, .. } => (None, Some(*unit_id)),
        _ => (None, None),
    };
    let facts = Facts { state, viewer, agency };
    Before {
        incident: incident.is_some_and(|id| facts.incident(&id)),
        leads: incident.is_some_and(|id| facts.leads(&id)),
        reads: incident.is_some_and(|id| facts.reads(&id)),
        unit: unit.is_some_and(|id| facts.unit(&id)),
    }
}

/// What `viewer` receives of `logged`, the event that took the room from `before` to `after`.
pub fn see(before: &State, after: &State, viewer: &Viewer, logged: &LoggedEvent) -> Seen {
    see_after(see_before(before, viewer, &logged.event), after, viewer, logged)
}

/// What the viewer may know of one state.
struct Facts<'a> {
    state: &'a State,
    viewer: &'a Viewer,
    agency: &'a AgencyCode,
}

impl Facts<'_> {
    fn incident(&self, id: &crate::IncidentId) -> bool {
        self.state.incidents.get(id).is_some_and(|i| self.viewer.sees_incident(self.state, i))
    }
    fn unit(&self, id: &crate::UnitId) -> bool {
        self.state.units.get(id).is_some_and(|u| self.viewer.sees_unit(u))
    }
    fn leads(&self, id: &crate::IncidentId) -> bool {
        self.state.incidents.get(id).is_some_and(|i| i.lead_agency == *self.agency)
    }
    /// Whether the viewer reads the incident's channel (an event that changes it changes which
    /// messages the viewer may hold).
    fn reads(&self, id: &crate::IncidentId) -> bool {
        let channel = self.state.channels.get(&crate::ChannelId::for_incident(*id));
        channel.is_some_and(|c| self.viewer.reads_channel(self.state, c))
    }
}

/// What `viewer` receives of `logged`, given what it saw before ([`see_before`]) and the room after.
pub fn see_after(was: Before, after: &State, viewer: &Viewer, logged: &LoggedEvent) -> Seen {
    let Some(agency) = viewer.agency() else { return Seen::All };
    let now = Facts { state: after, viewer, agency };
    // Seen before and after: the event as is; never: nothing; one or the other: the picture.
    let across = |was: bool, is: bool| match (was, is) {
        (true, true) => Seen::All,
        (false, false) => Seen::Nothing,
        _ => Seen::Picture,
    };
    let only = |visible: bool| if visible { Seen::All } else { Seen::Nothing };
    match &logged.event {
        Event::AgencyRegistered { .. } => Seen::All,
        Event::UnitRegistered { hidden_from, agency: owner, .. } => {
            if hidden_from.contains(agency) {
                Seen::Nothing
            } else if owner != agency && !hidden_from.is_empty() {
                // Whom else it is hidden from is its agency's business.
                let mut event = logged.event.clone();
                if let Event::UnitRegistered { hidden_from, .. } = &mut event {
                    hidden_from.clear();
                }
                Seen::Part(event)
            } else {
                Seen::All
            }
        }
        Event::UnitStatusChanged { unit_id, .. } => only(now.unit(unit_id)),
        Event::PositionsReported { fixes } => {
            let kept: Vec<_> = fixes.iter().filter(|f| now.unit(&f.unit_id)).copied().collect();
            match kept.len() {
                0 => Seen::Nothing,
                n if n == fixes.len() => Seen::All,
                _ => Seen::Part(Event::PositionsReported { fixes: kept }),
            }
        }
        Event::IncidentCreated { incident_id, .. } => only(now.incident(incident_id)),
        Event::IncidentUpdated { incident_id, .. } => match across(was.incident, now.incident(incident_id)) {
            // Becoming or ceasing to be the lead changes what the viewer sees of the incident (whom
            // it is shared with) and which channel it reads.
            Seen::All if was.leads != now.leads(incident_id) || was.reads != now.reads(incident_id) => Seen::Picture,
            seen => seen,
        },
        Event::IncidentStatusChanged { incident_id, .. } | Event::NoteAdded { incident_id, .. } => {
            only(now.incident(incident_id))
        }
        Event::UnitAssigned { incident_id, unit_id } | Event::UnitReleased { incident_id, unit_id } => {
            match (now.incident(incident_id), now.unit(unit_id)) {
                (true, true) if was.reads == now.reads(incident_id) => Seen::All,
                (false, false) => Seen::Nothing,
                // One of the two is withheld: the visible one changed in a way the event would
                // show through the other (the incident's assignees, the unit's incident).
                _ => Seen::Picture,
            }
        }
        Event::ChannelCreated { channel } => only(viewer.sees_channel(after, channel)),
        Event::MessagePosted { channel_id, .. } => {
            only(after.channels.get(channel_id).is_some_and(|c| viewer.reads_channel(after, c)))
        }
        Event::MessageAcknowledged { message_id, .. } => only(
            after
                .messages
                .get(message_id)
                .is_some_and(|m| after.channels.get(&m.channel_id).is_some_and(|c| viewer.reads_channel(after, c))),
        ),
        Event::IncidentRestricted { incident_id, .. } => across(was.incident, now.incident(incident_id)),
        Event::IncidentShared { incident_id, .. } | Event::IncidentUnshared { incident_id, .. } => {
            // Whom else it is shared with is the lead's business: others get nothing unless the
            // incident appears or disappears for them.
            match across(was.incident, now.incident(incident_id)) {
                Seen::All if !now.leads(incident_id) => Seen::Nothing,
                seen => seen,
            }
        }
        Event::UnitHidden { unit_id, .. } | Event::UnitRevealed { unit_id, .. } => {
            let owner = after.units.get(unit_id).is_some_and(|u| u.agency == *agency);
            match across(was.unit, now.unit(unit_id)) {
                Seen::All if !owner => Seen::Nothing,
                seen => seen,
            }
        }
        // The agency the rule opens to gets its new picture when the lead has restricted incidents
        // (they appear or disappear); the lead is told; nobody else learns of the arrangement.
        Event::SharingChanged { from, to, .. } if to == agency => {
            if after.incidents.values().any(|i| i.restricted && i.lead_agency == *from) {
                Seen::Picture
            } else {
                Seen::All
            }
        }
        Event::SharingChanged { from, .. } => only(from == agency),
        // The record for oversight is read by auditors (who see the whole room), never an agency.
        Event::Recorded { .. } => Seen::Nothing,
        Event::AlertIssued { .. } | Event::AlertUpdated { .. } | Event::AlertCancelled { .. } => Seen::All,
    }
}

/// The events of a stretch of the log a viewer may read, as a record (the timeline, `/events`,
/// a replay's events, an export): `state` is the room just before the first of `events` and is
/// folded through them. An event the viewer sees whole is kept, one it sees in part is kept as that
/// part, one it may not see is left out. One that changes its picture ([`Seen::Picture`]) is kept
/// when everything it names is visible to the viewer after it (a unit of its own assigned to
/// another agency's incident: the viewer's folded room then follows), and left out otherwise — a
/// record entry cannot carry a picture, and such an event names what is withheld.
pub fn record_for(state: &mut State, viewer: &Viewer, events: Vec<LoggedEvent>) -> Vec<LoggedEvent> {
    if *viewer == Viewer::Room {
        events.iter().for_each(|e| state.apply(e));
        return events;
    }
    let mut kept = Vec::new();
    for e in events {
        let was = see_before(state, viewer, &e.event);
        state.apply(&e);
        match see_after(was, state, viewer, &e) {
            Seen::All => kept.push(e),
            Seen::Part(event) => kept.push(LoggedEvent { event, ..e }),
            Seen::Picture if names_only_visible(state, viewer, &e.event) => kept.push(e),
            Seen::Nothing | Seen::Picture => {}
        }
    }
    kept
}

/// Whether `viewer` may read `event` judged on the room as it is now (`state`): what it names is
/// visible, and it tells nothing that is another agency's business (whom an incident is shared
/// with, whom a unit is hidden from). For a short list of recent events on a page's first paint,
/// where the room before each is not at hand; never more than [`record_for`] would give.
pub fn readable_now(state: &State, viewer: &Viewer, event: &Event) -> bool {
    let Some(agency) = viewer.agency() else { return true };
    let incident = |id: &crate::IncidentId| state.incidents.get(id).is_some_and(|i| viewer.sees_incident(state, i));
    let leads = |id: &crate::IncidentId| state.incidents.get(id).is_some_and(|i| i.lead_agency == *agency);
    let unit = |id: &crate::UnitId| state.units.get(id).is_some_and(|u| viewer.sees_unit(u));
    let owns = |id: &crate::UnitId| state.units.get(id).is_some_and(|u| u.agency == *agency);
    let reads =
        |channel: &crate::ChannelId| state.channels.get(channel).is_some_and(|c| viewer.reads_channel(state, c));
    match event {
        Event::AgencyRegistered { .. } => true,
        Event::UnitRegistered { unit_id, hidden_from, .. } => {
            unit(unit_id) && (hidden_from.is_empty() || owns(unit_id))
        }
        Event::UnitStatusChanged { unit_id, .. } => unit(unit_id),
        Event::PositionsReported { fixes } => fixes.iter().all(|f| unit(&f.unit_id)),
        Event::IncidentCreated { incident_id, .. }
        | Event::IncidentUpdated { incident_id, .. }
        | Event::IncidentStatusChanged { incident_id, .. }
        | Event::NoteAdded { incident_id, .. } => incident(incident_id),
        Event::IncidentRestricted { incident_id, .. }
        | Event::IncidentShared { incident_id, .. }
        | Event::IncidentUnshared { incident_id, .. } => leads(incident_id),
        Event::UnitAssigned { incident_id, unit_id } | Event::UnitReleased { incident_id, unit_id } => {
            incident(incident_id) && unit(unit_id)
        }
        Event::UnitHidden { unit_id, .. } | Event::UnitRevealed { unit_id, .. } => owns(unit_id),
        Event::SharingChanged { from, to, .. } => from == agency || to == agency,
        Event::Recorded { .. } => false,
        Event::AlertIssued { .. } | Event::AlertUpdated { .. } | Event::AlertCancelled { .. } => true,
        Event::ChannelCreated { channel } => viewer.sees_channel(state, channel),
        Event::MessagePosted { channel_id, .. } => reads(channel_id),
        Event::MessageAcknowledged { message_id, .. } => {
            state.messages.get(message_id).is_some_and(|m| reads(&m.channel_id))
        }
    }
}

/// Whether every incident and unit `event` names is visible to `viewer` in `state`.
fn names_only_visible(state: &State, viewer: &Viewer, event: &Event) -> bool {
    let incident = |id: &crate::IncidentId| state.incidents.get(id).is_some_and(|i| viewer.sees_incident(state, i));
    let unit = |id: &crate::UnitId| state.units.get(id).is_some_and(|u| viewer.sees_unit(u));
    match event {
        Event::UnitAssigned { incident_id, unit_id } | Event::UnitReleased { incident_id, unit_id } => {
            incident(incident_id) && unit(unit_id)
        }
        Event::IncidentUpdated { incident_id, .. } => incident(incident_id),
        // A share, a restriction or a hiding changes what the viewer holds beyond the event.
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::{decide, Command};
    use crate::testing::{agency, code, must};
    use crate::{
        ChannelId, Fix, IncidentId, IncidentKind, IncidentStatus, MessagePriority, Point, Priority, UnitId, UnitKind,
        UnitStatus,
    };

    /// A small deterministic generator (no dependency needed for a test's dice).
    struct Dice(u64);

    impl Dice {
        fn below(&mut self, n: u64) -> u64 {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (self.0 >> 33) % n.max(1)
        }
        fn pick<T: Clone>(&mut self, items: &[T]) -> T {
            items[self.below(items.len() as u64) as usize].clone()
        }
    }

    const CODES: [&str; 4] = ["PP", "BSPP", "BKA", "FBI"];

    /// A hostage-taking led by the PP, restricted.
    fn restricted_pp_incident() -> Command {
        Command::CreateIncident {
            kind: IncidentKind::Hostage,
            priority: Priority::P1,
            location: Point::parse(2.35, 48.85).unwrap(),
            area: None,
            address: "quai".into(),
            lead_agency: code("PP"),
            restricted: true,
        }
    }

    fn random_command(state: &State, d: &mut Dice, t: i64) -> Command {
        let agency = code(CODES[d.below(4) as usize]);
        let unit = UnitId(1 + d.below(state.units.len().max(1) as u64) as u32);
        let incident = IncidentId(1 + d.below(state.incidents.len().max(1) as u64) as u32);
        match d.below(16) {
            0 | 1 => Command::RegisterUnit {
                callsign: format!("U-{}", state.units.len() + 1),
                agency: agency.clone(),
                kind: UnitKind::PatrolCar,
                status: UnitStatus::Available,
                hidden_from: if d.below(4) == 0 { [code(CODES[d.below(4) as usize])].into() } else { BTreeSet::new() },
                device_uid: None,
            },
            2 | 3 => Command::CreateIncident {
                kind: IncidentKind::Fire,
                priority: Priority::P2,
                location: Point::parse(2.35, 48.85).unwrap(),
                area: None,
                address: format!("rue {}", state.incidents.len()),
                lead_agency: agency,
                restricted: d.below(2) == 0,
            },
            4 => Command::ShareIncident { incident_id: incident, agency },
            5 => Command::UnshareIncident { incident_id: incident, agency },
            6 => Command::RestrictIncident { incident_id: incident, restricted: d.below(2) == 0 },
            7 => Command::HideUnit { unit_id: unit, agency },
            8 => Command::RevealUnit { unit_id: unit, agency },
            9 => Command::AssignUnit { incident_id: incident, unit_id: unit },
            10 => Command::ReleaseUnit { incident_id: incident, unit_id: unit },
            11 => {
                let fixes = (0..3)
                    .map(|i| {
                        let u = UnitId(1 + d.below(state.units.len().max(1) as u64) as u32);
                        Fix::parse(u, 2.3 + i as f64 * 0.01, 48.8, None, None, None, t).unwrap()
                    })
                    .collect::<Vec<_>>();
                let mut seen = BTreeSet::new();
                Command::ReportPositions { fixes: fixes.into_iter().filter(|f| seen.insert(f.unit_id)).collect() }
            }
            12 => {
                let channels: Vec<ChannelId> = state.channels.keys().cloned().collect();
                Command::PostMessage {
                    channel_id: d.pick(&channels),
                    sender_agency: agency,
                    priority: MessagePriority::Routine,
                    body: "message".into(),
                    ack_required: true,
                }
            }
            13 => Command::AcknowledgeMessage {
                message_id: crate::MessageId(1 + d.below(state.messages.len().max(1) as u64)),
                agency,
            },
            14 => Command::ChangeIncidentStatus { incident_id: incident, status: IncidentStatus::Dispatched },
            15 if d.below(3) == 0 => {
                Command::SetSharing { from: agency, to: code(CODES[d.below(4) as usize]), shared: d.below(3) != 0 }
            }
            _ => Command::UpdateIncident {
                incident_id: incident,
                changes: crate::event::IncidentChanges { lead_agency: Some(agency), ..Default::default() },
            },
        }
    }

    /// A random room's log from `seed`: the agencies, then 300 random commands (those the room
    /// refuses leave nothing), with now and then an entry of the record for oversight.
    fn random_log(seed: u64) -> Vec<LoggedEvent> {
        let mut d = Dice(seed);
        let mut room = State::default();
        let mut log = Vec::new();
        let commands: Vec<Command> = CODES.iter().map(|c| agency(c)).collect();
        for i in 0..300 {
            let t = 1_795_000_000_000 + i * 1000;
            let command = match commands.get(i as usize) {
                Some(c) => c.clone(),
                None if d.below(20) == 0 => Command::Record {
                    record: crate::record::Record::RestrictedViewed { incident_id: IncidentId(d.below(5) as u32 + 1) },
                },
                None => random_command(&room, &mut d, t),
            };
            let Ok(events) = decide(&room, &command, "tester", t) else { continue };
            for event in events {
                let logged = LoggedEvent { seq: log.len() as u64 + 1, at_ms: t, actor: "tester".into(), event };
                room.apply(&logged);
                log.push(logged);
            }
        }
        log
    }

    /// Random logs; for every viewer, what [`see`] gives, folded event by event, is at every step
    /// the viewer's [`view`] of the room.
    #[test]
    fn folding_what_a_viewer_is_sent_equals_its_view_of_the_folded_room() {
        let viewers: Vec<Viewer> =
            std::iter::once(Viewer::Room).chain(CODES.iter().map(|c| Viewer::Agency(code(c)))).collect();
        let (mut pictures, mut rules) = (0, 0);
        for seed in 0..24u64 {
            let mut room = State::default();
            let mut folds: Vec<State> = viewers.iter().map(|_| State::default()).collect();
            for logged in random_log(seed) {
                rules += usize::from(matches!(logged.event, Event::SharingChanged { .. }));
                let before = room.clone();
                room.apply(&logged);
                for (viewer, fold) in viewers.iter().zip(folds.iter_mut()) {
                    match see(&before, &room, viewer, &logged) {
                        Seen::All => fold.apply(&logged),
                        Seen::Part(event) => fold.apply(&LoggedEvent { event, ..logged.clone() }),
                        Seen::Nothing => {}
                        Seen::Picture => {
                            pictures += 1;
                            *fold = view(&room, viewer);
                        }
                    }
                    let (mut got, mut want) = (fold.clone(), view(&room, viewer));
                    (got.seq, got.at_ms, want.seq, want.at_ms) = (0, 0, 0, 0);
                    assert_eq!(got, want, "seed {seed}, seq {}, {viewer:?} after {:?}", logged.seq, logged.event);
                }
            }
            assert!(room.incidents.values().any(|i| i.restricted), "seed {seed} restricted nothing");
        }
        assert!(pictures > 0, "visibility changes happened");
        assert!(rules > 0, "agency-pair sharing rules were set and lifted");
    }

    #[test]
    fn a_restricted_incident_and_a_hidden_unit_are_invisible_to_others_and_so_is_whom_they_are_shared_with() {
        let mut room = State::default();
        for c in CODES {
            must(&mut room, agency(c));
        }
        must(
            &mut room,
            Command::RegisterUnit {
                callsign: "UC-1".into(),
                agency: code("PP"),
                kind: UnitKind::PatrolCar,
                status: UnitStatus::Available,
                hidden_from: [code("BKA"), code("FBI")].into(),
                device_uid: None,
            },
        );
        must(&mut room, restricted_pp_incident());
        must(&mut room, Command::ShareIncident { incident_id: IncidentId(1), agency: code("BSPP") });
        let bka = view(&room, &Viewer::Agency(code("BKA")));
        assert!(bka.units.is_empty() && bka.incidents.is_empty(), "BKA sees neither");
        assert!(!bka.channels.contains_key(&ChannelId::for_incident(IncidentId(1))), "nor the incident's channel");
        let bspp = view(&room, &Viewer::Agency(code("BSPP")));
        assert!(bspp.incidents[&IncidentId(1)].shared_with.is_empty(), "BSPP sees the incident, not the share list");
        assert!(bspp.units[&UnitId(1)].hidden_from.is_empty(), "nor whom PP hides its unit from");
        let pp = view(&room, &Viewer::Agency(code("PP")));
        assert_eq!(pp.incidents[&IncidentId(1)].shared_with, [code("BSPP")].into());
        assert_eq!(pp.units[&UnitId(1)].hidden_from.len(), 2);
    }

    /// What an event names: the incidents and units a reader learns of from it.
    fn named(event: &Event) -> (Vec<IncidentId>, Vec<UnitId>) {
        match event {
            Event::UnitRegistered { unit_id, .. }
            | Event::UnitStatusChanged { unit_id, .. }
            | Event::UnitHidden { unit_id, .. }
            | Event::UnitRevealed { unit_id, .. } => (vec![], vec![*unit_id]),
            Event::PositionsReported { fixes } => (vec![], fixes.iter().map(|f| f.unit_id).collect()),
            Event::IncidentCreated { incident_id, .. }
            | Event::IncidentUpdated { incident_id, .. }
            | Event::IncidentStatusChanged { incident_id, .. }
            | Event::NoteAdded { incident_id, .. }
            | Event::IncidentRestricted { incident_id, .. }
            | Event::IncidentShared { incident_id, .. }
            | Event::IncidentUnshared { incident_id, .. } => (vec![*incident_id], vec![]),
            Event::UnitAssigned { incident_id, unit_id } | Event::UnitReleased { incident_id, unit_id } => {
                (vec![*incident_id], vec![*unit_id])
            }
            _ => (vec![], vec![]),
        }
    }

    #[test]
    fn a_viewers_record_names_only_what_it_sees_when_the_event_happens() {
        let viewers: Vec<Viewer> = CODES.iter().map(|c| Viewer::Agency(code(c))).collect();
        let (mut kept, mut left_out) = (0, 0);
        for seed in 0..16u64 {
            let log = random_log(seed);
            for viewer in &viewers {
                let record = record_for(&mut State::default(), viewer, log.clone());
                kept += record.len();
                left_out += log.len() - record.len();
                // The room right after each kept event, to check what it names was visible then.
                let mut at = State::default();
                let mut next = 0;
                for e in &record {
                    while at.seq < e.seq {
                        at.apply(&log[next]);
                        next += 1;
                    }
                    let (incidents, units) = named(&e.event);
                    for id in incidents {
                        let i = &at.incidents[&id];
                        assert!(viewer.sees_incident(&at, i), "seed {seed}: {viewer:?} reads {:?} of {id}", e.event);
                    }
                    for id in units {
                        let u = &at.units[&id];
                        assert!(viewer.sees_unit(u), "seed {seed}: {viewer:?} reads {:?} of unit {id}", e.event);
                    }
                }
            }
        }
        assert!(kept > 0 && left_out > 0, "the runs kept {kept} events and left out {left_out}");
    }

    #[test]
    fn an_agency_pair_rule_opens_a_leads_restricted_incidents_to_the_other_agency_and_to_it_only() {
        let mut room = State::default();
        for c in CODES {
            must(&mut room, agency(c));
        }
        must(&mut room, restricted_pp_incident());
        let bspp = Viewer::Agency(code("BSPP"));
        assert!(view(&room, &bspp).incidents.is_empty());
        must(&mut room, Command::SetSharing { from: code("PP"), to: code("BSPP"), shared: true });
        assert_eq!(view(&room, &bspp).incidents.len(), 1, "the French services share among themselves");
        assert!(view(&room, &Viewer::Agency(code("BKA"))).incidents.is_empty(), "not with the liaison");
        assert!(view(&room, &Viewer::Agency(code("BKA"))).sharing.is_empty(), "who shares with whom is theirs");
        must(&mut room, Command::SetSharing { from: code("PP"), to: code("BSPP"), shared: false });
        assert!(view(&room, &bspp).incidents.is_empty());
    }
}

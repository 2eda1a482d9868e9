//! What one CoT connection receives: the room's picture as its principal may see it, kept up to
//! date by conflation rather than by a queue. Committed batches only mark what changed (units,
//! incidents, new messages); each tick sends the current state of what is marked, through the
//! same audience filter as every other read ([`Viewer::sees_unit`],
//! [`vigie_domain::visibility::incident`], [`Viewer::reads_channel`]). A slow client therefore
//! gets the latest picture at its own pace and never a growing backlog.
//!
//! Bounds: at most a budget of events a tick (`VIGIE_COT_EGRESS_PER_SECOND`; what is left waits
//! for the next tick, newest state then, units taken in turn so none starves); marks are sets of
//! ids (bounded by the room's own caps); new messages at most [`MAX_NEW_MESSAGES`] between two
//! ticks (older ones are dropped, and counted). Every client thus costs the room a bounded rate,
//! however many units move: 2 000 clients each seeing 2 000 units move every second would be
//! 4 million events a second, which no room's server should try to send.
//!
//! When something leaves the viewer's picture (hidden, restricted, closed), its marker is deleted
//! on the client (`t-x-d-d`). The whole picture is sent again every [`REFRESH_EVERY`], so TAK's
//! stale times never hide a quiet incident.

use bytes::Bytes;
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::time::Duration;
use vigie_adapters::cot::room;
use vigie_adapters::cot::CotEvent;
use vigie_domain::visibility::{self, Viewer};
use vigie_domain::{Agency, DeviceUid, Event, IncidentId, LoggedEvent, MessageId, State, Unit, UnitId, UnitStatus};

/// Most messages remembered for one client between two ticks.
pub const MAX_NEW_MESSAGES: usize = 500;
/// How often the whole picture is sent again.
pub const REFRESH_EVERY: Duration = Duration::from_secs(60);

/// One event as sent: its XML and a newline.
pub fn encode(event: &CotEvent) -> Bytes {
    let mut xml = event.to_xml().into_bytes();
    xml.push(b'\n');
    Bytes::from(xml)
}

/// Units as CoT, encoded once per change (fix, status) and shared by every connection: with many
/// clients seeing the same units move, encoding is paid once per fix, not once per client. One
/// entry per unit (at most the room's cap).
#[derive(Default)]
pub struct Encoded(parking_lot::Mutex<HashMap<UnitId, (i64, UnitStatus, Bytes)>>);

impl Encoded {
    fn unit(&self, unit: &Unit, agency: Option<&Agency>, stale_after_ms: i64) -> Option<Bytes> {
        let at = unit.last_fix?.reported_at_ms;
        if let Some((was_at, status, bytes)) = self.0.lock().get(&unit.unit_id) {
            if *was_at == at && *status == unit.status {
                return Some(bytes.clone());
            }
        }
        let bytes = encode(&room::unit(unit, agency, stale_after_ms)?);
        self.0.lock().insert(unit.unit_id, (at, unit.status, bytes.clone()));
        Some(bytes)
    }
}

pub struct Picture {
    viewer: Viewer,
    /// An upstream TAK server relays its own clients; Vigie sends it only what is Vigie's (units
    /// without a device), never its own devices back.
    upstream: bool,
    units: BTreeSet<UnitId>,
    incidents: BTreeSet<IncidentId>,
    messages: VecDeque<MessageId>,
    sent_units: HashSet<UnitId>,
    sent_incidents: HashSet<IncidentId>,
    /// Where the next tick's units start: units are sent in turn.
    unit_cursor: UnitId,
    pub dropped_messages: u64,
}

impl Picture {
    /// A picture for `viewer` with nothing marked yet ([`Picture::everything`] marks it all).
    pub fn new(viewer: Viewer, upstream: bool) -> Self {
        Self {
            viewer,
            upstream,
            units: BTreeSet::new(),
            incidents: BTreeSet::new(),
            messages: VecDeque::new(),
            sent_units: HashSet::new(),
            sent_incidents: HashSet::new(),
            unit_cursor: UnitId(0),
            dropped_messages: 0,
        }
    }

    /// Marks the whole picture to be sent again (at a refresh, or after missing batches).
    pub fn everything(&mut self, state: &State) {
        self.units.extend(state.units.keys().copied());
        self.incidents.extend(state.incidents.keys().copied());
    }

    /// Marks what a committed batch changed.
    pub fn note(&mut self, batch: &[LoggedEvent], state_incidents: impl Fn() -> Vec<IncidentId>) {
        for logged in batch {
            match &logged.event {
                Event::PositionsReported { fixes } => self.units.extend(fixes.iter().map(|f| f.unit_id)),
                Event::UnitRegistered { unit_id, .. }
                | Event::UnitStatusChanged { unit_id, .. }
                | Event::UnitHidden { unit_id, .. }
                | Event::UnitRevealed { unit_id, .. } => {
                    self.units.insert(*unit_id);
                }
                Event::UnitAssigned { incident_id, unit_id } | Event::UnitReleased { incident_id, unit_id } => {
                    self.units.insert(*unit_id);
                    self.incidents.insert(*incident_id);
                }
                Event::IncidentCreated { incident_id, .. }
                | Event::IncidentUpdated { incident_id, .. }
                | Event::IncidentStatusChanged { incident_id, .. }
                | Event::IncidentRestricted { incident_id, .. }
                | Event::IncidentShared { incident_id, .. }
                | Event::IncidentUnshared { incident_id, .. } => {
                    self.incidents.insert(*incident_id);
                }
                Event::SharingChanged { .. } => self.incidents.extend(state_incidents()),
                Event::MessagePosted { message_id, .. } => {
                    if self.messages.len() == MAX_NEW_MESSAGES {
                        self.messages.pop_front();
                        self.dropped_messages += 1;
                    }
                    self.messages.push_back(*message_id);
                }
                Event::AgencyRegistered { .. }
                | Event::NoteAdded { .. }
                | Event::ChannelCreated { .. }
                | Event::MessageAcknowledged { .. }
                | Event::Recorded { .. } => {}
                // Outside alerts stay on Vigie's map: their source (a weather service, civil
                // protection) reaches TAK users through its own channels.
                Event::AlertIssued { .. } | Event::AlertUpdated { .. } | Event::AlertCancelled { .. } => {}
            }
        }
    }

    pub fn is_idle(&self) -> bool {
        self.units.is_empty() && self.incidents.is_empty() && self.messages.is_empty()
    }

    /// The events to send now, encoded, at most `budget`: new messages first, then incidents,
    /// then units (in turn from where the last tick stopped; their encoding shared through
    /// `encoded`). `own` are the connection's own devices, never sent back to it.
    pub fn take(
        &mut self,
        state: &State,
        now_ms: i64,
        stale_after_ms: i64,
        own: &HashSet<DeviceUid>,
        budget: usize,
        encoded: &Encoded,
    ) -> Vec<Bytes> {
        let mut out = Vec::new();
        while out.len() < budget {
            let Some(id) = self.messages.pop_front() else { break };
            if self.upstream {
                continue; // a partner's server gets the room's picture, not its conversations
            }
            let Some(m) = state.messages.get(&id) else { continue };
            let Some(channel) = state.channels.get(&m.channel_id) else { continue };
            if self.viewer.reads_channel(state, channel) {
                out.push(encode(&room::message(m, channel)));
            }
        }
        while out.len() < budget {
            let Some(id) = self.incidents.pop_first() else { break };
            let seen = visibility::incident(state, &self.viewer, id).filter(room::incident_is_open);
            match seen {
                Some(incident) => {
                    self.sent_incidents.insert(id);
                    out.push(encode(&room::incident_marker(&incident, now_ms)));
                    out.extend(room::incident_area(&incident, now_ms).as_ref().map(encode));
                }
                None => {
                    if self.sent_incidents.remove(&id) {
                        if let Some(incident) = state.incidents.get(&id) {
                            out.extend(
                                room::incident_uids(incident).iter().map(|uid| encode(&room::delete(uid, now_ms))),
                            );
                        }
                    }
                }
            }
        }
        while out.len() < budget {
            let next = self.units.range(self.unit_cursor..).next().or_else(|| self.units.first()).copied();
            let Some(id) = next else { break };
            self.units.remove(&id);
            self.unit_cursor = UnitId(id.0.saturating_add(1));
            let Some(unit) = state.units.get(&id) else { continue };
            let theirs = unit.device_uid.as_ref().is_some_and(|d| self.upstream || own.contains(d));
            if theirs {
                continue;
            }
            if self.viewer.sees_unit(unit) {
                if let Some(bytes) = encoded.unit(unit, state.agencies.get(&unit.agency), stale_after_ms) {
                    self.sent_units.insert(id);
                    out.push(bytes);
                }
            } else if self.sent_units.remove(&id) {
                out.push(encode(&room::delete(&room::unit_uid(unit), now_ms)));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigie_domain::{
        decide, Agency, AgencyCode, AgencyKind, Command, Fix, IncidentKind, IncidentStatus, Point, Priority, UnitKind,
        UnitStatus,
    };

    const T0: i64 = 1_795_000_000_000;

    fn events(sent: Vec<Bytes>) -> Vec<CotEvent> {
        sent.iter().map(|b| CotEvent::parse(b.trim_ascii()).unwrap()).collect()
    }

    fn code(c: &str) -> AgencyCode {
        AgencyCode::parse(c).unwrap()
    }

    /// Decides `command` (it must be accepted) and folds it in; the events it committed.
    fn run(state: &mut State, command: Command) -> Vec<LoggedEvent> {
        let events = decide(state, &command, "test", T0).unwrap();
        events
            .into_iter()
            .map(|event| {
                let logged = LoggedEvent { seq: state.seq + 1, at_ms: T0, actor: "test".into(), event };
                state.apply(&logged);
                logged
            })
            .collect()
    }

    fn room() -> State {
        let mut s = State::default();
        for c in ["PP", "BKA"] {
            let agency = Agency::parse(c, c, c, AgencyKind::Police, "FR", "#224466").unwrap();
            run(&mut s, Command::RegisterAgency { agency });
        }
        for (callsign, hidden) in [("PS-1", false), ("UC-1", true), ("PS-2", false)] {
            let hidden_from = if hidden { [code("BKA")].into() } else { BTreeSet::new() };
            run(
                &mut s,
                Command::RegisterUnit {
                    callsign: callsign.into(),
                    agency: code("PP"),
                    kind: UnitKind::PatrolCar,
                    status: UnitStatus::Available,
                    hidden_from,
                    device_uid: None,
                },
            );
        }
        let fixes = s.units.keys().map(|id| Fix::parse(*id, 2.35, 48.85, None, None, None, T0).unwrap()).collect();
        run(&mut s, Command::ReportPositions { fixes });
        for restricted in [false, true, false] {
            run(
                &mut s,
                Command::CreateIncident {
                    kind: IncidentKind::Fire,
                    priority: Priority::P2,
                    location: Point::parse(2.35, 48.86).unwrap(),
                    area: None,
                    address: "1 rue de Rivoli".into(),
                    lead_agency: code("PP"),
                    restricted,
                },
            );
        }
        let last = *s.incidents.keys().next_back().unwrap();
        for status in [IncidentStatus::Dispatched, IncidentStatus::Closed] {
            let _ = decide(&s, &Command::ChangeIncidentStatus { incident_id: last, status }, "t", T0)
                .map(|_| run(&mut s, Command::ChangeIncidentStatus { incident_id: last, status }));
        }
        s
    }

    #[test]
    fn a_liaison_receives_what_it_may_see_and_loses_what_is_withdrawn() {
        let mut state = room();
        let bka = Viewer::Agency(code("BKA"));
        let mut picture = Picture::new(bka.clone(), false);
        picture.everything(&state);
        let sent = events(picture.take(&state, T0, 60_000, &HashSet::new(), 1_000, &Encoded::default()));
        let uids: HashSet<String> = sent.iter().map(|e| e.uid.clone()).collect();
        let view = visibility::view(&state, &bka);
        for unit in state.units.values() {
            assert_eq!(
                uids.contains(&room::unit_uid(unit)),
                view.units.contains_key(&unit.unit_id),
                "{}",
                unit.callsign
            );
        }
        assert!(!uids.contains("VIGIE.unit.2"), "the unit hidden from BKA is never sent");
        for incident in state.incidents.values() {
            let expected = view.incidents.contains_key(&incident.incident_id) && room::incident_is_open(incident);
            assert_eq!(uids.contains(&room::incident_uids(incident)[0]), expected, "{}", incident.incident_id);
        }
        assert!(!uids.contains("VIGIE.incident.2"), "the restricted incident is never sent");
        // A unit BKA saw is hidden from it: its marker is deleted on the client.
        let batch = run(&mut state, Command::HideUnit { unit_id: UnitId(1), agency: code("BKA") });
        picture.note(&batch, Vec::new);
        let after = events(picture.take(&state, T0, 60_000, &HashSet::new(), 1_000, &Encoded::default()));
        assert_eq!(after.len(), 1);
        assert_eq!((after[0].kind.as_str(), after[0].link.as_deref()), ("t-x-d-d", Some("VIGIE.unit.1")));
        // Nothing changed, nothing sent; a fix of a unit it sees is.
        assert!(picture.is_idle());
        let fix = Fix::parse(UnitId(3), 2.36, 48.85, None, None, None, T0 + 1_000).unwrap();
        let batch = run(&mut state, Command::ReportPositions { fixes: vec![fix] });
        picture.note(&batch, Vec::new);
        let moved = events(picture.take(&state, T0, 60_000, &HashSet::new(), 1_000, &Encoded::default()));
        assert_eq!(moved.len(), 1);
        assert_eq!((moved[0].uid.as_str(), moved[0].point.lon), ("VIGIE.unit.3", 2.36));
    }

    #[test]
    fn a_tick_is_bounded_and_the_rest_waits() {
        let mut state = room();
        for i in 0..1_010 {
            run(
                &mut state,
                Command::RegisterUnit {
                    callsign: format!("X-{i}"),
                    agency: code("PP"),
                    kind: UnitKind::FootPatrol,
                    status: UnitStatus::Available,
                    hidden_from: BTreeSet::new(),
                    device_uid: None,
                },
            );
        }
        let fixes = state.units.keys().map(|id| Fix::parse(*id, 2.35, 48.85, None, None, None, T0).unwrap()).collect();
        run(&mut state, Command::ReportPositions { fixes });
        let mut picture = Picture::new(Viewer::Agency(code("PP")), false);
        picture.everything(&state);
        let first = events(picture.take(&state, T0, 60_000, &HashSet::new(), 1_000, &Encoded::default()));
        assert_eq!(first.len(), 1_000);
        let second = events(picture.take(&state, T0, 60_000, &HashSet::new(), 1_000, &Encoded::default()));
        assert_eq!(first.len() + second.len(), state.units.len() + 2, "every unit and the two open public incidents");
    }
}

//! One search over everything the room knows: what each thing is found by (its documents), which
//! documents an event changes, and how a hit reads. Pure, so the server's index (SQLite FTS5), the
//! search of a replay's room without an index ([`scan`]) and the tests share one definition.
//!
//! The index holds text only. Who may find a hit is decided when a query is answered, by [`hit`],
//! with the same need-to-know rules as every other read path ([`crate::visibility`]): a change of
//! visibility (an incident restricted, a unit hidden) needs no re-indexing and is never late.

pub mod scan;

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

use crate::api::{Found, Fragment, SearchHit};
use crate::geometry::union;
use crate::text::words;
use crate::visibility::{self, Viewer};
use crate::{AlertId, Event, IncidentId, MessageId, Refusal, State, UnitId};

/// Longest query, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// Most words in a query (each must match: more only narrows, at a cost).
pub const MAX_TERMS: usize = 8;
/// A longer word is cut: the index would only ever match it as a prefix of itself.
pub const MAX_TERM_CHARS: usize = 64;
/// Most hits one answer holds, and how many it holds unless asked.
pub const MAX_HITS: usize = 50;
pub const DEFAULT_HITS: usize = 20;
/// A message's hit shows at most this much of its body as a title.
const TITLE_CHARS: usize = 80;

/// A query as typed, cut into words the way the index's tokenizer cuts text (letters and digits;
/// anything else separates), so "INC-12" is "inc" and "12", and nothing of the index's own query
/// syntax can pass through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchQuery {
    terms: Vec<String>,
}

impl SearchQuery {
    pub fn parse(q: &str) -> Result<Self, Refusal> {
        if q.chars().count() > MAX_QUERY_CHARS {
            return Err(Refusal::invalid("q", format!("a search is at most {MAX_QUERY_CHARS} characters")));
        }
        let terms: Vec<String> = q
            .split(|c: char| !c.is_alphanumeric())
            .filter(|t| !t.is_empty())
            .map(|t| t.chars().take(MAX_TERM_CHARS).collect())
            .collect();
        if terms.is_empty() {
            return Err(Refusal::invalid("q", "type a word, a name or a number to search for"));
        }
        if terms.len() > MAX_TERMS {
            return Err(Refusal::invalid("q", format!("a search has at most {MAX_TERMS} words")));
        }
        Ok(Self { terms })
    }

    /// The words, each to match as a word or the start of one.
    pub fn terms(&self) -> &[String] {
        &self.terms
    }
}

/// What one document of the index is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Subject {
    Unit(UnitId),
    /// An incident's label: address, kind, lead agency.
    Incident(IncidentId),
    /// One note of an incident (notes are many and only ever added, so each is its own document).
    Note(IncidentId, u32),
    Message(MessageId),
    Alert(AlertId),
    /// The n-th place of the gazetteer (see [`Place`]).
    Place(u32),
}

/// Bits of a key that name the kind of subject.
const KIND_BITS: u32 = 3;
/// Bits of a note's key that number it within its incident (at most
/// [`crate::command::MAX_NOTES_PER_INCIDENT`] notes, under 2¹³).
const NOTE_BITS: u32 = 13;

impl Subject {
    /// Its key in the index (a row id): the id shifted left, the kind in the low bits. `None` for an
    /// id too large to key (past 2⁶⁰: never reached by the room's counters).
    pub fn key(self) -> Option<i64> {
        let (id, kind): (u64, u64) = match self {
            Subject::Unit(u) => (u64::from(u.0), 0),
            Subject::Incident(i) => (u64::from(i.0), 1),
            Subject::Note(i, n) => ((u64::from(i.0) << NOTE_BITS) | u64::from(n).min((1 << NOTE_BITS) - 1), 2),
            Subject::Message(m) => (m.0, 3),
            Subject::Alert(a) => (u64::from(a.0), 4),
            Subject::Place(p) => (u64::from(p), 5),
        };
        if id >= 1 << (63 - KIND_BITS) {
            return None;
        }
        i64::try_from((id << KIND_BITS) | kind).ok()
    }

    pub fn from_key(key: i64) -> Option<Self> {
        let key = u64::try_from(key).ok()?;
        let id = key >> KIND_BITS;
        let small = || u32::try_from(id).ok();
        Some(match key & ((1 << KIND_BITS) - 1) {
            0 => Subject::Unit(UnitId(small()?)),
            1 => Subject::Incident(IncidentId(small()?)),
            2 => Subject::Note(IncidentId(u32::try_from(id >> NOTE_BITS).ok()?), (id & ((1 << NOTE_BITS) - 1)) as u32),
            3 => Subject::Message(MessageId(id)),
            4 => Subject::Alert(AlertId(small()?)),
            5 => Subject::Place(small()?),
            _ => return None,
        })
    }
}

/// One document: a title (weighted above the rest) and the rest of its text.
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    pub subject: Subject,
    pub title: String,
    pub body: String,
}

/// A place the base map names (an arrondissement, a precinct, a street): the gazetteer's entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Place {
    /// The layer it is drawn on.
    pub layer: String,
    pub label: String,
    /// `[west, south, east, north]`.
    pub bbox: [f64; 4],
}

impl Place {
    pub fn document(&self, n: u32) -> Document {
        // "paris-arrondissements" is found by "arrondissement".
        let layer = self.layer.replace(['-', '_'], " ");
        Document { subject: Subject::Place(n), title: self.label.clone(), body: layer }
    }

    pub fn hit(&self, snippet: Vec<Fragment>) -> SearchHit {
        SearchHit {
            found: Found::Place { layer: self.layer.clone() },
            title: self.label.clone(),
            detail: self.layer.clone(),
            snippet,
            bbox: Some(self.bbox),
            at_ms: None,
        }
    }
}

/// Every document of the room (the gazetteer's are the server's: [`Place::document`]).
pub fn documents(state: &State) -> Vec<Document> {
    let units = state.units.keys().map(|id| Subject::Unit(*id));
    let incidents = state.incidents.values().flat_map(|i| {
        let notes = (0..i.notes.len() as u32).map(|n| Subject::Note(i.incident_id, n));
        std::iter::once(Subject::Incident(i.incident_id)).chain(notes)
    });
    let messages = state.messages.keys().map(|id| Subject::Message(*id));
    let alerts = state.alerts.keys().map(|id| Subject::Alert(*id));
    units.chain(incidents).chain(messages).chain(alerts).filter_map(|s| document(state, s)).collect()
}

/// The document of `subject` as the room holds it now; `None` when it holds no such thing.
pub fn document(state: &State, subject: Subject) -> Option<Document> {
    let (title, body) = match subject {
        Subject::Unit(id) => {
            let u = state.units.get(&id)?;
            let agency = state.agencies.get(&u.agency).map(|a| a.full_name.as_str()).unwrap_or_default();
            let device = u.device_uid.as_ref().map(ToString::to_string).unwrap_or_default();
            (u.callsign.clone(), join(&[u.agency.as_str(), agency, &words(u.kind), &id.to_string(), &device]))
        }
        Subject::Incident(id) => {
            let i = state.incidents.get(&id)?;
            (i.address.clone(), join(&[&id.to_string(), &words(i.kind), i.lead_agency.as_str()]))
        }
        Subject::Note(id, n) => {
            let note = state.incidents.get(&id)?.notes.get(n as usize)?;
            (String::new(), note.text.clone())
        }
        Subject::Message(id) => {
            let m = state.messages.get(&id)?;
            let channel = state.channels.get(&m.channel_id).map(|c| c.name.as_str()).unwrap_or_default();
            (String::new(), join(&[&m.body, m.sender_agency.as_str(), channel]))
        }
        Subject::Alert(id) => {
            let a = &state.alerts.get(&id)?.content;
            let areas: Vec<&str> = a.areas.iter().map(|area| area.description.as_str()).collect();
            let title = a.headline.clone().unwrap_or_else(|| a.event.clone());
            let texts = [a.event.as_str(), a.sender_name.as_deref().unwrap_or_default(), &areas.join(" ")];
            (title, join(&[&join(&texts), a.description.as_deref().unwrap_or_default()]))
        }
        Subject::Place(_) => return None,
    };
    Some(Document { subject, title, body })
}

fn join(parts: &[&str]) -> String {
    parts.iter().filter(|p| !p.is_empty()).copied().collect::<Vec<_>>().join(" ")
}

/// What an event changes in the index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Touch {
    /// The subject's document is written again (or removed, if the room no longer holds it).
    Document(Subject),
    /// The incident has notes the index may not hold yet (the indexer knows how many it holds).
    Notes(IncidentId),
}

/// Adds to `out` what `event`, folded into `state`, changed in the index. The match is
/// exhaustive on purpose: a new kind of event must say whether it changes what is found.
pub fn touched(state: &State, event: &Event, out: &mut BTreeSet<Touch>) {
    let mut doc = |s| {
        out.insert(Touch::Document(s));
    };
    match event {
        // A unit's document names its agency.
        Event::AgencyRegistered { agency } => {
            state.units.values().filter(|u| u.agency == agency.code).for_each(|u| doc(Subject::Unit(u.unit_id)))
        }
        Event::UnitRegistered { unit_id, .. } => doc(Subject::Unit(*unit_id)),
        Event::IncidentCreated { incident_id, .. } | Event::IncidentUpdated { incident_id, .. } => {
            doc(Subject::Incident(*incident_id))
        }
        Event::NoteAdded { incident_id, .. } => {
            out.insert(Touch::Notes(*incident_id));
        }
        Event::MessagePosted { message_id, .. } => doc(Subject::Message(*message_id)),
        Event::AlertIssued { alert } | Event::AlertUpdated { alert } => doc(Subject::Alert(alert.alert_id)),
        // Statuses, positions, assignments and acknowledgements are not searched for; who may see
        // what is decided at query time; the record is not the room's picture.
        Event::UnitStatusChanged { .. }
        | Event::PositionsReported { .. }
        | Event::IncidentStatusChanged { .. }
        | Event::UnitAssigned { .. }
        | Event::UnitReleased { .. }
        | Event::ChannelCreated { .. }
        | Event::MessageAcknowledged { .. }
        | Event::IncidentRestricted { .. }
        | Event::IncidentShared { .. }
        | Event::IncidentUnshared { .. }
        | Event::UnitHidden { .. }
        | Event::UnitRevealed { .. }
        | Event::SharingChanged { .. }
        | Event::Recorded { .. }
        | Event::AlertCancelled { .. } => {}
    }
}

/// How `subject` reads as a hit for `viewer`, or `None` when the viewer may not see it (or the
/// room no longer holds it): the one filter every answer goes through.
pub fn hit(state: &State, viewer: &Viewer, subject: Subject, now_ms: i64, snippet: Vec<Fragment>) -> Option<SearchHit> {
    Some(match subject {
        Subject::Unit(id) => {
            let u = state.units.get(&id).filter(|u| viewer.sees_unit(u))?;
            SearchHit {
                found: Found::Unit { unit_id: id },
                title: u.callsign.clone(),
                detail: format!("{} · {} · {}", u.agency, words(u.kind), u.status.label()),
                snippet,
                bbox: u.last_fix.map(|f| f.position.bbox()),
                at_ms: None,
            }
        }
        Subject::Incident(id) | Subject::Note(id, _) => {
            let i = visibility::incident(state, viewer, id)?;
            let at_ms = match subject {
                Subject::Note(_, n) => i.notes.get(n as usize).map(|n| n.at_ms),
                _ => Some(i.created_at_ms),
            };
            SearchHit {
                found: Found::Incident { incident_id: id },
                title: i.address.clone(),
                detail: format!("{id} · {} · {:?} · {}", words(i.kind), i.priority, words(i.status)),
                snippet,
                bbox: Some(i.bbox()),
                at_ms,
            }
        }
        Subject::Message(id) => {
            let m = state.messages.get(&id)?;
            let channel = state.channels.get(&m.channel_id).filter(|c| viewer.reads_channel(state, c))?;
            SearchHit {
                found: Found::Message { message_id: id, channel_id: m.channel_id.clone() },
                title: m.body.chars().take(TITLE_CHARS).collect(),
                detail: format!("{} · {}", m.sender_agency, channel.name),
                snippet,
                bbox: None,
                at_ms: Some(m.sent_at_ms),
            }
        }
        // Alerts are public: every agency sees them.
        Subject::Alert(id) => {
            let a = state.alerts.get(&id)?;
            let c = &a.content;
            let life = a.standing(now_ms);
            SearchHit {
                found: Found::Alert { alert_id: id },
                title: c.headline.clone().unwrap_or_else(|| c.event.clone()),
                detail: format!("{} · {} · {life}", c.event, words(c.severity)),
                snippet,
                bbox: alert_bbox(a),
                at_ms: Some(a.updated_at_ms),
            }
        }
        Subject::Place(_) => return None,
    })
}

/// The box around an alert's polygons (its geocodes' outlines included) and circles (a circle's by its radius in degrees of
/// latitude, widened by the latitude for longitude).
fn alert_bbox(alert: &crate::Alert) -> Option<[f64; 4]> {
    let mut bbox: Option<[f64; 4]> = None;
    let mut add = |b: [f64; 4]| bbox = Some(bbox.map_or(b, |a| union(a, b)));
    for area in &alert.content.areas {
        for p in area.polygons.iter().chain(&area.resolved).flat_map(|p| p.ring.iter()) {
            add(p.bbox());
        }
        for c in &area.circles {
            let dlat = c.radius_m / 111_320.0;
            let dlon = dlat / c.centre.lat.to_radians().cos().max(0.01);
            let (lon, lat) = (c.centre.lon, c.centre.lat);
            add([(lon - dlon).max(-180.0), (lat - dlat).max(-90.0), (lon + dlon).min(180.0), (lat + dlat).min(90.0)]);
        }
    }
    bbox
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{agency, code, must};
    use crate::{Command, IncidentKind, Point, Priority, UnitKind, UnitStatus};

    /// PP, BSPP and BKA; a PP unit; a restricted PP incident with a note; a room message.
    pub(crate) fn room() -> State {
        let mut state = State::default();
        for c in ["PP", "BSPP", "BKA"] {
            must(&mut state, agency(c));
        }
        let unit = Command::RegisterUnit {
            callsign: "Alpha 1".into(),
            agency: code("PP"),
            kind: UnitKind::PatrolCar,
            status: UnitStatus::Available,
            hidden_from: BTreeSet::new(),
            device_uid: None,
        };
        must(&mut state, unit);
        let incident = Command::CreateIncident {
            kind: IncidentKind::Hostage,
            priority: Priority::P1,
            location: Point::parse(2.35, 48.85).unwrap(),
            area: None,
            address: "Préfecture, île de la Cité".into(),
            lead_agency: code("PP"),
            restricted: true,
        };
        must(&mut state, incident);
        must(&mut state, Command::AddNote { incident_id: IncidentId(1), text: "négociateur sur place".into() });
        let message = Command::PostMessage {
            channel_id: crate::ChannelId::room(),
            sender_agency: code("BSPP"),
            priority: crate::MessagePriority::Routine,
            body: "Secteur nord bouclé".into(),
            ack_required: false,
        };
        must(&mut state, message);
        state
    }

    #[test]
    fn a_query_is_cut_into_words_as_the_tokenizer_cuts_text() {
        let q = SearchQuery::parse("  INC-12, \"Préfecture\" OR near*  ").unwrap();
        assert_eq!(q.terms(), ["INC", "12", "Préfecture", "OR", "near"]);
        let refused = |q: &str| SearchQuery::parse(q).unwrap_err();
        assert_eq!(refused("*\" -").field.as_deref(), Some("q"));
        assert!(refused(&"a ".repeat(9)).message.contains("at most 8 words"));
        assert!(refused(&"x".repeat(201)).message.contains("at most 200 characters"));
        assert_eq!(SearchQuery::parse(&"y".repeat(100)).unwrap().terms()[0].len(), MAX_TERM_CHARS);
    }

    #[test]
    fn every_subject_round_trips_through_its_key_and_keys_never_collide() {
        let subjects = [
            Subject::Unit(UnitId(7)),
            Subject::Incident(IncidentId(7)),
            Subject::Note(IncidentId(7), 0),
            Subject::Note(IncidentId(7), 4_999),
            Subject::Note(IncidentId(u32::MAX), 8_191),
            Subject::Message(MessageId(7)),
            Subject::Message(MessageId((1 << 60) - 1)),
            Subject::Alert(AlertId(u32::MAX)),
            Subject::Place(0),
        ];
        let keys: BTreeSet<i64> = subjects.iter().map(|s| s.key().unwrap()).collect();
        assert_eq!(keys.len(), subjects.len());
        for s in subjects {
            assert_eq!(Subject::from_key(s.key().unwrap()), Some(s));
        }
        assert_eq!(Subject::Message(MessageId(1 << 60)).key(), None);
        assert_eq!(Subject::from_key(-1), None);
        assert_eq!(Subject::from_key(6), None);
    }

    #[test]
    fn documents_cover_the_room_and_events_name_what_they_change() {
        let state = room();
        let subjects: Vec<Subject> = documents(&state).into_iter().map(|d| d.subject).collect();
        assert_eq!(
            subjects,
            [
                Subject::Unit(UnitId(1)),
                Subject::Incident(IncidentId(1)),
                Subject::Note(IncidentId(1), 0),
                Subject::Message(MessageId(1))
            ]
        );
        let unit = document(&state, Subject::Unit(UnitId(1))).unwrap();
        assert_eq!((unit.title.as_str(), unit.body.as_str()), ("Alpha 1", "PP PP patrol car U1"));
        let note = document(&state, Subject::Note(IncidentId(1), 0)).unwrap();
        assert_eq!(note.body, "négociateur sur place");
        let mut out = BTreeSet::new();
        touched(&state, &Event::NoteAdded { incident_id: IncidentId(1), text: "x".into() }, &mut out);
        touched(&state, &Event::UnitStatusChanged { unit_id: UnitId(1), status: UnitStatus::EnRoute }, &mut out);
        touched(&state, &Event::AgencyRegistered { agency: state.agencies[&code("PP")].clone() }, &mut out);
        assert_eq!(
            out.into_iter().collect::<Vec<_>>(),
            [Touch::Document(Subject::Unit(UnitId(1))), Touch::Notes(IncidentId(1))]
        );
    }

    #[test]
    fn a_hit_goes_through_need_to_know() {
        let state = room();
        let (pp, bka) = (Viewer::Agency(code("PP")), Viewer::Agency(code("BKA")));
        for subject in [Subject::Incident(IncidentId(1)), Subject::Note(IncidentId(1), 0)] {
            let hit = hit(&state, &pp, subject, 0, vec![]).unwrap();
            assert_eq!(hit.found, Found::Incident { incident_id: IncidentId(1) });
            assert_eq!(hit.detail, "INC-1 · hostage · P1 · new");
            assert!(super::hit(&state, &bka, subject, 0, vec![]).is_none(), "a restricted incident is not found");
        }
        assert!(hit(&state, &bka, Subject::Message(MessageId(1)), 0, vec![]).is_some());
        assert!(hit(&state, &bka, Subject::Unit(UnitId(2)), 0, vec![]).is_none(), "no such unit");
    }
}

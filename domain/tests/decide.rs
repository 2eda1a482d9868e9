//! Every command's accepted path and every refusal, through `decide` then `State::apply`.

mod support;

use support::*;
use vigie_domain::*;

const I1: IncidentId = IncidentId(1);
const U1: UnitId = UnitId(1);
const U2: UnitId = UnitId(2);

fn status(room: &Room, incident_id: IncidentId) -> IncidentStatus {
    room.state.incidents[&incident_id].status
}

#[test]
fn registering_agencies_opens_their_channel_and_refuses_duplicates() {
    let mut room = Room::new();
    room.must(agency("NYPD", AgencyKind::Police));
    assert!(room.state.channels.contains_key(&ChannelId::for_agency(&code("NYPD"))));
    assert_eq!(room.refusal(agency("NYPD", AgencyKind::Police)).kind, RefusalKind::Conflict);
}

#[test]
fn units_get_increasing_ids_and_unique_callsigns() {
    let mut room = staffed_room();
    assert_eq!(room.state.units.keys().copied().collect::<Vec<_>>(), vec![UnitId(1), UnitId(2), UnitId(3)]);
    let dup = room.refusal(unit("ps-1", "PP", UnitKind::Motorcycle));
    assert_eq!((dup.kind, dup.field.as_deref()), (RefusalKind::Conflict, Some("callsign")));
    let unknown = room.refusal(unit("X-1", "GIGN", UnitKind::TacticalTeam));
    assert_eq!((unknown.kind, unknown.field.as_deref()), (RefusalKind::NotFound, Some("agency")));
    let busy = room.refusal(Command::RegisterUnit {
        callsign: "X-2".into(),
        agency: code("PP"),
        kind: UnitKind::PatrolCar,
        status: UnitStatus::OnScene,
        hidden_from: Default::default(),
        device_uid: None,
    });
    assert_eq!(busy.field.as_deref(), Some("status"));
    assert_eq!(room.refusal(unit("  ", "PP", UnitKind::PatrolCar)).field.as_deref(), Some("callsign"));
}

#[test]
fn assigning_dispatches_the_unit_and_the_new_incident() {
    let mut room = staffed_room();
    let events = room.must(Command::AssignUnit { incident_id: I1, unit_id: U2 });
    let kinds: Vec<_> = events.iter().map(|e| e.event.kind()).collect();
    assert_eq!(kinds, ["unit_assigned", "unit_status_changed", "incident_status_changed"]);
    assert_eq!(room.state.units[&U2].status, UnitStatus::Dispatched);
    assert_eq!(room.state.units[&U2].incident_id, Some(I1));
    assert_eq!(status(&room, I1), IncidentStatus::Dispatched);
    // A second unit does not re-dispatch the incident.
    let kinds: Vec<_> =
        room.must(Command::AssignUnit { incident_id: I1, unit_id: U1 }).iter().map(|e| e.event.kind()).collect();
    assert_eq!(kinds, ["unit_assigned", "unit_status_changed"]);
    // Need-to-know: the police now read the incident channel too.
    let channel = &room.state.channels[&ChannelId::for_incident(I1)];
    assert!(channel.admits(&code("PP")) && channel.admits(&code("BSPP")));
}

#[test]
fn assignment_refusals_name_the_reason() {
    let mut room = staffed_room();
    room.must(Command::AssignUnit { incident_id: I1, unit_id: U2 });
    assert_eq!(room.refusal(Command::AssignUnit { incident_id: I1, unit_id: U2 }).kind, RefusalKind::Conflict);
    assert_eq!(room.refusal(Command::AssignUnit { incident_id: I1, unit_id: UnitId(99) }).kind, RefusalKind::NotFound);
    assert_eq!(
        room.refusal(Command::AssignUnit { incident_id: IncidentId(9), unit_id: U1 }).kind,
        RefusalKind::NotFound
    );
    room.must(incident("PP"));
    let elsewhere = room.refusal(Command::AssignUnit { incident_id: IncidentId(2), unit_id: U2 });
    assert!(elsewhere.message.contains("release it"), "{elsewhere}");
    room.must(Command::ChangeUnitStatus { unit_id: U1, status: UnitStatus::OutOfService });
    assert!(room.refusal(Command::AssignUnit { incident_id: I1, unit_id: U1 }).message.contains("out of service"));
}

#[test]
fn releasing_makes_the_unit_available_again() {
    let mut room = staffed_room();
    room.must(Command::AssignUnit { incident_id: I1, unit_id: U2 });
    room.must(Command::ReleaseUnit { incident_id: I1, unit_id: U2 });
    assert_eq!(room.state.units[&U2].status, UnitStatus::Available);
    assert_eq!(room.state.units[&U2].incident_id, None);
    assert!(room.state.incidents[&I1].assigned.is_empty());
    assert_eq!(room.refusal(Command::ReleaseUnit { incident_id: I1, unit_id: U2 }).kind, RefusalKind::Conflict);
}

#[test]
fn the_incident_lifecycle_is_enforced_and_closing_releases_units() {
    let mut room = staffed_room();
    let to = |status| Command::ChangeIncidentStatus { incident_id: I1, status };
    assert!(room.refusal(to(IncidentStatus::Dispatched)).message.contains("no unit"), "dispatch needs a unit");
    assert_eq!(room.refusal(to(IncidentStatus::OnScene)).kind, RefusalKind::Conflict);
    room.must(Command::AssignUnit { incident_id: I1, unit_id: U2 });
    room.must(Command::AssignUnit { incident_id: I1, unit_id: UnitId(3) });
    assert_eq!(room.refusal(to(IncidentStatus::Contained)).kind, RefusalKind::Conflict);
    room.must(to(IncidentStatus::OnScene));
    room.must(to(IncidentStatus::Contained));
    room.must(to(IncidentStatus::OnScene));
    room.must(to(IncidentStatus::Contained));
    let closing = room.must(to(IncidentStatus::Closed));
    assert_eq!(closing.last().unwrap().event.kind(), "incident_status_changed");
    for unit_id in [U2, UnitId(3)] {
        assert_eq!(room.state.units[&unit_id].status, UnitStatus::Available);
        assert_eq!(room.state.units[&unit_id].incident_id, None);
    }
    assert_eq!(room.refusal(to(IncidentStatus::OnScene)).kind, RefusalKind::Conflict);
    assert_eq!(room.refusal(Command::AddNote { incident_id: I1, text: "late".into() }).kind, RefusalKind::Conflict);
}

#[test]
fn a_new_incident_may_be_closed_as_a_false_alarm() {
    let mut room = staffed_room();
    room.must(Command::ChangeIncidentStatus { incident_id: I1, status: IncidentStatus::Closed });
    assert_eq!(status(&room, I1), IncidentStatus::Closed);
}

#[test]
fn incident_creation_checks_the_lead_agency_and_address() {
    let mut room = staffed_room();
    assert_eq!(room.refusal(incident("GIGN")).field.as_deref(), Some("lead_agency"));
    let Command::CreateIncident { kind, priority, location, lead_agency, .. } = incident("PP") else { unreachable!() };
    let no_address = Command::CreateIncident {
        kind,
        priority,
        location,
        area: None,
        address: " ".into(),
        lead_agency,
        restricted: false,
    };
    assert_eq!(room.refusal(no_address).field.as_deref(), Some("address"));
    assert_eq!(room.state.incidents[&I1].created_by, "dispatcher-1");
}

#[test]
fn updates_change_only_the_given_fields_and_record_who() {
    let mut room = staffed_room();
    let area = Area::parse(&[[2.34, 48.85], [2.36, 48.85], [2.36, 48.86]]).unwrap();
    let changes =
        event::IncidentChanges { priority: Some(Priority::P1), area: Some(Some(area.clone())), ..Default::default() };
    room.run_as("chef-de-salle", Command::UpdateIncident { incident_id: I1, changes }).unwrap();
    let i = &room.state.incidents[&I1];
    assert_eq!((i.priority, i.area.as_ref(), i.kind), (Priority::P1, Some(&area), IncidentKind::Fire));
    assert_eq!(i.updated_by, "chef-de-salle");
    let cleared = event::IncidentChanges { area: Some(None), ..Default::default() };
    room.must(Command::UpdateIncident { incident_id: I1, changes: cleared });
    assert_eq!(room.state.incidents[&I1].area, None);
    let empty = room.refusal(Command::UpdateIncident { incident_id: I1, changes: Default::default() });
    assert_eq!(empty.kind, RefusalKind::Invalid);
    let lead = event::IncidentChanges { lead_agency: Some(code("PP")), ..Default::default() };
    room.must(Command::UpdateIncident { incident_id: I1, changes: lead });
    assert!(room.state.channels[&ChannelId::for_incident(I1)].admits(&code("PP")));
}

#[test]
fn notes_keep_author_and_time() {
    let mut room = staffed_room();
    room.run_as("cos-bspp", Command::AddNote { incident_id: I1, text: "  Smoke on 3rd floor ".into() }).unwrap();
    let note = &room.state.incidents[&I1].notes[0];
    assert_eq!((note.author.as_str(), note.text.as_str()), ("cos-bspp", "Smoke on 3rd floor"));
    assert_eq!(note.at_ms, room.now_ms);
    let long = "x".repeat(command::MAX_NOTE_CHARS + 1);
    assert_eq!(room.refusal(Command::AddNote { incident_id: I1, text: long }).field.as_deref(), Some("text"));
}

#[test]
fn unit_status_changes_follow_the_assignment_rules_and_restart_the_timer() {
    let mut room = staffed_room();
    let set = |status| Command::ChangeUnitStatus { unit_id: U2, status };
    assert_eq!(room.refusal(set(UnitStatus::OnScene)).kind, RefusalKind::Conflict);
    room.must(Command::AssignUnit { incident_id: I1, unit_id: U2 });
    for s in [UnitStatus::EnRoute, UnitStatus::OnScene, UnitStatus::Transporting, UnitStatus::AtHospital] {
        room.must(set(s));
        assert_eq!(room.state.units[&U2].status_since_ms, room.now_ms, "{s:?}");
    }
    assert_eq!(room.refusal(set(UnitStatus::AtHospital)).kind, RefusalKind::Conflict);
    assert_eq!(
        room.refusal(Command::ChangeUnitStatus { unit_id: UnitId(42), status: UnitStatus::Available }).kind,
        RefusalKind::NotFound
    );
}

#[test]
fn positions_are_latest_wins_and_batches_are_all_or_nothing() {
    let mut room = staffed_room();
    let fix = |unit, lon, at| Fix::parse(unit, lon, 48.85, Some(90.0), Some(10.0), Some(5.0), at).unwrap();
    let now = room.now_ms;
    room.must(Command::ReportPositions { fixes: vec![fix(U1, 2.30, now - 1000), fix(U2, 2.31, now - 1000)] });
    room.must(Command::ReportPositions { fixes: vec![fix(U1, 2.32, now - 5000)] });
    assert_eq!(room.state.units[&U1].last_fix.unwrap().position.lon, 2.30, "an older fix does not replace a newer one");
    let r = room.refusal(Command::ReportPositions { fixes: vec![fix(U1, 2.33, now), fix(UnitId(77), 2.3, now)] });
    assert_eq!((r.kind, r.field.as_deref()), (RefusalKind::NotFound, Some("reports[1].unit_id")));
    assert_eq!(room.state.units[&U1].last_fix.unwrap().position.lon, 2.30, "nothing of a refused batch applies");
    let future = room.refusal(Command::ReportPositions { fixes: vec![fix(U1, 2.33, now + 120_000)] });
    assert_eq!(future.field.as_deref(), Some("reports[0].reported_at"));
    assert_eq!(room.refusal(Command::ReportPositions { fixes: vec![] }).field.as_deref(), Some("reports"));
}

#[test]
fn messages_respect_need_to_know_and_acks_are_per_user() {
    let mut room = staffed_room();
    room.must(agency("SAMU", AgencyKind::Ems));
    let post = |channel_id: ChannelId, sender: &str| Command::PostMessage {
        channel_id,
        sender_agency: code(sender),
        priority: MessagePriority::Flash,
        body: "Secondary device suspected".into(),
        ack_required: true,
    };
    let incident_channel = ChannelId::for_incident(I1);
    assert_eq!(
        room.refusal(post(incident_channel.clone(), "PP")).kind,
        RefusalKind::Conflict,
        "PP not on the incident yet"
    );
    room.must(post(incident_channel.clone(), "BSPP"));
    room.must(post(ChannelId::room(), "PP"));
    assert_eq!(room.refusal(post(ChannelId::parse("nowhere").unwrap(), "PP")).kind, RefusalKind::NotFound);

    let ack = |message_id, agency: &str| Command::AcknowledgeMessage { message_id, agency: code(agency) };
    room.run_as("op-samu", ack(MessageId(2), "SAMU")).unwrap();
    room.run_as("op-pp", ack(MessageId(2), "PP")).unwrap();
    assert_eq!(room.run_as("op-pp", ack(MessageId(2), "PP")).unwrap_err().kind, RefusalKind::Conflict);
    assert_eq!(room.run_as("op-pp", ack(MessageId(1), "PP")).unwrap_err().kind, RefusalKind::Conflict, "need-to-know");
    assert_eq!(room.run_as("op-pp", ack(MessageId(9), "PP")).unwrap_err().kind, RefusalKind::NotFound);
    let message = &room.state.messages[&MessageId(2)];
    assert_eq!(message.sender_user, "dispatcher-1");
    assert_eq!(message.acking_agencies().len(), 2);
}

#[test]
fn inter_agency_channels_need_two_known_members() {
    let mut room = staffed_room();
    let channel = |members: &[&str]| Command::CreateChannel {
        channel: Channel {
            channel_id: ChannelId::inter_agency("joint-cmd").unwrap(),
            name: "Joint command".into(),
            members: Some(members.iter().map(|m| code(m)).collect()),
        },
    };
    assert_eq!(room.refusal(channel(&["PP"])).field.as_deref(), Some("members"));
    assert_eq!(room.refusal(channel(&["PP", "FBI"])).kind, RefusalKind::NotFound);
    room.must(channel(&["PP", "BSPP"]));
    assert_eq!(room.refusal(channel(&["PP", "BSPP"])).kind, RefusalKind::Conflict);
}

#[test]
fn the_summary_counts_units_incidents_and_unacknowledged_flash() {
    let mut room = staffed_room();
    room.must(Command::AssignUnit { incident_id: I1, unit_id: U2 });
    room.must(Command::PostMessage {
        channel_id: ChannelId::room(),
        sender_agency: code("PP"),
        priority: MessagePriority::Flash,
        body: "Evacuate".into(),
        ack_required: true,
    });
    let s = Summary::of(&room.state, room.now_ms, 30_000);
    assert_eq!(s.units(UnitStatus::Available), 2);
    assert_eq!(s.units(UnitStatus::Dispatched), 1);
    assert_eq!(s.units_by_agency[&code("BSPP")][&UnitStatus::Dispatched], 1);
    assert_eq!(s.open_incidents(), 1);
    assert_eq!(s.stale_units, 3, "no unit has reported yet");
    assert_eq!(s.unacknowledged_flash, 1);
}

#[test]
fn sharing_restricting_and_hiding_refuse_what_would_change_nothing_or_make_no_sense() {
    let mut room = staffed_room();
    let inc = IncidentId(1);
    room.must(Command::RestrictIncident { incident_id: inc, restricted: true });
    let again = room.refusal(Command::RestrictIncident { incident_id: inc, restricted: true });
    assert_eq!((again.kind, again.field.as_deref()), (RefusalKind::Conflict, Some("restricted")));
    let lead = room.state.incidents[&inc].lead_agency.clone();
    let to_lead = room.refusal(Command::ShareIncident { incident_id: inc, agency: lead.clone() });
    assert_eq!(to_lead.kind, RefusalKind::Conflict, "the lead always sees its incident");
    let other = room.state.agencies.keys().find(|a| **a != lead).unwrap().clone();
    room.must(Command::ShareIncident { incident_id: inc, agency: other.clone() });
    assert!(room.state.incidents[&inc].shared_with.contains(&other));
    assert_eq!(
        room.refusal(Command::ShareIncident { incident_id: inc, agency: other.clone() }).kind,
        RefusalKind::Conflict
    );
    let unknown = room.refusal(Command::ShareIncident { incident_id: inc, agency: code("GIGN") });
    assert_eq!((unknown.kind, unknown.field.as_deref()), (RefusalKind::NotFound, Some("agency")));
    room.must(Command::UnshareIncident { incident_id: inc, agency: other.clone() });
    assert_eq!(
        room.refusal(Command::UnshareIncident { incident_id: inc, agency: other.clone() }).kind,
        RefusalKind::Conflict
    );

    let unit = UnitId(1);
    let own = room.state.units[&unit].agency.clone();
    let from_own = room.refusal(Command::HideUnit { unit_id: unit, agency: own.clone() });
    assert_eq!(from_own.kind, RefusalKind::Conflict, "a unit is never hidden from its own agency");
    let stranger = room.state.agencies.keys().find(|a| **a != own).unwrap().clone();
    room.must(Command::HideUnit { unit_id: unit, agency: stranger.clone() });
    assert!(room.state.units[&unit].hidden_from.contains(&stranger));
    room.must(Command::RevealUnit { unit_id: unit, agency: stranger.clone() });
    assert_eq!(room.refusal(Command::RevealUnit { unit_id: unit, agency: stranger }).kind, RefusalKind::Conflict);
    let hidden_from_own = room.refusal(Command::RegisterUnit {
        device_uid: None,
        callsign: "UC-9".into(),
        agency: own.clone(),
        kind: UnitKind::PatrolCar,
        status: UnitStatus::Available,
        hidden_from: [own].into(),
    });
    assert_eq!(hidden_from_own.field.as_deref(), Some("hidden_from[0]"));
}

//! The timeline shows what people did, on the right lane, tied to its incident, unit and agency.

mod support;

use support::*;
use vigie_domain::timeline::{entry, Lane};
use vigie_domain::*;

#[test]
fn events_land_on_their_lane_with_what_they_concern() {
    let mut room = staffed_room(); // incident 1 led by BSPP; units 1 PS-1 (PP), 2 FPT-1, 3 VSAV-1 (BSPP)
    room.must(Command::AssignUnit { incident_id: IncidentId(1), unit_id: UnitId(2) });
    room.must(Command::ChangeUnitStatus { unit_id: UnitId(2), status: UnitStatus::EnRoute });
    room.must(Command::PostMessage {
        channel_id: ChannelId::for_incident(IncidentId(1)),
        sender_agency: code("BSPP"),
        priority: MessagePriority::Flash,
        body: "evacuate".into(),
        ack_required: true,
    });
    let entries: Vec<_> = room.log.iter().filter_map(|e| entry(&room.state, e)).collect();
    let lanes: Vec<Lane> = entries.iter().map(|e| e.lane).collect();
    // Registrations and channel creation are not on the timeline.
    assert_eq!(
        lanes,
        // created; assigned, dispatched, incident dispatched; en route; the message
        [Lane::Incidents, Lane::Units, Lane::Units, Lane::Incidents, Lane::Units, Lane::Messages],
        "{entries:#?}"
    );
    let created = &entries[0];
    assert_eq!((created.agency.clone(), created.incident), (Some(code("BSPP")), Some(IncidentId(1))));
    let en_route = &entries[4];
    assert_eq!(
        (en_route.unit, en_route.incident, en_route.agency.clone()),
        (Some(UnitId(2)), Some(IncidentId(1)), Some(code("BSPP")))
    );
    let message = &entries[5];
    assert_eq!((message.incident, message.agency.clone()), (Some(IncidentId(1)), Some(code("BSPP"))));
    assert!(message.message.is_some());

    assert!(en_route.matches(Some(&code("BSPP")), Some(IncidentId(1))));
    assert!(!en_route.matches(Some(&code("PP")), None));
    assert!(!message.matches(None, Some(IncidentId(2))));
    assert!(message.matches(None, None));
}

//! For any sequence of commands, accepted or refused, the state rebuilt from the log alone equals
//! the live state — the property replay and reconnect stand on.

mod support;

use proptest::prelude::*;
use support::*;
use vigie_domain::*;

fn any_command() -> impl Strategy<Value = Command> {
    let unit_id = (1u32..8).prop_map(UnitId);
    let incident_id = (1u32..5).prop_map(IncidentId);
    let agency = prop::sample::select(vec!["PP", "BSPP", "SAMU", "NYPD"]);
    prop_oneof![
        (0usize..12, agency.clone(), 0usize..14).prop_map(|(n, a, k)| unit(&format!("C-{n}"), a, UnitKind::ALL[k])),
        (unit_id.clone(), 0usize..7)
            .prop_map(|(unit_id, s)| Command::ChangeUnitStatus { unit_id, status: UnitStatus::ALL[s] }),
        agency.clone().prop_map(incident),
        (incident_id.clone(), unit_id.clone())
            .prop_map(|(incident_id, unit_id)| Command::AssignUnit { incident_id, unit_id }),
        (incident_id.clone(), unit_id.clone())
            .prop_map(|(incident_id, unit_id)| Command::ReleaseUnit { incident_id, unit_id }),
        (incident_id.clone(), 0usize..5)
            .prop_map(|(incident_id, s)| Command::ChangeIncidentStatus { incident_id, status: IncidentStatus::ALL[s] }),
        (incident_id.clone(), "[a-z ]{0,12}").prop_map(|(incident_id, text)| Command::AddNote { incident_id, text }),
        (unit_id, -2.0f64..2.0, 0i64..100_000).prop_map(|(unit_id, d, t)| Command::ReportPositions {
            fixes: vec![
                Fix::parse(unit_id, 2.35 + d / 10.0, 48.85, Some(90.0), None, None, 1_700_000_000_000 - t).unwrap()
            ],
        }),
        (incident_id.clone(), 0usize..4).prop_map(|(incident_id, p)| Command::UpdateIncident {
            incident_id,
            changes: event::IncidentChanges { priority: Some(Priority::ALL[p]), ..Default::default() },
        }),
        (agency.clone(), any::<bool>()).prop_map(|(a, ack_required)| Command::PostMessage {
            channel_id: ChannelId::room(),
            sender_agency: code(a),
            priority: MessagePriority::Immediate,
            body: "msg".into(),
            ack_required,
        }),
        (1u64..4, agency).prop_map(|(m, a)| Command::AcknowledgeMessage { message_id: MessageId(m), agency: code(a) }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_state_rebuilt_from_the_log_equals_the_live_state(commands in prop::collection::vec(any_command(), 1..120)) {
        let mut room = Room::new();
        for a in ["PP", "BSPP", "SAMU"] {
            room.must(agency(a, AgencyKind::Police));
        }
        for command in commands {
            let _ = room.run(command);
            // Invariant: a unit's incident and the incident's assigned set agree.
            for unit in room.state.units.values() {
                if let Some(incident_id) = unit.incident_id {
                    prop_assert!(room.state.incidents[&incident_id].assigned.contains(&unit.unit_id));
                    prop_assert!(room.state.incidents[&incident_id].status.is_open());
                }
                prop_assert_eq!(unit.incident_id.is_some(), unit.status.needs_assignment(), "{:?}", unit);
            }
        }
        prop_assert_eq!(room.rebuilt(), room.state.clone());
        let json = serde_json::to_string(&room.log).unwrap();
        let decoded: Vec<LoggedEvent> = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(decoded, room.log.clone(), "the log survives its JSON form");
    }
}

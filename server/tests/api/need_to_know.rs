//! Need-to-know over the real server: a long random run of restricted incidents, hidden units,
//! private channels, shares and unshares, with a BKA liaison following the stream through random
//! disconnects. What is withheld from BKA never reaches it — not in a frame, its snapshot, the
//! log or a past moment — and its folded stream is exactly its picture of the room.

use futures_util::StreamExt;
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::collections::BTreeSet;
use tokio_tungstenite::tungstenite::Message;
use vigie_domain::visibility::{view, Viewer};
use vigie_domain::wire::{Cursor, ServerMessage, Step};
use vigie_domain::{AgencyCode, State};

use crate::support::*;

/// What BKA must not receive, each a unique string so finding one in what it got is a leak: the
/// callsigns of units hidden from it and the bodies of a channel it is not in (never), and the
/// addresses of incidents restricted from it (until one is shared with it: from then on, what was
/// said of it while shared may be in its log).
#[derive(Default)]
struct Secrets {
    never: BTreeSet<String>,
    restricted: BTreeSet<String>,
    shared_once: BTreeSet<String>,
}

impl Secrets {
    fn check(&self, text: &str, where_: &str) {
        for w in self.never.iter().chain(self.restricted.difference(&self.shared_once)) {
            assert!(!text.contains(w.as_str()), "{where_} carried the withheld {w}: {text}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_liaison_never_receives_what_is_withheld_and_its_stream_folds_to_its_picture() {
    let app = spawn_app().await;
    app.seed(6).await;
    let bka_agency = json!({"code": "BKA", "short_name": "BKA", "full_name": "BKA", "kind": "liaison", "country": "DE", "colour": "#e0b000"});
    assert_eq!(app.post("/api/v1/agencies", bka_agency).await.0, 201);
    let channel = json!({"slug": "fr-only", "name": "French services", "members": ["PP", "BSPP"]});
    assert_eq!(app.post("/api/v1/channels", channel).await.0, 201);
    let bka = AgencyCode::parse("BKA").unwrap();
    let mut secrets = Secrets::default();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(12);
    // Units hidden from BKA from their registration: their callsigns are secret for good.
    for i in 0..4 {
        let callsign = format!("UC-SECRET-{i}");
        let body = json!({"callsign": callsign, "kind": "patrol_car", "hidden_from": ["BKA"]});
        assert_eq!(app.post("/api/v1/units", body).await.0, 201);
        secrets.never.insert(callsign);
    }
    let mut follower = State::default();
    let mut cursor = Cursor::default();
    let mut ws = app.as_("bka").connect(None).await;
    let mut reconnects = 0;
    let mut incidents: Vec<(u64, String)> = Vec::new(); // (id, address)
    for step in 0..400 {
        let roll = rng.random_range(0..10);
        let (who, path, body) = match roll {
            0 | 1 => {
                // A restricted PP incident, its address unique: secret unless shared later.
                let restricted = rng.random_bool(0.7);
                let address = format!("{} rue {step}", if restricted { "SECRET" } else { "open" });
                let body = json!({"kind": "hostage", "priority": "P1", "location": {"lon": 2.35, "lat": 48.85}, "address": address, "restricted": restricted});
                ("pp", "/api/v1/incidents".to_string(), body)
            }
            2 if !incidents.is_empty() => {
                let (id, address) = incidents[rng.random_range(0..incidents.len())].clone();
                secrets.shared_once.insert(address);
                ("pp", format!("/api/v1/incidents/{id}/shares"), json!({"agency": "BKA"}))
            }
            3 if !incidents.is_empty() => {
                let id = incidents[rng.random_range(0..incidents.len())].0;
                let r = app.as_("pp").delete(&format!("/api/v1/incidents/{id}/shares/BKA")).await;
                assert!(matches!(r.0, 200 | 409), "{r:?}");
                continue;
            }
            4 if !incidents.is_empty() => {
                let id = incidents[rng.random_range(0..incidents.len())].0;
                ("pp", format!("/api/v1/incidents/{id}/notes"), json!({"text": format!("note {step}")}))
            }
            5 if !incidents.is_empty() => {
                let id = incidents[rng.random_range(0..incidents.len())].0;
                let unit = 1 + 2 * rng.random_range(0..3); // PP's units of the seed
                ("pp", format!("/api/v1/incidents/{id}/assignments"), json!({"unit_id": unit}))
            }
            6 => (
                "pp",
                "/api/v1/messages".to_string(),
                json!({"channel_id": "inter-fr-only", "priority": "routine", "body": format!("SECRET-MSG-{step}")}),
            ),
            7 => {
                let unit = 7 + rng.random_range(0..4); // the hidden units
                let report = json!({"reports": [{"unit_id": unit, "lon": 2.3 + rng.random_range(0.0..0.1), "lat": 48.85, "reported_at_ms": T0_MS + step}]});
                ("pp", "/api/v1/positions".to_string(), report)
            }
            _ => {
                let unit = 1 + 2 * rng.random_range(0..3);
                let report =
                    json!({"reports": [{"unit_id": unit, "lon": 2.3, "lat": 48.86, "reported_at_ms": T0_MS + step}]});
                ("pp", "/api/v1/positions".to_string(), report)
            }
        };
        if roll == 6 {
            secrets.never.insert(format!("SECRET-MSG-{step}"));
        }
        let (status, answer) = app.as_(who).post(&path, body.clone()).await;
        assert!(matches!(status, 200 | 201 | 409), "{path}: {status} {answer}");
        if path == "/api/v1/incidents" && status == 201 {
            let address = body["address"].as_str().unwrap().to_owned();
            incidents.push((answer["incident_id"].as_u64().unwrap(), address.clone()));
            if body["restricted"] == true {
                secrets.restricted.insert(address);
            }
        }
        // Read what has come, sometimes dropping the connection and resuming.
        while let Ok(Some(Ok(frame))) = tokio::time::timeout(std::time::Duration::from_millis(2), ws.next()).await {
            let Message::Text(text) = frame else { continue };
            let message: ServerMessage = serde_json::from_str(&text).unwrap();
            secrets.check(&text, "a frame");
            receive(&mut follower, &mut cursor, message);
        }
        if rng.random_bool(0.05) {
            reconnects += 1;
            ws = app.as_("bka").connect(Some(cursor.seq)).await;
        }
    }
    // Catch up to the head, then compare with the server's picture for BKA.
    let head = app.seq().await;
    while cursor.seq < head {
        let frame = next_message(&mut ws).await.expect("the stream stays open");
        secrets.check(&serde_json::to_string(&frame).unwrap(), "a frame");
        receive(&mut follower, &mut cursor, frame);
    }
    let room: State = serde_json::from_value(app.as_("auditor").get("/api/v1/state").await.1["state"].clone()).unwrap();
    let mut want = view(&room, &Viewer::Agency(bka.clone()));
    let mut got = follower.clone();
    (got.seq, got.at_ms, want.seq, want.at_ms) = (0, 0, 0, 0);
    assert_eq!(got, want, "the liaison's folded stream is its picture of the room");
    let (_, state) = app.as_("bka").get("/api/v1/state").await;
    let mut served: State = serde_json::from_value(state["state"].clone()).unwrap();
    (served.seq, served.at_ms) = (0, 0);
    assert_eq!(served, want, "its /state is the same picture");
    // The log, a past moment and the summary as BKA carry nothing withheld either.
    let (_, events) = app.as_("bka").get("/api/v1/events?limit=5000").await;
    secrets.check(&events.to_string(), "/events");
    assert!(!events.to_string().contains("UC-SECRET"), "hidden units never appear in the log");
    assert!(!events.to_string().contains("SECRET-MSG"), "nor the private channel's messages");
    let (_, summary) = app.as_("bka").get("/api/v1/summary").await;
    let units_seen: u64 =
        summary["summary"]["units_by_status"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(units_seen, 6, "its summary counts the seed's units, not the hidden ones");
    assert!(reconnects > 5, "the run disconnected ({reconnects})");
    assert!(room.incidents.values().any(|i| i.restricted && i.shared_with.contains(&bka)), "something was shared");
    app.stop().await;
}

/// Folds one message into the liaison's room by the browser's rule.
fn receive(state: &mut State, cursor: &mut Cursor, message: ServerMessage) {
    match message {
        ServerMessage::Snapshot { seq, state: s } => {
            *state = *s;
            *cursor = Cursor::at(seq);
        }
        m @ (ServerMessage::Event { .. } | ServerMessage::Positions { .. } | ServerMessage::Advance { .. }) => {
            let (prev, seq) = m.range().unwrap();
            match cursor.step(prev, seq) {
                Step::Apply => {
                    if let Some(e) = m.into_logged() {
                        state.apply(&e);
                    }
                }
                Step::Held => {}
                Step::Gap => panic!("a gap at {} ({prev}, {seq}]", cursor.seq),
            }
        }
        _ => {}
    }
}

//! Replay over real HTTP and WebSockets: the room at a past moment equals the live room then,
//! sessions follow the trainer's clock (paused, injected), scenarios travel by file.

use futures_util::SinkExt;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use vigie::clock::Clock;
use vigie_domain::wire::ServerMessage;
use vigie_domain::State;

use crate::support::*;

/// Random activity: positions, status flips, notes, new incidents and assignments, with the
/// clock moving 1 ms to 20 s between commands. Returns the live state after each command
/// (recorded at that moment) once the clock has moved past it.
async fn activity(app: &TestApp, seed: u64, steps: usize) -> Vec<(i64, Value)> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut seen = Vec::new();
    for i in 0..steps {
        let unit = rng.random_range(1..=6);
        let now = T0_MS + rng.random_range(0..1_000_000);
        let kind = rng.random_range(0..6);
        let (path, body) = match kind {
            0 | 1 => (
                "/api/v1/positions".to_string(),
                json!({"reports": [{"unit_id": unit, "lon": 2.3 + rng.random_range(0.0..0.1), "lat": 48.85, "reported_at_ms": now}]}),
            ),
            2 => {
                let status = ["available", "en_route", "on_scene", "out_of_service"][rng.random_range(0..4)];
                (format!("/api/v1/units/{unit}/status"), json!({ "status": status }))
            }
            3 => ("/api/v1/incidents/1/notes".to_string(), json!({"text": format!("note {i}")})),
            4 => (
                "/api/v1/incidents".to_string(),
                json!({"kind": "fire", "priority": "P3", "location": {"lon": 2.35, "lat": 48.86}, "address": format!("{i} rue X"), "lead_agency": "BSPP"}),
            ),
            _ => (format!("/api/v1/incidents/{}/assignments", rng.random_range(1..=3)), json!({"unit_id": unit})),
        };
        // Notes and new incidents are BSPP's (it leads them); a unit is worked by its own agency.
        let who = if matches!(kind, 3 | 4) { app.as_("bspp") } else { app.owner_of(unit) };
        who.post(&path, body).await; // refusals are part of the game: they change nothing
        seen.push((app.clock.now_ms(), app.state().await));
        app.clock.advance_ms(rng.random_range(1..20_000));
    }
    seen
}

/// A server with snapshots every `snapshot_every` events, six units and `steps` of random activity.
async fn recorded_history(snapshot_every: u64, seed: u64, steps: usize) -> (TestApp, Vec<(i64, Value)>) {
    let app = spawn_with(|c| c.snapshot_every_events = snapshot_every).await;
    app.seed(6).await;
    app.clock.advance_ms(1_000);
    let seen = activity(&app, seed, steps).await;
    (app, seen)
}

async fn state_at(app: &TestApp, at_ms: i64, scenario: Option<u64>) -> Value {
    let path = match scenario {
        Some(id) => format!("/api/v1/history/state?at_ms={at_ms}&scenario_id={id}"),
        None => format!("/api/v1/history/state?at_ms={at_ms}"),
    };
    let (status, body) = app.get(&path).await;
    assert_eq!(status, 200, "{body}");
    body["state"].clone()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, .. ProptestConfig::default() })]
    /// The property: for any history, the room replay materialises at T is the room the live
    /// server showed at T — across snapshots (taken every 7 events here) and restarts of the fold.
    #[test]
    fn the_replayed_room_at_t_is_the_live_room_at_t(seed in any::<u64>(), steps in 5usize..40) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let (app, seen) = recorded_history(7, seed, steps).await;
            for (at_ms, live) in &seen {
                assert_eq!(&state_at(&app, *at_ms, None).await, live, "the room at {at_ms}");
            }
            app.stop().await;
        });
    }
}

async fn start_session(app: &TestApp, body: Value) -> (String, String, Value) {
    let (status, started) = app.post("/api/v1/replays", body).await;
    assert_eq!(status, 201, "{started}");
    (started["session_id"].as_str().unwrap().to_owned(), started["trainer_key"].as_str().unwrap().to_owned(), started)
}

async fn control(app: &TestApp, id: &str, key: &str, body: Value) -> (u16, Value) {
    app.send(
        app.http
            .post(format!("{}/api/v1/replays/{id}/control", app.base))
            .header("x-vigie-trainer-key", key)
            .json(&body),
    )
    .await
}

/// Reads the follower's stream until `done` says so, folding it like the browser does.
async fn follow_until(
    ws: &mut Ws,
    room: &mut State,
    mut done: impl FnMut(&ServerMessage, &State) -> bool,
) -> ServerMessage {
    loop {
        let message = next_message(ws).await.expect("the replay stream stays open");
        match &message {
            ServerMessage::Snapshot { state, .. } => *room = (**state).clone(),
            ServerMessage::Event { .. } | ServerMessage::Positions { .. } => {
                let (prev_seq, _) = message.range().unwrap();
                assert_eq!(prev_seq, room.seq, "no gap, no double");
                room.apply(&message.clone().into_logged().unwrap());
            }
            _ => {}
        }
        if done(&message, room) {
            return message;
        }
    }
}

#[tokio::test]
async fn followers_see_the_room_at_the_trainers_moment_as_it_plays_pauses_seeks_and_steps() {
    let (app, seen) = recorded_history(10, 7, 30).await;
    let (from, to) = (T0_MS, app.clock.now_ms());
    let (id, key, started) = start_session(&app, json!({"from_ms": from, "to_ms": to, "title": "Debrief"})).await;
    assert_eq!(started["clock"]["playing"], false);

    let mut ws = app.ws(&format!("/api/v1/replays/{id}/stream"), &app.tokens["pp"]).await;
    let mut room = State::default();
    let first = follow_until(&mut ws, &mut room, |m, _| matches!(m, ServerMessage::Replay { .. })).await;
    let ServerMessage::Replay { session, .. } = first else { unreachable!() };
    assert_eq!(session.title, "Debrief");
    follow_until(&mut ws, &mut room, |m, _| matches!(m, ServerMessage::Snapshot { .. })).await;
    assert_eq!(serde_json::to_value(&room).unwrap(), state_at(&app, from, None).await, "paused at the start");

    // Seek to a recorded moment: the follower's room is the live room then.
    let (at, live) = &seen[seen.len() / 2];
    let (status, body) = control(&app, &id, &key, json!({"action": "seek", "at_ms": at})).await;
    assert_eq!(status, 200, "{body}");
    // The new clock reaches the follower before the room it shows.
    let mut told = false;
    follow_until(&mut ws, &mut room, |m, _| {
        told |= matches!(m, ServerMessage::Replay { session, .. } if session.clock.at_ms == *at);
        matches!(m, ServerMessage::Snapshot { .. })
    })
    .await;
    assert!(told, "a snapshot of the moment came before its clock");
    assert_eq!(&serde_json::to_value(&room).unwrap(), live);

    // Play at 60×: 10 s of wall time is 10 minutes of replay; the follower reaches the end's room.
    assert_eq!(control(&app, &id, &key, json!({"action": "speed", "speed": 60})).await.0, 200);
    assert_eq!(control(&app, &id, &key, json!({"action": "play"})).await.0, 200);
    let end_state = state_at(&app, to, None).await;
    let target_seq = end_state["seq"].as_u64().unwrap();
    for _ in 0..40 {
        app.clock.advance_ms(1_000);
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    follow_until(&mut ws, &mut room, |_, r| r.seq == target_seq).await;
    assert_eq!(
        serde_json::to_value(&room).unwrap(),
        end_state,
        "played to the end, the room is the live room at the end"
    );

    // Pause holds; a step back lands on the previous event other than a position report.
    assert_eq!(control(&app, &id, &key, json!({"action": "pause"})).await.0, 200);
    let (status, info) = control(&app, &id, &key, json!({"action": "step", "direction": "back"})).await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["clock"]["playing"], false);
    let stepped_to = info["clock"]["at_ms"].as_i64().unwrap();
    assert!(stepped_to < to);
    follow_until(&mut ws, &mut room, |m, _| matches!(m, ServerMessage::Snapshot { .. })).await;
    assert_eq!(serde_json::to_value(&room).unwrap(), state_at(&app, stepped_to, None).await);

    // Pins reach followers; only the trainer drives.
    let pin = app
        .send(
            app.http
                .post(format!("{}/api/v1/replays/{id}/pins", app.base))
                .header("x-vigie-trainer-key", &key)
                .json(&json!({"at_ms": stepped_to, "text": "Here the first engine arrives"})),
        )
        .await;
    assert_eq!(pin.0, 201, "{}", pin.1);
    let told = follow_until(
        &mut ws,
        &mut room,
        |m, _| matches!(m, ServerMessage::Replay { session, .. } if !session.pins.is_empty()),
    )
    .await;
    let ServerMessage::Replay { session, .. } = told else { unreachable!() };
    assert_eq!(session.pins[0].text, "Here the first engine arrives");
    assert_eq!(session.pins[0].author, "pp", "the signed-in trainer");

    let (status, body) = control(&app, &id, "wrong-key", json!({"action": "play"})).await;
    assert_eq!(status, 403);
    assert_error(&body, "not_the_trainer", None);
    let (status, body) = control(&app, &id, &key, json!({"action": "speed", "speed": 120})).await;
    assert_eq!(status, 422);
    assert_error(&body, "invalid", Some("speed"));
    let (status, body) = control(&app, &id, &key, json!({"action": "seek", "at_ms": from - 1})).await;
    assert_eq!(status, 422);
    assert_error(&body, "invalid", Some("at_ms"));
    let (status, body) = control(&app, &id, &key, json!({"action": "rewind"})).await;
    assert_eq!(status, 422, "{body}");

    // The replay stream takes no commands, and nothing of the replay reached the live log.
    let live_seq = app.seq().await;
    ws.send(Message::Text(json!({"type": "create_incident"}).to_string().into())).await.unwrap();
    follow_until(&mut ws, &mut room, |m, _| matches!(m, ServerMessage::Error { .. })).await;
    assert_eq!(app.seq().await, live_seq);
    app.stop().await;
}

#[tokio::test]
async fn sessions_start_from_an_incident_and_survive_a_restart_paused() {
    let app = spawn_app().await;
    app.seed(2).await;
    app.clock.advance_ms(60_000);
    assert_eq!(app.as_("bspp").post("/api/v1/incidents/1/notes", json!({"text": "smoke"})).await.0, 201);
    app.clock.advance_ms(3_600_000);
    let (id, key, started) = start_session(&app, json!({"incident_id": 1, "margin_s": 300})).await;
    assert_eq!(started["clock"]["from_ms"], T0_MS - 300_000);
    assert_eq!(started["clock"]["to_ms"], T0_MS + 60_000 + 300_000);
    assert!(started["title"].as_str().unwrap().starts_with("INC-1"));
    assert_eq!(control(&app, &id, &key, json!({"action": "play"})).await.0, 200);

    let (status, body) = app.post("/api/v1/replays", json!({"incident_id": 99})).await;
    assert_eq!(status, 404);
    assert_error(&body, "not_found", Some("incident_id"));
    let (status, body) = app.post("/api/v1/replays", json!({"from_ms": 10, "to_ms": 5})).await;
    assert_eq!(status, 422);
    assert_error(&body, "invalid", Some("to_ms"));
    let (status, body) = app.post("/api/v1/replays", json!({"from_ms": 10})).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(app.get("/api/v1/replays/nope").await.0, 404);

    let dir = app.stop().await;
    let app = spawn_in(dir, |_| {}).await;
    let (status, info) = app.get(&format!("/api/v1/replays/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(info["clock"]["playing"], false, "a restart pauses sessions");
    assert_eq!(control(&app, &id, &key, json!({"action": "play"})).await.0, 200, "the trainer's key still works");
    app.stop().await;
}

async fn import(app: &TestApp, file: Vec<u8>) -> Value {
    let (status, body) = app
        .send(
            app.http
                .post(format!("{}/api/v1/scenarios", app.base))
                .header("content-type", "application/gzip")
                .body(file),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    wait_job(app, body["job_id"].as_u64().unwrap()).await
}

#[tokio::test]
async fn an_exported_range_imported_elsewhere_replays_the_same_rooms_and_never_touches_its_live_log() {
    let (a, seen) = recorded_history(9, 11, 40).await;
    let (from, to) = (seen[5].0, seen[35].0);
    let (status, body) =
        a.post("/api/v1/exports", json!({"from_ms": from, "to_ms": to, "name": "Exercise Tournelle"})).await;
    assert_eq!(status, 202, "{body}");
    let job = body["job_id"].as_u64().unwrap();
    let view = wait_job(&a, job).await;
    assert_eq!(view["state"], "done", "{view}");
    assert_eq!(view["done"], view["total"]);
    let response = a.http.get(format!("{}/api/v1/jobs/{job}/file", a.base)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-disposition"].to_str().unwrap().contains("Exercise-Tournelle.vigie.gz"));
    let file = response.bytes().await.unwrap().to_vec();
    assert_eq!(&file[..2], &[0x1f, 0x8b], "gzip");

    // Small snapshot spacing, so the import writes snapshots inside the scenario and seeks use them.
    let b = spawn_with(|c| c.snapshot_every_events = 9).await;
    let view = import(&b, file.clone()).await;
    assert_eq!(view["state"], "done", "{view}");
    let scenario = view["result"]["scenario_id"].as_u64().unwrap();
    for (at_ms, live) in &seen[5..=35] {
        assert_eq!(&state_at(&b, *at_ms, Some(scenario)).await, live, "the imported room at {at_ms}");
    }
    let (_, list) = b.get("/api/v1/scenarios").await;
    assert_eq!(list["scenarios"][0]["name"], "Exercise Tournelle");
    let (session, key, started) = start_session(&b, json!({"scenario_id": scenario})).await;
    assert_eq!(started["source"]["kind"], "scenario");
    let (status, body) = b.send(b.http.delete(format!("{}/api/v1/scenarios/{scenario}", b.base))).await;
    assert_eq!(status, 409, "a scenario being replayed stays: {body}");
    assert!(body["error"]["message"].as_str().unwrap().contains(&session));
    // An import changes nothing in the live room; the record says who imported what.
    let (_, log) = b.as_("auditor").get("/api/v1/audit/records?kind=audit").await;
    let kinds: Vec<&str> = log["entries"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"audit.scenario_imported"), "{log}");
    let (_, events) = b.get("/api/v1/events").await;
    assert_eq!(events["events"], json!([]), "an import writes nothing to the live room");
    assert_eq!(b.state().await["units"], json!({}));

    // Files that are not scenarios, newer formats and truncated files are refused, leaving nothing.
    // A file that is not gzip is refused on its first bytes, before it is stored.
    let (status, garbage) = b
        .send(
            b.http
                .post(format!("{}/api/v1/scenarios", b.base))
                .header("content-type", "application/gzip")
                .body(b"not a scenario".to_vec()),
        )
        .await;
    assert_eq!(status, 415, "{garbage}");
    assert!(garbage["error"]["message"].as_str().unwrap().contains("not gzip"), "{garbage}");
    let newer = gzip(b"{\"format\":\"vigie-scenario\",\"version\":99,\"name\":\"x\",\"from_ms\":0,\"to_ms\":5,\"exported_at_ms\":0,\"events\":0}\n");
    let newer = import(&b, newer).await;
    assert!(newer["error"].as_str().unwrap().contains("version 99"), "{newer}");
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&file[..]), &mut text).unwrap();
    let cut: Vec<&str> = text.lines().collect();
    let truncated = import(&b, gzip(cut[..cut.len() - 3].join("\n").as_bytes())).await;
    assert!(truncated["error"].as_str().unwrap().contains("truncated"), "{truncated}");
    let (_, list) = b.get("/api/v1/scenarios").await;
    assert_eq!(list["scenarios"].as_array().unwrap().len(), 1, "failed imports leave nothing");
    let (status, _) = b.send(b.http.post(format!("{}/api/v1/scenarios", b.base)).body(Vec::<u8>::new())).await;
    assert_eq!(status, 400);
    let removed =
        b.send(b.http.delete(format!("{}/api/v1/replays/{session}", b.base)).header("x-vigie-trainer-key", &key)).await;
    assert_eq!(removed.0, 204, "{}", removed.1);
    assert_eq!(b.send(b.http.delete(format!("{}/api/v1/scenarios/{scenario}", b.base))).await.0, 204);
    assert_eq!(b.get(&format!("/api/v1/history/state?at_ms={}&scenario_id={scenario}", seen[10].0)).await.0, 404);
    a.stop().await;
    b.stop().await;
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut out, bytes).unwrap();
    out.finish().unwrap()
}

#[tokio::test]
async fn a_quiet_paused_session_keeps_its_followers_alive_with_heartbeats() {
    let app = spawn_with(|c| c.heartbeat_ms = 200).await;
    app.seed(2).await;
    app.clock.advance_ms(10_000);
    let (id, _, _) = start_session(&app, json!({"from_ms": T0_MS, "to_ms": T0_MS + 5_000})).await;
    let mut ws = app.ws(&format!("/api/v1/replays/{id}/stream"), &app.tokens["pp"]).await;
    let mut room = State::default();
    follow_until(&mut ws, &mut room, |m, _| matches!(m, ServerMessage::Snapshot { .. })).await;
    let beat = follow_until(&mut ws, &mut room, |m, _| matches!(m, ServerMessage::Heartbeat { .. })).await;
    assert_eq!(beat.seq(), room.seq, "a heartbeat carries the seq the follower holds");
    app.stop().await;
}

#[tokio::test]
async fn a_far_seek_on_a_long_tail_reports_progress_before_the_room() {
    // 12 000 status changes and no snapshot in between: the seek folds them all, page by page.
    let dir = std::sync::Arc::new(tempfile::TempDir::new().unwrap());
    let store =
        vigie::store::Store::open(&format!("sqlite://{}", dir.path().join("vigie.db").display())).await.unwrap();
    let event = |value: Value| serde_json::from_value::<vigie_domain::Event>(value).unwrap();
    let mut events = vec![
        event(
            json!({"type": "agency_registered", "agency": {"code": "PP", "short_name": "PP", "full_name": "Préfecture de police", "kind": "police", "country": "FR", "colour": "#2f6fde"}}),
        ),
        event(
            json!({"type": "unit_registered", "unit_id": 1, "callsign": "PS-1", "agency": "PP", "kind": "patrol_car", "status": "available"}),
        ),
    ];
    for i in 0..12_000 {
        events.push(event(json!({"type": "unit_status_changed", "unit_id": 1, "status": if i % 2 == 0 { "en_route" } else { "available" }})));
    }
    let logged: Vec<vigie_domain::LoggedEvent> = events
        .into_iter()
        .enumerate()
        .map(|(i, event)| vigie_domain::LoggedEvent {
            seq: i as u64 + 1,
            at_ms: T0_MS + i as i64 * 10,
            actor: "seed".into(),
            event,
        })
        .collect();
    store.append(&logged).await.unwrap();
    store.close().await;
    let app = spawn_in(dir, |c| c.snapshot_every_events = 1_000_000).await;
    let end = T0_MS + 12_001 * 10;
    let (id, key, _) = start_session(&app, json!({"from_ms": T0_MS, "to_ms": end})).await;
    let mut ws = app.ws(&format!("/api/v1/replays/{id}/stream"), &app.tokens["pp"]).await;
    let mut room = State::default();
    follow_until(&mut ws, &mut room, |m, _| matches!(m, ServerMessage::Snapshot { .. })).await;
    assert_eq!(control(&app, &id, &key, json!({"action": "seek", "at_ms": end})).await.0, 200);
    let mut progress = Vec::new();
    follow_until(&mut ws, &mut room, |m, _| {
        if let ServerMessage::Progress { done, total, .. } = m {
            progress.push((*done, *total));
        }
        matches!(m, ServerMessage::Snapshot { .. })
    })
    .await;
    assert_eq!(room.seq, 12_002);
    assert!(!progress.is_empty(), "a long fold says how far it is");
    assert!(progress.windows(2).all(|w| w[0].0 < w[1].0), "progress only grows: {progress:?}");
    assert!(progress.iter().all(|(done, total)| done <= total && *total >= 12_000), "{progress:?}");
    app.stop().await;
}

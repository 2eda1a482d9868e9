//! The stream under stress: resume without gap or duplicate, bounded memory for clients that do
//! not read, explicit resync for clients that read too slowly.

use futures_util::StreamExt;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::task::JoinSet;
use vigie_domain::wire::{Cursor, ServerMessage, Step};
use vigie_domain::{LoggedEvent, Seq, State};

use crate::support::*;

/// A stream consumer that folds what it receives with the shared reducer and checks the order.
struct Follower {
    state: State,
    seq: Seq,
    merged: usize,
    resyncs: usize,
}

impl Follower {
    fn new() -> Self {
        Self { state: State::default(), seq: 0, merged: 0, resyncs: 0 }
    }

    fn receive(&mut self, message: ServerMessage) {
        match message {
            ServerMessage::Snapshot { seq, state } => {
                self.state = *state;
                self.seq = seq;
            }
            message @ (ServerMessage::Event { .. }
            | ServerMessage::Positions { .. }
            | ServerMessage::Advance { .. }) => {
                let (prev_seq, seq) = message.range().unwrap();
                let at = self.seq;
                assert_eq!(
                    Cursor::at(at).step(prev_seq, seq),
                    Step::Apply,
                    "gap or duplicate: at {at} got ({prev_seq}, {seq}]"
                );
                if seq - prev_seq > 1 {
                    assert!(matches!(message, ServerMessage::Positions { .. }), "only position batches are merged");
                    self.merged += 1;
                }
                self.seq = seq;
                self.state.apply(&message.into_logged().expect("the live room withholds nothing"));
            }
            ServerMessage::Resync { seq, .. } => {
                assert_eq!(seq, self.seq, "a resync restarts from what was delivered");
                self.resyncs += 1;
            }
            ServerMessage::Heartbeat { seq, .. } | ServerMessage::Error { seq, .. } => assert_eq!(seq, self.seq),
            ServerMessage::Replay { .. } | ServerMessage::Progress { .. } => {
                panic!("the live stream sent a replay message")
            }
        }
    }
}

/// Posts `count` commands from `writers` concurrent clients: notes, status flips and positions.
async fn produce(app: &TestApp, count: usize, writers: usize, units: u32) -> JoinSet<()> {
    let mut tasks = JoinSet::new();
    for w in 0..writers {
        let base = app.base.clone();
        let (pp, bspp) = (app.as_("pp").http, app.as_("bspp").http);
        tasks.spawn(async move {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(w as u64);
            for i in 0..count / writers {
                let unit = rng.random_range(1..=units);
                let (path, body) = match i % 3 {
                    0 => ("/api/v1/incidents/1/notes".to_string(), json!({"text": format!("writer {w} note {i}")})),
                    1 => ("/api/v1/positions".to_string(), json!({"reports": [{"unit_id": unit, "lon": 2.3 + rng.random_range(0.0..0.1), "lat": 48.85, "reported_at_ms": T0_MS + i as i64}]})),
                    _ => (format!("/api/v1/units/{unit}/status"), json!({"status": if rng.random_bool(0.5) { "out_of_service" } else { "available" }})),
                };
                // Notes go to BSPP's incident; a unit is worked by its own agency (odd: PP).
                let http = if i % 3 != 0 && unit % 2 == 1 { &pp } else { &bspp };
                let response = http.post(format!("{base}{path}")).json(&body).send().await.expect("post");
                assert!(matches!(response.status().as_u16(), 200 | 201 | 409), "{}", response.text().await.unwrap());
            }
        });
    }
    tasks
}

/// Reads until the follower reaches `target`.
async fn follow_to(ws: &mut Ws, follower: &mut Follower, target: Seq) {
    while follower.seq < target {
        let message = next_message(ws).await.expect("the stream stays open");
        follower.receive(message);
    }
}

#[tokio::test]
async fn a_new_client_gets_a_snapshot_then_live_events_in_order() {
    let app = spawn_app().await;
    app.seed(2).await;
    let mut ws = app.connect(None).await;
    let Some(ServerMessage::Snapshot { seq, state }) = next_message(&mut ws).await else { panic!("snapshot first") };
    assert_eq!(seq, 5);
    assert_eq!(state.units.len(), 2);
    assert_eq!(app.as_("bspp").post("/api/v1/incidents/1/notes", json!({"text": "live"})).await.0, 201);
    let Some(ServerMessage::Event { seq, event, .. }) = next_message(&mut ws).await else { panic!("an event") };
    assert_eq!((seq, event.kind()), (6, "note_added"));
    app.stop().await;
}

#[tokio::test]
async fn a_big_room_s_snapshot_reaches_a_new_client_whole() {
    // A room of 20 000 units, written straight into the log: its snapshot is several megabytes.
    let dir = std::sync::Arc::new(tempfile::TempDir::new().unwrap());
    let store =
        vigie::store::Store::open(&format!("sqlite://{}", dir.path().join("vigie.db").display())).await.unwrap();
    let agency: vigie_domain::Event = serde_json::from_value(json!({"type": "agency_registered", "agency": {"code": "PP", "short_name": "PP", "full_name": "Préfecture de police", "kind": "police", "country": "FR", "colour": "#2f6fde"}})).unwrap();
    let mut events = vec![LoggedEvent { seq: 1, at_ms: T0_MS, actor: "seed".into(), event: agency }];
    for u in 1..=20_000u32 {
        let unit = serde_json::from_value(json!({"type": "unit_registered", "unit_id": u, "callsign": format!("UNIT-{u:05}"), "agency": "PP", "kind": "patrol_car", "status": "available"})).unwrap();
        events.push(LoggedEvent { seq: u64::from(u) + 1, at_ms: T0_MS, actor: "seed".into(), event: unit });
    }
    store.append(&events).await.unwrap();
    store.close().await;
    let app = spawn_in(dir, |_| {}).await;
    let mut ws = app.connect(None).await;
    let Some(ServerMessage::Snapshot { seq, state }) = next_message(&mut ws).await else { panic!("snapshot first") };
    assert_eq!((seq, state.units.len()), (20_001, 20_000));
    assert!(
        serde_json::to_vec(&state).unwrap().len() > 2 * 1024 * 1024,
        "the test room must be bigger than the old 2 MiB cut"
    );
    app.stop().await;
}

#[tokio::test]
async fn resuming_with_since_gives_exactly_the_missed_events() {
    let app = spawn_app().await;
    app.seed(2).await;
    let mut ws = app.connect(Some(2)).await;
    let mut seqs = Vec::new();
    for _ in 0..3 {
        seqs.push(next_message(&mut ws).await.unwrap().seq());
    }
    assert_eq!(seqs, [3, 4, 5]);
    let mut at_head = app.connect(Some(5)).await;
    assert_eq!(app.as_("bspp").post("/api/v1/incidents/1/notes", json!({"text": "x"})).await.0, 201);
    assert_eq!(next_message(&mut at_head).await.unwrap().seq(), 6);
    let mut from_the_future = app.connect(Some(1_000)).await;
    assert!(
        matches!(next_message(&mut from_the_future).await, Some(ServerMessage::Snapshot { seq: 6, .. })),
        "a seq from another log gets a snapshot"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_resume_too_far_back_gets_a_snapshot() {
    let app = spawn_with(|c| c.max_catch_up_events = 3).await;
    app.seed(4).await;
    let mut ws = app.connect(Some(1)).await;
    assert!(matches!(next_message(&mut ws).await, Some(ServerMessage::Snapshot { seq: 7, .. })));
    let mut near = app.connect(Some(5)).await;
    assert_eq!(next_message(&mut near).await.unwrap().seq(), 6);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_events_with_random_disconnects_arrive_without_gap_or_duplicate() {
    let app = spawn_app().await;
    app.seed(20).await;
    let mut producers = produce(&app, 13_200, 6, 20).await;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(42);
    let mut follower = Follower::new();
    let mut reconnects = 0;
    // Read a random number of messages, drop the connection abruptly, resume from the last seq.
    while !producers.is_empty() || follower.seq < app.seq().await {
        while let Some(done) = producers.try_join_next() {
            done.expect("producer");
        }
        let since = (follower.seq > 0).then_some(follower.seq);
        let mut ws = app.connect(since).await;
        reconnects += 1;
        for _ in 0..rng.random_range(1..400) {
            match tokio::time::timeout(Duration::from_millis(500), ws.next()).await {
                Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text)))) => {
                    follower.receive(serde_json::from_str(&text).expect("parse"));
                }
                _ => break,
            }
        }
        drop(ws);
    }
    assert!(follower.seq >= 10_000, "{}", follower.seq);
    assert!(reconnects > 20, "only {reconnects} reconnects");
    let live: State = serde_json::from_value(app.state().await).unwrap();
    assert_eq!(follower.state, live, "the follower's fold equals the server's room");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_stays_within_the_bound_and_is_disconnected() {
    const BOUND: usize = 64 * 1024;
    let app = spawn_with(|c| {
        c.outbox_bytes = BOUND;
        c.write_timeout_ms = 1_000;
    })
    .await;
    app.seed(2).await;
    let stalled = app.connect(None).await; // never read from again
    let mut reader = app.connect(None).await;
    let mut follower = Follower::new();
    let note = "n".repeat(1_500);
    let mut peak = 0u64;
    for i in 0..4_000 {
        let (status, _) =
            app.as_("bspp").post("/api/v1/incidents/1/notes", json!({"text": format!("{i} {note}")})).await;
        assert_eq!(status, 201);
        if i % 100 == 0 {
            let stats = app.get("/api/v1/stats").await.1;
            peak = peak.max(stats["max_client_queued_bytes"].as_u64().unwrap());
            // The healthy client keeps up meanwhile.
            follow_to(&mut reader, &mut follower, stats["seq"].as_u64().unwrap()).await;
        }
    }
    assert!(peak as usize <= BOUND, "a client's queue reached {peak} bytes, over the {BOUND} bound");
    let mut clients = 2;
    for _ in 0..100 {
        clients = app.get("/api/v1/stats").await.1["stream_clients"].as_u64().unwrap();
        if clients == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(clients, 1, "the stalled client was disconnected, the reader was not");
    follow_to(&mut reader, &mut follower, app.seq().await).await;
    drop(stalled);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_reader_is_resynced_explicitly_and_misses_nothing() {
    // The reader stalls for as long as 4 000 commits take (a debug build on a loaded machine can
    // pass the 10 s write deadline, which is another test's subject): resync, not the deadline.
    let app = spawn_with(|c| {
        c.outbox_bytes = 32 * 1024;
        c.write_timeout_ms = 120_000;
    })
    .await;
    app.seed(2).await;
    let mut ws = app.connect(None).await;
    let mut follower = Follower::new();
    follower.receive(next_message(&mut ws).await.unwrap());
    // Large events fill the loopback socket buffers, so the writer blocks and the outbox overflows.
    let note = "n".repeat(1_500);
    for i in 0..4_000 {
        let (status, _) =
            app.as_("bspp").post("/api/v1/incidents/1/notes", json!({"text": format!("{i} {note}")})).await;
        assert_eq!(status, 201);
    }
    // Only now start reading.
    follow_to(&mut ws, &mut follower, app.seq().await).await;
    assert!(follower.resyncs >= 1, "the lag was announced");
    let live: Value = app.state().await;
    assert_eq!(serde_json::to_value(&follower.state).unwrap(), live);
    app.stop().await;
}

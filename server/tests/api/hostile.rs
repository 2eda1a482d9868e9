//! One hostile client must not take any part of the room down: each case of the outside review
//! (slow and idle connections, caps, a stop with a slow client, import abuse, overflowing times,
//! DNS rebinding, heavy pages, floods, quotas, an ambiguous commit) over real HTTP and WebSockets.

use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use vigie::store::Fault;

use crate::support::*;

fn addr(app: &TestApp) -> SocketAddr {
    app.running.as_ref().unwrap().addr
}

/// A raw connection from loopback address `from` (127.0.0.x: another client host).
async fn connect_from(app: &TestApp, from: [u8; 4]) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((from, 0))).unwrap();
    socket.connect(addr(app)).await.unwrap()
}

/// Reads until the server closes the connection (or `within` passes); what it sent.
async fn read_until_closed(tcp: &mut TcpStream, within: Duration) -> Option<String> {
    let mut got = Vec::new();
    let read = tokio::time::timeout(within, tcp.read_to_end(&mut got)).await;
    read.ok().map(|_| String::from_utf8_lossy(&got).into_owned())
}

#[tokio::test]
async fn silent_slow_and_trickling_connections_are_closed_and_the_room_keeps_answering() {
    let app = spawn_with(|c| {
        c.header_timeout_ms = 400;
        c.request_timeout_ms = 800;
    })
    .await;
    app.seed(1).await;
    let started = Instant::now();
    // Sends nothing at all.
    let mut silent = connect_from(&app, [127, 0, 0, 1]).await;
    // Sends its request head one byte at a time, slower than the header timeout allows.
    let mut slow_head = connect_from(&app, [127, 0, 0, 1]).await;
    let trickle = tokio::spawn(async move {
        for b in b"GET /healthz HTTP/1.1\r\nHost: x\r\n" {
            if slow_head.write_all(&[*b]).await.is_err() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
        false
    });
    // Declares a body and trickles it.
    let mut slow_body = connect_from(&app, [127, 0, 0, 1]).await;
    let head = format!(
        "POST /api/v1/incidents/1/notes HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{",
        addr(&app),
        app.tokens["bspp"]
    );
    slow_body.write_all(head.as_bytes()).await.unwrap();
    let body_trickle = tokio::spawn(async move {
        let mut sent = String::new();
        for _ in 0..40 {
            if slow_body.write_all(b" ").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            let mut buf = [0u8; 512];
            if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(1), slow_body.read(&mut buf)).await {
                sent.push_str(&String::from_utf8_lossy(&buf[..n]));
                if n == 0 || sent.contains("408") {
                    break;
                }
            }
        }
        sent
    });

    assert_eq!(
        read_until_closed(&mut silent, Duration::from_secs(5)).await.as_deref(),
        Some(""),
        "a silent connection is closed"
    );
    assert!(trickle.await.unwrap(), "a head sent too slowly is cut off");
    let answer = body_trickle.await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "a trickled body gets 408: {answer:?}");
    assert!(started.elapsed() < Duration::from_secs(6), "{:?}", started.elapsed());
    assert_eq!(app.get("/healthz").await.0, 200);
    assert_eq!(app.as_("bspp").post("/api/v1/incidents/1/notes", json!({"text": "still here"})).await.0, 201);
    app.stop().await;
}

#[tokio::test]
async fn one_address_cannot_take_every_connection_or_stream_and_others_still_get_in() {
    let app = spawn_with(|c| {
        c.max_connections_per_address = 4;
        c.max_streams_per_address = 2;
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(connect_from(&app, [127, 0, 0, 2]).await);
    }
    let mut fifth = connect_from(&app, [127, 0, 0, 2]).await;
    let refused = read_until_closed(&mut fifth, Duration::from_secs(3)).await.unwrap();
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused:?}");
    assert!(refused.contains("Retry-After"), "{refused:?}");
    assert_eq!(app.get("/healthz").await.0, 200, "another address is served");
    drop(held);

    // Streams: two per address.
    let stream_from = |from: [u8; 4]| {
        let app = &app;
        async move {
            let tcp = connect_from(app, from).await;
            let mut request = format!("{}/api/v1/stream", app.ws_base).into_client_request().unwrap();
            let bearer = format!("Bearer {}", app.tokens["pp"]);
            request.headers_mut().insert("authorization", bearer.parse().unwrap());
            tokio_tungstenite::client_async(request, tcp).await
        }
    };
    let a = stream_from([127, 0, 0, 3]).await.expect("first stream");
    let b = stream_from([127, 0, 0, 3]).await.expect("second stream");
    match stream_from([127, 0, 0, 3]).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 503),
        other => panic!("a third stream from one address was let in: {:?}", other.map(|_| ())),
    }
    assert!(stream_from([127, 0, 0, 4]).await.is_ok(), "another address still streams");
    drop((a, b));
    app.stop().await;
}

#[tokio::test]
async fn a_stop_with_a_slow_client_connected_ends_within_the_grace_period_and_keeps_the_log() {
    let app = spawn_with(|c| {
        c.header_timeout_ms = 60_000;
        c.idle_timeout_ms = 60_000;
        c.request_timeout_ms = 60_000;
        c.shutdown_grace_ms = 500;
    })
    .await;
    app.seed(2).await;
    let seq = app.seq().await;
    let mut slow = connect_from(&app, [127, 0, 0, 1]).await;
    let head =
        format!("POST /api/v1/incidents/1/notes HTTP/1.1\r\nHost: {}\r\nContent-Length: 50\r\n\r\n{{", addr(&app));
    slow.write_all(head.as_bytes()).await.unwrap();
    // Another is half-way through a request's head.
    let mut half_head = connect_from(&app, [127, 0, 0, 1]).await;
    half_head.write_all(b"GET /api/v1/state HTTP/1.1\r\nHo").await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let dir = app.stop().await;
    assert!(started.elapsed() < Duration::from_secs(3), "stop took {:?}", started.elapsed());
    let again = spawn_in(dir, |_| {}).await;
    assert_eq!(again.seq().await, seq, "everything acknowledged survived");
    again.stop().await;
}

/// A scenario file: header, initial state, then `events` lines, gzipped.
fn scenario(events: &[Value], announced: usize) -> Vec<u8> {
    let header = json!({"format": "vigie-scenario", "version": 1, "name": "x", "from_ms": T0_MS - 1000, "to_ms": T0_MS + 1_000_000, "exported_at_ms": T0_MS, "events": announced});
    let state = json!({"state": serde_json::from_str::<Value>(&serde_json::to_string(&vigie_domain::State::default()).unwrap()).unwrap()});
    let mut text = format!("{header}\n{state}\n");
    for e in events {
        text.push_str(&format!("{e}\n"));
    }
    gzip(text.as_bytes())
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut out, bytes).unwrap();
    out.finish().unwrap()
}

fn note_event(seq: u64) -> Value {
    json!({"seq": seq, "at_ms": T0_MS, "actor": "d", "event": {"type": "note_added", "incident_id": 1, "text": "x"}})
}

async fn upload(app: &TestApp, file: Vec<u8>) -> (u16, Value) {
    app.send(
        app.http.post(format!("{}/api/v1/scenarios", app.base)).header("content-type", "application/gzip").body(file),
    )
    .await
}

async fn import_outcome(app: &TestApp, file: Vec<u8>) -> Value {
    let (status, body) = upload(app, file).await;
    assert_eq!(status, 202, "{body}");
    wait_job(app, body["job_id"].as_u64().unwrap()).await
}

#[tokio::test]
async fn imports_that_fail_early_end_their_job_and_hostile_files_are_refused_with_their_line() {
    let app = spawn_app().await;
    // A seq gap at the first event, in a file large enough to fill the reader's channel: the job
    // used to stay running forever, holding a blocking thread.
    let mut events: Vec<Value> = vec![note_event(5)];
    events.extend((6..30_000).map(note_event));
    for _ in 0..3 {
        let view = import_outcome(&app, scenario(&events, events.len())).await;
        assert_eq!(view["state"], "failed", "{view}");
        assert!(view["error"].as_str().unwrap().contains("line 3: event 5 follows 0"), "{view}");
    }
    let fine = import_outcome(&app, scenario(&[note_event(1)], 1)).await;
    assert_eq!(fine["state"], "done", "{fine}");

    let cases: Vec<(Vec<u8>, &str)> = vec![
        // Megabytes of blank lines in a small file.
        (gzip(format!("{}\n", "\n".repeat(80 << 20)).as_bytes()), "line 1 is blank"),
        (gzip(format!("{}\n", "x".repeat(5 << 20)).as_bytes()), "line 1 is longer than 4 MiB"),
        (
            scenario(
                &[
                    json!({"seq": 1, "at_ms": T0_MS, "actor": "d", "event": {"type": "positions_reported", "fixes": [{"unit_id": 1, "position": {"lon": 1e308, "lat": 0.0}, "heading_deg": null, "speed_mps": null, "accuracy_m": null, "reported_at_ms": T0_MS}]}}),
                ],
                1,
            ),
            "line 3 is not an event",
        ),
        (
            scenario(
                &[
                    json!({"seq": 1, "at_ms": T0_MS, "actor": "d", "event": {"type": "agency_registered", "agency": {"code": "XX", "short_name": "x", "full_name": "x", "kind": "police", "country": "FR", "colour": "#000;background-image:url(//x)"}}}),
                ],
                1,
            ),
            "line 3 is not an event",
        ),
        (
            scenario(
                &[
                    json!({"seq": 1, "at_ms": T0_MS, "actor": "d", "event": {"type": "incident_created", "incident_id": 1, "kind": "fire", "priority": "P1", "location": {"lon": 2.3, "lat": 48.8}, "area": null, "address": "x".repeat(100_000), "lead_agency": "PP"}}),
                ],
                1,
            ),
            "line 3: event.address",
        ),
        (
            scenario(
                &[
                    json!({"seq": 1, "at_ms": i64::MIN, "actor": "d", "event": {"type": "note_added", "incident_id": 1, "text": "x"}}),
                ],
                1,
            ),
            "line 3: at_ms",
        ),
    ];
    for (file, why) in cases {
        let view = import_outcome(&app, file).await;
        assert_eq!(view["state"], "failed", "{why}: {view}");
        let error = view["error"].as_str().unwrap();
        assert!(error.contains(why), "expected {why:?} in {error:?}");
        assert!(!error.contains('/') || error.contains("url(//x)"), "no server paths in {error:?}");
    }
    let (_, list) = app.get("/api/v1/scenarios").await;
    assert_eq!(list["scenarios"].as_array().unwrap().len(), 1, "refused files leave nothing");
    assert_eq!(std::fs::read_dir(app.dir.path().join("vigie-jobs")).unwrap().count(), 0, "nor any file");

    // Cross-site or mislabelled uploads and non-gzip bodies are refused before anything is stored.
    let form = app
        .http
        .post(format!("{}/api/v1/scenarios", app.base))
        .header("content-type", "text/plain")
        .body(scenario(&[], 0));
    assert_eq!(app.send(form).await.0, 415);
    let cross = app
        .http
        .post(format!("{}/api/v1/scenarios", app.base))
        .header("content-type", "application/gzip")
        .header("origin", "http://evil.example")
        .body(scenario(&[], 0));
    assert_eq!(app.send(cross).await.0, 403);
    let (status, body) = upload(&app, b"PK\x03\x04 a zip".to_vec()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (415, Some("not_gzip")), "{body}");
    app.stop().await;
}

#[tokio::test]
async fn times_and_seqs_near_the_integer_limits_are_refused_at_the_edge_and_replay_keeps_working() {
    let app = spawn_app().await;
    app.seed(1).await;
    let far = i64::MAX - 10;
    let (status, body) = app.post("/api/v1/replays", json!({"from_ms": far - 1_000_000, "to_ms": far})).await;
    assert_eq!(status, 422, "{body}");
    assert_error(&body, "invalid", Some("from_ms"));
    let (status, body) = app
        .post(
            "/api/v1/exports",
            json!({"from_ms": -9_000_000_000_000_000_000i64, "to_ms": 9_000_000_000_000_000_000i64}),
        )
        .await;
    assert_eq!(status, 422, "the whole log may not be exported by wrapping the window: {body}");
    let (status, body) = app.get(&format!("/api/v1/history/state?at_ms={}", i64::MAX)).await;
    assert_eq!(status, 422, "{body}");
    assert_error(&body, "invalid", Some("at_ms"));
    let (status, body) = app.get("/api/v1/events?after_seq=9223372036854775808").await;
    assert_eq!(status, 400, "{body}");
    assert_error(&body, "bad_request", Some("after_seq"));
    let (status, body) = app.get(&format!("/api/v1/events?from_ms={}", i64::MIN)).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(app.get("/api/v1/stream?since=9223372036854775808").await.0, 400);
    let report = json!({"reports": [{"unit_id": 1, "lon": 2.3, "lat": 48.8, "reported_at_ms": i64::MIN}]});
    assert_eq!(app.post("/api/v1/positions", report).await.0, 422);

    // A session whose window ends late, played at 60× then paused, leaves replay working.
    let (status, body) =
        app.post("/api/v1/replays", json!({"from_ms": T0_MS - 60_000, "to_ms": vigie_domain::time::LATEST_MS})).await;
    assert_eq!(status, 422, "a window of centuries is refused: {body}");
    let (status, started) =
        app.post("/api/v1/replays", json!({"from_ms": T0_MS - 60_000, "to_ms": T0_MS + 30 * 86_400_000})).await;
    assert_eq!(status, 201, "{started}");
    let (id, key) = (started["session_id"].as_str().unwrap(), started["trainer_key"].as_str().unwrap());
    let control = |body: Value| {
        app.http
            .post(format!("{}/api/v1/replays/{id}/control", app.base))
            .header("x-vigie-trainer-key", key)
            .json(&body)
    };
    assert_eq!(app.send(control(json!({"action": "speed", "speed": 60}))).await.0, 200);
    assert_eq!(app.send(control(json!({"action": "play"}))).await.0, 200);
    app.clock.advance_ms(i64::MAX / 2);
    assert_eq!(app.send(control(json!({"action": "pause"}))).await.0, 200);
    assert_eq!(app.send(control(json!({"action": "seek", "at_ms": i64::MAX}))).await.0, 422);
    assert_eq!(app.get("/api/v1/replays").await.0, 200, "the registry still answers");
    assert_eq!(app.get(&format!("/api/v1/replays/{id}")).await.0, 200);
    app.stop().await;
}

#[tokio::test]
async fn a_page_from_another_host_or_site_cannot_read_or_drive_the_room() {
    let app = spawn_app().await;
    let rebound = |path: &str| {
        app.http.get(format!("{}{path}", app.base)).header("host", format!("rebind.evil.example:{}", addr(&app).port()))
    };
    for path in ["/api/v1/state", "/healthz", "/", "/api/v1/stream"] {
        let (status, body) = app.send(rebound(path)).await;
        assert_eq!(status, 421, "{path}: {body}");
    }
    let post = app
        .http
        .post(format!("{}/api/v1/incidents", app.base))
        .header("origin", "http://evil.example")
        .json(&json!({}));
    let (status, body) = app.send(post).await;
    assert_eq!(status, 403, "{body}");
    assert_error(&body, "cross_site", None);
    let mut request = format!("{}/api/v1/stream", app.ws_base).into_client_request().unwrap();
    request.headers_mut().insert("host", format!("rebind.evil.example:{}", addr(&app).port()).parse().unwrap());
    request
        .headers_mut()
        .insert("origin", format!("http://rebind.evil.example:{}", addr(&app).port()).parse().unwrap());
    assert!(tokio_tungstenite::connect_async(request).await.is_err(), "a rebinding page gets no stream");

    // Every answer forbids framing and sniffing.
    let response = app.http.get(format!("{}/", app.base)).send().await.unwrap();
    let header = |name: &str| response.headers()[name].to_str().unwrap().to_owned();
    let (csp, nosniff, referrer) =
        (header("content-security-policy"), header("x-content-type-options"), header("referrer-policy"));
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let scripts = csp.split(';').find(|d| d.trim().starts_with("script-src")).unwrap_or_default().to_owned();
    assert!(!scripts.contains("unsafe-inline"), "no inline script but the page's own: {csp}");
    assert_eq!((nosniff.as_str(), referrer.as_str()), ("nosniff", "no-referrer"));
    let page = response.text().await.unwrap();
    let nonce =
        csp.split("'nonce-").nth(1).and_then(|n| n.split('\'').next()).expect("the page's policy names its nonce");
    assert!(page.contains(&format!("nonce=\"{nonce}\"")), "the bootstrap carries the policy's nonce");
    let api = app.http.get(format!("{}/api/v1/state", app.base)).send().await.unwrap();
    assert_eq!(api.headers()["x-content-type-options"], "nosniff");
    assert!(!api.headers()["content-security-policy"].to_str().unwrap().contains("nonce"));
    app.stop().await;
}

#[tokio::test]
async fn pages_of_the_log_are_bounded_by_fixes_not_by_events() {
    let app = spawn_app().await;
    app.seed(2).await;
    let head_before = app.seq().await;
    let fixes: Vec<Value> = (0..10_000)
        .map(|i| json!({"unit_id": 1, "lon": 2.3, "lat": 48.8, "reported_at_ms": T0_MS - 1000 + i64::from(i)}))
        .collect();
    for _ in 0..7 {
        let (status, body) = app.post("/api/v1/positions", json!({"reports": fixes})).await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, page) = app.get(&format!("/api/v1/events?after_seq={head_before}&limit=5000")).await;
    assert_eq!(status, 200);
    let batches = page["events"].as_array().unwrap().len();
    assert_eq!(batches, 5, "50 000 fixes per page at most");
    let next = page["next_after_seq"].as_u64().expect("the page says more follow");
    let (_, rest) = app.get(&format!("/api/v1/events?after_seq={next}&limit=5000")).await;
    assert_eq!(rest["events"].as_array().unwrap().len(), 2);
    assert!(rest.get("next_after_seq").is_none());
    // A new stream client catches up through the same bounded pages, losing nothing.
    let mut ws = app.connect(Some(head_before)).await;
    let mut seen = Vec::new();
    while seen.len() < 7 {
        match next_message(&mut ws).await.expect("catch-up") {
            m @ vigie_domain::wire::ServerMessage::Positions { .. } => seen.push(m.seq()),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(seen, ((head_before + 1)..=(head_before + 7)).collect::<Vec<_>>());
    app.stop().await;
}

#[tokio::test]
async fn a_flood_of_large_bodies_is_shed_with_503_and_retry_after_and_loses_nothing_accepted() {
    let app = spawn_with(|c| {
        c.intake_bytes = 256 * 1024;
        c.request_timeout_ms = 8_000;
    })
    .await;
    app.seed(1).await;
    // A client declares a large body and sends it slowly: it holds the whole intake.
    let mut hog = connect_from(&app, [127, 0, 0, 5]).await;
    let head = format!("POST /api/v1/positions HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 300000\r\n\r\n{{", addr(&app), app.tokens["pp"]);
    hog.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let response = app
        .as_("bspp")
        .http
        .post(format!("{}/api/v1/incidents/1/notes", app.base))
        .json(&json!({"text": "waits, then is shed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(1_500) && waited < Duration::from_secs(5), "a bounded wait: {waited:?}");
    drop(hog);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let before = app.seq().await;
    assert_eq!(
        app.as_("bspp").post("/api/v1/incidents/1/notes", json!({"text": "accepted"})).await.0,
        201,
        "the intake is free again"
    );
    assert_eq!(app.seq().await, before + 1);
    app.stop().await;
}

#[tokio::test]
async fn caps_on_what_the_room_holds_answer_a_clear_refusal() {
    let app = spawn_app().await;
    app.seed(1).await;
    for i in 0..vigie_domain::command::MAX_NOTES_PER_INCIDENT {
        assert_eq!(
            app.as_("bspp").post("/api/v1/incidents/1/notes", json!({"text": format!("note {i}")})).await.0,
            201
        );
    }
    let (status, body) = app.as_("bspp").post("/api/v1/incidents/1/notes", json!({"text": "one too many"})).await;
    assert_eq!(status, 409, "{body}");
    assert_error(&body, "limit_reached", None);

    let (_, posted) = app
        .post(
            "/api/v1/messages",
            json!({"channel_id": "room", "priority": "flash", "body": "ack me", "ack_required": true}),
        )
        .await;
    let message = posted["message_id"].as_u64().unwrap();
    let running = app.running.as_ref().unwrap();
    for i in 0..=vigie_domain::command::MAX_ACKS_PER_MESSAGE {
        let token = add_account(running, &format!("op-{i}"), "PP", &[vigie_domain::authority::Role::Dispatcher]).await;
        let ack = client_with(&token).post(format!("{}/api/v1/messages/{message}/acks", app.base)).json(&json!({}));
        let (status, body) = app.send(ack).await;
        if i < vigie_domain::command::MAX_ACKS_PER_MESSAGE {
            assert_eq!(status, 201, "{body}");
            continue;
        }
        assert_eq!(status, 409, "{body}");
        assert_error(&body, "limit_reached", Some("message_id"));
    }

    for _ in 0..vigie::replay::MAX_SESSIONS {
        assert_eq!(app.post("/api/v1/replays", json!({"from_ms": T0_MS - 60_000, "to_ms": T0_MS})).await.0, 201);
    }
    let (status, body) = app.post("/api/v1/replays", json!({"from_ms": T0_MS - 60_000, "to_ms": T0_MS})).await;
    assert_eq!(status, 409, "{body}");
    assert_error(&body, "limit_reached", None);
    app.clock.advance_ms(vigie::replay::SESSION_IDLE_MS + 1);
    assert_eq!(
        app.post("/api/v1/replays", json!({"from_ms": T0_MS - 60_000, "to_ms": T0_MS})).await.0,
        201,
        "idle sessions expired"
    );
    assert_eq!(app.get("/api/v1/replays").await.1["sessions"].as_array().unwrap().len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_failed_commit_changes_nothing_an_ambiguous_one_is_published_and_health_tells_the_truth() {
    let app = spawn_app().await;
    app.seed(1).await;
    let store = app.running.as_ref().unwrap().state.store.clone();
    let seq = app.seq().await;

    store.inject_fault(Fault::BeforeCommit);
    let (status, body) = app.as_("bspp").post("/api/v1/incidents/1/notes", json!({"text": "lost?"})).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(app.seq().await, seq, "nothing was committed, nothing published");
    assert_eq!(
        app.as_("bspp").post("/api/v1/incidents/1/notes", json!({"text": "after"})).await.0,
        201,
        "the writer is in step again"
    );
    assert_eq!(app.seq().await, seq + 1);

    store.inject_fault(Fault::AfterCommit);
    let (status, body) =
        app.as_("bspp").post("/api/v1/incidents/1/notes", json!({"text": "committed despite the error"})).await;
    assert_eq!(status, 201, "the log holds it, so it is acknowledged: {body}");
    assert_eq!(app.seq().await, seq + 2);
    let (status, health) = app.get("/healthz").await;
    assert_eq!((status, health["writer"].as_str()), (200, Some("ok")), "{health}");

    // The room equals the folded log, with no gap.
    let room = app.state().await;
    let dir = app.stop().await;
    let again = spawn_in(dir, |_| {}).await;
    assert_eq!(again.state().await, room);
    again.stop().await;
}

#[tokio::test]
async fn a_value_of_the_wrong_type_is_a_422_naming_its_field() {
    let app = spawn_app().await;
    app.seed(1).await;
    let bad = json!({"kind": 123, "priority": "P2", "location": {"lon": 2.3, "lat": 48.8}, "address": "x", "lead_agency": "BSPP"});
    let (status, body) = app.post("/api/v1/incidents", bad).await;
    assert_eq!(status, 422, "{body}");
    assert_error(&body, "invalid", Some("kind"));
    app.stop().await;
}

#[tokio::test]
async fn snapshot_spacing_survives_a_crash() {
    let dir = tempfile::TempDir::new().unwrap();
    let url = format!("sqlite://{}", dir.path().join("vigie.db").display());
    let store = vigie::store::Store::open(&url).await.unwrap();
    let fix = vigie_domain::Fix::parse(vigie_domain::UnitId(1), 2.3, 48.8, None, None, None, T0_MS).unwrap();
    let events: Vec<vigie_domain::LoggedEvent> = (1..=3)
        .map(|seq| vigie_domain::LoggedEvent {
            seq,
            at_ms: T0_MS,
            actor: "avl".into(),
            event: vigie_domain::Event::PositionsReported { fixes: vec![fix; 40] },
        })
        .collect();
    store.append(&events).await.unwrap();
    // No snapshot was written (as after a crash): the weight since the last one is the log's.
    let loaded = store.load_state().await.unwrap();
    assert_eq!((loaded.state.seq, loaded.weight_since_snapshot), (3, 120));
    store.close().await;
}

#[tokio::test]
async fn job_files_are_private_unpredictable_and_gone_after_a_restart() {
    use std::os::unix::fs::PermissionsExt;
    let app = spawn_app().await;
    app.seed(1).await;
    let (status, body) = app.post("/api/v1/exports", json!({"from_ms": T0_MS - 60_000, "to_ms": T0_MS + 60_000})).await;
    assert_eq!(status, 202, "{body}");
    let job = body["job_id"].as_u64().unwrap();
    assert_eq!(wait_job(&app, job).await["state"], "done");
    let dir = app.dir.path().join("vigie-jobs");
    assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
    assert_eq!(files.len(), 1);
    let name = files[0].file_name().into_string().unwrap();
    assert!(name.len() > 30 && !name.contains(&format!("-{job}.")), "an unpredictable name: {name}");
    assert_eq!(files[0].metadata().unwrap().permissions().mode() & 0o777, 0o600);
    // A link planted in the folder is never followed: the download refuses it.
    let stolen = app.dir.path().join("secret");
    std::fs::write(&stolen, "secret").unwrap();
    std::fs::remove_file(files[0].path()).unwrap();
    std::os::unix::fs::symlink(&stolen, files[0].path()).unwrap();
    let (status, _) = app.get(&format!("/api/v1/jobs/{job}/file")).await;
    assert_eq!(status, 500, "a symbolic link is not opened");
    let data = app.stop().await;
    let again = spawn_in(data, |_| {}).await;
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "a start empties the folder");
    again.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heavy_reads_all_at_once_do_not_hold_up_commands() {
    let app = spawn_with(|c| c.snapshot_every_events = 1_000_000).await;
    app.seed(2).await;
    let fixes: Vec<Value> = (0..10_000)
        .map(|i| json!({"unit_id": 1, "lon": 2.3, "lat": 48.8, "reported_at_ms": T0_MS - 1000 + i64::from(i)}))
        .collect();
    for _ in 0..10 {
        assert_eq!(app.post("/api/v1/positions", json!({"reports": fixes})).await.0, 200);
    }
    // Twenty seeks folding 100 000 fixes each, at once, beside commands.
    let mut readers = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (http, base) = (app.http.clone(), app.base.clone());
        readers.spawn(async move {
            http.get(format!("{base}/api/v1/history/state?at_ms={}", T0_MS + 1))
                .send()
                .await
                .map(|r| r.status().as_u16())
        });
    }
    let started = Instant::now();
    for i in 0..20 {
        let (status, body) =
            app.as_("bspp").post("/api/v1/incidents/1/notes", json!({"text": format!("during the reads {i}")})).await;
        assert_eq!(status, 201, "{body}");
    }
    let commands = started.elapsed();
    while let Some(read) = readers.join_next().await {
        assert_eq!(read.unwrap().unwrap(), 200);
    }
    assert!(commands < Duration::from_secs(10), "commands waited on readers: {commands:?}");
    app.stop().await;
}

#[tokio::test]
async fn health_says_unhealthy_when_the_store_cannot_be_reached() {
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz").await.0, 200);
    app.running.as_ref().unwrap().state.store.close().await;
    let (status, body) = app.get("/healthz").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["store"], "unreachable");
    let (status, body) = app.post("/api/v1/agencies", json!({"code": "PP", "short_name": "PP", "full_name": "PP", "kind": "police", "country": "FR", "colour": "#224466"})).await;
    assert_eq!(status, 503, "a command on a dead store is refused, not lost silently: {body}");
    assert!(!body.to_string().contains("sqlx") && !body.to_string().contains("pool"), "no internals: {body}");
    app.stop().await;
}

#[tokio::test]
async fn exports_and_imports_past_their_bound_are_refused_with_retry_after() {
    let app = spawn_app().await;
    app.seed(1).await;
    let state = app.running.as_ref().unwrap().state.clone();
    // Every export turn and the import turn taken, as by jobs still running.
    let exports = state.exporting.clone().try_acquire_many_owned(vigie::api::replay::MAX_EXPORTS as u32).unwrap();
    let import = state.importing.clone().try_acquire_owned().unwrap();
    let export = json!({"from_ms": T0_MS - 60_000, "to_ms": T0_MS + 60_000});
    let response = app.http.post(format!("{}/api/v1/exports", app.base)).json(&export).send().await.unwrap();
    assert_eq!((response.status().as_u16(), response.headers()["retry-after"].to_str().unwrap()), (429, "10"));
    let (status, body) = upload(&app, scenario(&[note_event(1)], 1)).await;
    assert_eq!(status, 429, "{body}");
    assert_error(&body, "import_running", None);
    drop((exports, import));
    let (status, body) = app.post("/api/v1/exports", export).await;
    assert_eq!(status, 202, "a turn given back is taken again: {body}");
    assert_eq!(import_outcome(&app, scenario(&[note_event(1)], 1)).await["state"], "done");
    app.stop().await;
}

#[tokio::test]
async fn a_client_that_stops_reading_a_response_is_cut_off_after_the_idle_time() {
    let app = spawn_with(|c| c.idle_timeout_ms = 1_000).await;
    app.seed(2).await;
    let fixes: Vec<Value> = (0..10_000)
        .map(|i| json!({"unit_id": 1, "lon": 2.3, "lat": 48.8, "reported_at_ms": T0_MS - 1000 + i64::from(i)}))
        .collect();
    for _ in 0..5 {
        assert_eq!(app.post("/api/v1/positions", json!({"reports": fixes})).await.0, 200);
    }
    // A response of several MB, far more than the sockets' buffers hold; the client reads none of it.
    let mut stalled = connect_from(&app, [127, 0, 0, 8]).await;
    let request = format!(
        "GET /api/v1/events?limit=5000 HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\r\n",
        addr(&app),
        app.tokens["pp"]
    );
    stalled.write_all(request.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    // Reading now yields what the kernel buffered, then the end: the server gave up on the rest.
    let mut got = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stalled.read_to_end(&mut got)).await;
    assert!(read.is_ok(), "the connection was closed");
    let head = String::from_utf8_lossy(&got[..got.len().min(2_000)]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .map(|v| v.trim().parse().unwrap())
        .unwrap_or(usize::MAX);
    assert!(length < usize::MAX, "the answer declared its length: {head}");
    assert!(got.len() < length, "the response was cut off ({} of {length} bytes)", got.len());
    assert_eq!(app.get("/healthz").await.0, 200);
    app.stop().await;
}

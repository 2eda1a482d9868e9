//! The bad-input matrix: each malformed, oversized, out-of-range or illegal request gets a precise
//! status and a JSON body naming the field, and nothing already committed is affected.

use futures_util::SinkExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use vigie_domain::wire::ServerMessage;

use crate::support::*;

fn incident(location: Value) -> Value {
    json!({"kind": "fire", "priority": "P2", "location": location, "address": "Rue X", "lead_agency": "BSPP"})
}

#[tokio::test]
async fn each_bad_request_is_refused_precisely_and_changes_nothing() {
    let app = spawn_app().await;
    app.seed(2).await;
    let before_seq = app.seq().await;
    let before = app.state().await;
    let url = |path: &str| format!("{}{path}", app.base);
    let raw =
        |path: &str, body: &'static str| app.http.post(url(path)).header("content-type", "application/json").body(body);
    // Incident 1 is BSPP's: its dispatcher works it.
    let bspp = app.as_("bspp").http;

    // (request, status, code, field)
    let cases: Vec<(reqwest::RequestBuilder, u16, &str, Option<&str>)> = vec![
        (raw("/api/v1/incidents", "{\"kind\": \"fire\","), 400, "malformed_json", None),
        (app.http.post(url("/api/v1/incidents")).body("kind=fire"), 415, "unsupported_media_type", None),
        (bspp.post(url("/api/v1/incidents")).json(&json!({"kind": "fire", "priority": "P2", "location": {"lon": 2.3, "lat": 48.8}, "address": "x", "lead_agency": "BSPP", "colour": "red"})), 422, "invalid", Some("colour")),
        (bspp.post(url("/api/v1/incidents")).json(&json!({"kind": "fire", "priority": "P2", "address": "x", "lead_agency": "BSPP"})), 422, "invalid", None),
        (bspp.post(url("/api/v1/incidents")).json(&json!({"kind": "volcano", "priority": "P2", "location": {"lon": 2.3, "lat": 48.8}, "address": "x", "lead_agency": "BSPP"})), 422, "invalid", Some("kind")),
        (bspp.post(url("/api/v1/incidents")).json(&incident(json!({"lon": 2.3, "lat": 95.0}))), 422, "invalid", Some("location.lat")),
        (bspp.post(url("/api/v1/incidents")).json(&incident(json!({"lon": -181.0, "lat": 48.0}))), 422, "invalid", Some("location.lon")),
        (bspp.post(url("/api/v1/incidents")).json(&incident(json!({"lon": 2.3, "lat": "north"}))), 422, "invalid", Some("location.lat")),
        (bspp.post(url("/api/v1/incidents")).json(&json!({"kind": "fire", "priority": "P2", "location": {"lon": 2.3, "lat": 48.8}, "address": "x", "lead_agency": "FBI"})), 403, "forbidden", Some("lead_incidents")),
        (bspp.post(url("/api/v1/incidents")).json(&json!({"kind": "fire", "priority": "P2", "location": {"lon": 2.3, "lat": 48.8}, "area": [[2.3, 48.8], [2.4, 91.0], [2.4, 48.9]], "address": "x", "lead_agency": "BSPP"})), 422, "invalid", Some("area[1].lat")),
        (app.http.post(url("/api/v1/positions")).json(&json!({"reports": [{"unit_id": 1, "lon": 2.3, "lat": 48.8, "reported_at_ms": T0_MS}, {"unit_id": 2, "lon": 200.0, "lat": 48.8, "reported_at_ms": T0_MS}]})), 422, "invalid", Some("reports[1].lon")),
        (app.http.post(url("/api/v1/positions")).json(&json!({"reports": [{"unit_id": 1, "lon": 2.3, "lat": 48.8, "speed_mps": 900, "reported_at_ms": T0_MS}]})), 422, "invalid", Some("reports[0].speed_mps")),
        (app.http.post(url("/api/v1/positions")).json(&json!({"reports": [{"unit_id": 1, "lon": 2.3, "lat": 48.8, "reported_at_ms": T0_MS}, {"unit_id": 99, "lon": 2.3, "lat": 48.8, "reported_at_ms": T0_MS}]})), 404, "not_found", Some("reports[1].unit_id")),
        (app.http.post(url("/api/v1/positions")).json(&json!({"reports": [{"unit_id": 1, "lon": 2.3, "lat": 48.8, "reported_at_ms": T0_MS + 3_600_000}]})), 422, "invalid", Some("reports[0].reported_at")),
        (app.http.post(url("/api/v1/positions")).json(&json!({"reports": []})), 422, "invalid", Some("reports")),
        (app.http.post(url("/api/v1/incidents/1/assignments")).json(&json!({"unit_id": 42})), 404, "not_found", Some("unit_id")),
        (app.http.post(url("/api/v1/incidents/77/status")).json(&json!({"status": "closed"})), 404, "not_found", Some("incident_id")),
        (bspp.post(url("/api/v1/incidents/1/status")).json(&json!({"status": "contained"})), 409, "conflict", Some("status")),
        (app.http.post(url("/api/v1/units/1/status")).json(&json!({"status": "on_scene"})), 409, "conflict", Some("status")),
        (app.http.post(url("/api/v1/units")).json(&json!({"callsign": "u-0", "agency": "PP", "kind": "patrol_car"})), 409, "conflict", Some("callsign")),
        (app.http.post(url("/api/v1/units")).json(&json!({"callsign": "X", "agency": "pp", "kind": "patrol_car"})), 422, "invalid", Some("agency")),
        (app.http.post(url("/api/v1/units/abc/status")).json(&json!({"status": "available"})), 400, "bad_path", None),
        (app.http.post(url("/api/v1/messages")).json(&json!({"channel_id": "incident-1", "priority": "flash", "body": "x"})), 403, "forbidden", Some("post_messages")),
        (app.http.post(url("/api/v1/messages")).json(&json!({"channel_id": "room", "sender_agency": "BSPP", "priority": "flash", "body": "x"})), 403, "forbidden", Some("post_messages")),
        (app.http.post(url("/api/v1/messages")).json(&json!({"channel_id": "room", "sender_agency": "PP", "priority": "flash", "body": "x".repeat(2001)})), 422, "invalid", Some("body")),
        (app.http.get(url("/api/v1/events?limit=0")), 400, "bad_request", Some("limit")),
        (app.http.get(url("/api/v1/events?limit=abc")), 400, "bad_query", None),
        (app.http.get(url("/api/v1/events?from_ms=10&to_ms=5")), 400, "bad_request", Some("to_ms")),
        (app.http.get(url("/api/v1/nothing-here")), 404, "no_such_endpoint", None),
    ];
    for (i, (request, status, code, field)) in cases.into_iter().enumerate() {
        let (got, body) = app.send(request).await;
        assert_eq!(got, status, "case {i}: {body}");
        assert_error(&body, code, field);
    }

    assert_eq!(app.seq().await, before_seq, "no refused request appended anything");
    assert_eq!(app.state().await, before, "no refused request changed the room");
    app.stop().await;
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_413() {
    let app = spawn_app().await;
    app.seed(1).await;
    let huge_note = json!({"text": "x".repeat(100 * 1024)});
    let (status, body) = app.as_("bspp").post("/api/v1/incidents/1/notes", huge_note).await;
    assert_eq!(status, 413, "{body}");
    assert_error(&body, "too_large", None);

    let report = json!({"unit_id": 1, "lon": 2.3, "lat": 48.8, "heading_deg": 10.0, "speed_mps": 1.0, "accuracy_m": 1.0, "reported_at_ms": T0_MS});
    let too_many: Vec<Value> = (0..10_001).map(|_| report.clone()).collect();
    let (status, body) = app.post("/api/v1/positions", json!({"reports": too_many})).await;
    assert_eq!(status, 422, "10 001 reports fit in 4 MiB but are over the count: {body}");
    assert_error(&body, "invalid", Some("reports"));
    let padded: Vec<Value> = (0..40_000).map(|_| report.clone()).collect();
    let (status, _) = app.post("/api/v1/positions", json!({"reports": padded})).await;
    assert_eq!(status, 413);
    assert_eq!(app.as_("bspp").post("/api/v1/incidents/1/notes", json!({"text": "still fine"})).await.0, 201);
    app.stop().await;
}

#[tokio::test]
async fn the_stream_refuses_other_origins_and_bad_client_messages() {
    let app = spawn_with(|c| c.allowed_origins = vec!["http://ops-wall.local".into()]).await;
    let token = app.tokens["pp"].clone();
    let with_origin = |origin: &str| {
        let mut request = format!("{}/api/v1/stream", app.ws_base).into_client_request().unwrap();
        request.headers_mut().insert("origin", origin.parse().unwrap());
        request.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
        request
    };
    let refused = tokio_tungstenite::connect_async(with_origin("http://evil.example")).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 403),
        other => panic!("a foreign origin was let in: {other:?}"),
    }
    assert!(tokio_tungstenite::connect_async(with_origin("http://ops-wall.local")).await.is_ok());
    let own = app.base.clone();
    assert!(tokio_tungstenite::connect_async(with_origin(&own)).await.is_ok(), "same origin is allowed");

    let (status, body) = app.get("/api/v1/stream").await;
    assert!((400..500).contains(&status), "a plain GET is not an upgrade: {status}");
    assert_error(&body, "not_a_websocket", None);
    let (status, _) = app.get("/api/v1/stream?since=abc").await;
    assert_eq!(status, 400);

    let mut ws = app.connect(None).await;
    assert!(matches!(next_message(&mut ws).await, Some(ServerMessage::Snapshot { .. })));
    ws.send(Message::text(r#"{"type":"launch_missiles"}"#)).await.unwrap();
    assert!(matches!(next_message(&mut ws).await, Some(ServerMessage::Error { .. })));
    ws.send(Message::text(r#"{"type":"ping"}"#)).await.unwrap();
    assert!(matches!(next_message(&mut ws).await, Some(ServerMessage::Heartbeat { .. })));
    ws.send(Message::text("x".repeat(64 * 1024))).await.unwrap();
    assert!(next_message(&mut ws).await.is_none(), "an oversized client message closes that stream");
    assert_eq!(app.get("/healthz").await.0, 200, "and only that stream");
    app.stop().await;
}

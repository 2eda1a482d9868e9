//! The command and query API over real HTTP: each command's effect and answer.

use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn an_incident_goes_through_its_lifecycle_over_http() {
    let app = spawn_app().await;
    app.seed(3).await;
    let bspp = app.as_("bspp");
    let (status, body) = bspp.post("/api/v1/incidents/1/assignments", json!({"unit_id": 2})).await;
    assert_eq!(status, 200, "{body}");
    let kinds: Vec<&str> =
        body["events"].as_array().unwrap().iter().map(|e| e["event"]["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["unit_assigned", "unit_status_changed", "incident_status_changed"]);
    assert_eq!(body["seq"], body["events"][2]["seq"]);

    for status in ["on_scene", "contained"] {
        let (code, body) = bspp.post("/api/v1/incidents/1/status", json!({"status": status})).await;
        assert_eq!(code, 200, "{body}");
    }
    let note = bspp.post("/api/v1/incidents/1/notes", json!({"text": "Fire out"})).await;
    assert_eq!(note.0, 201);
    assert_eq!(note.1["events"][0]["actor"], "bspp@BSPP/dispatcher");
    assert_eq!(bspp.post("/api/v1/incidents/1/status", json!({"status": "closed"})).await.0, 200);

    let state = app.state().await;
    assert_eq!(state["incidents"]["1"]["status"], "closed");
    assert_eq!(state["incidents"]["1"]["notes"][0]["author"], "bspp@BSPP/dispatcher");
    assert_eq!(state["units"]["2"]["status"], "available", "closing released the unit");
    app.stop().await;
}

#[tokio::test]
async fn units_change_status_and_are_released() {
    let app = spawn_app().await;
    app.seed(2).await;
    assert_eq!(app.post("/api/v1/units/1/status", json!({"status": "out_of_service"})).await.0, 200);
    let bspp = app.as_("bspp");
    assert_eq!(bspp.post("/api/v1/incidents/1/assignments", json!({"unit_id": 2})).await.0, 200);
    assert_eq!(bspp.post("/api/v1/units/2/status", json!({"status": "en_route"})).await.0, 200);
    let released = bspp.delete("/api/v1/incidents/1/assignments/2").await;
    assert_eq!(released.0, 200, "{}", released.1);
    let state = app.state().await;
    assert_eq!(state["units"]["1"]["status"], "out_of_service");
    assert_eq!(state["units"]["2"]["status"], "available");
    app.stop().await;
}

#[tokio::test]
async fn positions_messages_and_acks_are_recorded() {
    let app = spawn_app().await;
    app.seed(2).await;
    let reports = json!({"reports": [
        {"unit_id": 1, "lon": 2.3522, "lat": 48.8566, "heading_deg": 90, "speed_mps": 12.5, "accuracy_m": 4, "reported_at_ms": T0_MS - 500},
        {"unit_id": 1, "lon": 2.3523, "lat": 48.8566, "heading_deg": 90, "speed_mps": 12.5, "accuracy_m": 4, "reported_at_ms": T0_MS - 400}
    ]});
    let (status, body) = app.post("/api/v1/positions", reports).await;
    assert_eq!((status, body["accepted"].as_u64()), (200, Some(2)), "{body}");
    // A batch naming another agency's unit is refused whole.
    let theirs = json!({"reports": [{"unit_id": 2, "lon": 2.2945, "lat": 48.8584, "reported_at_ms": T0_MS - 400}]});
    let (status, body) = app.post("/api/v1/positions", theirs).await;
    assert_eq!((status, body["error"]["field"].as_str()), (403, Some("report_positions")), "{body}");

    let channel = json!({"slug": "joint", "name": "Joint command", "members": ["PP", "BSPP"]});
    assert_eq!(app.post("/api/v1/channels", channel).await.0, 201);
    let message = json!({"channel_id": "inter-joint", "priority": "flash", "body": "<b>Evacuate</b> the quay", "ack_required": true});
    let (status, body) = app.post("/api/v1/messages", message).await;
    assert_eq!(status, 201, "{body}");
    let message_id = body["message_id"].as_u64().unwrap();
    let ack = app.as_("bspp").post(&format!("/api/v1/messages/{message_id}/acks"), json!({})).await;
    assert_eq!(ack.0, 201, "{}", ack.1);

    let state = app.state().await;
    assert_eq!(state["units"]["1"]["last_fix"]["position"]["lon"], 2.3523);
    assert_eq!(state["units"]["1"]["last_fix"]["heading_deg"], 90.0);
    let stored = &state["messages"][message_id.to_string()];
    assert_eq!(stored["body"], "<b>Evacuate</b> the quay", "stored verbatim; the UI renders it as text");
    assert_eq!(stored["acks"][0]["user"], "bspp@BSPP/dispatcher");
    assert_eq!(stored["acks"][0]["agency"], "BSPP");
    let (_, summary) = app.get("/api/v1/summary").await;
    assert_eq!(summary["summary"]["units_by_status"]["available"], 2);
    app.stop().await;
}

#[tokio::test]
async fn the_log_reads_by_seq_and_by_time_with_paging() {
    let app = spawn_app().await;
    app.seed(4).await; // 2 agencies + 4 units + 1 incident = seq 1..=7, all at T0
    app.clock.advance_ms(60_000);
    assert_eq!(app.as_("bspp").post("/api/v1/incidents/1/notes", json!({"text": "later"})).await.0, 201);

    let (_, page) = app.get("/api/v1/events?after_seq=0&limit=3").await;
    let seqs: Vec<u64> = page["events"].as_array().unwrap().iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [1, 2, 3]);
    assert_eq!(page["next_after_seq"], 3);
    assert_eq!(page["head_seq"], 8);
    let (_, last) = app.get("/api/v1/events?after_seq=6").await;
    assert_eq!(last["events"].as_array().unwrap().len(), 2);
    assert!(last.get("next_after_seq").is_none());

    let (_, later) = app.get(&format!("/api/v1/events?from_ms={}", T0_MS + 1)).await;
    let events = later["events"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["event"]["type"], "note_added");
    let (_, early) = app.get(&format!("/api/v1/events?from_ms={T0_MS}&to_ms={}", T0_MS + 1)).await;
    assert_eq!(early["events"].as_array().unwrap().len(), 7);

    // The timeline's view: the same log without position batches.
    let report = json!({"reports": [{"unit_id": 1, "lon": 2.35, "lat": 48.85, "reported_at_ms": T0_MS + 60_000}]});
    assert_eq!(app.post("/api/v1/positions", report).await.0, 200);
    let (_, all) = app.get("/api/v1/events?after_seq=7").await;
    assert_eq!(all["events"].as_array().unwrap().len(), 2);
    let (_, timeline) = app.get("/api/v1/events?after_seq=7&without_positions=true").await;
    let kinds: Vec<&str> =
        timeline["events"].as_array().unwrap().iter().map(|e| e["event"]["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["note_added"]);
    app.stop().await;
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let app = spawn_app().await;
    let (status, doc) = app.get("/api/v1/openapi.json").await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    // Generated from the table the router is built from: each route and method is documented, and
    // nothing documented is missing from the router.
    let table = vigie::api::routes(&app.running.as_ref().unwrap().state).table().to_vec();
    for route in &table {
        let method = route.method.as_str().to_lowercase();
        assert!(
            paths.get(route.path).and_then(|p| p.get(&method)).is_some(),
            "{} {} is not documented",
            route.method,
            route.path
        );
    }
    for (path, methods) in paths {
        for method in methods.as_object().unwrap().keys() {
            let known = table.iter().any(|r| r.path == path && r.method.as_str().eq_ignore_ascii_case(method));
            assert!(known, "{method} {path} is documented but not routed");
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn the_page_is_rendered_on_the_server_with_live_figures() {
    let app = spawn_app().await;
    app.seed(3).await;
    // The room: the incident queue is in the HTML before any script runs.
    let html = app.http.get(&app.base).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Vigie"), "{html}");
    assert!(html.contains(r#"data-testid="units-available""#), "{html}");
    assert!(html.contains(r#"data-testid="queue-INC-1""#), "the open incidents are server-rendered: {html}");
    assert!(html.contains("Quai de la Tournelle"), "with their address");
    // The overview: the latest events.
    let html = app.http.get(format!("{}/overview", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains(r#"data-testid="recent-events""#) && html.contains("Quai de la Tournelle"), "{html}");
    app.stop().await;
}

#[tokio::test]
async fn a_binary_built_by_plain_cargo_asks_for_the_wasm_that_cargo_leptos_writes() {
    // This test binary is built by plain `cargo test`, as `cargo build` builds the server: the page
    // must load `/pkg/vigie.wasm` (what cargo-leptos writes), never `/pkg/vigie_bg.wasm`.
    let app = spawn_app().await;
    let html = app.http.get(&app.base).send().await.unwrap().text().await.unwrap();
    assert!(
        html.contains("/pkg/vigie.wasm") || html.contains("\"vigie.wasm\"") || html.contains("'vigie.wasm'"),
        "{html}"
    );
    assert!(!html.contains("vigie_bg.wasm"), "a page that cannot hydrate: {html}");
    app.stop().await;
}

//! Durability: every acknowledged event survives a restart, from a snapshot plus the tail.

use serde_json::json;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_keeps_every_acknowledged_event() {
    let app = spawn_with(|c| c.snapshot_every_events = 50).await;
    app.seed(6).await;
    let mut acknowledged = Vec::new();
    for i in 0..240i64 {
        let (status, body) = match i % 4 {
            0 => app.as_("bspp").post("/api/v1/incidents/1/notes", json!({"text": format!("note {i}")})).await,
            1 => app.owner_of(1 + i as u64 % 6).post("/api/v1/positions", json!({"reports": [{"unit_id": 1 + i % 6, "lon": 2.35, "lat": 48.85 + i as f64 * 1e-5, "heading_deg": 12.34, "speed_mps": 7.77, "accuracy_m": 3.3, "reported_at_ms": T0_MS - i}]})).await,
            2 => app.owner_of(1 + i as u64 % 6).post(&format!("/api/v1/units/{}/status", 1 + i % 6), json!({"status": "out_of_service"})).await,
            _ => app.owner_of(1 + (i as u64 - 1) % 6).post(&format!("/api/v1/units/{}/status", 1 + (i - 1) % 6), json!({"status": "available"})).await,
        };
        assert!(status == 200 || status == 201, "{body}");
        acknowledged.push(body["seq"].as_u64().unwrap());
    }
    let before = app.state().await;
    let head = app.seq().await;
    let (_, events_before) = app.get("/api/v1/events?limit=5000").await;
    let dir = app.stop().await;

    let again = spawn_in(dir, |c| c.snapshot_every_events = 50).await;
    assert_eq!(again.seq().await, head);
    assert_eq!(again.state().await, before, "the room rebuilt from snapshot + tail is the room we left");
    let (_, events_after) = again.get("/api/v1/events?limit=5000").await;
    assert_eq!(events_after["events"], events_before["events"], "every event, byte for byte");
    let seqs: Vec<u64> =
        events_after["events"].as_array().unwrap().iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=head).collect::<Vec<_>>(), "gap-free");
    assert!(acknowledged.iter().all(|s| seqs.contains(s)));
    let (status, body) = again.as_("bspp").post("/api/v1/incidents/1/notes", json!({"text": "after restart"})).await;
    assert_eq!((status, body["seq"].as_u64()), (201, Some(head + 1)));
    again.stop().await;
}

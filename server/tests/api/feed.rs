//! The hub's typed feed of committed batches, and a publish that a repeating or reordering
//! source cannot corrupt.

use crate::support::T0_MS;

#[tokio::test]
async fn the_hub_ignores_repeated_batches_fills_holes_from_the_log_and_feeds_reactors_typed_batches() {
    let dir = tempfile::TempDir::new().unwrap();
    let store =
        vigie::store::Store::open(&format!("sqlite://{}", dir.path().join("vigie.db").display())).await.unwrap();
    let event = |seq: u64| vigie_domain::LoggedEvent {
        seq,
        at_ms: T0_MS,
        actor: "d".into(),
        event: vigie_domain::Event::NoteAdded { incident_id: vigie_domain::IncidentId(1), text: format!("n{seq}") },
    };
    let log: Vec<_> = (1..=6).map(event).collect();
    store.append(&log).await.unwrap();
    let hub = vigie::hub::Hub::new(vigie_domain::State::default(), 1 << 20);
    let mut feed = hub.feed();
    hub.publish(&log[0..2]).unwrap();
    hub.publish(&log[0..2]).unwrap(); // repeated: ignored
    hub.publish(&log[1..3]).unwrap(); // overlapping: only seq 3 is new
    assert_eq!(hub.publish(&log[4..6]), Err(vigie::hub::Gap { head: 3, first: 5 }), "a hole is refused whole");
    assert_eq!(hub.read(|s| s.seq), 3, "and changes nothing");
    hub.publish_filling(&store, &log[4..6]).await.unwrap();
    let mut expected = vigie_domain::State::default();
    log.iter().for_each(|e| expected.apply(e));
    assert_eq!(hub.read(|s| s.clone()), expected, "the room equals the folded log");
    let mut batches = Vec::new();
    while let Ok(batch) = feed.try_recv() {
        batches.push(batch.iter().map(|e| e.seq).collect::<Vec<_>>());
    }
    assert_eq!(batches, vec![vec![1, 2], vec![3], vec![4], vec![5, 6]], "each event reaches the feed once, in order");
    store.close().await;
}

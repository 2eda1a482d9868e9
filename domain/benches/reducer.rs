//! The reducer's hot path: deciding and folding a batch of 5 000 position reports, and the JSON
//! the stream sends for it. These bound what one core can ingest and fan out.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::hint::black_box;
use vigie_domain::*;

const UNITS: u32 = 5_000;
const NOW: i64 = 1_800_000_000_000;

fn room() -> State {
    let mut state = State::default();
    let mut seq = 0;
    let mut apply = |state: &mut State, event: Event| {
        seq += 1;
        state.apply(&LoggedEvent { seq, at_ms: NOW, actor: "bench".into(), event });
    };
    let agency = Agency::parse("PP", "PP", "Préfecture de police", AgencyKind::Police, "FR", "#2f6fde").unwrap();
    apply(&mut state, Event::AgencyRegistered { agency });
    for i in 1..=UNITS {
        apply(
            &mut state,
            Event::UnitRegistered {
                unit_id: UnitId(i),
                callsign: format!("U-{i}"),
                agency: AgencyCode::parse("PP").unwrap(),
                kind: UnitKind::PatrolCar,
                status: UnitStatus::Available,
                hidden_from: Default::default(),
                device_uid: None,
            },
        );
    }
    state
}

fn fixes(at_ms: i64) -> Vec<Fix> {
    (1..=UNITS)
        .map(|i| {
            let k = f64::from(i);
            Fix::parse(
                UnitId(i),
                2.3 + (k * 0.000_37) % 0.1,
                48.84 + (k * 0.000_23) % 0.05,
                Some(90.0),
                Some(10.0),
                Some(5.0),
                at_ms,
            )
            .unwrap()
        })
        .collect()
}

fn positions(c: &mut Criterion) {
    let state = room();
    let batch = fixes(NOW);
    let mut group = c.benchmark_group("positions_5000");
    group.throughput(Throughput::Elements(u64::from(UNITS)));
    group.bench_function("decide", |b| {
        let command = Command::ReportPositions { fixes: batch.clone() };
        b.iter(|| black_box(decide(&state, &command, "bench", NOW).unwrap()))
    });
    group.bench_function("apply", |b| {
        let event = LoggedEvent {
            seq: state.seq + 1,
            at_ms: NOW,
            actor: "bench".into(),
            event: Event::PositionsReported { fixes: batch.clone() },
        };
        b.iter_batched(|| state.clone(), |mut s| s.apply(black_box(&event)), BatchSize::LargeInput)
    });
    group.bench_function("to_json", |b| {
        let message = wire::ServerMessage::event(
            state.seq,
            &LoggedEvent {
                seq: state.seq + 1,
                at_ms: NOW,
                actor: "bench".into(),
                event: Event::PositionsReported { fixes: batch.clone() },
            },
        );
        b.iter(|| black_box(serde_json::to_vec(&message).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, positions);
criterion_main!(benches);

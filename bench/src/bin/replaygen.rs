//! Writes a synthetic log straight into a Vigie database, for the replay benchmarks: `units`
//! reporting every `every_s` seconds for `hours`, `incidents` spread over the time, each created,
//! announced on the room channel, given a note, dispatched, on scene after 5 min and closed after 30 — with a
//! snapshot every 200 000 fixes' worth of events, as the server writes them, and a signed checkpoint
//! after every commit (the room's key, created beside the database). Prints one JSON line: the window.

use clap::Parser;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Instant;
use vigie::store::Store;
use vigie_domain::{ChannelId, Event, Fix, LoggedEvent, State, UnitId};

#[derive(Parser)]
struct Args {
    /// `sqlite://PATH` of a database that does not exist yet.
    #[arg(long)]
    db: String,
    #[arg(long, default_value_t = 24.0)]
    hours: f64,
    #[arg(long, default_value_t = 2_000)]
    units: u32,
    #[arg(long, default_value_t = 10)]
    every_s: u32,
    #[arg(long, default_value_t = 5_000)]
    incidents: u32,
}

const T0_MS: i64 = 1_780_000_000_000;

/// The day's texts, so a search over the log meets a room's words (accents and all), not one
/// repeated string.
const STREETS: [&str; 24] = [
    "rue de Rivoli",
    "boulevard Saint-Michel",
    "quai de la Tournelle",
    "avenue des Champs-Élysées",
    "place de la Bastille",
    "rue du Faubourg-Saint-Antoine",
    "boulevard Haussmann",
    "rue Saint-Denis",
    "boulevard de Sébastopol",
    "place de la République",
    "rue de la Roquette",
    "avenue de l'Opéra",
    "quai d'Orsay",
    "rue Montorgueil",
    "boulevard Voltaire",
    "place d'Italie",
    "rue de Belleville",
    "avenue Jean-Jaurès",
    "rue de Vaugirard",
    "boulevard Barbès",
    "place de l'Hôtel-de-Ville",
    "rue Oberkampf",
    "avenue de Clichy",
    "quai de Jemmapes",
];
const KINDS: [(&str, &str); 4] = [
    ("fire", "feu d'appartement"),
    ("road_accident", "accident de la circulation"),
    ("medical_emergency", "malaise sur la voie publique"),
    ("public_order", "rixe, troubles à l'ordre public"),
];
const NOTES: [&str; 4] = [
    "Premier engin sur place, périmètre établi",
    "Victime prise en charge, évacuation vers la Pitié-Salpêtrière",
    "Circulation coupée, déviation mise en place par la préfecture",
    "Témoins entendus, renforts demandés",
];
const COMMIT_EVERY: usize = 20_000;

fn event(value: Value) -> Event {
    serde_json::from_value(value).expect("a valid event")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let started = Instant::now();
    let store = Store::open(&args.db).await?;
    anyhow::ensure!(
        store.seq_at(vigie::store::replay::Log::Live, i64::MAX).await? == 0,
        "{} already holds a log",
        args.db
    );
    let key = vigie::audit::key::LogKey::load_or_create(
        &vigie::audit::default_key_path(store.path()),
        vigie::config::DEFAULT_LOG_NAME,
    )?;
    let checkpoint = |store: &Store, at_ms: i64| {
        let (writer, head) = (store.writer().clone(), store.tree_head());
        let key = &key;
        async move { vigie::audit::checkpoint::sign_head(&writer, key, head, at_ms).await }
    };
    let seconds = (args.hours * 3600.0) as i64;
    let mut state = State::default();
    let (mut pending, mut weight, mut fixes_total) = (Vec::new(), 0u64, 0u64);
    // Future events by second: the incidents' later steps.
    let mut later: BTreeMap<i64, Vec<Event>> = BTreeMap::new();
    let mut at_second = vec![
        event(
            json!({"type": "agency_registered", "agency": {"code": "PP", "short_name": "PP", "full_name": "Préfecture de police", "kind": "police", "country": "FR", "colour": "#2f6fde"}}),
        ),
        event(
            json!({"type": "agency_registered", "agency": {"code": "BSPP", "short_name": "BSPP", "full_name": "Brigade de sapeurs-pompiers", "kind": "fire_rescue", "country": "FR", "colour": "#d1352b"}}),
        ),
    ];
    for u in 1..=args.units {
        let (agency, kind) = if u % 2 == 0 { ("PP", "patrol_car") } else { ("BSPP", "fire_engine") };
        at_second.push(event(json!({"type": "unit_registered", "unit_id": u, "callsign": format!("U-{u}"), "agency": agency, "kind": kind, "status": "available"})));
    }
    let incident_every = (seconds / i64::from(args.incidents.max(1))).max(1);
    let mut next_incident = 1u32;
    for s in 0..seconds {
        let at_ms = T0_MS + s * 1000;
        let slot = (s % i64::from(args.every_s)) as u32;
        let fixes: Vec<Fix> = (1..=args.units)
            .filter(|u| u % args.every_s == slot)
            .map(|u| {
                let phase = (s as f64 / 600.0) + f64::from(u);
                Fix::parse(
                    UnitId(u),
                    2.35 + 0.05 * phase.cos(),
                    48.86 + 0.03 * phase.sin(),
                    Some(90.0),
                    Some(10.0),
                    None,
                    at_ms,
                )
                .expect("a valid fix")
            })
            .collect();
        fixes_total += fixes.len() as u64;
        if !fixes.is_empty() {
            at_second.push(Event::PositionsReported { fixes });
        }
        if s % incident_every == 0 && next_incident <= args.incidents {
            let (id, unit) = (next_incident, (next_incident % args.units.max(1)) + 1);
            next_incident += 1;
            let (kind, what) = KINDS[id as usize % KINDS.len()];
            let address = format!("{} {}", 1 + id % 180, STREETS[id as usize % STREETS.len()]);
            at_second.push(event(json!({"type": "incident_created", "incident_id": id, "kind": kind, "priority": "P2", "location": {"lon": 2.35, "lat": 48.86}, "area": null, "address": address, "lead_agency": "BSPP"})));
            at_second.push(event(json!({"type": "message_posted", "message_id": id, "channel_id": ChannelId::room(), "sender_agency": "BSPP", "priority": "routine", "body": format!("INC-{id} ouvert : {what}, {address}"), "ack_required": false})));
            at_second.push(event(
                json!({"type": "note_added", "incident_id": id, "text": NOTES[id as usize % NOTES.len()]}),
            ));
            at_second.push(event(json!({"type": "unit_assigned", "incident_id": id, "unit_id": unit})));
            at_second
                .push(event(json!({"type": "incident_status_changed", "incident_id": id, "status": "dispatched"})));
            later
                .entry(s + 300)
                .or_default()
                .push(event(json!({"type": "incident_status_changed", "incident_id": id, "status": "on_scene"})));
            later
                .entry(s + 1800)
                .or_default()
                .push(event(json!({"type": "incident_status_changed", "incident_id": id, "status": "closed"})));
        }
        if let Some(due) = later.remove(&s) {
            at_second.extend(due);
        }
        for e in at_second.drain(..) {
            let logged = LoggedEvent { seq: state.seq + 1, at_ms, actor: "bench".into(), event: e };
            state.apply(&logged);
            weight += logged.event.weight();
            pending.push(logged);
            // Spaced as the server spaces them by default (event weight: one per fix).
            if weight >= vigie::config::DEFAULT_SNAPSHOT_EVERY {
                store.append(&pending).await?;
                checkpoint(&store, at_ms).await?;
                pending.clear();
                store.save_snapshot(&state).await?;
                weight = 0;
            }
        }
        if pending.len() >= COMMIT_EVERY {
            store.append(&pending).await?;
            checkpoint(&store, at_ms).await?;
            pending.clear();
        }
    }
    store.append(&pending).await?;
    checkpoint(&store, T0_MS + seconds * 1000).await?;
    store.save_snapshot(&state).await?;
    store.close().await;
    let line = json!({
        "bench": "replay_log", "hours": args.hours, "units": args.units, "every_s": args.every_s, "incidents": next_incident - 1,
        "events": state.seq, "fixes": fixes_total, "from_ms": T0_MS, "to_ms": T0_MS + seconds * 1000,
        "generate_s": (started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
    });
    println!("{line}");
    Ok(())
}

//! Load generator for Vigie (and for the Node `ws` peer in `bench/peer/`): loopback only, bounded
//! in count and time, one JSON line of figures per run.
//!
//! - `ingest`: position batches over HTTP as fast as acknowledged; positions/s durably committed
//!   and p50/p99 send→acknowledgement latency.
//! - `fanout`: N units reporting at R Hz while M WebSocket clients watch; deliveries/s, p50/p99
//!   ingest→receipt latency, resyncs, and the server's CPU-seconds and peak RSS (from /proc).

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use futures_util::StreamExt;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use vigie_bench::{check_loopback, client_with, now_ms, process_usage, ws_request, Histogram};

#[derive(Parser)]
struct Cli {
    /// Base URL of the server (loopback only).
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    url: String,
    /// The server's pid, to read its CPU time and peak RSS.
    #[arg(long)]
    pid: Option<u32>,
    /// Register the units first (Vigie; the peer needs none).
    #[arg(long)]
    register: bool,
    /// The API token the load generator acts with (registers, reports positions), as an AVL
    /// gateway would.
    #[arg(long, env = "VIGIE_TOKEN", default_value = "")]
    token: String,
    /// Tokens the stream clients read with, comma-separated, dealt round-robin: one per audience
    /// (agency) to measure the per-audience fan-out. Defaults to `--token`.
    #[arg(long, env = "VIGIE_READ_TOKENS", value_delimiter = ',')]
    read_tokens: Vec<String>,
    /// A name for the target in the output (`vigie`, `node-ws`).
    #[arg(long, default_value = "vigie")]
    target: String,
    #[command(subcommand)]
    run: Run,
}

#[derive(Subcommand)]
enum Run {
    Ingest {
        #[arg(long, default_value_t = 5_000)]
        units: u32,
        #[arg(long, default_value_t = 5_000)]
        batch: u32,
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    Fanout {
        #[arg(long, default_value_t = 5_000)]
        units: u32,
        #[arg(long, default_value_t = 1.0)]
        hz: f64,
        #[arg(long, default_value_t = 500)]
        clients: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Clients that parse every message for latency (the rest only count fixes).
        #[arg(long, default_value_t = 10)]
        timed_clients: usize,
        /// Units per request, requests spread evenly over each period: small batches make many
        /// small messages, where per-message costs (not byte copies) dominate.
        #[arg(long, default_value_t = 10_000)]
        batch: usize,
    },
}

async fn register(http: &reqwest::Client, url: &str, units: u32) -> anyhow::Result<Vec<u64>> {
    let agency = json!({"code": "BENCH", "short_name": "BENCH", "full_name": "Bench", "kind": "police", "country": "FR", "colour": "#888888"});
    http.post(format!("{url}/api/v1/agencies")).json(&agency).send().await?;
    let mut ids = Vec::with_capacity(units as usize);
    for chunk in (0..units).collect::<Vec<_>>().chunks(64) {
        let made = futures_util::future::join_all(chunk.iter().map(|i| {
            let body = json!({"callsign": format!("B-{i}"), "agency": "BENCH", "kind": "patrol_car"});
            http.post(format!("{url}/api/v1/units")).json(&body).send()
        }))
        .await;
        for response in made {
            let v: Value = response?.json().await?;
            ids.push(v["unit_id"].as_u64().context("unit_id in the answer")?);
        }
    }
    Ok(ids)
}

fn batch(ids: &[u64], step: u64) -> Value {
    let at = now_ms();
    let reports: Vec<Value> = ids
        .iter()
        .map(|id| {
            let k = (*id + step) as f64;
            json!({"unit_id": id, "lon": 2.3 + (k * 0.000_37) % 0.1, "lat": 48.84 + (k * 0.000_23) % 0.05,
                   "heading_deg": (k * 7.0) % 360.0, "speed_mps": 10.0, "reported_at_ms": at})
        })
        .collect();
    json!({ "reports": reports })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    check_loopback(&cli.url)?;
    let http = client_with(&cli.token, None)?;
    let read_tokens = if cli.read_tokens.is_empty() { vec![cli.token.clone()] } else { cli.read_tokens.clone() };
    let before = cli.pid.and_then(process_usage);
    let result = match cli.run {
        Run::Ingest { units, batch: size, concurrency, seconds } => {
            let ids: Vec<u64> =
                if cli.register { register(&http, &cli.url, units).await? } else { (1..=units as u64).collect() };
            let committed = Arc::new(AtomicU64::new(0));
            let latencies = Arc::new(Mutex::new(Histogram::default()));
            let deadline = Instant::now() + Duration::from_secs(seconds);
            let started = Instant::now();
            let workers: Vec<_> = (0..concurrency)
                .map(|w| {
                    let (http, url, ids) = (http.clone(), cli.url.clone(), ids.clone());
                    let (committed, latencies) = (committed.clone(), latencies.clone());
                    tokio::spawn(async move {
                        let mut step = w as u64;
                        while Instant::now() < deadline {
                            for chunk in ids.chunks(size as usize) {
                                let body = batch(chunk, step);
                                let sent = Instant::now();
                                let ok = http
                                    .post(format!("{url}/api/v1/positions"))
                                    .json(&body)
                                    .send()
                                    .await
                                    .is_ok_and(|r| r.status().is_success());
                                if ok {
                                    committed.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                                    latencies.lock().unwrap().record(sent.elapsed().as_millis() as i64);
                                }
                            }
                            step += concurrency as u64;
                        }
                    })
                })
                .collect();
            for w in workers {
                w.await?;
            }
            let elapsed = started.elapsed().as_secs_f64();
            let h = latencies.lock().unwrap();
            json!({
                "bench": "ingest", "target": cli.target, "units": units, "batch": size, "concurrency": concurrency,
                "positions_committed": committed.load(Ordering::Relaxed),
                "positions_per_s": (committed.load(Ordering::Relaxed) as f64 / elapsed).round(),
                "ack_p50_ms": h.quantile(0.5), "ack_p99_ms": h.quantile(0.99), "requests": h.count,
            })
        }
        Run::Fanout { units, hz, clients, seconds, timed_clients, batch: per_request } => {
            anyhow::ensure!(per_request > 0, "--batch must be at least 1");
            let ids: Vec<u64> =
                if cli.register { register(&http, &cli.url, units).await? } else { (1..=units as u64).collect() };
            let ws_url = cli.url.replacen("http://", "ws://", 1) + "/api/v1/stream";
            let fixes = Arc::new(AtomicU64::new(0));
            let resyncs = Arc::new(AtomicU64::new(0));
            let dropped = Arc::new(AtomicU64::new(0));
            let latencies = Arc::new(Mutex::new(Histogram::default()));
            let measuring = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let mut sockets = Vec::new();
            for c in 0..clients {
                let (ws, _) =
                    tokio_tungstenite::connect_async(ws_request(&ws_url, &read_tokens[c % read_tokens.len()])?)
                        .await
                        .with_context(|| format!("client {c} connecting"))?;
                sockets.push(ws);
            }
            let readers: Vec<_> = sockets
                .into_iter()
                .enumerate()
                .map(|(c, mut ws)| {
                    let (fixes, resyncs, dropped, latencies, measuring) =
                        (fixes.clone(), resyncs.clone(), dropped.clone(), latencies.clone(), measuring.clone());
                    tokio::spawn(async move {
                        while let Some(message) = ws.next().await {
                            let Ok(tokio_tungstenite::tungstenite::Message::Text(text)) = message else {
                                if message.is_err() {
                                    dropped.fetch_add(1, Ordering::Relaxed);
                                }
                                continue;
                            };
                            if !measuring.load(Ordering::Relaxed) {
                                continue;
                            }
                            let text = text.as_str();
                            // Counting is a scan; only a few clients pay for parsing. A `positions`
                            // message's fixes are arrays inside its `fixes` array, nothing else nests.
                            if text.starts_with("{\"type\":\"positions\"") {
                                fixes.fetch_add(text.matches('[').count().saturating_sub(1) as u64, Ordering::Relaxed);
                            }
                            if text.starts_with("{\"type\":\"resync\"") {
                                resyncs.fetch_add(1, Ordering::Relaxed);
                            }
                            if c < timed_clients {
                                let received = now_ms();
                                if let Ok(v) = serde_json::from_str::<Value>(text) {
                                    let mut h = latencies.lock().unwrap();
                                    for f in v["fixes"].as_array().into_iter().flatten() {
                                        if let Some(at) = f[6].as_i64() {
                                            h.record(received - at);
                                        }
                                    }
                                }
                            }
                        }
                    })
                })
                .collect();
            tokio::time::sleep(Duration::from_millis(500)).await; // snapshots delivered
            let usage_start = cli.pid.and_then(process_usage);
            measuring.store(true, Ordering::Relaxed);
            let period = Duration::from_secs_f64(1.0 / hz);
            let started = Instant::now();
            let mut step = 0;
            let mut late_ticks = 0;
            while started.elapsed() < Duration::from_secs(seconds) {
                let tick = Instant::now();
                let chunks: Vec<&[u64]> = ids.chunks(per_request.min(10_000)).collect();
                let gap = period / chunks.len() as u32;
                for (i, chunk) in chunks.iter().enumerate() {
                    let response =
                        http.post(format!("{}/api/v1/positions", cli.url)).json(&batch(chunk, step)).send().await?;
                    if !response.status().is_success() {
                        bail!("positions refused: {}", response.text().await?);
                    }
                    if let Some(rest) = (gap * (i as u32 + 1)).checked_sub(tick.elapsed()) {
                        tokio::time::sleep(rest).await;
                    }
                }
                step += 1;
                match period.checked_sub(tick.elapsed()) {
                    Some(rest) => tokio::time::sleep(rest).await,
                    None => late_ticks += 1,
                }
            }
            // Deliveries per second of generation; the last batch's deliveries still count.
            let elapsed = started.elapsed().as_secs_f64();
            tokio::time::sleep(Duration::from_millis(500)).await;
            measuring.store(false, Ordering::Relaxed);
            let usage_end = cli.pid.and_then(process_usage);
            for r in &readers {
                r.abort();
            }
            let delivered = fixes.load(Ordering::Relaxed);
            let cpu = usage_start.zip(usage_end).map(|(a, b)| b.0 - a.0);
            let h = latencies.lock().unwrap();
            json!({
                "bench": "fanout", "target": cli.target, "units": units, "hz": hz, "clients": clients, "seconds": seconds, "batch": per_request.min(units as usize),
                "audiences": read_tokens.len(),
                "deliveries": delivered, "deliveries_per_s": (delivered as f64 / elapsed).round(),
                "expected_per_s": (units as f64 * hz * clients as f64).round(),
                "latency_p50_ms": h.quantile(0.5), "latency_p99_ms": h.quantile(0.99),
                "server_cpu_s": cpu, "server_cpu_s_per_million": cpu.filter(|_| delivered > 0).map(|c| c / delivered as f64 * 1e6),
                "deliveries_per_cpu_s": cpu.filter(|c| *c > 0.0).map(|c| (delivered as f64 / c).round()),
                "server_peak_rss_mib": usage_end.map(|u| u.1 / 1024),
                "resyncs": resyncs.load(Ordering::Relaxed), "dropped_clients": dropped.load(Ordering::Relaxed),
                "generator_late_ticks": late_ticks,
            })
        }
    };
    let mut result = result;
    if let (Some(a), Some(b)) = (before, cli.pid.and_then(process_usage)) {
        result["server_cpu_s_total"] = json!(b.0 - a.0);
        result["server_peak_rss_mib"] = json!(b.1 / 1024);
    }
    println!("{result}");
    Ok(())
}

//! CoT load: many TAK clients on Vigie's listener, or one partner TAK server feeding Vigie's
//! upstream link, each device reporting at 1 Hz; reports positions committed per second (from the
//! server's own counters, `/api/v1/stats`), the server's CPU per thousand, and what the clients
//! received.
//!
//!   cotgen --url U --pid P --token T clients --addr 127.0.0.1:8087 --clients 2000 --seconds 10
//!   cotgen --url U --pid P --token T upstream --listen 127.0.0.1:9087 --devices 10000 --seconds 10

use clap::{Parser, Subcommand};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use vigie_bench::{check_loopback, client_with, now_ms, process_usage};

#[derive(Parser)]
struct Cli {
    /// The room's HTTP address (its counters are read there).
    #[arg(long)]
    url: String,
    /// The server's process id (its CPU is read from /proc).
    #[arg(long)]
    pid: u32,
    /// A token that reads the room's stats.
    #[arg(long)]
    token: String,
    /// A label for the results line.
    #[arg(long, default_value = "vigie")]
    target: String,
    #[command(subcommand)]
    run: Run,
}

#[derive(Subcommand)]
enum Run {
    /// `clients` TAK clients, one device each at 1 Hz, on the listener at `addr`.
    Clients {
        #[arg(long)]
        addr: String,
        #[arg(long, default_value_t = 2_000)]
        clients: u32,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// A partner TAK server on `listen` (Vigie's `VIGIE_COT_UPSTREAM`), sending `devices` devices
    /// at 1 Hz on the one link.
    Upstream {
        #[arg(long)]
        listen: String,
        #[arg(long, default_value_t = 10_000)]
        devices: u32,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
}

/// A CoT time (RFC 3339, UTC, milliseconds).
fn time(ms: i64) -> String {
    format!("{}.{:03}Z", vigie_domain::time::utc(ms).replacen(' ', "T", 1), ms.rem_euclid(1000))
}

/// Device `i`'s report at `at_ms`, circling near the Seine.
fn report(i: u32, at_ms: i64) -> String {
    let phase = (at_ms / 1000) as f64 / 60.0 + f64::from(i);
    let (lat, lon) = (
        48.80 + f64::from(i % 100) * 0.001 + phase.sin() * 0.0005,
        2.25 + f64::from(i / 100) * 0.001 + phase.cos() * 0.0005,
    );
    format!(
        r#"<event version="2.0" uid="BENCH-{i:05}" type="a-f-G-U-C" time="{t}" start="{t}" stale="{s}" how="m-g"><point lat="{lat:.7}" lon="{lon:.7}" hae="35" ce="5" le="9999999"/><detail><contact callsign="B-{i:05}"/><__group name="Cyan" role="Team Member"/><track course="90" speed="3"/></detail></event>"#,
        t = time(at_ms),
        s = time(at_ms + 120_000)
    ) + "\n"
}

async fn committed(http: &reqwest::Client, url: &str) -> anyhow::Result<u64> {
    Ok(stats(http, url).await?["cot"]["committed_fixes"].as_u64().unwrap_or(0))
}

/// The room's stats. Tried twice: a kept-alive connection the server closed while the load ran
/// fails the first request on it.
async fn stats(http: &reqwest::Client, url: &str) -> anyhow::Result<Value> {
    let get = || async { http.get(format!("{url}/api/v1/stats")).send().await?.json::<Value>().await };
    match get().await {
        Ok(v) => Ok(v),
        Err(_) => Ok(get().await?),
    }
}

/// Reads and counts what the room sends on a connection, so it never blocks on a full socket.
fn drain(mut reader: tokio::net::tcp::OwnedReadHalf, received: Arc<AtomicU64>) {
    tokio::spawn(async move {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = reader.read(&mut buf).await {
            if n == 0 {
                break;
            }
            received.fetch_add(n as u64, Ordering::Relaxed);
        }
    });
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    check_loopback(&cli.url)?;
    let http = client_with(&cli.token, None)?;
    // The gateway's devices become units of the bench's agency, which must exist (409 if it does).
    let agency = json!({"code": "BENCH", "short_name": "BENCH", "full_name": "Bench", "kind": "police", "country": "FR", "colour": "#224466"});
    let response = http.post(format!("{}/api/v1/agencies", cli.url)).json(&agency).send().await?;
    let status = response.status();
    let body = response.text().await?;
    anyhow::ensure!(
        status.is_success() || (status.as_u16() == 409 && body.contains("already registered")),
        "registering the bench's agency: {status} {body}"
    );
    let received = Arc::new(AtomicU64::new(0));
    let sent = Arc::new(AtomicU64::new(0));
    let (kind, devices, seconds) = match &cli.run {
        Run::Clients { clients, seconds, .. } => ("cot_clients", *clients, *seconds),
        Run::Upstream { devices, seconds, .. } => ("cot_upstream", *devices, *seconds),
    };
    // Warm-up, once every client is connected: every device is seen once (and becomes a unit)
    // before the measured window.
    let warm_up = Duration::from_secs(5);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    match &cli.run {
        Run::Clients { addr, clients, .. } => {
            let clients = *clients;
            for i in 0..clients {
                let stream = TcpStream::connect(addr).await?;
                stream.set_nodelay(true)?;
                let (reader, mut writer) = stream.into_split();
                drain(reader, received.clone());
                let (sent, stop) = (sent.clone(), stop.clone());
                tokio::spawn(async move {
                    // Clients report at 1 Hz, spread over the second.
                    tokio::time::sleep(Duration::from_millis(u64::from(i) * 1000 / u64::from(clients.max(1)))).await;
                    let mut tick = tokio::time::interval(Duration::from_secs(1));
                    while !stop.load(Ordering::Relaxed) {
                        tick.tick().await;
                        if writer.write_all(report(i, now_ms()).as_bytes()).await.is_err() {
                            break;
                        }
                        sent.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
        }
        Run::Upstream { listen, devices, .. } => {
            let listener = TcpListener::bind(listen).await?;
            let (stream, _) = tokio::time::timeout(Duration::from_secs(30), listener.accept()).await??;
            stream.set_nodelay(true)?;
            let (reader, mut writer) = stream.into_split();
            drain(reader, received.clone());
            let (sent, devices, stop) = (sent.clone(), *devices, stop.clone());
            tokio::spawn(async move {
                // Ten slices a second, a tenth of the devices each.
                let mut tick = tokio::time::interval(Duration::from_millis(100));
                let mut slice = 0u32;
                while !stop.load(Ordering::Relaxed) {
                    tick.tick().await;
                    let now = now_ms();
                    let mut chunk = String::with_capacity(devices as usize / 10 * 360);
                    for i in (slice..devices).step_by(10) {
                        chunk.push_str(&report(i, now));
                    }
                    slice = (slice + 1) % 10;
                    if writer.write_all(chunk.as_bytes()).await.is_err() {
                        break;
                    }
                    sent.fetch_add(u64::from(devices.div_ceil(10)), Ordering::Relaxed);
                }
            });
        }
    }
    tokio::time::sleep(warm_up).await;
    let (c0, cpu0, t0) = (committed(&http, &cli.url).await?, process_usage(cli.pid).map_or(0.0, |u| u.0), now_ms());
    let r0 = received.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let (c1, cpu1, t1) = (committed(&http, &cli.url).await?, process_usage(cli.pid).map_or(0.0, |u| u.0), now_ms());
    let r1 = received.load(Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    let wall = (t1 - t0) as f64 / 1000.0;
    let per_s = (c1 - c0) as f64 / wall;
    let cpu = cpu1 - cpu0;
    let stats = stats(&http, &cli.url).await?;
    let (_, peak_kib) = process_usage(cli.pid).unwrap_or((0.0, 0));
    println!(
        "{}",
        json!({
            "bench": kind,
            "target": cli.target,
            "devices": devices,
            "seconds": wall,
            "offered_per_s": f64::from(devices),
            "committed_per_s": per_s.round(),
            "server_cpu_s": (cpu * 100.0).round() / 100.0,
            "cpu_ms_per_thousand": if per_s > 0.0 { (cpu * 1000.0 / (per_s * wall / 1000.0) * 10.0).round() / 10.0 } else { 0.0 },
            "received_kib_per_s": (((r1 - r0) as f64 / 1024.0) / wall).round(),
            "server_peak_rss_mib": peak_kib / 1024,
            "refused": stats["cot"]["refused"],
            "stale": stats["cot"]["stale"],
            "units_created": stats["cot"]["units_created"],
        })
    );
    Ok(())
}

//! The hostile soak: a room under normal load (the demo's exercise, plus a dispatcher's commands
//! and a screen's stream) beside a hostile mix from other loopback addresses — connections that
//! send nothing or one header byte a second, streams that never read, floods of large and
//! malformed bodies, bodies declared and never sent, the largest pages of the log, and scenario
//! uploads that are bombs or not scenarios. Reports the server's RSS, file descriptors and p99
//! command latency over the first and the last window, then checks that every function of the
//! room still works. One JSON line; loopback only; every loop ends at the deadline.

use anyhow::{bail, Context};
use clap::Parser;
use futures_util::StreamExt;
use serde_json::{json, Value};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use vigie_bench::{check_loopback, client_with, now_ms, process_now, ws_request, Histogram};
use vigie_domain::wire::{Cursor, ServerMessage, Step};

#[derive(Parser)]
struct Cli {
    /// Base URL of the server (loopback only, on 127.0.0.1).
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    url: String,
    /// The server's pid, for its RSS and file descriptors.
    #[arg(long)]
    pid: u32,
    #[arg(long, default_value_t = 600)]
    seconds: u64,
    /// Length of the first and last windows compared.
    #[arg(long, default_value_t = 60)]
    window: u64,
    /// The API token the soak's normal load acts with (its account needs dispatcher, admin and
    /// trainer roles of agency SOAK); the hostile clients use none.
    #[arg(long, env = "VIGIE_TOKEN")]
    token: String,
}

/// Counters of what the hostile clients did and what they got.
#[derive(Default)]
struct Tally {
    connections: AtomicU64,
    requests: AtomicU64,
    refused: AtomicU64,
    /// Ranges a dispatcher's screen received that did not start where it stood (must stay 0).
    gaps: AtomicU64,
}

struct Soak {
    url: String,
    token: String,
    addr: SocketAddr,
    deadline: Instant,
    tally: Arc<Tally>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    check_loopback(&cli.url)?;
    let addr: SocketAddr = cli.url.trim_start_matches("http://").parse().context("the URL is http://127.0.0.1:PORT")?;
    let started = Instant::now();
    let soak = Arc::new(Soak {
        url: cli.url.clone(),
        token: cli.token.clone(),
        addr,
        deadline: started + Duration::from_secs(cli.seconds),
        tally: Arc::default(),
    });
    let http = client_with(&cli.token, Some(Duration::from_secs(30)))?;
    let (incident, units) = setup(&http, &cli.url).await?;
    eprintln!("soak: set up; running {} s", cli.seconds);

    let mut tasks = tokio::task::JoinSet::new();
    // Normal load: a dispatcher's note every 200 ms, timed; a screen reading the stream.
    let latencies: Arc<Mutex<Vec<(u64, i64, bool)>>> = Arc::default();
    {
        let (soak, http, latencies) = (soak.clone(), http.clone(), latencies.clone());
        tasks.spawn(async move {
            let mut i = 0u64;
            while Instant::now() < soak.deadline {
                let sent = Instant::now();
                let ok = http
                    .post(format!("{}/api/v1/incidents/{incident}/notes", soak.url))
                    .json(&json!({"text": format!("soak note {i}")}))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().as_u16() == 201);
                latencies.lock().unwrap().push((started.elapsed().as_secs(), sent.elapsed().as_millis() as i64, ok));
                i += 1;
                tokio::time::sleep(Duration::from_millis(200).saturating_sub(sent.elapsed())).await;
            }
        });
    }
    let screen_reconnects = Arc::new(AtomicU64::new(0));
    tasks.spawn(screen(soak.clone(), screen_reconnects.clone()));
    // The hostile mix, each from its own loopback address.
    for n in 0..40 {
        tasks.spawn(silent(soak.clone(), [127, 0, 0, 2], n));
        tasks.spawn(slow_header(soak.clone(), [127, 0, 0, 2]));
    }
    for _ in 0..20 {
        tasks.spawn(stream_hog(soak.clone(), [127, 0, 0, 6]));
    }
    for _ in 0..8 {
        tasks.spawn(stalled_body(soak.clone(), [127, 0, 0, 3]));
    }
    tasks.spawn(flood(soak.clone(), [127, 0, 0, 3], units.clone()));
    tasks.spawn(flood(soak.clone(), [127, 0, 0, 7], units));
    tasks.spawn(big_pages(soak.clone(), [127, 0, 0, 4]));
    tasks.spawn(import_abuse(soak.clone(), [127, 0, 0, 5]));

    // Sample the server once a second.
    let mut samples: Vec<(u64, u64, u64)> = Vec::new();
    while Instant::now() < soak.deadline {
        if let Some((rss, fds)) = process_now(cli.pid) {
            samples.push((started.elapsed().as_secs(), rss, fds));
        } else {
            bail!("the server (pid {}) is gone", cli.pid);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    eprintln!("soak: stopping the load");
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
    eprintln!("soak: checking the room's functions");
    // Let the hostile connections' closes reach the server before the last figures.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let functions = check_functions(&http, &cli.url, &cli.token, incident).await;

    let total = cli.seconds;
    let window = cli.window.min(total / 2).max(1);
    let in_first = |t: u64| t < window;
    let in_last = |t: u64| t >= total.saturating_sub(window);
    let mean = |pick: &dyn Fn(&(u64, u64, u64)) -> u64, keep: &dyn Fn(u64) -> bool| {
        let v: Vec<u64> = samples.iter().filter(|s| keep(s.0)).map(pick).collect();
        (!v.is_empty()).then(|| v.iter().sum::<u64>() / v.len() as u64)
    };
    let p99 = |keep: &dyn Fn(u64) -> bool| {
        let mut h = Histogram::default();
        let l = latencies.lock().unwrap();
        l.iter().filter(|x| keep(x.0)).for_each(|x| h.record(x.1));
        h.quantile(0.99)
    };
    let (p99_start, p99_end) = (p99(&in_first), p99(&in_last));
    let (commands, failed) = {
        let l = latencies.lock().unwrap();
        (l.len(), l.iter().filter(|x| !x.2).count())
    };
    let tally = &soak.tally;
    let result = json!({
        "bench": "soak", "seconds": total, "window_s": window,
        "rss_mib_start": mean(&|s| s.1, &in_first).map(|k| k / 1024), "rss_mib_end": mean(&|s| s.1, &in_last).map(|k| k / 1024),
        "rss_mib_peak": samples.iter().map(|s| s.1).max().map(|k| k / 1024),
        "fds_start": mean(&|s| s.2, &in_first), "fds_end": mean(&|s| s.2, &in_last), "fds_peak": samples.iter().map(|s| s.2).max(),
        "command_p99_ms_start": p99_start, "command_p99_ms_end": p99_end,
        "commands": commands, "commands_failed": failed, "screen_reconnects": screen_reconnects.load(Ordering::Relaxed),
        "hostile_connections": tally.connections.load(Ordering::Relaxed), "hostile_requests": tally.requests.load(Ordering::Relaxed),
        "hostile_refused": tally.refused.load(Ordering::Relaxed),
        "screen_gaps": tally.gaps.load(Ordering::Relaxed),
        "functions": functions,
        "at_ms": now_ms(),
    });
    println!("{result}");
    if result["functions"].as_object().is_some_and(|f| f.values().any(|ok| ok != true)) {
        bail!("a function of the room was lost: {}", result["functions"]);
    }
    if result["screen_gaps"] != 0 {
        bail!("a dispatcher's screen received a range that did not follow what it held");
    }
    Ok(())
}

/// An agency, an incident for the dispatcher's notes and 50 units for the floods.
async fn setup(http: &reqwest::Client, url: &str) -> anyhow::Result<(u64, Vec<u64>)> {
    let agency = json!({"code": "SOAK", "short_name": "SOAK", "full_name": "Soak", "kind": "police", "country": "FR", "colour": "#777777"});
    http.post(format!("{url}/api/v1/agencies")).json(&agency).send().await?;
    let incident = json!({"kind": "public_order", "priority": "P3", "location": {"lon": 2.35, "lat": 48.85}, "address": "Soak", "lead_agency": "SOAK"});
    let made: Value = http.post(format!("{url}/api/v1/incidents")).json(&incident).send().await?.json().await?;
    let incident_id = made["incident_id"].as_u64().with_context(|| format!("creating the soak's incident: {made}"))?;
    let mut units = Vec::new();
    for i in 0..50 {
        let body =
            json!({"callsign": format!("SOAK-{i}-{}", now_ms() % 100_000), "agency": "SOAK", "kind": "patrol_car"});
        let v: Value = http.post(format!("{url}/api/v1/units")).json(&body).send().await?.json().await?;
        units.push(v["unit_id"].as_u64().with_context(|| format!("registering a unit: {v}"))?);
    }
    Ok((incident_id, units))
}

async fn tcp_from(soak: &Soak, from: [u8; 4]) -> Option<TcpStream> {
    let socket = TcpSocket::new_v4().ok()?;
    socket.bind(SocketAddr::from((from, 0))).ok()?;
    let tcp = socket.connect(soak.addr).await.ok()?;
    soak.tally.connections.fetch_add(1, Ordering::Relaxed);
    Some(tcp)
}

/// A client from address `from` with the soak's token: the hostile mix is a signed-in client gone
/// wrong (a faulty gateway, a stolen token), which reaches past the gate to the room's bounds.
fn client_from(from: [u8; 4], token: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {token}").parse().expect("a token is ASCII"));
    reqwest::Client::builder()
        .default_headers(headers)
        .local_address(IpAddr::from(from))
        .timeout(Duration::from_secs(30))
        .build()
        .expect("a client")
}

async fn pause(soak: &Soak, d: Duration) {
    tokio::time::sleep(d.min(soak.deadline.saturating_duration_since(Instant::now()))).await;
}

/// Connects and sends nothing, again whenever the server closes.
async fn silent(soak: Arc<Soak>, from: [u8; 4], n: u64) {
    pause(&soak, Duration::from_millis(n * 25)).await;
    while Instant::now() < soak.deadline {
        if let Some(mut tcp) = tcp_from(&soak, from).await {
            let mut buf = [0u8; 64];
            let _ = tokio::time::timeout(
                soak.deadline.saturating_duration_since(Instant::now()),
                tokio::io::AsyncReadExt::read(&mut tcp, &mut buf),
            )
            .await;
        }
        pause(&soak, Duration::from_millis(100)).await;
    }
}

/// Sends a request head one byte a second.
async fn slow_header(soak: Arc<Soak>, from: [u8; 4]) {
    let head = b"GET /api/v1/state HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    while Instant::now() < soak.deadline {
        if let Some(mut tcp) = tcp_from(&soak, from).await {
            for b in head {
                if tcp.write_all(&[*b]).await.is_err() || Instant::now() >= soak.deadline {
                    break;
                }
                pause(&soak, Duration::from_secs(1)).await;
            }
        }
        pause(&soak, Duration::from_millis(100)).await;
    }
}

/// Declares a large position batch and sends it a few bytes at a time.
async fn stalled_body(soak: Arc<Soak>, from: [u8; 4]) {
    while Instant::now() < soak.deadline {
        if let Some(mut tcp) = tcp_from(&soak, from).await {
            let head = format!("POST /api/v1/positions HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: 4000000\r\n\r\n{{", soak.addr);
            let mut ok = tcp.write_all(head.as_bytes()).await.is_ok();
            while ok && Instant::now() < soak.deadline {
                ok = tcp.write_all(b" ").await.is_ok();
                pause(&soak, Duration::from_millis(500)).await;
            }
        }
        pause(&soak, Duration::from_millis(100)).await;
    }
}

/// Opens a stream and never reads it.
async fn stream_hog(soak: Arc<Soak>, from: [u8; 4]) {
    while Instant::now() < soak.deadline {
        if let Some(tcp) = tcp_from(&soak, from).await {
            let request = format!("ws://{}/api/v1/stream", soak.addr).into_client_request().expect("a request");
            match tokio_tungstenite::client_async(request, tcp).await {
                Ok((ws, _)) => {
                    // Held unread until the server gives up on it (write timeout) or the end.
                    let (_sink, mut stream) = ws.split();
                    let closed = async {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                        stream.next().await
                    };
                    let _ = tokio::time::timeout(soak.deadline.saturating_duration_since(Instant::now()), closed).await;
                }
                Err(_) => {
                    soak.tally.refused.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        pause(&soak, Duration::from_millis(500)).await;
    }
}

/// Large valid batches as fast as they are taken, with malformed and oversized bodies between.
async fn flood(soak: Arc<Soak>, from: [u8; 4], units: Vec<u64>) {
    let http = client_from(from, &soak.token);
    let garbage = format!("{{\"reports\": [{}", "{\"unit_id\": 1, ".repeat(200_000));
    let mut step = 0u64;
    while Instant::now() < soak.deadline {
        step += 1;
        let body = if step.is_multiple_of(3) {
            garbage.clone()
        } else {
            let at = now_ms();
            let reports: Vec<Value> = (0..10_000u64)
                .map(|i| json!({"unit_id": units[(i % units.len() as u64) as usize], "lon": 2.3 + (i % 100) as f64 * 1e-4, "lat": 48.85, "reported_at_ms": at}))
                .collect();
            json!({"reports": reports}).to_string()
        };
        soak.tally.requests.fetch_add(1, Ordering::Relaxed);
        let answer = http
            .post(format!("{}/api/v1/positions", soak.url))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await;
        if !answer.is_ok_and(|r| r.status().is_success()) {
            soak.tally.refused.fetch_add(1, Ordering::Relaxed);
        }
        // Bounded, so the log grows by about a hundred MB, not GB, over ten minutes.
        pause(&soak, Duration::from_millis(1_000)).await;
    }
}

/// The largest pages of the log and past moments, over and over.
async fn big_pages(soak: Arc<Soak>, from: [u8; 4]) {
    let http = client_from(from, &soak.token);
    while Instant::now() < soak.deadline {
        for path in ["/api/v1/events?limit=5000", "/api/v1/state", &format!("/api/v1/history/state?at_ms={}", now_ms())]
        {
            soak.tally.requests.fetch_add(1, Ordering::Relaxed);
            match http.get(format!("{}{path}", soak.url)).send().await {
                Ok(r) if r.status().is_success() => {
                    let _ = r.bytes().await;
                }
                _ => {
                    soak.tally.refused.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
}

/// Scenario uploads that are bombs, not gzip, or cross-site.
async fn import_abuse(soak: Arc<Soak>, from: [u8; 4]) {
    let http = client_from(from, &soak.token);
    // 16 MiB of newlines in about 16 KiB; compressed off the runtime's threads.
    let bomb = tokio::task::spawn_blocking(|| {
        let mut out = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut out, &vec![b'\n'; 16 << 20]).expect("in memory");
        out.finish().expect("in memory")
    })
    .await
    .expect("compressing the bomb");
    let mut step = 0u64;
    while Instant::now() < soak.deadline {
        step += 1;
        let request = match step % 3 {
            0 => http
                .post(format!("{}/api/v1/scenarios", soak.url))
                .header("content-type", "application/gzip")
                .body(bomb.clone()),
            1 => http
                .post(format!("{}/api/v1/scenarios", soak.url))
                .header("content-type", "application/gzip")
                .body(vec![b'x'; 1 << 20]),
            _ => http
                .post(format!("{}/api/v1/scenarios", soak.url))
                .header("content-type", "text/plain")
                .header("origin", "http://evil.example")
                .body("x"),
        };
        soak.tally.requests.fetch_add(1, Ordering::Relaxed);
        if !request.send().await.is_ok_and(|r| r.status().as_u16() == 202) {
            soak.tally.refused.fetch_add(1, Ordering::Relaxed);
        }
        pause(&soak, Duration::from_millis(300)).await;
    }
}

/// A dispatcher's screen: reads the stream, reconnecting with `since` if it is dropped.
async fn screen(soak: Arc<Soak>, reconnects: Arc<AtomicU64>) {
    let mut since: Option<u64> = None;
    while Instant::now() < soak.deadline {
        let url = match since {
            Some(n) => format!("ws://{}/api/v1/stream?since={n}", soak.addr),
            None => format!("ws://{}/api/v1/stream", soak.addr),
        };
        let Ok(request) = ws_request(&url, &soak.token) else { return };
        if let Ok((mut ws, _)) = tokio_tungstenite::connect_async(request).await {
            while let Ok(Some(Ok(message))) =
                tokio::time::timeout(soak.deadline.saturating_duration_since(Instant::now()), ws.next()).await
            {
                let tokio_tungstenite::tungstenite::Message::Text(text) = message else { continue };
                // Follows the log in ranges as a browser does; a gap (never expected) reconnects.
                let Ok(message) = serde_json::from_str::<ServerMessage>(&text) else { continue };
                let mut cursor = Cursor::at(since.unwrap_or(0));
                match (&message, message.range()) {
                    (ServerMessage::Snapshot { seq, .. }, _) => cursor = Cursor::at(*seq),
                    (_, Some((prev, seq))) => {
                        if cursor.step(prev, seq) == Step::Gap {
                            soak.tally.gaps.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                    }
                    _ => continue,
                }
                since = Some(cursor.seq);
            }
        }
        if Instant::now() < soak.deadline {
            reconnects.fetch_add(1, Ordering::Relaxed);
        }
        pause(&soak, Duration::from_millis(200)).await;
    }
}

/// Every function of the room, after the soak: health, a command, the stream, replay, a page.
async fn check_functions(http: &reqwest::Client, url: &str, token: &str, incident: u64) -> Value {
    let ok = |r: Result<reqwest::Response, reqwest::Error>, want: u16| match r {
        Ok(r) if r.status().as_u16() == want => true,
        other => {
            eprintln!("soak: a function failed: {other:?}");
            false
        }
    };
    let health = ok(http.get(format!("{url}/healthz")).send().await, 200);
    let command = ok(
        http.post(format!("{url}/api/v1/incidents/{incident}/notes"))
            .json(&json!({"text": "after the soak"}))
            .send()
            .await,
        201,
    );
    let stream_url = format!("{}/api/v1/stream", url.replacen("http://", "ws://", 1));
    let stream = match tokio_tungstenite::connect_async(ws_request(&stream_url, token).expect("a request")).await {
        Ok((mut ws, _)) => matches!(
            tokio::time::timeout(Duration::from_secs(10), ws.next()).await,
            Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Text(t)))) if t.starts_with("{\"type\":\"snapshot\"")
        ),
        Err(_) => false,
    };
    let now = now_ms();
    let replay = ok(
        http.post(format!("{url}/api/v1/replays")).json(&json!({"from_ms": now - 60_000, "to_ms": now})).send().await,
        201,
    );
    let history = ok(http.get(format!("{url}/api/v1/history/state?at_ms={now}")).send().await, 200);
    let page = ok(http.get(format!("{url}/")).send().await, 200);
    json!({"health": health, "command": command, "stream": stream, "replay": replay, "history": history, "page": page})
}

//! What Vigie's load tools share: a latency histogram, a process's figures from `/proc`, the
//! wall clock, and the loopback-only rule.

use anyhow::bail;
use std::time::{SystemTime, UNIX_EPOCH};

pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// Latencies in 1 ms buckets up to 60 s.
#[derive(Default)]
pub struct Histogram {
    buckets: Vec<u64>,
    pub count: u64,
}

impl Histogram {
    pub fn record(&mut self, ms: i64) {
        if self.buckets.is_empty() {
            self.buckets = vec![0; 60_001];
        }
        self.buckets[ms.clamp(0, 60_000) as usize] += 1;
        self.count += 1;
    }

    pub fn quantile(&self, q: f64) -> Option<u64> {
        let target = (self.count as f64 * q).ceil() as u64;
        let mut seen = 0;
        for (ms, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= target && *n > 0 {
                return Some(ms as u64);
            }
        }
        None
    }
}

/// CPU seconds (user + system) and peak RSS (KiB) of `pid`, from /proc.
pub fn process_usage(pid: u32) -> Option<(f64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    let hwm = status_kib(pid, "VmHWM:")?;
    Some((ticks / 100.0, hwm))
}

/// Current resident memory (KiB) and open file descriptors of `pid`, from /proc.
pub fn process_now(pid: u32) -> Option<(u64, u64)> {
    let rss = status_kib(pid, "VmRSS:")?;
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count() as u64;
    Some((rss, fds))
}

fn status_kib(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find(|l| l.starts_with(key))?.split_whitespace().nth(1)?.parse().ok()
}

pub fn check_loopback(url: &str) -> anyhow::Result<()> {
    if !(url.starts_with("http://127.0.0.1") || url.starts_with("http://localhost") || url.starts_with("http://[::1]"))
    {
        bail!("the load tools only target loopback, not {url}");
    }
    Ok(())
}

/// An HTTP client that acts with API token `token` (`Authorization: Bearer`), as any integration.
pub fn client_with(token: &str, timeout: Option<std::time::Duration>) -> anyhow::Result<reqwest::Client> {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {token}").parse()?);
    let builder = reqwest::Client::builder().default_headers(headers);
    Ok(match timeout {
        Some(t) => builder.timeout(t),
        None => builder,
    }
    .build()?)
}

/// A WebSocket request to `url` carrying API token `token`.
pub fn ws_request(
    url: &str,
    token: &str,
) -> anyhow::Result<tokio_tungstenite::tungstenite::handshake::client::Request> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = url.into_client_request()?;
    request.headers_mut().insert("authorization", format!("Bearer {token}").parse()?);
    Ok(request)
}

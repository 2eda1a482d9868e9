//! Starting the real server for a test, and small clients for its HTTP API and stream.

use futures_util::StreamExt;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use vigie::clock::ManualClock;
use vigie::config::Config;
use vigie::Running;
use vigie_domain::wire::ServerMessage;

pub const T0_MS: i64 = 1_795_000_000_000;

pub struct TestApp {
    pub base: String,
    pub ws_base: String,
    pub http: reqwest::Client,
    pub clock: ManualClock,
    pub running: Option<Running>,
    pub dir: Arc<TempDir>,
}

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub async fn spawn_app() -> TestApp {
    spawn_with(|_| {}).await
}

pub async fn spawn_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    spawn_in(Arc::new(TempDir::new().expect("temp dir")), configure).await
}

/// Starts a server on the log in `dir` (so a test can restart on the same log).
pub async fn spawn_in(dir: Arc<TempDir>, configure: impl FnOnce(&mut Config)) -> TestApp {
    let url = format!("sqlite://{}", dir.path().join("vigie.db").display());
    let mut config = Config::new("127.0.0.1:0".parse().unwrap(), url);
    configure(&mut config);
    let clock = ManualClock::new(T0_MS);
    let running = vigie::start(config, Arc::new(clock.clone())).await.expect("server starts");
    let addr = running.addr;
    TestApp {
        base: format!("http://{addr}"),
        ws_base: format!("ws://{addr}"),
        http: reqwest::Client::new(),
        clock,
        running: Some(running),
        dir,
    }
}

impl TestApp {
    pub async fn stop(mut self) -> Arc<TempDir> {
        self.running.take().expect("running").stop().await.expect("clean stop");
        self.dir.clone()
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self.http.post(format!("{}{path}", self.base)).json(&body).send().await.expect("request");
        status_and_json(response).await
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        status_and_json(request.send().await.expect("request")).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        status_and_json(self.http.get(format!("{}{path}", self.base)).send().await.expect("request")).await
    }

    pub async fn seq(&self) -> u64 {
        self.get("/healthz").await.1["seq"].as_u64().unwrap()
    }

    pub async fn state(&self) -> Value {
        let (status, snapshot) = self.get("/api/v1/state").await;
        assert_eq!(status, 200);
        snapshot["state"].clone()
    }

    /// Two agencies (PP, BSPP), units 1..=n (alternating), one incident (1) led by BSPP.
    pub async fn seed(&self, units: usize) {
        for (code, kind) in [("PP", "police"), ("BSPP", "fire_rescue")] {
            let agency = json!({"code": code, "short_name": code, "full_name": format!("{code} full"), "kind": kind, "country": "FR", "colour": "#224466"});
            assert_eq!(self.post("/api/v1/agencies", agency).await.0, 201);
        }
        for i in 0..units {
            let (agency, kind) = if i % 2 == 0 { ("PP", "patrol_car") } else { ("BSPP", "fire_engine") };
            let (status, body) =
                self.post("/api/v1/units", json!({"callsign": format!("U-{i}"), "agency": agency, "kind": kind})).await;
            assert_eq!(status, 201, "{body}");
        }
        let incident = json!({"kind": "fire", "priority": "P2", "location": {"lon": 2.35, "lat": 48.85}, "address": "Quai de la Tournelle", "lead_agency": "BSPP"});
        let (status, body) = self.post("/api/v1/incidents", incident).await;
        assert_eq!(status, 201, "{body}");
    }

    pub async fn connect(&self, since: Option<u64>) -> Ws {
        let url = match since {
            Some(n) => format!("{}/api/v1/stream?since={n}", self.ws_base),
            None => format!("{}/api/v1/stream", self.ws_base),
        };
        tokio_tungstenite::connect_async(url).await.expect("stream connects").0
    }
}

async fn status_and_json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// The next protocol message, or None when the server closed the stream.
pub async fn next_message(ws: &mut Ws) -> Option<ServerMessage> {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(20), ws.next()).await.expect("a message within 20 s");
        match frame? {
            Ok(Message::Text(text)) => return Some(serde_json::from_str(&text).expect("server messages parse")),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

/// Asserts the error body names `field` and has `code`.
pub fn assert_error(body: &Value, code: &str, field: Option<&str>) {
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    match field {
        Some(f) => assert_eq!(body["error"]["field"], f, "{body}"),
        None => assert!(body["error"].get("field").is_none(), "{body}"),
    }
}

/// Waits for a job (export, import) to finish; its view.
pub async fn wait_job(app: &TestApp, job: u64) -> Value {
    for _ in 0..200 {
        let (status, view) = app.get(&format!("/api/v1/jobs/{job}")).await;
        assert_eq!(status, 200);
        if view["state"] != "running" {
            return view;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("job {job} did not finish");
}

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
use vigie::identity::users::User;
use vigie::Running;
use vigie_domain::authority::{Role, Scope};
use vigie_domain::wire::ServerMessage;
use vigie_domain::AgencyCode;

pub const T0_MS: i64 = 1_795_000_000_000;

pub struct TestApp {
    pub base: String,
    pub ws_base: String,
    /// Signed in (by API token) as `pp`, the default test account.
    pub http: reqwest::Client,
    /// Each test account's API token, by login (see [`ACCOUNTS`]).
    pub tokens: std::collections::HashMap<&'static str, String>,
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

/// The test accounts: login, agency, roles. `pp` and `bspp` act for their agencies (and, so a test
/// can set a room up, also administer and train); the others hold one role each.
pub const ACCOUNTS: &[(&str, &str, &[Role])] = &[
    ("pp", "PP", &[Role::Dispatcher, Role::Commander, Role::Admin, Role::Trainer]),
    ("bspp", "BSPP", &[Role::Dispatcher, Role::Commander, Role::Admin, Role::Trainer]),
    ("bka", "BKA", &[Role::Liaison]),
    ("auditor", "PP", &[Role::Auditor]),
];

/// The password of every test account.
pub const PASSWORD: &str = "correct horse battery";

/// One argon2id hash of [`PASSWORD`] for every account of every test (hashing is slow by design).
fn password_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| vigie::identity::password::hash(PASSWORD).expect("hashing"))
}

/// Adds an account with [`PASSWORD`] and issues it a token with every scope; the token.
pub async fn add_account(running: &Running, login: &str, agency: &str, roles: &[Role]) -> String {
    let store = &running.state.store;
    let user = User {
        login: login.into(),
        display_name: login.into(),
        agency: AgencyCode::parse(agency).unwrap(),
        roles: roles.iter().copied().collect(),
        disabled: false,
        created_at_ms: T0_MS,
    };
    store.add_user(&user, password_hash()).await.expect("adding an account");
    store.issue_token(login, "tests", &Scope::ALL.into_iter().collect(), T0_MS).await.expect("a token").1
}

/// A client that sends `token` with every request.
pub fn client_with(token: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
    reqwest::Client::builder().default_headers(headers).build().unwrap()
}

/// Starts a server on the log in `dir` (so a test can restart on the same log), with the test
/// accounts (kept when the log already has them).
pub async fn spawn_in(dir: Arc<TempDir>, configure: impl FnOnce(&mut Config)) -> TestApp {
    let url = format!("sqlite://{}", dir.path().join("vigie.db").display());
    let mut config = Config::new("127.0.0.1:0".parse().unwrap(), url);
    configure(&mut config);
    let clock = ManualClock::new(T0_MS);
    let running = vigie::start(config, Arc::new(clock.clone())).await.expect("server starts");
    let addr = running.addr;
    let mut tokens = std::collections::HashMap::new();
    for (login, agency, roles) in ACCOUNTS {
        let token = match running.state.store.user(login).await.unwrap() {
            // A restart on the same log: a fresh token for the account already there.
            Some(_) => {
                let scopes = Scope::ALL.into_iter().collect();
                running.state.store.issue_token(login, "tests", &scopes, T0_MS).await.unwrap().1
            }
            None => add_account(&running, login, agency, roles).await,
        };
        tokens.insert(*login, token);
    }
    TestApp {
        base: format!("http://{addr}"),
        ws_base: format!("ws://{addr}"),
        http: client_with(&tokens["pp"]),
        tokens,
        clock,
        running: Some(running),
        dir,
    }
}

/// Calls made as one test account.
pub struct As<'a> {
    app: &'a TestApp,
    pub http: reqwest::Client,
    token: String,
}

impl As<'_> {
    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.app.send(self.http.post(format!("{}{path}", self.app.base)).json(&body)).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.app.send(self.http.get(format!("{}{path}", self.app.base))).await
    }

    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.app.send(self.http.delete(format!("{}{path}", self.app.base))).await
    }

    /// The live stream, as this account sees it.
    pub async fn connect(&self, since: Option<u64>) -> Ws {
        let path = match since {
            Some(n) => format!("/api/v1/stream?since={n}"),
            None => "/api/v1/stream".into(),
        };
        self.app.ws(&path, &self.token).await
    }
}

impl TestApp {
    /// Calls made as test account `login`.
    pub fn as_(&self, login: &str) -> As<'_> {
        let token = self.tokens.get(login).unwrap_or_else(|| panic!("no test account {login}")).clone();
        As { app: self, http: client_with(&token), token }
    }

    /// Calls made as the agency owning unit `unit_id` of [`TestApp::seed`] (odd: PP, even: BSPP).
    pub fn owner_of(&self, unit_id: u64) -> As<'_> {
        self.as_(if unit_id % 2 == 1 { "pp" } else { "bspp" })
    }

    /// Opens a WebSocket at `path` with `token`.
    pub async fn ws(&self, path: &str, token: &str) -> Ws {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = format!("{}{path}", self.ws_base).into_client_request().unwrap();
        request.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
        tokio_tungstenite::connect_async(request).await.expect("stream connects").0
    }

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

    /// DELETE `path` as `pp`; the status.
    pub async fn delete_path(&self, path: &str) -> u16 {
        self.http.delete(format!("{}{path}", self.base)).send().await.expect("request").status().as_u16()
    }

    pub async fn seq(&self) -> u64 {
        self.get("/healthz").await.1["seq"].as_u64().unwrap()
    }

    pub async fn state(&self) -> Value {
        let (status, snapshot) = self.get("/api/v1/state").await;
        assert_eq!(status, 200);
        snapshot["state"].clone()
    }

    /// Two agencies (PP, BSPP), units 1..=n (alternating PP and BSPP, registered by an admin),
    /// one incident (1) led by BSPP.
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
        let (status, body) = self.as_("bspp").post("/api/v1/incidents", incident).await;
        assert_eq!(status, 201, "{body}");
    }

    /// The whole room's live stream (an auditor's: the audience that resumes from the log).
    pub async fn connect(&self, since: Option<u64>) -> Ws {
        self.as_("auditor").connect(since).await
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
            Ok(Message::Close(c)) => {
                eprintln!("closed: {c:?}");
                return None;
            }
            Err(e) => {
                eprintln!("stream error: {e}");
                return None;
            }
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

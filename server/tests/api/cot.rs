//! Cursor-on-Target over real TCP and TLS: a TAK device joins the room as a unit and moves, its
//! GeoChat becomes messages and its read receipts acknowledgements, its emergency beacon a flash
//! alert; what a connection receives follows its principal's need-to-know; a TLS client is the
//! account its certificate names; hostile streams are closed without harm; Vigie follows an
//! upstream TAK server.

use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::rustls;
use vigie::cot::listen::COT_SCOPES;
use vigie_adapters::cot::framer::Framer;
use vigie_adapters::cot::CotEvent;
use vigie_domain::authority::{Principal, Role, Scope};
use vigie_domain::AgencyCode;

use crate::support::*;

/// The time CoT events carry: the test clock's.
fn at(ms: i64) -> String {
    format!("{}Z", vigie_domain::time::utc(ms).replacen(' ', "T", 1))
}

fn position(uid: &str, callsign: &str, lat: f64, lon: f64, at_ms: i64, stale_ms: i64) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><event version="2.0" uid="{uid}" type="a-f-G-U-C" time="{}" start="{}" stale="{}" how="m-g"><point lat="{lat}" lon="{lon}" hae="35" ce="5" le="9999999"/><detail><contact endpoint="*:-1:stcp" callsign="{callsign}"/><__group name="Cyan" role="Team Member"/><status battery="80"/><track course="90" speed="3.5"/></detail></event>"#,
        at(at_ms),
        at(at_ms),
        at(stale_ms)
    )
}

fn principal(login: &str, agency: &str, roles: &[Role]) -> Principal {
    Principal { user: login.into(), agency: AgencyCode::parse(agency).unwrap(), roles: roles.iter().copied().collect() }
}

/// A server with the plain CoT listener on a free port, its clients acting as `who`.
async fn spawn_cot(who: Principal, scopes: BTreeSet<Scope>) -> TestApp {
    spawn_with(|c| {
        c.cot_addr = Some("127.0.0.1:0".parse().unwrap());
        c.cot_identity = Some((who, scopes));
    })
    .await
}

fn cot_addr(app: &TestApp) -> std::net::SocketAddr {
    app.running.as_ref().unwrap().cot.as_ref().unwrap().plain_addr.unwrap()
}

/// A TAK client: writes events, reads the events the room sends.
struct Tak<S> {
    stream: S,
    framer: Framer,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Tak<S> {
    fn new(stream: S) -> Self {
        Self { stream, framer: Framer::default() }
    }

    async fn send(&mut self, xml: &str) {
        self.stream.write_all(xml.as_bytes()).await.unwrap();
    }

    /// The next event the room sends that `want` accepts, within 10 s.
    async fn next(&mut self, want: impl Fn(&CotEvent) -> bool) -> Option<CotEvent> {
        self.next_within(Duration::from_secs(10), want).await
    }

    async fn next_within(&mut self, wait: Duration, want: impl Fn(&CotEvent) -> bool) -> Option<CotEvent> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            while let Some(bytes) = self.framer.next_event().unwrap() {
                let event = CotEvent::parse(&bytes).expect("the room sends valid CoT");
                if want(&event) {
                    return Some(event);
                }
            }
            match tokio::time::timeout_at(deadline, self.stream.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return None,
                Ok(Ok(n)) => self.framer.push(&buf[..n]),
            }
        }
    }

    /// Whether the room closed the connection within 10 s.
    async fn closed(&mut self) -> bool {
        let mut buf = vec![0u8; 16 * 1024];
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            match tokio::time::timeout_at(deadline, self.stream.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return true,
                Ok(Ok(_)) => continue,
                Err(_) => return false,
            }
        }
    }
}

async fn tak(app: &TestApp) -> Tak<TcpStream> {
    Tak::new(TcpStream::connect(cot_addr(app)).await.unwrap())
}

/// Polls the room until `check` holds on its state (as the auditor sees it), within 10 s.
async fn eventually(app: &TestApp, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..100 {
        let (_, snapshot) = app.as_("auditor").get("/api/v1/state").await;
        if check(&snapshot["state"]) {
            return snapshot["state"].clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what} did not happen within 10 s");
}

fn unit_of_device<'a>(state: &'a Value, device: &str) -> Option<&'a Value> {
    state["units"].as_object()?.values().find(|u| u["device_uid"] == device)
}

async fn agencies(app: &TestApp) {
    for (code, kind) in [("PP", "police"), ("BKA", "liaison")] {
        let agency = json!({"code": code, "short_name": code, "full_name": code, "kind": kind, "country": "FR", "colour": "#224466"});
        assert_eq!(app.post("/api/v1/agencies", agency).await.0, 201);
    }
}

#[tokio::test]
async fn a_tak_device_joins_as_a_unit_of_its_gateway_s_agency_and_moves() {
    let app = spawn_cot(principal("pp", "PP", &[Role::Dispatcher]), COT_SCOPES.into_iter().collect()).await;
    agencies(&app).await;
    let mut device = tak(&app).await;
    device.send(&position("ANDROID-1a2b", "PS-77", 48.8566, 2.3522, T0_MS, T0_MS + 300_000)).await;
    let state = eventually(&app, "the device's unit", |s| {
        unit_of_device(s, "ANDROID-1a2b").is_some_and(|u| u["last_fix"].is_object())
    })
    .await;
    let unit = unit_of_device(&state, "ANDROID-1a2b").unwrap();
    assert_eq!((unit["callsign"].as_str(), unit["agency"].as_str()), (Some("PS-77"), Some("PP")));
    assert_eq!(unit["kind"], "foot_patrol");
    assert_eq!(unit["last_fix"]["position"], json!({"lon": 2.3522, "lat": 48.8566}));
    assert_eq!(unit["last_fix"]["heading_deg"], 90.0);
    let unit_id = unit["unit_id"].as_u64().unwrap();

    // The link is in the log, with who did it: the gateway's principal.
    let (_, log) = app.as_("auditor").get("/api/v1/events?without_positions=true").await;
    let registered = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"]["type"] == "unit_registered" && e["event"]["unit_id"] == unit_id)
        .unwrap();
    assert_eq!(registered["event"]["device_uid"], "ANDROID-1a2b");
    assert_eq!(registered["actor"], "pp@PP/dispatcher");

    // Broken XML, a hostile DTD and an out-of-range fix cost their event, never the connection.
    device.send("<event uid='x'><point></event>").await;
    device.send(r#"<!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]><event>&x;</event>"#).await;
    device.send(&position("ANDROID-1a2b", "PS-77", 95.0, 2.35, T0_MS + 500, T0_MS + 300_000)).await;
    // It moves; an event already stale on arrival is dropped.
    device.send(&position("ANDROID-1a2b", "PS-77", 48.8570, 2.3600, T0_MS + 1_000, T0_MS + 300_000)).await;
    device.send(&position("ANDROID-1a2b", "PS-77", 10.0, 10.0, T0_MS + 2_000, T0_MS - 1)).await;
    let ping = format!(
        r#"<event version="2.0" uid="ping-1" type="t-x-c-t" time="{t}" start="{t}" stale="{s}" how="h-g-i-g-o"><point lat="0" lon="0" hae="0" ce="9999999" le="9999999"/><detail/></event>"#,
        t = at(T0_MS),
        s = at(T0_MS + 60_000)
    );
    device.send(&ping).await;
    assert!(device.next(|e| e.kind == "t-x-c-t-r").await.is_some(), "a ping is answered");
    let state = eventually(&app, "the move", |s| {
        unit_of_device(s, "ANDROID-1a2b").is_some_and(|u| u["last_fix"]["position"]["lon"] == 2.36)
    })
    .await;
    assert_eq!(unit_of_device(&state, "ANDROID-1a2b").unwrap()["last_fix"]["position"]["lat"], 48.857);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let state = app.state().await;
    assert_eq!(
        unit_of_device(&state, "ANDROID-1a2b").unwrap()["last_fix"]["position"]["lon"],
        2.36,
        "the stale fix was dropped"
    );
    assert_eq!(state["units"].as_object().unwrap().len(), 1, "one device, one unit");

    // A second device with the same callsign is told apart by its device.
    let mut other = tak(&app).await;
    other.send(&position("ANDROID-ffff9c3d", "PS-77", 48.85, 2.34, T0_MS, T0_MS + 300_000)).await;
    let state = eventually(&app, "the second unit", |s| unit_of_device(s, "ANDROID-ffff9c3d").is_some()).await;
    assert_eq!(unit_of_device(&state, "ANDROID-ffff9c3d").unwrap()["callsign"], "PS-77-9c3d");

    // The room's picture reaches the device: the other device's unit, never its own back.
    let seen = device.next(|e| e.uid == "ANDROID-ffff9c3d").await.expect("the other device is shown");
    assert_eq!(seen.callsign.as_deref(), Some("PS-77-9c3d"));
    assert_eq!(seen.kind, "a-f-G-U-C");
    let counters = app.running.as_ref().unwrap().cot.as_ref().unwrap().gateway.counters.values();
    assert!(counters.stale >= 1 && counters.refused >= 3 && counters.units_created == 2, "{counters:?}");
    app.stop().await;
}

#[tokio::test]
async fn geochat_receipts_and_the_emergency_beacon_reach_the_room() {
    let app = spawn_cot(principal("pp", "PP", &[Role::Dispatcher]), COT_SCOPES.into_iter().collect()).await;
    agencies(&app).await;
    let mut device = tak(&app).await;
    device.send(&position("ANDROID-77", "PS-11", 48.8566, 2.3522, T0_MS, T0_MS + 300_000)).await;
    eventually(&app, "the unit", |s| unit_of_device(s, "ANDROID-77").is_some()).await;

    let chat = format!(
        r#"<event version="2.0" uid="GeoChat.ANDROID-77.All Chat Rooms.1" type="b-t-f" time="{t}" start="{t}" stale="{s}" how="h-g-i-g-o"><point lat="48.85" lon="2.35" hae="9999999" ce="9999999" le="9999999"/><detail><__chat chatroom="All Chat Rooms" id="All Chat Rooms" senderCallsign="PS-11" messageId="m-1"/><remarks source="BAO.F.ATAK.ANDROID-77" to="All Chat Rooms">Renfort &amp; SAMU demandés</remarks></detail></event>"#,
        t = at(T0_MS),
        s = at(T0_MS + 86_400_000)
    );
    device.send(&chat).await;
    let state = eventually(&app, "the chat message", |s| {
        s["messages"].as_object().is_some_and(|m| m.values().any(|m| m["body"] == "[PS-11] Renfort & SAMU demandés"))
    })
    .await;
    let posted = state["messages"].as_object().unwrap().values().next().unwrap();
    assert_eq!((posted["channel_id"].as_str(), posted["sender_agency"].as_str()), (Some("room"), Some("PP")));

    // A message from the room reaches the device as GeoChat; its read receipt acknowledges it.
    let (status, body) = app
        .as_("pp")
        .post(
            "/api/v1/messages",
            json!({"channel_id": "room", "sender_agency": "PP", "priority": "immediate", "body": "Point de regroupement: Hôtel de Ville", "ack_required": true}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let message_id = body["message_id"].as_u64().unwrap();
    let received = device
        .next(|e| e.kind == "b-t-f" && e.remarks.as_deref().is_some_and(|r| r.contains("Hôtel de Ville")))
        .await
        .expect("the message reaches the device");
    let chat = received.chat.unwrap();
    assert_eq!(chat.room, "All Chat Rooms");
    assert_eq!(chat.message_id, Some(format!("VIGIE.msg.{message_id}")));
    let receipt = format!(
        r#"<event version="2.0" uid="receipt-1" type="b-t-f-r" time="{t}" start="{t}" stale="{s}" how="h-g-i-g-o"><point lat="0" lon="0" hae="0" ce="9999999" le="9999999"/><detail><__chatreceipt chatroom="All Chat Rooms" senderCallsign="PS-11" messageId="VIGIE.msg.{message_id}"/><link uid="ANDROID-77" relation="p-p"/></detail></event>"#,
        t = at(T0_MS),
        s = at(T0_MS + 60_000)
    );
    device.send(&receipt).await;
    eventually(&app, "the acknowledgement", |s| {
        s["messages"][message_id.to_string()]["acks"].as_array().is_some_and(|a| a.iter().any(|a| a["agency"] == "PP"))
    })
    .await;

    // The emergency beacon: one flash alert with the position, however often it repeats; then its cancellation.
    let beacon = |kind: &str| {
        format!(
            r#"<event version="2.0" uid="ANDROID-77-9-1-1" type="{kind}" time="{t}" start="{t}" stale="{s}" how="h-e"><point lat="48.8601" lon="2.3412" hae="9999999" ce="9999999" le="9999999"/><detail><link uid="ANDROID-77" type="a-f-G-U-C" relation="p-p"/><contact callsign="PS-11-Alert"/><emergency type="911 Alert">PS-11</emergency></detail></event>"#,
            t = at(T0_MS),
            s = at(T0_MS + 600_000)
        )
    };
    device.send(&beacon("b-a-o-tbl")).await;
    device.send(&beacon("b-a-o-tbl")).await;
    let state = eventually(&app, "the flash alert", |s| {
        s["messages"].as_object().is_some_and(|m| m.values().any(|m| m["priority"] == "flash"))
    })
    .await;
    let flash: Vec<&Value> =
        state["messages"].as_object().unwrap().values().filter(|m| m["priority"] == "flash").collect();
    assert_eq!(flash[0]["body"], "EMERGENCY 911 Alert: PS-11 (PP) at 48.86010, 2.34120");
    assert_eq!(flash[0]["ack_required"], true);
    device.send(&beacon("b-a-o-can")).await;
    let state = eventually(&app, "the cancellation", |s| {
        s["messages"].as_object().is_some_and(|m| m.values().any(|m| m["body"] == "Emergency cancelled: PS-11 (PP)"))
    })
    .await;
    let flashes = state["messages"].as_object().unwrap().values().filter(|m| m["priority"] == "flash").count();
    assert_eq!(flashes, 2, "the repeated beacon was posted once");
    app.stop().await;
}

#[tokio::test]
async fn a_liaison_s_tak_client_receives_only_what_its_agency_may_see() {
    let app = spawn_cot(principal("bka", "BKA", &[Role::Liaison]), [Scope::RoomRead].into()).await;
    agencies(&app).await;
    let mut ids = Vec::new();
    for (callsign, hidden) in [("PS-1", false), ("UC-1", true)] {
        let hidden_from: Vec<&str> = if hidden { vec!["BKA"] } else { vec![] };
        let (status, body) = app
            .post(
                "/api/v1/units",
                json!({"callsign": callsign, "agency": "PP", "kind": "patrol_car", "hidden_from": hidden_from}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        ids.push(body["unit_id"].as_u64().unwrap());
    }
    let reports: Vec<Value> =
        ids.iter().map(|id| json!({"unit_id": id, "lon": 2.35, "lat": 48.85, "reported_at_ms": T0_MS})).collect();
    assert_eq!(app.post("/api/v1/positions", json!({"reports": reports})).await.0, 200);
    for restricted in [false, true] {
        let incident = json!({"kind": "fire", "priority": "P1", "location": {"lon": 2.35, "lat": 48.86}, "address": if restricted {"Secret"} else {"Quai"}, "lead_agency": "PP", "restricted": restricted,
            "area": [[2.349, 48.859], [2.351, 48.859], [2.351, 48.861]]});
        assert_eq!(app.post("/api/v1/incidents", incident).await.0, 201);
    }
    let mut client = tak(&app).await;
    let mut seen = BTreeSet::new();
    while let Some(e) = client.next(|_| true).await {
        seen.insert(e.uid.clone());
        if seen.contains("VIGIE.unit.1") && seen.contains("VIGIE.incident.1") && seen.contains("VIGIE.incident.1.area")
        {
            break;
        }
    }
    assert!(seen.contains("VIGIE.unit.1") && seen.contains("VIGIE.incident.1.area"), "{seen:?}");
    // Its own agency's messages channel: BKA is not a member of PP's incident channel.
    let (status, _) = app
        .post("/api/v1/messages", json!({"channel_id": "incident-2", "sender_agency": "PP", "priority": "routine", "body": "not for BKA", "ack_required": false}))
        .await;
    assert_eq!(status, 201);
    // Then PP hides its patrol from BKA: the client is told to delete it.
    assert_eq!(app.post(&format!("/api/v1/units/{}/hidden_from", ids[0]), json!({"agency": "BKA"})).await.0, 201);
    let deleted = client.next(|e| e.kind == "t-x-d-d").await.expect("a delete");
    assert_eq!(deleted.link.as_deref(), Some("VIGIE.unit.1"));
    // A liaison may only read: a device it reports is not a unit, and nothing it says is posted.
    client.send(&position("ANDROID-BKA", "BKA-1", 48.85, 2.35, T0_MS, T0_MS + 60_000)).await;
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let state = app.state().await;
    assert!(unit_of_device(&state, "ANDROID-BKA").is_none());
    assert!(!seen.contains("VIGIE.unit.2") && !seen.contains("VIGIE.incident.2"), "{seen:?}");
    app.stop().await;
}

#[tokio::test]
async fn a_stream_that_never_ends_an_event_is_closed_and_the_listener_keeps_serving() {
    let app = spawn_cot(principal("pp", "PP", &[Role::Dispatcher]), COT_SCOPES.into_iter().collect()).await;
    agencies(&app).await;
    let mut hostile = tak(&app).await;
    hostile.send("<event uid=\"x\" type=\"a-f-G\">").await;
    let junk = "<remarks>".repeat(10_000);
    let _ = hostile.stream.write_all(junk.as_bytes()).await;
    assert!(hostile.closed().await, "the overlong stream is closed");
    let mut fine = tak(&app).await;
    fine.send(&position("ANDROID-ok", "PS-1", 48.85, 2.35, T0_MS, T0_MS + 60_000)).await;
    eventually(&app, "the good device", |s| unit_of_device(s, "ANDROID-ok").is_some()).await;
    app.stop().await;
}

#[tokio::test]
async fn the_plain_listener_acts_as_its_token_and_within_its_scopes() {
    let dir = spawn_app().await.stop().await;
    // A token that may report positions but not register units: known devices only.
    let store =
        vigie::store::Store::open(&format!("sqlite://{}", dir.path().join("vigie.db").display())).await.unwrap();
    let scopes: BTreeSet<Scope> = [Scope::RoomRead, Scope::PositionsWrite].into();
    let (_, token) = store.issue_token("pp", "tak gateway", &scopes, T0_MS).await.unwrap();
    store.close().await;
    let app = spawn_in(dir, |c| {
        c.cot_addr = Some("127.0.0.1:0".parse().unwrap());
        c.cot_token = Some(token);
    })
    .await;
    agencies(&app).await;
    let mut device = tak(&app).await;
    device.send(&position("ANDROID-new", "PS-9", 48.85, 2.35, T0_MS, T0_MS + 60_000)).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(unit_of_device(&app.state().await, "ANDROID-new").is_none(), "no units:write, no new unit");
    let counters = app.running.as_ref().unwrap().cot.as_ref().unwrap().gateway.counters.values();
    assert_eq!(counters.refused, 1, "{counters:?}");
    app.stop().await;
}

/// A throwaway CA, a server certificate and client certificates named for accounts.
struct Pki {
    dir: tempfile::TempDir,
    ca: rcgen::CertifiedKey,
}

impl Pki {
    fn new() -> Self {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.distinguished_name.push(rcgen::DnType::CommonName, "Vigie test CA");
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Self { dir: tempfile::TempDir::new().unwrap(), ca: rcgen::CertifiedKey { cert, key_pair: key } }
    }

    fn issue(&self, common_name: &str, names: Vec<String>) -> rcgen::CertifiedKey {
        let mut params = rcgen::CertificateParams::new(names).unwrap();
        params.distinguished_name.push(rcgen::DnType::CommonName, common_name);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.ca.cert, &self.ca.key_pair).unwrap();
        rcgen::CertifiedKey { cert, key_pair: key }
    }

    fn write(&self, name: &str, text: &str) -> std::path::PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    async fn connect(
        &self,
        port: u16,
        client: Option<&rcgen::CertifiedKey>,
    ) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.ca.cert.der().clone()).unwrap();
        let builder = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots);
        let config = match client {
            Some(c) => builder
                .with_client_auth_cert(
                    vec![c.cert.der().clone()],
                    rustls::pki_types::PrivateKeyDer::try_from(c.key_pair.serialize_der()).unwrap(),
                )
                .unwrap(),
            None => builder.with_no_client_auth(),
        };
        let tcp = TcpStream::connect(("127.0.0.1", port)).await?;
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp).await
    }
}

#[tokio::test]
async fn a_tls_client_is_the_account_its_certificate_names() {
    let pki = Pki::new();
    let server = pki.issue("vigie", vec!["localhost".into()]);
    let (cert, key, ca) = (
        pki.write("server.pem", &server.cert.pem()),
        pki.write("server.key", &server.key_pair.serialize_pem()),
        pki.write("ca.pem", &pki.ca.cert.pem()),
    );
    let app = spawn_with(|c| {
        c.cot_tls_addr = Some("127.0.0.1:0".parse().unwrap());
        c.cot_tls_cert = Some(cert);
        c.cot_tls_key = Some(key);
        c.cot_tls_client_ca = Some(ca);
    })
    .await;
    agencies(&app).await;
    let port = app.running.as_ref().unwrap().cot.as_ref().unwrap().tls_addr.unwrap().port();

    let pp = pki.issue("pp", vec![]);
    let mut device = Tak::new(pki.connect(port, Some(&pp)).await.expect("pp's certificate is accepted"));
    device.send(&position("ANDROID-tls", "PS-TLS", 48.85, 2.35, T0_MS, T0_MS + 60_000)).await;
    let state = eventually(&app, "the TLS device's unit", |s| unit_of_device(s, "ANDROID-tls").is_some()).await;
    assert_eq!(unit_of_device(&state, "ANDROID-tls").unwrap()["agency"], "PP");

    // No certificate: refused in the handshake (TLS 1.3 reports it at the first read).
    let refused = match pki.connect(port, None).await {
        Err(_) => true,
        Ok(stream) => Tak::new(stream).closed().await,
    };
    assert!(refused, "a client without a certificate is refused");
    // A certificate of the right CA naming no account: closed.
    let stranger = pki.issue("nobody", vec![]);
    let mut unknown = Tak::new(pki.connect(port, Some(&stranger)).await.unwrap());
    unknown.send(&position("ANDROID-x", "X", 48.85, 2.35, T0_MS, T0_MS + 60_000)).await;
    assert!(unknown.closed().await);
    // A certificate from another CA: refused.
    let other = Pki::new();
    let forged = other.issue("pp", vec![]);
    let refused = match pki.connect(port, Some(&forged)).await {
        Err(_) => true,
        Ok(stream) => Tak::new(stream).closed().await,
    };
    assert!(refused, "a certificate from another CA is refused");
    assert!(unit_of_device(&app.state().await, "ANDROID-x").is_none());
    app.stop().await;
}

#[tokio::test]
async fn vigie_follows_an_upstream_tak_server_and_shares_its_own_units() {
    // The partner's TAK server, played by a socket: it sends one of its devices and reads what
    // Vigie shares.
    let partner = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = partner.local_addr().unwrap().to_string();
    let app = spawn_with(|c| {
        c.cot_upstream = Some(address);
        c.cot_identity = Some((principal("pp", "PP", &[Role::Dispatcher]), COT_SCOPES.into_iter().collect()));
    })
    .await;
    agencies(&app).await;
    let (status, body) =
        app.post("/api/v1/units", json!({"callsign": "PS-OWN", "agency": "PP", "kind": "patrol_car"})).await;
    assert_eq!(status, 201, "{body}");
    let own = body["unit_id"].as_u64().unwrap();
    let report = json!({"reports": [{"unit_id": own, "lon": 2.35, "lat": 48.85, "reported_at_ms": T0_MS}]});
    assert_eq!(app.post("/api/v1/positions", report).await.0, 200);
    let (socket, _) =
        tokio::time::timeout(Duration::from_secs(10), partner.accept()).await.expect("Vigie connects").unwrap();
    let mut server = Tak::new(socket);
    server.send(&position("ANDROID-partner", "FR-1", 48.86, 2.34, T0_MS, T0_MS + 60_000)).await;
    let shared = server.next(|e| e.uid == format!("VIGIE.unit.{own}")).await.expect("Vigie shares its unit");
    assert_eq!(shared.callsign.as_deref(), Some("PS-OWN"));
    eventually(&app, "the partner's device", |s| unit_of_device(s, "ANDROID-partner").is_some()).await;
    // The partner's device is never sent back to it.
    assert!(server.next_within(Duration::from_secs(2), |e| e.uid == "ANDROID-partner").await.is_none());
    app.stop().await;
}

/// The Python environment with the TAK peers (pytak, FreeTAKServer) that `scripts/setup.sh`
/// installs; `None` (and the test says so) where it is absent.
fn tak_python() -> Option<std::path::PathBuf> {
    let home = std::env::var_os("HOME")?;
    let python = std::path::Path::new(&home).join(".cache/vigie/tools/tak-venv/bin/python");
    if python.exists() {
        Some(python)
    } else {
        // CI runs after scripts/setup.sh, which installs it: there, its absence is a failure.
        assert!(std::env::var_os("CI").is_none(), "{} is missing; scripts/setup.sh installs it", python.display());
        eprintln!("SKIPPED: {} is missing; scripts/setup.sh installs pytak there", python.display());
        None
    }
}

#[tokio::test]
async fn pytak_a_real_tak_client_joins_moves_chats_and_sees_the_room() {
    let Some(python) = tak_python() else { return };
    let app = spawn_cot(principal("pp", "PP", &[Role::Dispatcher]), COT_SCOPES.into_iter().collect()).await;
    // pytak stamps its events with the wall clock.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    app.clock.advance_ms(now - T0_MS);
    agencies(&app).await;
    let (status, body) =
        app.post("/api/v1/units", json!({"callsign": "PS-ROOM", "agency": "PP", "kind": "patrol_car"})).await;
    assert_eq!(status, 201, "{body}");
    let report =
        json!({"reports": [{"unit_id": body["unit_id"], "lon": 2.3333, "lat": 48.8666, "reported_at_ms": now}]});
    assert_eq!(app.post("/api/v1/positions", report).await.0, 200);
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools/tak_peer.py");
    let output = tokio::process::Command::new(python)
        .arg(script)
        .arg(format!("tcp://{}", cot_addr(&app)))
        .args(["--uid", "PYTAK-0042", "--callsign", "PY-42", "--lat", "48.8584321", "--lon", "2.2944813"])
        .args(["--moves", "4", "--seconds", "4"])
        .output()
        .await
        .expect("python runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let peer: Value = serde_json::from_slice(&output.stdout).expect("the peer's JSON");
    assert_eq!(peer["sent"], 5, "{peer}");
    // pytak received the room's unit, as TAK shows it.
    let received = peer["received"].as_array().unwrap();
    let room_unit = received.iter().find(|e| e["callsign"] == "PS-ROOM").unwrap_or_else(|| panic!("{peer}"));
    assert_eq!((room_unit["type"].as_str(), room_unit["lat"].as_f64()), (Some("a-f-G-E-V-C"), Some(48.8666)));
    // The room has pytak's device as a PP unit at its last position, at pytak's 7 decimals.
    let state = eventually(&app, "pytak's unit at its last move", |s| {
        unit_of_device(s, "PYTAK-0042").is_some_and(|u| u["last_fix"]["position"]["lon"] == 2.2959813)
    })
    .await;
    let unit = unit_of_device(&state, "PYTAK-0042").unwrap();
    assert_eq!((unit["callsign"].as_str(), unit["agency"].as_str()), (Some("PY-42"), Some("PP")));
    assert_eq!(unit["last_fix"]["position"]["lat"], 48.8584321);
    assert!(state["messages"].as_object().unwrap().values().any(|m| m["body"] == "[PY-42] pytak PY-42 en position"));
    app.stop().await;
}

#[tokio::test]
async fn freetakserver_a_real_tak_server_relays_between_vigie_and_its_clients() {
    let Some(_) = tak_python() else { return };
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIPPED: FreeTAKServer runs in its own network namespace, which needs root");
        return;
    }
    // The room: PP's gateway account with a token, and one unit of its own.
    let app = spawn_app().await;
    agencies(&app).await;
    let (status, body) =
        app.post("/api/v1/units", json!({"callsign": "PS-VIGIE", "agency": "PP", "kind": "patrol_car"})).await;
    assert_eq!(status, 201, "{body}");
    let unit_id = body["unit_id"].as_u64().unwrap();
    let token = app.tokens["pp"].clone();
    let dir = app.stop().await;
    let database_url = format!("sqlite://{}", dir.path().join("vigie.db").display());
    let out = dir.path().join("fts");
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools/fts_interop.sh");
    let run = tokio::process::Command::new("bash")
        .arg(script)
        .args([env!("CARGO_BIN_EXE_vigie"), &database_url, &token, &unit_id.to_string()])
        .arg(&out)
        .output();
    let output =
        tokio::time::timeout(Duration::from_secs(180), run).await.expect("within 3 minutes").expect("bash runs");
    let logs = || {
        let tail = |f: &str| {
            std::fs::read_to_string(out.join(f))
                .unwrap_or_default()
                .lines()
                .rev()
                .take(20)
                .collect::<Vec<_>>()
                .join("\n")
        };
        format!(
            "stderr: {}\nvigie: {}\nfts: {}",
            String::from_utf8_lossy(&output.stderr),
            tail("vigie.log"),
            tail("fts.log")
        )
    };
    assert!(output.status.success(), "{}", logs());
    let result: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", logs()));
    // FreeTAKServer relayed pytak's device to Vigie: a PP unit, at its last move.
    let state = &result["state"];
    let unit = unit_of_device(state, "PYTAK-FTS-7").unwrap_or_else(|| panic!("no unit for pytak's device: {}", logs()));
    assert_eq!((unit["callsign"].as_str(), unit["agency"].as_str()), (Some("FTS-7"), Some("PP")));
    assert_eq!(unit["last_fix"]["position"]["lon"], 2.3524, "{}", logs());
    // And pytak's chat through FreeTAKServer is a message in the room.
    assert!(
        state["messages"].as_object().unwrap().values().any(|m| m["body"] == "[FTS-7] pytak FTS-7 en position"),
        "{}",
        logs()
    );
    // FreeTAKServer relayed Vigie's own unit to pytak.
    let received = result["peer"]["received"].as_array().unwrap();
    assert!(
        received.iter().any(|e| e["uid"] == format!("VIGIE.unit.{unit_id}") && e["callsign"] == "PS-VIGIE"),
        "{result}"
    );
}

#[tokio::test]
async fn the_upstream_link_speaks_tls_with_vigie_s_client_certificate() {
    // The partner's TAK server on TLS, asking for a client certificate from its CA (as on 8089).
    let pki = Pki::new();
    let server = pki.issue("partner", vec!["localhost".into()]);
    let vigie_cert = pki.issue("vigie", vec![]);
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca.cert.der().clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier =
        rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone()).build().unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![server.cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::try_from(server.key_pair.serialize_der()).unwrap(),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let partner = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = partner.local_addr().unwrap().port();
    let (ca, cert, key) = (
        pki.write("ca.pem", &pki.ca.cert.pem()),
        pki.write("vigie.pem", &vigie_cert.cert.pem()),
        pki.write("vigie.key", &vigie_cert.key_pair.serialize_pem()),
    );
    let app = spawn_with(|c| {
        c.cot_upstream = Some(format!("localhost:{port}"));
        c.cot_upstream_ca = Some(ca);
        c.cot_upstream_cert = Some(cert);
        c.cot_upstream_key = Some(key);
        c.cot_identity = Some((principal("pp", "PP", &[Role::Dispatcher]), COT_SCOPES.into_iter().collect()));
    })
    .await;
    agencies(&app).await;
    let (socket, _) =
        tokio::time::timeout(Duration::from_secs(10), partner.accept()).await.expect("Vigie connects").unwrap();
    let tls = acceptor.accept(socket).await.expect("Vigie presents its certificate");
    let presented = tls.get_ref().1.peer_certificates().unwrap()[0].clone();
    assert_eq!(vigie::cot::listen::certificate_login(&presented).as_deref(), Some("vigie"));
    let mut server = Tak::new(tls);
    let hello = server.next(|e| e.uid.starts_with("VIGIE.link.")).await.expect("Vigie introduces itself");
    assert_eq!(hello.callsign.as_deref(), Some("Vigie PP"));
    server.send(&position("ANDROID-over-tls", "TLS-1", 48.86, 2.34, T0_MS, T0_MS + 60_000)).await;
    eventually(&app, "the partner's device over TLS", |s| unit_of_device(s, "ANDROID-over-tls").is_some()).await;
    app.stop().await;
}

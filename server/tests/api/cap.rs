//! CAP 1.2 over real HTTP: an alert comes in, is updated and cancelled by later messages of its
//! sender, a repeat changes nothing; hostile and invalid files get a 400 naming why; an incident
//! goes out as CAP through the audience filter, and the room's Atom feed lists only what every
//! agency sees.

use serde_json::{json, Value};
use vigie_adapters::cap::alert::CapAlert;
use vigie_adapters::cap::feed;

use crate::support::*;

#[path = "../../../adapters/tests/support/cap_schema.rs"]
mod cap_schema;

fn cap_time(ms: i64) -> String {
    vigie_adapters::cap::alert::cap_time(ms)
}

/// A storm warning over the Île de la Cité, from Météo-France's shape of message.
pub fn storm(identifier: &str, msg_type: &str, references: Option<&str>, expires_ms: i64) -> String {
    let references = references.map_or(String::new(), |r| format!("<references>{r}</references>"));
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{identifier}</identifier><sender>vigilance@meteo.fr</sender><sent>{sent}</sent>
  <status>Actual</status><msgType>{msg_type}</msgType><scope>Public</scope>{references}
  <info><language>fr-FR</language><category>Met</category><event>Orages</event>
    <urgency>Expected</urgency><severity>Severe</severity><certainty>Likely</certainty>
    <expires>{expires}</expires><senderName>Météo-France</senderName><headline>Vigilance orange orages</headline>
    <area><areaDesc>Île de la Cité</areaDesc><polygon>48.857,2.340 48.857,2.356 48.852,2.356 48.852,2.340 48.857,2.340</polygon>
      <circle>48.853,2.349 0.5</circle><geocode><valueName>INSEE</valueName><value>75104</value></geocode></area>
  </info>
</alert>"#,
        sent = cap_time(T0_MS),
        expires = cap_time(expires_ms)
    )
}

pub async fn post_cap(app: &TestApp, login: &str, body: String) -> (u16, Value) {
    let request = app
        .as_(login)
        .http
        .post(format!("{}/api/v1/cap", app.base))
        .header("content-type", "application/cap+xml")
        .body(body);
    app.send(request).await
}

#[tokio::test]
async fn an_alert_is_issued_updated_and_cancelled_and_a_repeat_changes_nothing() {
    let app = spawn_app().await;
    let (status, body) = post_cap(&app, "pp", storm("FR-1", "Alert", None, T0_MS + 3_600_000)).await;
    assert_eq!(status, 201, "{body}");
    let alert_id = body["alert_id"].as_u64().unwrap();
    // Every agency sees it, a liaison included.
    let (_, snapshot) = app.as_("bka").get("/api/v1/state").await;
    let alert = &snapshot["state"]["alerts"][alert_id.to_string()];
    assert_eq!((alert["event"].as_str(), alert["severity"].as_str()), (Some("Orages"), Some("severe")));
    let area = &alert["areas"][0];
    assert_eq!(area["description"], "Île de la Cité");
    assert_eq!(area["polygons"][0]["ring"].as_array().unwrap().len(), 4, "the closing vertex is implied");
    assert_eq!(area["circles"][0]["radius_m"], 500.0);
    assert_eq!(area["geocodes"][0], json!({"name": "INSEE", "value": "75104"}));
    assert_eq!(alert["expires_ms"], T0_MS + 3_600_000);

    // The same message again (a feed polled twice): 409, nothing changes.
    let seq = app.seq().await;
    let (status, body) = post_cap(&app, "pp", storm("FR-1", "Alert", None, T0_MS + 3_600_000)).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(app.seq().await, seq);

    // An update names it: same alert, new content.
    let reference = format!("vigilance@meteo.fr,FR-1,{}", cap_time(T0_MS));
    let (status, body) = post_cap(&app, "pp", storm("FR-2", "Update", Some(&reference), T0_MS + 7_200_000)).await;
    assert_eq!((status, body["alert_id"].as_u64()), (200, Some(alert_id)), "{body}");
    let state = app.state().await;
    assert_eq!(state["alerts"][alert_id.to_string()]["expires_ms"], T0_MS + 7_200_000);
    assert_eq!(state["alerts"].as_object().unwrap().len(), 1);

    // A cancellation naming the update ends it.
    let reference = format!("vigilance@meteo.fr,FR-2,{}", cap_time(T0_MS));
    let (status, body) = post_cap(&app, "pp", storm("FR-3", "Cancel", Some(&reference), T0_MS + 7_200_000)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.state().await["alerts"][alert_id.to_string()]["cancelled"], true);
    // The timeline knows all three, and who brought them in.
    let (_, log) = app.as_("auditor").get("/api/v1/events?without_positions=true").await;
    let kinds: Vec<&str> = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["event"]["type"].as_str())
        .filter(|k| k.starts_with("alert_"))
        .collect();
    assert_eq!(kinds, ["alert_issued", "alert_updated", "alert_cancelled"]);
    app.stop().await;
}

#[tokio::test]
async fn hostile_and_invalid_alerts_get_a_400_naming_why_and_change_nothing() {
    let app = spawn_app().await;
    let seq = app.seq().await;
    let xxe = r#"<?xml version="1.0"?><!DOCTYPE alert [<!ENTITY x SYSTEM "file:///etc/passwd">]><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&x;</identifier></alert>"#;
    let (status, body) = post_cap(&app, "pp", xxe.into()).await;
    assert_eq!(status, 400, "{body}");
    assert_error(&body, "bad_request", Some("alert"));
    assert!(body["error"]["message"].as_str().unwrap().contains("DTD"), "{body}");
    let laughs = format!(
        r#"<!DOCTYPE lolz [<!ENTITY lol "lol">{}]><alert>&lol9;</alert>"#,
        (1..10)
            .map(|i| format!(
                r#"<!ENTITY lol{i} "{}">"#,
                format!("&lol{};", if i == 1 { String::new() } else { (i - 1).to_string() }).repeat(10)
            ))
            .collect::<String>()
    );
    assert_eq!(post_cap(&app, "pp", laughs).await.0, 400);
    let (status, body) = post_cap(
        &app,
        "pp",
        storm("X", "Alert", None, T0_MS).replace("<severity>Severe</severity>", "<severity>Bad</severity>"),
    )
    .await;
    assert_eq!(status, 400);
    assert_error(&body, "bad_request", Some("info[0].severity"));
    let (status, body) =
        post_cap(&app, "pp", storm("X", "Alert", None, T0_MS).replace("48.852,2.356", "148.852,2.356")).await;
    assert_eq!(status, 400);
    assert_error(&body, "bad_request", Some("info[0].area[0].polygon"));
    // A cancellation of an alert the room never had: 404.
    let reference = format!("vigilance@meteo.fr,NOPE,{}", cap_time(T0_MS));
    assert_eq!(post_cap(&app, "pp", storm("C", "Cancel", Some(&reference), T0_MS)).await.0, 404);
    // Not XML: 415; too large: 413; a liaison may not bring alerts in: 403.
    let json_body = app.as_("pp").http.post(format!("{}/api/v1/cap", app.base)).json(&json!({"alert": 1}));
    assert_eq!(app.send(json_body).await.0, 415);
    let huge = format!("{}<!--{}-->", storm("BIG", "Alert", None, T0_MS), "x".repeat(1_100_000));
    assert_eq!(post_cap(&app, "pp", huge).await.0, 413);
    assert_eq!(post_cap(&app, "bka", storm("L", "Alert", None, T0_MS + 60_000)).await.0, 403);
    assert_eq!(app.seq().await, seq, "nothing was committed");
    app.stop().await;
}

#[tokio::test]
async fn incidents_go_out_as_cap_and_the_feed_lists_what_every_agency_sees() {
    let app = spawn_app().await;
    app.seed(0).await;
    let incident = json!({"kind": "fire", "priority": "P1", "location": {"lon": 2.3499, "lat": 48.8530}, "address": "Parvis Notre-Dame", "lead_agency": "PP",
        "area": [[2.348, 48.852], [2.351, 48.852], [2.351, 48.854], [2.348, 48.854]]});
    let (status, body) = app.post("/api/v1/incidents", incident).await;
    assert_eq!(status, 201, "{body}");
    let public = body["incident_id"].as_u64().unwrap();
    let secret = json!({"kind": "hostage", "priority": "P1", "location": {"lon": 2.35, "lat": 48.86}, "address": "Secret", "lead_agency": "PP", "restricted": true});
    let restricted = app.post("/api/v1/incidents", secret).await.1["incident_id"].as_u64().unwrap();

    let response = app.as_("bka").http.get(format!("{}/api/v1/incidents/{public}/cap", app.base)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/cap+xml");
    let cap = CapAlert::parse(&response.bytes().await.unwrap()).expect("valid CAP 1.2");
    assert_eq!(cap.sender, "vigie.room");
    let info = &cap.infos[0];
    assert_eq!((info.event.as_str(), info.categories[0].as_str()), ("Fire", "Fire"));
    assert_eq!((info.urgency.as_str(), info.severity.as_str()), ("Immediate", "Extreme"));
    assert_eq!(info.areas[0].desc, "Parvis Notre-Dame");
    assert_eq!(info.areas[0].polygons[0].len(), 5, "closed, as CAP writes polygons");
    // A restricted incident: 404 for whoever may not see it, a Restricted alert for its lead.
    assert_eq!(app.as_("bka").get(&format!("/api/v1/incidents/{restricted}/cap")).await.0, 404);
    let text = app
        .http
        .get(format!("{}/api/v1/incidents/{restricted}/cap", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(CapAlert::parse(text.as_bytes()).unwrap().scope.as_str(), "Restricted");

    let response = app.as_("bka").http.get(format!("{}/api/v1/cap/feed", app.base)).send().await.unwrap();
    assert_eq!(response.headers()["content-type"], "application/atom+xml");
    let items = feed::items(&response.bytes().await.unwrap()).unwrap();
    let urls: Vec<String> = items
        .iter()
        .map(|i| match i {
            feed::Item::Link(l) => l.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert!(urls.iter().any(|u| u.ends_with(&format!("/api/v1/incidents/{public}/cap"))), "{urls:?}");
    assert!(
        !urls.iter().any(|u| u.ends_with(&format!("/api/v1/incidents/{restricted}/cap"))),
        "never a restricted incident"
    );

    // What goes out is valid against the OASIS schema itself (CAP-v1.2.xsd, with lxml): an incident
    // with an area and notes, one with only a place, a restricted one.
    assert_eq!(
        app.post(&format!("/api/v1/incidents/{public}/notes"), json!({"text": "Parvis évacué <vite> & bouclé"}))
            .await
            .0,
        201
    );
    let plain = json!({"kind": "medical_emergency", "priority": "P3", "location": {"lon": 2.34, "lat": 48.85}, "address": "Rue Saint-Jacques", "lead_agency": "PP"});
    let plain = app.post("/api/v1/incidents", plain).await.1["incident_id"].as_u64().unwrap();
    let mut exports = Vec::new();
    for id in [public, plain, restricted] {
        let response = app.http.get(format!("{}/api/v1/incidents/{id}/cap", app.base)).send().await.unwrap();
        exports.push((format!("incident-{id}"), response.text().await.unwrap()));
    }
    if let Some(result) = cap_schema::validate(&exports) {
        result.unwrap_or_else(|report| panic!("invalid against CAP-v1.2.xsd:\n{report}"));
    }
    app.stop().await;
}

#[tokio::test]
async fn a_cap_feed_is_polled_and_vigie_cap_import_brings_files_in() {
    // The weather service's feed on the room's network: one alert linked, one embedded.
    let linked = storm("FEED-1", "Alert", None, T0_MS + 3_600_000);
    let embedded =
        storm("FEED-2", "Alert", None, T0_MS + 3_600_000).replace("<?xml version=\"1.0\" encoding=\"UTF-8\"?>", "");
    let partner = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", partner.local_addr().unwrap());
    let atom = format!(
        r#"<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Vigilance</title>
        <entry><id>2</id><content type="text/xml">{embedded}</content></entry>
        <entry><id>1</id><link rel="alternate" type="application/cap+xml" href="{base}/alerts/1.xml"/></entry></feed>"#
    );
    let service = axum::Router::new()
        .route("/feed.atom", axum::routing::get(move || async move { atom }))
        .route("/alerts/1.xml", axum::routing::get(move || async move { linked }));
    tokio::spawn(async move { axum::serve(partner, service).await.unwrap() });
    let feed_url = format!("{base}/feed.atom");
    let app = spawn_with(|c| {
        c.cap_feeds = vec![feed_url];
        c.cap_poll_s = 5;
    })
    .await;
    let mut alerts = Value::Null;
    for _ in 0..100 {
        alerts = app.state().await["alerts"].clone();
        if alerts.as_object().is_some_and(|a| a.len() == 2) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let identifiers: Vec<&str> =
        alerts.as_object().expect("alerts").values().filter_map(|a| a["identifier"].as_str()).collect();
    assert_eq!(identifiers.len(), 2, "{alerts}");
    assert!(identifiers.contains(&"FEED-1") && identifiers.contains(&"FEED-2"));
    let (_, log) = app.as_("auditor").get("/api/v1/events?without_positions=true").await;
    let actors: Vec<&str> = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"]["type"] == "alert_issued")
        .filter_map(|e| e["actor"].as_str())
        .collect();
    assert!(actors.iter().all(|a| a.starts_with("cap-feed:")), "{actors:?}");

    // The console: `vigie cap import` sends files through the API with a dispatcher's token.
    let dir = tempfile::TempDir::new().unwrap();
    let (good, bad) = (dir.path().join("storm.xml"), dir.path().join("bad.xml"));
    std::fs::write(&good, storm("CLI-1", "Alert", None, T0_MS + 3_600_000)).unwrap();
    std::fs::write(
        &bad,
        storm("CLI-2", "Alert", None, T0_MS).replace("<urgency>Expected</urgency>", "<urgency>Later</urgency>"),
    )
    .unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args(["cap", "import"])
        .arg(&good)
        .arg(&bad)
        .args(["--url", &app.base, "--token", &app.tokens["pp"]])
        .output()
        .await
        .unwrap();
    let said = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "one file was refused: {said}");
    assert!(said.contains("storm.xml: alert 3 issued"), "{said}");
    assert!(said.contains("bad.xml: refused, 400 Bad Request (info[0].urgency)"), "{said}");
    app.stop().await;
}

/// A flood warning for a commune given only by its INSEE code, the way civil protection often
/// sends them.
fn by_code(identifier: &str, code: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{identifier}</identifier><sender>cogic@interieur.gouv.fr</sender><sent>{sent}</sent>
  <status>Actual</status><msgType>Alert</msgType><scope>Public</scope>
  <info><category>Met</category><event>Crue</event><urgency>Expected</urgency><severity>Moderate</severity>
    <certainty>Likely</certainty><headline>Vigilance crue</headline>
    <area><areaDesc>Paris 4e</areaDesc><geocode><valueName>INSEE</valueName><value>{code}</value></geocode></area>
  </info>
</alert>"#,
        sent = vigie_adapters::cap::alert::cap_time(T0_MS)
    )
}

#[tokio::test]
async fn an_area_given_only_by_geocode_is_drawn_with_the_layer_that_knows_the_code() {
    let dir = std::sync::Arc::new(tempfile::TempDir::new().unwrap());
    let db = format!("sqlite://{}", dir.path().join("vigie.db").display());
    // The 4th arrondissement's square (INSEE 75104) and the 5th (75105), coded in `c_arinsee`.
    let layer = dir.path().join("arrondissements.geojson");
    let square = |code: &str, west: f64| {
        json!({"type": "Feature", "properties": {"l_ar": format!("{code}"), "c_arinsee": code.parse::<u32>().unwrap()},
               "geometry": {"type": "Polygon", "coordinates": [[[west, 48.85], [west + 0.01, 48.85], [west + 0.01, 48.86], [west, 48.86], [west, 48.85]]]}})
    };
    let collection = json!({"type": "FeatureCollection", "features": [square("75104", 2.35), square("75105", 2.34)]});
    std::fs::write(&layer, collection.to_string()).unwrap();
    let (ok, out) = crate::basemap::vigie(&db, &["import", layer.to_str().unwrap(), "--geocode", "INSEE=c_arinsee"]);
    assert!(ok, "{out}");
    let (ok, out) = crate::basemap::vigie(&db, &["import", layer.to_str().unwrap(), "--geocode", "INSEE=nowhere"]);
    assert!(!ok && out.contains("\"nowhere\" is on no feature"), "{out}");
    let app = spawn_in(dir, |_| {}).await;

    assert_eq!(post_cap(&app, "pp", by_code("CRUE-1", "75104")).await.0, 201);
    assert_eq!(post_cap(&app, "pp", by_code("CRUE-2", "13055")).await.0, 201);
    let alerts = app.state().await["alerts"].clone();
    let area = |id: &str| alerts[id]["areas"][0].clone();
    let drawn = area("1")["resolved"].as_array().cloned().unwrap_or_default();
    assert_eq!(drawn.len(), 1, "{alerts}");
    let ring: Vec<(f64, f64)> = drawn[0]["ring"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["lon"].as_f64().unwrap(), p["lat"].as_f64().unwrap()))
        .collect();
    assert_eq!(ring, [(2.35, 48.85), (2.36, 48.85), (2.36, 48.86), (2.35, 48.86)]);
    assert_eq!(area("1")["geocodes"][0], json!({"name": "INSEE", "value": "75104"}), "the code is kept");
    // A code no layer knows: the alert is taken, on the timeline, with nothing to draw.
    assert!(area("2").get("resolved").is_none(), "{alerts}");
    // Found by the search too, by its area's name.
    let (_, found) = app.get("/api/v1/search?q=paris%204e").await;
    assert_eq!(found["hits"][0]["kind"], "alert", "{found}");
    app.stop().await;
}

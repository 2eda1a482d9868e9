//! One search over the real server: every kind of thing in one ranked answer, accents, case and
//! prefixes aside; need-to-know applied to every hit; the gazetteer from real public layers (needs
//! `../shared/data/`, skipped where absent); the index rebuilt on restart; bad queries refused
//! naming the parameter.

use serde_json::{json, Value};
use std::time::Duration;
use vigie::clock::Clock;
use vigie_domain::wire::ServerMessage;

use crate::basemap::{shared_data, vigie};
use crate::cap::{post_cap, storm};
use crate::support::*;

async fn search(app: &TestApp, login: &str, q: &str) -> Value {
    let (status, body) = app.as_(login).get(&format!("/api/v1/search?q={}", urlencode(q))).await;
    assert_eq!(status, 200, "{q}: {body}");
    body
}

fn urlencode(q: &str) -> String {
    q.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

/// Each hit as `kind:id` (a place by its title).
fn found(body: &Value) -> Vec<String> {
    body["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            let id = ["incident_id", "unit_id", "message_id", "alert_id"].iter().find_map(|k| h.get(*k));
            format!(
                "{}:{}",
                h["kind"].as_str().unwrap(),
                id.map_or_else(|| h["title"].as_str().unwrap().to_owned(), |v| v.to_string())
            )
        })
        .collect()
}

fn matched(hit: &Value) -> Vec<String> {
    hit["snippet"].as_array().map_or(Vec::new(), |f| {
        f.iter().filter(|f| f["matched"] == true).map(|f| f["text"].as_str().unwrap().to_owned()).collect()
    })
}

#[tokio::test]
async fn one_query_finds_every_kind_ranked_whatever_the_accents_case_or_ending() {
    let app = spawn_app().await;
    app.seed(4).await;
    let incident = json!({"kind": "public_order", "priority": "P1", "location": {"lon": 2.3465, "lat": 48.8546}, "address": "Préfecture de police, boulevard du Palais", "lead_agency": "PP"});
    let (status, body) = app.post("/api/v1/incidents", incident).await;
    assert_eq!(status, 201, "{body}");
    let message =
        json!({"channel_id": "room", "priority": "routine", "body": "Point de regroupement devant la préfecture"});
    assert_eq!(app.post("/api/v1/messages", message).await.0, 201);
    let note = json!({"text": "Évacuation du quai terminée, périmètre tenu"});
    assert_eq!(app.as_("bspp").post("/api/v1/incidents/1/notes", note).await.0, 201);
    let (status, body) = post_cap(&app, "pp", storm("FR-1", "Alert", None, T0_MS + 3_600_000)).await;
    assert_eq!(status, 201, "{body}");

    // Found the moment it is committed, without accents, in capitals, by the start of a word; the
    // incident named so first, then the message that mentions it.
    for q in ["prefecture", "PRÉFECTURE", "préf", "PREF"] {
        assert_eq!(found(&search(&app, "pp", q).await), ["incident:2", "message:1"], "{q}");
    }
    let hits = search(&app, "pp", "prefecture").await;
    let first = &hits["hits"][0];
    assert_eq!(first["title"], "Préfecture de police, boulevard du Palais");
    assert_eq!(first["detail"], "INC-2 · public order · P1 · new");
    assert_eq!(first["bbox"], json!([2.3465, 48.8546, 2.3465, 48.8546]));
    assert_eq!(matched(first), ["Préfecture"]);
    assert_eq!(hits["hits"][1]["channel_id"], "room");
    assert_eq!(hits["more"], false);

    // A note finds its incident; the incident found by its address and its note is one hit.
    let evacuation = search(&app, "bspp", "evacuation").await;
    assert_eq!(found(&evacuation), ["incident:1"]);
    assert_eq!(matched(&evacuation["hits"][0]), ["Évacuation"]);
    assert_eq!(found(&search(&app, "bspp", "quai").await), ["incident:1"]);
    // Every word must match.
    assert_eq!(found(&search(&app, "bspp", "quai boulevard").await), Vec::<String>::new());
    // Units by callsign (the exact name first), agency, kind; alerts by headline and area; the
    // gazetteer's places (the built-in sketch's, in a room with no base map of its own).
    assert_eq!(found(&search(&app, "pp", "U-2").await)[0], "unit:3");
    // Among equals, the newest first.
    assert_eq!(found(&search(&app, "pp", "fire engine").await), ["unit:4", "unit:2"]);
    assert_eq!(found(&search(&app, "pp", "ile de la cite").await), ["alert:1"]);
    assert_eq!(found(&search(&app, "bka", "orages").await), ["alert:1"], "alerts are public");
    let seine = search(&app, "pp", "seine").await;
    assert_eq!(found(&seine), ["place:Seine"]);
    assert_eq!(seine["hits"][0]["layer"], "builtin-water");
    assert_eq!(seine["hits"][0]["bbox"].as_array().unwrap().len(), 4);

    // A limit cuts the answer and says there is more.
    let (status, one) = app.get("/api/v1/search?q=u&limit=1").await;
    assert_eq!((status, one["hits"].as_array().unwrap().len(), &one["more"]), (200, 1, &json!(true)));

    // Bad queries are refused naming the parameter; nothing is searched.
    for (path, status, code, field) in [
        ("/api/v1/search?q=", 400, "bad_request", Some("q")),
        ("/api/v1/search?q=%22*%20-", 400, "bad_request", Some("q")),
        ("/api/v1/search?q=a%20b%20c%20d%20e%20f%20g%20h%20i", 400, "bad_request", Some("q")),
        ("/api/v1/search?q=quai&limit=0", 400, "bad_request", Some("limit")),
        ("/api/v1/search?q=quai&limit=51", 400, "bad_request", Some("limit")),
        ("/api/v1/search?q=quai&limit=-1", 400, "bad_query", None),
        ("/api/v1/search?q=quai&sort=name", 400, "bad_query", None),
        ("/api/v1/search", 400, "bad_query", None),
    ] {
        let (got, body) = app.get(path).await;
        assert_eq!(got, status, "{path}: {body}");
        assert_error(&body, code, field);
    }
    let (status, body) = app.get(&format!("/api/v1/search?q={}", "x".repeat(201))).await;
    assert_eq!(status, 400);
    assert_error(&body, "bad_request", Some("q"));
    let anonymous = reqwest::get(format!("{}/api/v1/search?q=quai", app.base)).await.unwrap();
    assert_eq!(anonymous.status(), 401);

    // The index is derived: a restart rebuilds it from the log.
    let dir = app.stop().await;
    let app = spawn_in(dir, |_| {}).await;
    assert_eq!(found(&search(&app, "pp", "prefecture").await), ["incident:2", "message:1"]);
    assert_eq!(found(&search(&app, "pp", "evacuation").await), ["incident:1"]);
}

#[tokio::test]
async fn a_liaison_never_finds_what_it_may_not_see() {
    let app = spawn_app().await;
    app.seed(2).await;
    let bka = json!({"code": "BKA", "short_name": "BKA", "full_name": "Bundeskriminalamt", "kind": "liaison", "country": "DE", "colour": "#e0b000"});
    assert_eq!(app.post("/api/v1/agencies", bka).await.0, 201);
    let hidden = json!({"callsign": "Kilo Discret", "kind": "patrol_car", "hidden_from": ["BKA"]});
    assert_eq!(app.post("/api/v1/units", hidden).await.0, 201);
    let restricted = json!({"kind": "hostage", "priority": "P1", "location": {"lon": 2.35, "lat": 48.86}, "address": "Opération Kilo, rue Saint-Denis", "lead_agency": "PP", "restricted": true});
    let (status, body) = app.post("/api/v1/incidents", restricted).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(app.post("/api/v1/incidents/2/notes", json!({"text": "négociateur Kilo en place"})).await.0, 201);
    let channel = json!({"slug": "fr-only", "name": "Services français", "members": ["PP", "BSPP"]});
    assert_eq!(app.post("/api/v1/channels", channel).await.0, 201);
    let message = json!({"channel_id": "inter-fr-only", "priority": "routine", "body": "Kilo: équipe en approche"});
    let (status, body) = app.post("/api/v1/messages", message).await;
    assert_eq!(status, 201, "{body}");
    let public = json!({"channel_id": "room", "priority": "routine", "body": "Kilo? rien à signaler"});
    assert_eq!(app.post("/api/v1/messages", public).await.0, 201);

    // PP finds all of it; BKA only the room's message, and is not told that more exists.
    assert_eq!(found(&search(&app, "pp", "kilo").await), ["unit:3", "incident:2", "message:2", "message:1"]);
    let bka_sees = search(&app, "bka", "kilo").await;
    assert_eq!(found(&bka_sees), ["message:2"]);
    assert_eq!(bka_sees["more"], false);
    // Past a first page of hits it may not see (80 hidden units rank before the message), the
    // liaison still finds what it may.
    for i in 0..80 {
        let hidden = json!({"callsign": format!("Kilo {i}"), "kind": "patrol_car", "hidden_from": ["BKA"]});
        assert_eq!(app.post("/api/v1/units", hidden).await.0, 201);
    }
    assert_eq!(found(&search(&app, "pp", "kilo").await).len(), 20);
    assert_eq!(search(&app, "pp", "kilo").await["more"], true);
    let bka_sees = search(&app, "bka", "kilo").await;
    assert_eq!((found(&bka_sees), &bka_sees["more"]), (vec!["message:2".to_owned()], &json!(false)));
    for q in ["discret", "negociateur", "approche", "Saint-Denis", "hostage"] {
        assert_eq!(found(&search(&app, "bka", q).await), Vec::<String>::new(), "{q}");
    }
    // Need-to-know is decided when asked: shared with BKA, the incident is found at once, notes too.
    assert_eq!(app.post("/api/v1/incidents/2/shares", json!({"agency": "BKA"})).await.0, 201);
    assert_eq!(found(&search(&app, "bka", "negociateur").await), ["incident:2"]);
    assert_eq!(found(&search(&app, "bka", "kilo").await), ["incident:2", "message:2"]);
}

#[tokio::test]
async fn the_gazetteer_finds_the_imported_layers_places_even_imported_while_running() {
    let (Some(arrondissements), Some(precincts)) =
        (shared_data("paris-arrondissements.geojson"), shared_data("nyc-police_precincts.geojson"))
    else {
        return;
    };
    let dir = std::sync::Arc::new(tempfile::TempDir::new().unwrap());
    let db = format!("sqlite://{}", dir.path().join("vigie.db").display());
    let (ok, out) = vigie(&db, &["import", arrondissements.to_str().unwrap()]);
    assert!(ok, "{out}");
    let app = spawn_in(dir.clone(), |_| {}).await;
    let elysee = search(&app, "bka", "elysee").await;
    assert_eq!(found(&elysee), ["place:Élysée"]);
    let hit = &elysee["hits"][0];
    assert_eq!(hit["layer"], "paris-arrondissements");
    let b: Vec<f64> = hit["bbox"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert!(b[0] > 2.28 && b[2] < 2.33 && b[1] > 48.86 && b[3] < 48.89, "the 8th arrondissement: {b:?}");
    assert_eq!(found(&search(&app, "pp", "hotel de ville").await), ["place:Hôtel-de-Ville"]);
    assert_eq!(found(&search(&app, "pp", "arrondissements bourse").await), ["place:Bourse"]);

    // A layer imported while the room runs is found within a few seconds.
    let (ok, out) = vigie(&db, &["import", precincts.to_str().unwrap(), "--name", "nypd-precincts"]);
    assert!(ok, "{out}");
    let mut hits = Vec::new();
    for _ in 0..50 {
        hits = found(&search(&app, "pp", "precincts 14").await);
        if !hits.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(hits, ["place:14"]);
    // And a removed one leaves the gazetteer.
    let (ok, out) = vigie(&db, &["remove", "nypd-precincts"]);
    assert!(ok, "{out}");
    for _ in 0..50 {
        hits = found(&search(&app, "pp", "precincts 14").await);
        if hits.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(hits, Vec::<String>::new());
}

#[tokio::test]
async fn a_replay_is_searched_at_its_moment_with_its_trainers_picture() {
    let app = spawn_app().await;
    app.seed(2).await;
    let from = app.clock.now_ms();
    let rivoli = json!({"kind": "fire", "priority": "P2", "location": {"lon": 2.35, "lat": 48.857}, "address": "Rue de Rivoli", "lead_agency": "PP"});
    let (status, body) = app.post("/api/v1/incidents", rivoli).await;
    assert_eq!(status, 201, "{body}");
    let rivoli = format!("incident:{}", body["incident_id"]);
    let bercy = json!({"kind": "hostage", "priority": "P1", "location": {"lon": 2.38, "lat": 48.84}, "address": "Quai de Bercy", "lead_agency": "PP", "restricted": true});
    let (status, body) = app.post("/api/v1/incidents", bercy).await;
    assert_eq!(status, 201, "{body}");
    let bercy = format!("incident:{}", body["incident_id"]);
    app.clock.advance_ms(60_000);
    let moment = app.clock.now_ms();
    app.clock.advance_ms(60_000);
    let note = json!({"text": "Péniche évacuée, négociateur en route"});
    let notes = format!("/api/v1/incidents/{}/notes", &rivoli["incident:".len()..]);
    assert_eq!(app.as_("bspp").post(&notes, note).await.0, 201);
    let to = app.clock.now_ms();

    // Live, the note is found; in a replay standing before it, it is not yet written.
    assert_eq!(found(&search(&app, "bspp", "peniche").await), [rivoli.as_str()]);
    let path = |id: &str, q: &str| format!("/api/v1/replays/{id}/search?q={}", urlencode(q));
    let in_replay = |id: &str, login: &'static str, q: &str| {
        let (app, path) = (&app, path(id, q));
        async move {
            let (status, body) = app.as_(login).get(&path).await;
            assert_eq!(status, 200, "{path}: {body}");
            body
        }
    };
    // A session seeked to the moment while nobody follows it: the search holds its room at its
    // clock for its time, as a follower would.
    let session = |login: &'static str| {
        let app = &app;
        async move {
            let (status, started) = app.as_(login).post("/api/v1/replays", json!({"from_ms": from, "to_ms": to})).await;
            assert_eq!(status, 201, "{started}");
            let (id, key) = (started["session_id"].as_str().unwrap(), started["trainer_key"].as_str().unwrap());
            let seek =
                app.http.post(format!("{}/api/v1/replays/{id}/control", app.base)).header("x-vigie-trainer-key", key);
            let (status, body) = app.send(seek.json(&json!({"action": "seek", "at_ms": moment}))).await;
            assert_eq!(status, 200, "{body}");
            (id.to_owned(), key.to_owned())
        }
    };
    let (pp, pp_key) = session("pp").await;
    assert_eq!(found(&in_replay(&pp, "pp", "rivoli").await), [rivoli.as_str()], "the room at the moment");
    let capitals = in_replay(&pp, "pp", "RIVOLI").await;
    assert_eq!(matched(&capitals["hits"][0]), ["Rivoli"]);
    assert_eq!(found(&in_replay(&pp, "pp", "peniche").await), Vec::<String>::new(), "written after the moment");
    assert_eq!(found(&in_replay(&pp, "pp", "quai ber").await), [bercy.as_str()]);
    // The base map's places are found in a replay as live.
    assert!(found(&in_replay(&pp, "pp", "seine").await).contains(&"place:Seine".to_owned()));
    // Seeked on while still nobody follows: the next search stands at the new moment.
    let seek =
        app.http.post(format!("{}/api/v1/replays/{pp}/control", app.base)).header("x-vigie-trainer-key", &pp_key);
    assert_eq!(app.send(seek.json(&json!({"action": "seek", "at_ms": to}))).await.0, 200);
    assert_eq!(found(&in_replay(&pp, "pp", "peniche").await), [rivoli.as_str()], "the note, written by then");

    // A session started by BSPP shows BSPP's picture, to anyone who follows it: no restricted
    // incident of the PP in it, nor any sign that one exists.
    let (bspp, _) = session("bspp").await;
    assert_eq!(found(&in_replay(&bspp, "pp", "rivoli").await), [rivoli]);
    let hidden = in_replay(&bspp, "pp", "bercy").await;
    assert_eq!((found(&hidden), &hidden["more"]), (Vec::<String>::new(), &json!(false)));

    // Refused: bad words, a bad limit, an unknown session, no credentials.
    let (status, body) = app.as_("pp").get(&format!("/api/v1/replays/{pp}/search?q=%22%2A")).await;
    assert_eq!(status, 400, "{body}");
    assert_error(&body, "bad_request", Some("q"));
    let (status, body) = app.as_("pp").get(&format!("/api/v1/replays/{pp}/search?q=x&limit=51")).await;
    assert_eq!(status, 400, "{body}");
    assert_error(&body, "bad_request", Some("limit"));
    let (status, body) = app.as_("pp").get("/api/v1/replays/nope/search?q=x").await;
    assert_eq!(status, 404, "{body}");
    assert_error(&body, "not_found", Some("id"));
    let anonymous = reqwest::get(format!("{}/api/v1/replays/{pp}/search?q=x", app.base)).await.unwrap();
    assert_eq!(anonymous.status(), 401);
    // A liaison follows no replay, so it searches none: its rule is the replay stream's.
    let (status, body) = app.as_("bka").get(&format!("/api/v1/replays/{pp}/search?q=rivoli")).await;
    assert_eq!(status, 403, "{body}");
    app.stop().await;
}

#[tokio::test]
async fn a_replay_at_the_live_moment_finds_what_the_live_index_finds() {
    // Two engines, one definition: the replay's pass over its room and SQLite's FTS5 over the live
    // room cut, fold and match words alike, so at the same moment they find the same things.
    let app = spawn_app().await;
    app.seed(6).await;
    let from = app.clock.now_ms();
    let streets = [
        "Place de l'Hôtel-de-Ville",
        "Avenue des Champs-Élysées",
        "Rue du Faubourg Saint-Honoré",
        "Quai d'Orsay",
        "Gare de l'Est",
        "Boulevard Haussmann",
        "Rue de l'Œuvre",
        "Château d'Eau",
        "Saint-Germain-des-Prés",
    ];
    let notes = ["Évacuation en cours", "Périmètre de sécurité établi", "Deux blessés légers", "Fumées noires"];
    for (n, street) in streets.iter().enumerate() {
        let (kind, lead) = if n % 2 == 0 { ("fire", "BSPP") } else { ("public_order", "PP") };
        let incident = json!({"kind": kind, "priority": "P2", "location": {"lon": 2.3 + n as f64 / 100.0, "lat": 48.86}, "address": street, "lead_agency": lead, "restricted": n == 3});
        let login = if lead == "PP" { "pp" } else { "bspp" };
        let (status, body) = app.as_(login).post("/api/v1/incidents", incident).await;
        assert_eq!(status, 201, "{body}");
        let note = json!({"text": notes[n % notes.len()]});
        let id = &body["incident_id"];
        assert_eq!(app.as_(login).post(&format!("/api/v1/incidents/{id}/notes"), note).await.0, 201);
        let message =
            json!({"channel_id": "room", "priority": "routine", "body": format!("Point de situation {street}")});
        assert_eq!(app.as_(login).post("/api/v1/messages", message).await.0, 201);
        app.clock.advance_ms(1_000);
    }
    let to = app.clock.now_ms();
    let (status, started) = app.as_("pp").post("/api/v1/replays", json!({"from_ms": from, "to_ms": to})).await;
    assert_eq!(status, 201, "{started}");
    let (id, key) = (started["session_id"].as_str().unwrap(), started["trainer_key"].as_str().unwrap());
    let mut ws = app.ws(&format!("/api/v1/replays/{id}/stream"), &app.tokens["pp"]).await;
    let snapshot = |m: &ServerMessage| matches!(m, ServerMessage::Snapshot { .. });
    while !snapshot(&next_message(&mut ws).await.unwrap()) {}
    let seek = app.http.post(format!("{}/api/v1/replays/{id}/control", app.base)).header("x-vigie-trainer-key", key);
    assert_eq!(app.send(seek.json(&json!({"action": "seek", "at_ms": to}))).await.0, 200);
    while !snapshot(&next_message(&mut ws).await.unwrap()) {}

    let queries = [
        "hotel",
        "HÔTEL de ville",
        "champs elysees",
        "saint",
        "st",
        "pres",
        "œuvre",
        "oeuvre",
        "eau",
        "quai",
        "p",
        "pp",
        "bspp full",
        "fire",
        "public order",
        "inc 3",
        "evacuation",
        "securite etabli",
        "point situation",
        "u",
        "u 3",
        "patrol",
        "room",
        "noires",
        "seine",
        "paris",
        "zzz",
    ];
    let mut compared = 0;
    for q in queries {
        let (status, live) = app.as_("pp").get(&format!("/api/v1/search?q={}&limit=50", urlencode(q))).await;
        assert_eq!(status, 200, "{live}");
        let (status, past) =
            app.as_("pp").get(&format!("/api/v1/replays/{id}/search?q={}&limit=50", urlencode(q))).await;
        assert_eq!(status, 200, "{past}");
        assert_eq!((&live["more"], &past["more"]), (&json!(false), &json!(false)), "{q}");
        // The base map's places are the gazetteer's in both.
        let mut live = found(&live);
        let mut past = found(&past);
        live.sort();
        past.sort();
        assert_eq!(past, live, "{q}");
        compared += past.len();
    }
    assert!(compared >= 80, "the queries find enough to compare: {compared}");
    app.stop().await;
}

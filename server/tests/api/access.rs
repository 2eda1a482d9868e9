//! Who may call what: every route of the API, taken from the table the router is built from,
//! answered for an anonymous caller and for an account of each role alone. A route added without a
//! rule cannot exist (routes are only added with one); a rule that lets the wrong role in fails here.

use reqwest::Method;
use serde_json::json;
use vigie::http::access::Rule;
use vigie_domain::authority::{Role, Scope};

use crate::support::{add_account, client_with, spawn_app};

/// A path of the table with its parameters filled with values of the right shape.
fn fill(path: &str) -> String {
    path.split('/')
        .map(|segment| match segment {
            "{incident_id}" | "{unit_id}" | "{message_id}" | "{id}" => "1",
            "{agency}" => "BSPP",
            "{name}" => "paris-arrondissements",
            other => other,
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn method(m: &axum::http::Method) -> Method {
    Method::from_bytes(m.as_str().as_bytes()).unwrap()
}

#[tokio::test]
async fn every_route_refuses_anonymous_callers_and_admits_exactly_the_roles_its_rule_names() {
    let app = spawn_app().await;
    app.seed(2).await;
    let running = app.running.as_ref().unwrap();
    let table = vigie::api::routes(&running.state).table().to_vec();
    assert!(table.len() >= 40, "the whole API is in the table ({} routes)", table.len());
    let mut only = Vec::new();
    for role in Role::ALL {
        let token = add_account(running, &format!("only.{}", role.name()), "PP", &[role]).await;
        only.push((role, client_with(&token)));
    }
    let anonymous = reqwest::Client::new();
    for route in &table {
        let url = format!("{}{}", app.base, fill(route.path));
        let request = |client: &reqwest::Client| {
            let r = client.request(method(&route.method), &url);
            match route.method.as_str() {
                "POST" | "PATCH" => r.json(&json!({})),
                _ => r,
            }
        };
        let (status, body) = app.send(request(&anonymous)).await;
        match route.rule {
            Rule::Public => assert_ne!(status, 403, "{} {}: {body}", route.method, route.path),
            Rule::Roles(..) => {
                assert_eq!(status, 401, "{} {} anonymous: {body}", route.method, route.path);
                assert_eq!(body["error"]["code"], "unauthenticated");
            }
        }
        for (role, client) in &only {
            let (status, body) = app.send(request(client)).await;
            let where_ = format!("{} {} as {}: {status} {body}", route.method, route.path, role.name());
            assert_ne!(status, 401, "{where_}");
            if route.rule.admits(*role) {
                assert_ne!(body["error"]["code"], "role_required", "{where_}");
            } else {
                assert_eq!((status, body["error"]["code"].as_str()), (403, Some("role_required")), "{where_}");
            }
        }
    }
}

#[tokio::test]
async fn a_token_acts_within_its_scopes_and_stops_when_revoked() {
    let app = spawn_app().await;
    app.seed(2).await;
    let store = &app.running.as_ref().unwrap().state.store;
    let (id, token) =
        store.issue_token("pp", "avl gateway", &[Scope::PositionsWrite].into(), crate::support::T0_MS).await.unwrap();
    assert!(token.starts_with("vgt_") && token.len() == 68, "{token}");
    let avl = client_with(&token);
    let fix = json!({"reports": [{"unit_id": 1, "lon": 2.35, "lat": 48.85, "reported_at_ms": crate::support::T0_MS}]});
    let (status, body) = app.send(avl.post(format!("{}/api/v1/positions", app.base)).json(&fix)).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app.send(avl.get(format!("{}/api/v1/state", app.base))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("scope_required")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("room:read"), "{body}");
    let listed = store.tokens(Some("pp")).await.unwrap();
    let listed = listed.iter().find(|t| t.id == id).unwrap();
    assert_eq!(listed.name, "avl gateway");
    assert!(!serde_json::to_string(&listed).unwrap().contains(&token[4..]), "a listing never carries the token");
    assert!(store.revoke_token(id, crate::support::T0_MS).await.unwrap());
    let (status, _) = app.send(avl.post(format!("{}/api/v1/positions", app.base)).json(&fix)).await;
    assert_eq!(status, 401, "a revoked token is refused");
    let (status, _) =
        app.send(client_with(&format!("vgt_{}", "0".repeat(64))).get(format!("{}/api/v1/state", app.base))).await;
    assert_eq!(status, 401, "an unknown token is refused");
}

#[tokio::test]
async fn the_actor_and_the_agency_come_from_the_principal_and_the_domain_table_refuses_with_the_right() {
    let app = spawn_app().await;
    app.seed(2).await;
    // Unit 0 (id 1) is PP's, unit 1 (id 2) BSPP's; incident 1 is led by BSPP.
    let (status, body) = app.as_("bka").post("/api/v1/units/1/status", json!({"status": "en_route"})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("role_required")), "{body}");
    let (status, body) = app.post("/api/v1/units/2/status", json!({"status": "en_route"})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("forbidden")),
        "PP does not dispatch BSPP's: {body}"
    );
    assert_eq!(body["error"]["field"], "dispatch_units", "{body}");
    let seq = app.seq().await;
    let (status, body) = app.post("/api/v1/units/1/status", json!({"status": "out_of_service"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["events"][0]["actor"], "pp@PP/dispatcher", "{body}");
    assert_eq!(app.seq().await, seq + 1, "the refusal changed nothing");
    // A post signed as another agency is refused; without one it is the caller's.
    let channel = "agency-PP";
    let (status, body) = app
        .post(
            "/api/v1/messages",
            json!({"channel_id": channel, "sender_agency": "BSPP", "priority": "routine", "body": "x"}),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    let (status, body) =
        app.post("/api/v1/messages", json!({"channel_id": channel, "priority": "routine", "body": "x"})).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["events"][0]["event"]["sender_agency"], "PP", "{body}");
    let forged = app.http.post(format!("{}/api/v1/units/1/status", app.base)).header("x-vigie-user", "someone-else");
    let (status, body) = app.send(forged.json(&json!({"status": "available"}))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["events"][0]["actor"], "pp@PP/dispatcher", "a header names nobody: {body}");
}

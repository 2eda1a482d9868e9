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
            Rule::Roles(..) | Rule::Session => {
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

#[tokio::test]
async fn an_admin_manages_accounts_tokens_and_sharing_and_cannot_lock_the_room_out() {
    let app = spawn_app().await;
    app.seed(2).await;
    let admin = app.as_("pp"); // admin among its roles
    let new = json!({"login": "bka.liaison", "agency": "BKA", "roles": ["liaison"], "password": "short"});
    let (status, body) = admin.post("/api/v1/admin/users", new).await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("password")), "{body}");
    let new = json!({"login": "bka.liaison", "display_name": "Liaison BKA", "agency": "BKA", "roles": ["liaison"], "password": "ein langes Passwort"});
    let (status, body) = admin.post("/api/v1/admin/users", new.clone()).await;
    assert_eq!(status, 201, "{body}");
    assert!(!body.to_string().contains("Passwort"), "an account never carries its password: {body}");
    assert_eq!(admin.post("/api/v1/admin/users", new).await.0, 409, "the login is taken");
    let (_, listed) = admin.get("/api/v1/admin/users").await;
    assert!(listed.as_array().unwrap().iter().any(|u| u["login"] == "bka.liaison" && u["agency"] == "BKA"));
    // A dispatcher is not an admin.
    assert_eq!(app.as_("bka").get("/api/v1/admin/users").await.0, 403);

    // A token issued here works, is listed without its secret, and stops when revoked.
    let (status, issued) = admin
        .post("/api/v1/admin/tokens", json!({"login": "bka.liaison", "name": "viewer", "scopes": ["room:read"]}))
        .await;
    assert_eq!(status, 201, "{issued}");
    let token = issued["token"].as_str().unwrap().to_owned();
    let viewer = client_with(&token);
    assert_eq!(app.send(viewer.get(format!("{}/api/v1/state", app.base))).await.0, 200);
    let (_, tokens) = admin.get("/api/v1/admin/tokens").await;
    assert!(!tokens.to_string().contains(&token[4..]), "listing never carries a token");
    assert_eq!(admin.delete(&format!("/api/v1/admin/tokens/{}", issued["id"])).await.0, 204);
    assert_eq!(app.send(viewer.get(format!("{}/api/v1/state", app.base))).await.0, 401);

    // Disabling ends the account's access at once.
    let (status, _) = admin
        .post("/api/v1/admin/tokens", json!({"login": "bka.liaison", "name": "again", "scopes": ["room:read"]}))
        .await;
    assert_eq!(status, 201);
    let patched =
        admin.http.patch(format!("{}/api/v1/admin/users/bka.liaison", app.base)).json(&json!({"disabled": true}));
    assert_eq!(app.send(patched).await.0, 200);
    let signed = reqwest::Client::new()
        .post(format!("{}/api/v1/session", app.base))
        .json(&json!({"login": "bka.liaison", "password": "ein langes Passwort"}))
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), 401, "a disabled account does not sign in");

    // The last admin cannot be disabled: make another one first.
    let running = app.running.as_ref().unwrap();
    let store = &running.state.store;
    for other in ["bspp"] {
        let changes = json!({"roles": ["dispatcher", "commander"]});
        let r = app.send(admin.http.patch(format!("{}/api/v1/admin/users/{other}", app.base)).json(&changes)).await;
        assert_eq!(r.0, 200, "{}", r.1);
    }
    let last = app
        .send(admin.http.patch(format!("{}/api/v1/admin/users/pp", app.base)).json(&json!({"disabled": true})))
        .await;
    assert_eq!(last.0, 409, "{}", last.1);
    assert!(!store.user("pp").await.unwrap().unwrap().disabled);

    // A sharing rule: BSPP then sees PP's restricted incidents, and it is in the log.
    let secret = json!({"kind": "hostage", "priority": "P1", "location": {"lon": 2.35, "lat": 48.85}, "address": "Rue fermée", "restricted": true});
    assert_eq!(app.post("/api/v1/incidents", secret).await.0, 201);
    let bspp_sees = |state: serde_json::Value| {
        state["state"]["incidents"].as_object().unwrap().values().any(|i| i["address"] == "Rue fermée")
    };
    assert!(!bspp_sees(app.as_("bspp").get("/api/v1/state").await.1));
    let (status, body) = admin.post("/api/v1/sharing-rules", json!({"from": "PP", "to": "BSPP", "shared": true})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["events"][0]["event"]["type"], "sharing_changed");
    assert!(bspp_sees(app.as_("bspp").get("/api/v1/state").await.1), "the French services share among themselves");
    let (status, body) =
        app.as_("bspp").post("/api/v1/sharing-rules", json!({"from": "PP", "to": "BSPP", "shared": false})).await;
    assert_eq!(status, 403, "only an admin: {body}");
}

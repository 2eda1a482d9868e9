//! Accounts: the `vigie user` commands and signing in against them.

use vigie::identity::cli::{run, Action};
use vigie_domain::authority::Role;

#[tokio::test]
async fn accounts_are_added_listed_signed_into_and_disabled_without_telling_which_logins_exist() {
    let dir = tempfile::TempDir::new().unwrap();
    let url = format!("sqlite://{}", dir.path().join("vigie.db").display());
    let add = |login: &str| Action::Add {
        login: login.into(),
        agency: "BKA".into(),
        roles: vec![Role::Liaison],
        name: Some("Liaison BKA".into()),
    };
    let said = run(add("bka.liaison"), &url, || Ok("correct horse battery".into())).await.unwrap();
    assert!(said.starts_with("added bka.liaison of BKA as liaison"), "{said}");
    let short = run(add("other"), &url, || Ok("short".into())).await.unwrap_err();
    assert!(short.to_string().contains("at least 12"), "{short}");
    let taken = run(add("bka.liaison"), &url, || Ok("another long passphrase".into())).await.unwrap_err();
    assert!(taken.to_string().contains("taken"), "{taken}");
    let bad_login = run(add("Bad Login"), &url, || Ok("another long passphrase".into())).await.unwrap_err();
    assert!(bad_login.to_string().contains("a login is"), "{bad_login}");
    let list = run(Action::List, &url, || unreachable!()).await.unwrap();
    assert!(list.contains("bka.liaison\tBKA\tliaison\tLiaison BKA"), "{list}");

    let store = vigie::store::Store::open(&url).await.unwrap();
    let principal = store.sign_in("bka.liaison", "correct horse battery").await.unwrap().expect("signed in");
    assert_eq!((principal.agency.as_str(), principal.roles.len()), ("BKA", 1));
    assert!(store.sign_in("bka.liaison", "wrong horse battery").await.unwrap().is_none());
    // An unknown login gets the same answer after the same work (a decoy hash is checked).
    let started = std::time::Instant::now();
    assert!(store.sign_in("nobody", "correct horse battery").await.unwrap().is_none());
    assert!(started.elapsed() > std::time::Duration::from_millis(5), "the decoy was hashed");
    let hash: String = store.users().await.unwrap().iter().map(|u| u.login.clone()).collect();
    assert!(!hash.contains("argon2"), "listing never carries a hash");
    store.close().await;

    run(Action::Disable { login: "bka.liaison".into() }, &url, || unreachable!()).await.unwrap();
    let store = vigie::store::Store::open(&url).await.unwrap();
    assert!(store.sign_in("bka.liaison", "correct horse battery").await.unwrap().is_none(), "disabled");
    store.close().await;
    run(Action::Enable { login: "bka.liaison".into() }, &url, || unreachable!()).await.unwrap();
    run(Action::Passwd { login: "bka.liaison".into() }, &url, || Ok("a brand new passphrase".into())).await.unwrap();
    let store = vigie::store::Store::open(&url).await.unwrap();
    assert!(store.sign_in("bka.liaison", "correct horse battery").await.unwrap().is_none(), "the old password is gone");
    assert!(store.sign_in("bka.liaison", "a brand new passphrase").await.unwrap().is_some());
    store.close().await;
    let missing = run(Action::Disable { login: "nobody".into() }, &url, || unreachable!()).await.unwrap_err();
    assert!(missing.to_string().contains("no account nobody"));
}

async fn add_account(app: &crate::support::TestApp, login: &str, password: &str) {
    let store = &app.running.as_ref().unwrap().state.store;
    let user = vigie::identity::users::User {
        login: login.into(),
        display_name: login.into(),
        agency: vigie_domain::AgencyCode::parse("PP").unwrap(),
        roles: [Role::Dispatcher].into(),
        disabled: false,
        created_at_ms: crate::support::T0_MS,
    };
    store.add_user(&user, &vigie::identity::password::hash(password).unwrap()).await.unwrap();
}

/// Signs in as pp.dispatcher: the whole `Set-Cookie` value, and the `name=token` pair to send back.
async fn sign_in(app: &crate::support::TestApp) -> (String, String) {
    let url = format!("{}/api/v1/session", app.base);
    let body = serde_json::json!({"login": "pp.dispatcher", "password": "correct horse battery"});
    let signed = reqwest::Client::new().post(&url).json(&body).send().await.unwrap();
    assert_eq!(signed.status(), 200);
    let cookie = signed.headers()["set-cookie"].to_str().unwrap().to_owned();
    let session = cookie.split(';').next().unwrap().to_owned();
    (cookie, session)
}

#[tokio::test]
async fn signing_in_sets_an_http_only_strict_cookie_a_session_ends_on_sign_out_idleness_or_disabling() {
    let app = crate::support::spawn_app().await;
    add_account(&app, "pp.dispatcher", "correct horse battery").await;
    let url = format!("{}/api/v1/session", app.base);
    let status = |session: String| {
        let request = reqwest::Client::new().get(&url).header("cookie", session);
        async move { request.send().await.unwrap().status() }
    };
    let (cookie, session) = sign_in(&app).await;
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/"), "{cookie}");
    let me: serde_json::Value =
        reqwest::Client::new().get(&url).header("cookie", &session).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        (me["login"].as_str(), me["agency"].as_str(), me["roles"][0].as_str()),
        (Some("pp.dispatcher"), Some("PP"), Some("dispatcher"))
    );
    assert_eq!(reqwest::Client::new().get(&url).send().await.unwrap().status(), 401, "no cookie, no session");

    // Idle past the timeout: ended.
    app.clock.advance_ms(vigie::identity::sessions::IDLE_MS + 1);
    assert_eq!(status(session).await, 401);

    // Sign in again, then sign out: the session is gone even if the browser kept the cookie.
    let (_, session) = sign_in(&app).await;
    assert_eq!(reqwest::Client::new().delete(&url).header("cookie", &session).send().await.unwrap().status(), 204);
    assert_eq!(status(session).await, 401);

    // Disabling ends the account's sessions.
    let (_, session) = sign_in(&app).await;
    app.running.as_ref().unwrap().state.store.set_disabled("pp.dispatcher", true).await.unwrap();
    assert_eq!(status(session).await, 401);
    app.stop().await;
}

#[tokio::test]
async fn a_failed_sign_in_says_the_same_for_any_reason_and_repeated_failures_are_slowed() {
    use serde_json::json;
    let app = crate::support::spawn_app().await;
    add_account(&app, "pp.dispatcher", "correct horse battery").await;
    let url = format!("{}/api/v1/session", app.base);
    let attempt = |login: &'static str, password: &'static str| {
        reqwest::Client::new().post(&url).json(&json!({"login": login, "password": password})).send()
    };
    let wrong: serde_json::Value = attempt("pp.dispatcher", "wrong").await.unwrap().json().await.unwrap();
    let unknown: serde_json::Value = attempt("nobody", "wrong").await.unwrap().json().await.unwrap();
    assert_eq!(wrong, unknown, "no account enumeration");
    assert_eq!(wrong["error"]["code"], "sign_in_failed");
    for _ in 0..4 {
        assert_eq!(attempt("pp.dispatcher", "wrong").await.unwrap().status(), 401);
    }
    let slowed = attempt("pp.dispatcher", "correct horse battery").await.unwrap();
    assert_eq!(slowed.status(), 429, "even the right password waits once the login is throttled");
    assert!(slowed.headers().contains_key("retry-after"));
    let same_for_unknown = {
        for _ in 0..5 {
            attempt("ghost", "wrong").await.unwrap();
        }
        attempt("ghost", "wrong").await.unwrap().status()
    };
    assert_eq!(same_for_unknown, 429, "an unknown login is throttled the same way");
    app.clock.advance_ms(2_000);
    assert_eq!(attempt("pp.dispatcher", "correct horse battery").await.unwrap().status(), 200, "after the wait");
    // A sign-in is a few bytes: a larger body is refused before it is read whole, and a body that
    // is not a sign-in names why.
    let huge = json!({"login": "pp.dispatcher", "password": "x".repeat(8 * 1024)});
    assert_eq!(reqwest::Client::new().post(&url).json(&huge).send().await.unwrap().status(), 413);
    let odd = reqwest::Client::new().post(&url).json(&json!({"login": "pp.dispatcher"})).send().await.unwrap();
    assert_eq!(odd.status(), 400);
    assert!(odd.text().await.unwrap().contains("password"), "the missing field is named");
    app.stop().await;
}

/// Opens the live stream with a session cookie.
async fn stream_with(app: &crate::support::TestApp, session: &str) -> crate::support::Ws {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = format!("{}/api/v1/stream", app.ws_base).into_client_request().unwrap();
    request.headers_mut().insert("cookie", session.parse().unwrap());
    tokio_tungstenite::connect_async(request).await.expect("the stream opens").0
}

/// How the stream ended: its close code, and how long after `since` it came.
async fn closed_within(ws: &mut crate::support::Ws, limit: std::time::Duration) -> Option<u16> {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => return None,
            Ok(Some(Ok(Message::Close(frame)))) => return Some(frame.map_or(0, |f| u16::from(f.code))),
            Ok(None) | Ok(Some(Err(_))) => return Some(0),
            Ok(Some(Ok(_))) => continue,
        }
    }
}

#[tokio::test]
async fn an_ended_session_closes_its_streams_disabled_from_the_cli_within_five_seconds() {
    let app = crate::support::spawn_app().await;
    add_account(&app, "pp.dispatcher", "correct horse battery").await;
    let (_, session) = sign_in(&app).await;
    let mut ws = stream_with(&app, &session).await;
    assert!(matches!(
        crate::support::next_message(&mut ws).await,
        Some(vigie_domain::wire::ServerMessage::Snapshot { .. })
    ));
    // Disabled as `vigie user disable` does it: straight in the database, not through this server.
    let store =
        vigie::store::Store::open(&format!("sqlite://{}", app.dir.path().join("vigie.db").display())).await.unwrap();
    store.set_disabled("pp.dispatcher", true).await.unwrap();
    let started = std::time::Instant::now();
    assert_eq!(closed_within(&mut ws, std::time::Duration::from_secs(5)).await, Some(4401), "closed, saying why");
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
    store.close().await;

    // Signing out closes the session's streams at once.
    store_enable(&app).await;
    let (_, session) = sign_in(&app).await;
    let mut ws = stream_with(&app, &session).await;
    crate::support::next_message(&mut ws).await;
    let url = format!("{}/api/v1/session", app.base);
    assert_eq!(reqwest::Client::new().delete(&url).header("cookie", &session).send().await.unwrap().status(), 204);
    assert_eq!(closed_within(&mut ws, std::time::Duration::from_millis(1_500)).await, Some(4401));
    app.stop().await;
}

async fn store_enable(app: &crate::support::TestApp) {
    app.running.as_ref().unwrap().state.store.set_disabled("pp.dispatcher", false).await.unwrap();
}

#[tokio::test]
async fn a_session_is_never_fixed_and_a_cookie_does_not_carry_a_write_or_a_stream_across_sites() {
    let app = crate::support::spawn_app().await;
    add_account(&app, "pp.dispatcher", "correct horse battery").await;
    let url = format!("{}/api/v1/session", app.base);
    let (_, first) = sign_in(&app).await;
    // Signing in again with the old cookie: a new session; the old one is over.
    let body = serde_json::json!({"login": "pp.dispatcher", "password": "correct horse battery"});
    let again = reqwest::Client::new().post(&url).header("cookie", &first).json(&body).send().await.unwrap();
    let second = again.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    assert_ne!(first, second, "a fresh token at every sign-in");
    let status = |session: String| {
        let request = reqwest::Client::new().get(&url).header("cookie", session);
        async move { request.send().await.unwrap().status() }
    };
    assert_eq!(status(first).await, 401, "the cookie held before signing in is dead");
    assert_eq!(status(second.clone()).await, 200);
    // A page of another site posting with the browser's cookie is refused, and changes nothing.
    app.seed(1).await;
    let seq = app.seq().await;
    let forged = reqwest::Client::new()
        .post(format!("{}/api/v1/units/1/status", app.base))
        .header("cookie", &second)
        .header("origin", "https://evil.example")
        .json(&serde_json::json!({"status": "out_of_service"}));
    let (status_code, body) = app.send(forged).await;
    assert_eq!((status_code, body["error"]["code"].as_str()), (403, Some("cross_site")), "{body}");
    assert_eq!(app.seq().await, seq);
    // The same from the room's own page goes through.
    let own = reqwest::Client::new()
        .post(format!("{}/api/v1/units/1/status", app.base))
        .header("cookie", &second)
        .header("origin", &app.base)
        .json(&serde_json::json!({"status": "out_of_service"}));
    assert_eq!(app.send(own).await.0, 200);
    // A stream opened from another site is refused, cookie or not.
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = format!("{}/api/v1/stream", app.ws_base).into_client_request().unwrap();
    request.headers_mut().insert("cookie", second.parse().unwrap());
    request.headers_mut().insert("origin", "https://evil.example".parse().unwrap());
    assert!(tokio_tungstenite::connect_async(request).await.is_err(), "a cross-site stream is refused");
    app.stop().await;
}

/// Signs in with a login, password and maybe a code: the status, the body and the session pair.
async fn sign_in_with(
    app: &crate::support::TestApp,
    login: &str,
    code: Option<&str>,
) -> (u16, serde_json::Value, Option<String>) {
    let mut body = serde_json::json!({"login": login, "password": "correct horse battery"});
    if let Some(code) = code {
        body["code"] = code.into();
    }
    let answer = reqwest::Client::new().post(format!("{}/api/v1/session", app.base)).json(&body).send().await.unwrap();
    let status = answer.status().as_u16();
    let session = answer.headers().get("set-cookie").map(|c| c.to_str().unwrap().split(';').next().unwrap().to_owned());
    (status, answer.json().await.unwrap_or_default(), session)
}

async fn add_with_roles(app: &crate::support::TestApp, login: &str, agency: &str, roles: &[Role]) {
    let user = vigie::identity::users::User {
        login: login.into(),
        display_name: login.into(),
        agency: vigie_domain::AgencyCode::parse(agency).unwrap(),
        roles: roles.iter().copied().collect(),
        disabled: false,
        created_at_ms: crate::support::T0_MS,
    };
    let store = &app.running.as_ref().unwrap().state.store;
    store.add_user(&user, &vigie::identity::password::hash("correct horse battery").unwrap()).await.unwrap();
}

#[tokio::test]
async fn an_admin_must_enrol_a_second_factor_before_anything_else_and_then_gives_a_fresh_code_each_time() {
    use vigie::identity::totp;
    let app = crate::support::spawn_app().await;
    add_with_roles(&app, "chief", "PP", &[Role::Admin]).await;
    let get = |path: &'static str, session: String| {
        let request = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let url = format!("{}{path}", app.base);
        async move {
            let r = request.get(url).header("cookie", session).send().await.unwrap();
            (r.status().as_u16(), r.headers().get("location").map(|l| l.to_str().unwrap().to_owned()))
        }
    };
    // Signed in, but the session can only enrol.
    let (status, me, session) = sign_in_with(&app, "chief", None).await;
    let session = session.unwrap();
    assert_eq!((status, me["enrolling"].as_bool()), (200, Some(true)), "{me}");
    let refused = reqwest::Client::new()
        .get(format!("{}/api/v1/admin/users", app.base))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(refused.json::<serde_json::Value>().await.unwrap()["error"]["code"], "enrolment_required");
    assert_eq!(get("/admin", session.clone()).await, (303, Some("/enrol?next=/admin".into())));

    // Enrol: a secret shown once, confirmed by its first code.
    let post = |path: &str, body: serde_json::Value| {
        reqwest::Client::new().post(format!("{}{path}", app.base)).header("cookie", &session).json(&body).send()
    };
    let enrolment: serde_json::Value =
        post("/api/v1/session/totp", serde_json::json!({})).await.unwrap().json().await.unwrap();
    let secret = enrolment["secret"].as_str().unwrap().to_owned();
    assert!(
        enrolment["qr_svg"].as_str().unwrap().starts_with("<?xml")
            || enrolment["qr_svg"].as_str().unwrap().contains("<svg")
    );
    assert_eq!(
        post("/api/v1/session/totp/confirm", serde_json::json!({"code": "000000"})).await.unwrap().status(),
        422
    );
    use vigie::clock::Clock;
    let first = totp::code_at(&secret, "chief", app.clock.now_ms()).unwrap();
    assert_eq!(post("/api/v1/session/totp/confirm", serde_json::json!({"code": first})).await.unwrap().status(), 200);
    assert_eq!(get("/admin", session.clone()).await.0, 200, "the same session now opens the admin page");

    // Next sign-ins: the code is asked for, a wrong or reused one refused, a fresh one accepted.
    let (status, body, no_session) = sign_in_with(&app, "chief", None).await;
    assert_eq!((status, body["error"]["code"].as_str(), no_session), (401, Some("second_factor_required"), None));
    assert_eq!(sign_in_with(&app, "chief", Some("123456")).await.0, 401);
    assert_eq!(sign_in_with(&app, "chief", Some(&first)).await.0, 401, "a code is used once");
    app.clock.advance_ms(30_000);
    let fresh = totp::code_at(&secret, "chief", app.clock.now_ms()).unwrap();
    let (status, me, _) = sign_in_with(&app, "chief", Some(&fresh)).await;
    assert_eq!((status, me["enrolling"].as_bool()), (200, Some(false)), "{me}");

    // An agency may require it of everyone; an admin resets a lost one.
    let admin = app.as_("pp");
    assert_eq!(
        admin
            .post("/api/v1/admin/agency-policies", serde_json::json!({"agency": "BKA", "require_second_factor": true}))
            .await
            .0,
        200
    );
    add_with_roles(&app, "bka.liaison", "BKA", &[Role::Liaison]).await;
    assert_eq!(sign_in_with(&app, "bka.liaison", None).await.1["enrolling"], true);
    add_account(&app, "pp.dispatcher", "correct horse battery").await;
    assert_eq!(sign_in_with(&app, "pp.dispatcher", None).await.1["enrolling"], false, "PP does not require it");
    let reset = admin
        .http
        .patch(format!("{}/api/v1/admin/users/chief", app.base))
        .json(&serde_json::json!({"reset_second_factor": true}));
    assert_eq!(app.send(reset).await.0, 200);
    assert_eq!(sign_in_with(&app, "chief", None).await.1["enrolling"], true, "enrols again");
    app.stop().await;
}

#[tokio::test]
async fn the_session_routes_take_a_few_kilobytes_at_most() {
    let app = crate::support::spawn_app().await;
    let big = serde_json::json!({ "code": "1".repeat(8 * 1024) });
    let (status, body) = app.post("/api/v1/session/totp/confirm", big.clone()).await;
    assert_eq!(status, 413, "{body}");
    let url = format!("{}/api/v1/session", app.base);
    let status = reqwest::Client::new().post(&url).json(&big).send().await.unwrap().status();
    assert_eq!(status, 413);
    app.stop().await;
}

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

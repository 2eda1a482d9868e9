//! The record for oversight (issue 13): a transparency log over the room's log, verified from the
//! live database or from an export alone, witnessed by another party; access and administration
//! recorded; retention that purges content while the tree still verifies.

use serde_json::{json, Value};
use sqlx::sqlite::SqlitePoolOptions;
use sqlx::SqlitePool;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;
use vigie::audit::checkpoint;
use vigie::audit::export::ExportFile;
use vigie::audit::key::LogKey;
use vigie::audit::verify::{self, Report};
use vigie::audit::witness::{Round, Witness};

use crate::support::*;

/// Waits until a signed checkpoint covers everything committed; its size.
async fn checkpointed(app: &TestApp) -> u64 {
    let head = app.seq().await;
    for _ in 0..100 {
        let (status, c) = app.as_("auditor").get("/api/v1/audit/checkpoint").await;
        if status == 200 && c["size"].as_u64().unwrap() >= head {
            return c["size"].as_u64().unwrap();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no checkpoint covered seq {head} within 10 s");
}

fn public_key(app: &TestApp) -> String {
    app.running.as_ref().unwrap().state.audit.key.public.clone()
}

fn db_path(dir: &Path) -> PathBuf {
    dir.join("vigie.db")
}

async fn open(dir: &Path) -> SqlitePool {
    let url = format!("sqlite://{}", db_path(dir).display());
    SqlitePoolOptions::new().max_connections(1).connect(&url).await.expect("opening the log")
}

/// A copy of a stopped room's folder (its log, key and scenarios).
fn copy_dir(from: &Path) -> Arc<TempDir> {
    let to = TempDir::new().unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.path().join(entry.file_name())).unwrap();
        }
    }
    Arc::new(to)
}

async fn verify_copy(dir: &Path, public: &str) -> Report {
    let pool = open(dir).await;
    let report = verify::live(&pool, public).await.expect("the log can be read");
    pool.close().await;
    report
}

/// A room with some history: units, a restricted incident shared with the liaison, notes.
async fn room_with_history() -> TestApp {
    let app = spawn_app().await;
    app.seed(4).await;
    let bka = json!({"code": "BKA", "short_name": "BKA", "full_name": "Bundeskriminalamt", "kind": "liaison", "country": "DE", "colour": "#000000"});
    assert_eq!(app.post("/api/v1/agencies", bka).await.0, 201);
    let bspp = app.as_("bspp");
    assert_eq!(bspp.post("/api/v1/incidents/1/restriction", json!({"restricted": true})).await.0, 200);
    assert_eq!(bspp.post("/api/v1/incidents/1/shares", json!({"agency": "BKA"})).await.0, 201);
    for i in 0..5 {
        assert_eq!(bspp.post("/api/v1/incidents/1/notes", json!({"text": format!("note {i}")})).await.0, 201);
    }
    app
}

#[tokio::test]
async fn access_and_administration_are_recorded_and_only_auditors_read_them() {
    let app = room_with_history().await;
    let http = reqwest::Client::new();
    let sign_in = |password: &'static str| {
        http.post(format!("{}/api/v1/session", app.base)).json(&json!({"login": "bka", "password": password})).send()
    };
    assert_eq!(sign_in("not the password").await.unwrap().status(), 401);
    assert_eq!(sign_in(PASSWORD).await.unwrap().status(), 200);
    let (status, _) = app
        .post(
            "/api/v1/admin/users",
            json!({"login": "iga.inspector", "agency": "PP", "roles": ["auditor"], "password": "a long enough passphrase"}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, token) =
        app.post("/api/v1/admin/tokens", json!({"login": "bka", "name": "gateway", "scopes": ["room:read"]})).await;
    assert_eq!(status, 201);
    let id = token["id"].as_i64().unwrap();
    assert_eq!(app.delete_path(&format!("/api/v1/admin/tokens/{id}")).await, 204);
    // The liaison opens the restricted incident shared with it, twice: recorded once.
    let bka = app.as_("bka");
    assert_eq!(bka.get("/api/v1/incidents/1").await.0, 200);
    assert_eq!(bka.get("/api/v1/incidents/1").await.0, 200);
    // An agency the incident is not shared with learns nothing of it.
    assert_eq!(app.as_("pp").get("/api/v1/incidents/1").await.0, 404);

    let auditor = app.as_("auditor");
    let (status, page) = auditor.get("/api/v1/audit/records?kind=audit&limit=200").await;
    assert_eq!(status, 200, "{page}");
    let kinds: Vec<String> =
        page["entries"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap().to_owned()).collect();
    for kind in [
        "audit.sign_in_failed",
        "audit.signed_in",
        "audit.account_added",
        "audit.token_issued",
        "audit.token_revoked",
        "audit.restricted_viewed",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} is recorded: {kinds:?}");
    }
    assert_eq!(kinds.iter().filter(|k| *k == "audit.restricted_viewed").count(), 1, "one view recorded: {kinds:?}");
    let viewed = page["entries"].as_array().unwrap().iter().find(|e| e["kind"] == "audit.restricted_viewed").unwrap();
    assert!(viewed["actor"].as_str().unwrap().starts_with("bka@BKA/"), "{viewed}");
    let failed = page["entries"].as_array().unwrap().iter().find(|e| e["kind"] == "audit.sign_in_failed").unwrap();
    assert_eq!(failed["event"]["record"]["login"], "bka");
    assert!(failed["actor"].as_str().unwrap().starts_with("sign-in:127.0.0.1"), "{failed}");

    // Who shared the restricted incident with the foreign liaison, and when.
    let (_, shared) = auditor.get("/api/v1/audit/records?incident=1&kind=incident_shared").await;
    let entry = &shared["entries"][0];
    assert_eq!(entry["event"]["agency"], "BKA", "{shared}");
    assert!(entry["actor"].as_str().unwrap().starts_with("bspp@BSPP/"), "{entry}");
    assert!(entry["at_ms"].as_i64().is_some());
    // Filters by user and agency.
    let (_, by_user) = auditor.get("/api/v1/audit/records?user=bka").await;
    assert!(by_user["entries"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| { e["actor"].as_str().unwrap().starts_with("bka@") || e["event"]["record"]["login"] == "bka" }));
    assert!(!by_user["entries"].as_array().unwrap().is_empty());
    // Pages are bounded, and every filter is parsed before it reaches a query.
    let (status, bad) = auditor.get("/api/v1/audit/records?limit=201").await;
    assert_eq!(status, 400);
    assert_error(&bad, "bad_request", Some("limit"));
    let (status, bad) = auditor.get("/api/v1/audit/records?kind=x%27%20OR%201").await;
    assert_eq!(status, 400);
    assert_error(&bad, "bad_request", Some("kind"));
    let (_, page) = auditor.get("/api/v1/audit/records?limit=2").await;
    assert_eq!(page["entries"].as_array().unwrap().len(), 2);
    assert!(page["next_before_seq"].as_u64().is_some(), "{page}");
    let (status, bad) = auditor.get("/api/v1/audit/records?agency=not%20an%20agency").await;
    assert_error(&bad, "invalid", Some("agency"));
    assert_eq!(status, 422);

    // Every read of the record is itself recorded.
    let (_, views) = auditor.get("/api/v1/audit/records?kind=audit.audit_viewed").await;
    assert!(views["entries"].as_array().unwrap().len() >= 4, "{views}");

    // No agency ever reads the record: not in its log, not on its stream.
    for login in ["pp", "bspp", "bka"] {
        let (_, events) = app.as_(login).get("/api/v1/events?limit=1000").await;
        let events = events["events"].as_array().unwrap();
        assert!(events.iter().all(|e| e["event"]["type"] != "recorded"), "{login} reads no record");
        assert_eq!(app.as_(login).get("/api/v1/audit/records").await.0, 403);
    }
    app.stop().await;
}

#[tokio::test]
async fn an_entry_comes_with_its_inclusion_proof_in_a_signed_checkpoint() {
    let app = room_with_history().await;
    checkpointed(&app).await;
    let (status, proof) = app.as_("auditor").get("/api/v1/audit/records/3").await;
    assert_eq!(status, 200, "{proof}");
    let signed =
        checkpoint::open(proof["checkpoint"].as_str().unwrap(), &public_key(&app)).expect("signed by the room");
    let leaf = checkpoint::decode_hash(proof["leaf"].as_str().unwrap()).unwrap();
    let path: Vec<_> = proof["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| checkpoint::decode_hash(h.as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(proof["tree_size"].as_u64().unwrap(), signed.size);
    tlog_tiles::tlog::check_record(&path, signed.size, signed.root, 2, leaf).expect("the proof checks");
    assert!(tlog_tiles::tlog::check_record(&path, signed.size, signed.root, 3, leaf).is_err(), "for event 3 only");
    assert_eq!(proof["stored"]["seq"], 3);
    assert!(proof["stored"]["salt"].is_string());
    // The public key is public; everything else of the record is for auditors.
    let key = reqwest::get(format!("{}/api/v1/audit/key", app.base)).await.unwrap().text().await.unwrap();
    assert_eq!(key.trim(), public_key(&app));
    assert_eq!(app.as_("pp").get("/api/v1/audit/records/3").await.0, 403);
    app.stop().await;
}

#[tokio::test]
async fn every_tampering_of_the_stored_log_is_detected_and_named() {
    let app = room_with_history().await;
    let size = checkpointed(&app).await;
    let public = public_key(&app);
    let dir = app.stop().await;
    // The shutdown checkpoint covers everything.
    let clean = verify_copy(dir.path(), &public).await;
    assert!(clean.ok, "{}", clean.render());
    assert!(clean.events >= size && clean.checkpoints >= 1);

    // One byte of one event, edited in the SQLite file itself.
    let edited = copy_dir(dir.path());
    let mut bytes = std::fs::read(db_path(edited.path())).unwrap();
    let needle = b"Quai de la Tournelle";
    let at = bytes.windows(needle.len()).position(|w| w == needle).expect("the address is in the file");
    bytes[at] = b'K';
    std::fs::write(db_path(edited.path()), bytes).unwrap();
    let report = verify_copy(edited.path(), &public).await;
    assert!(!report.ok);
    let pool = open(dir.path()).await;
    let created: i64 =
        sqlx::query_scalar("SELECT seq FROM events WHERE kind = 'incident_created'").fetch_one(&pool).await.unwrap();
    pool.close().await;
    assert_eq!(report.first_bad_seq, Some(created as u64), "{}", report.render());
    assert!(report.problems[0].contains("does not match its leaf"), "{}", report.render());

    // A deleted row.
    let deleted = copy_dir(dir.path());
    let pool = open(deleted.path()).await;
    sqlx::query("DELETE FROM events WHERE seq = 5").execute(&pool).await.unwrap();
    pool.close().await;
    let report = verify_copy(deleted.path(), &public).await;
    assert_eq!(report.first_bad_seq, Some(5), "{}", report.render());
    assert!(report.problems[0].contains("event 5 is missing"), "{}", report.render());

    // Two rows swapped.
    let swapped = copy_dir(dir.path());
    let pool = open(swapped.path()).await;
    for sql in [
        "UPDATE events SET seq = -1 WHERE seq = 7",
        "UPDATE events SET seq = 7 WHERE seq = 8",
        "UPDATE events SET seq = 8 WHERE seq = -1",
    ] {
        sqlx::query(sql).execute(&pool).await.unwrap();
    }
    pool.close().await;
    let report = verify_copy(swapped.path(), &public).await;
    assert_eq!(report.first_bad_seq, Some(7), "{}", report.render());

    // The tail cut off after a checkpoint (its tree hashes with it).
    let truncated = copy_dir(dir.path());
    let pool = open(truncated.path()).await;
    let head: i64 = sqlx::query_scalar("SELECT MAX(seq) FROM events").fetch_one(&pool).await.unwrap();
    sqlx::query("DELETE FROM events WHERE seq > $1").bind(head - 3).execute(&pool).await.unwrap();
    pool.close().await;
    let report = verify_copy(truncated.path(), &public).await;
    assert_eq!(report.first_bad_seq, Some(head as u64 - 2), "{}", report.render());
    assert!(report.problems.iter().any(|p| p.contains("were removed")), "{}", report.render());

    // History rewritten with the tree recomputed to match (an operator with database access):
    // the signed checkpoints still say otherwise.
    let rewritten = copy_dir(dir.path());
    let pool = open(rewritten.path()).await;
    sqlx::query("UPDATE events SET actor = 'someone.else@PP/dispatcher' WHERE seq = 6").execute(&pool).await.unwrap();
    sqlx::query("DELETE FROM audit_hashes").execute(&pool).await.unwrap();
    pool.close().await;
    // Opening the store rebuilds the tree from the rewritten events, as a dishonest operator would.
    let store = vigie::store::Store::open(&format!("sqlite://{}", db_path(rewritten.path()).display())).await.unwrap();
    store.close().await;
    let report = verify_copy(rewritten.path(), &public).await;
    assert!(!report.ok, "{}", report.render());
    assert!(report.problems.iter().any(|p| p.contains("do not give the root signed")), "{}", report.render());

    // The key replaced, and every checkpoint signed again with it: not the published key's.
    let rekeyed = copy_dir(dir.path());
    let other = LogKey::load_or_create(&rekeyed.path().join("other.key"), "vigie.room").unwrap();
    let pool = open(rekeyed.path()).await;
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT size, note FROM audit_checkpoints").fetch_all(&pool).await.unwrap();
    for (size, note) in rows {
        let c = checkpoint::open(&note, &public).unwrap();
        let again =
            checkpoint::sign(&other, vigie::store::tree::TreeHead { size: c.size, root: c.root }, c.at_ms).unwrap();
        sqlx::query("UPDATE audit_checkpoints SET note = $1 WHERE size = $2")
            .bind(again.note)
            .bind(size)
            .execute(&pool)
            .await
            .unwrap();
    }
    pool.close().await;
    let report = verify_copy(rekeyed.path(), &public).await;
    assert!(!report.ok);
    assert!(report.problems[0].contains("not signed by"), "{}", report.render());
    assert!(verify_copy(rekeyed.path(), &other.public).await.ok, "the replacing key signed them all");
}

#[tokio::test]
async fn a_clean_log_of_100_000_events_verifies() {
    use vigie_domain::record::Record;
    let dir = TempDir::new().unwrap();
    let store = vigie::store::Store::open(&format!("sqlite://{}", db_path(dir.path()).display())).await.unwrap();
    let key = LogKey::load_or_create(&dir.path().join("k"), "vigie.test").unwrap();
    let mut seq = 0;
    for batch in 0..100 {
        let events: Vec<_> = (0..1000)
            .map(|i| {
                seq += 1;
                vigie_domain::LoggedEvent {
                    seq,
                    at_ms: T0_MS + seq as i64,
                    actor: format!("user{}@PP/dispatcher", i % 7),
                    event: vigie_domain::Event::Recorded {
                        record: Record::AuditViewed { what: format!("{batch}/{i}") },
                    },
                }
            })
            .collect();
        store.append(&events).await.unwrap();
        if batch % 10 == 9 {
            checkpoint::sign_head(store.writer(), &key, store.tree_head(), T0_MS + seq as i64).await.unwrap();
        }
    }
    let started = std::time::Instant::now();
    let report = verify::live(store.readers(), &key.public).await.unwrap();
    eprintln!("100 000 events verified in {:?}", started.elapsed());
    assert!(report.ok, "{}", report.render());
    assert_eq!((report.events, report.checkpoints), (100_000, 10));
    store.close().await;
}

#[tokio::test]
async fn a_witness_cosigns_and_refuses_a_rewritten_history_and_a_rollback() {
    let witness_dir = TempDir::new().unwrap();
    let witness_for = |app: &TestApp, room_key: &str| {
        let key = LogKey::load_or_create(&witness_dir.path().join("witness.key"), "inspector.iga").unwrap();
        Witness::new(
            &app.base,
            room_key,
            key,
            &witness_dir.path().join("state.json"),
            Some(app.tokens["auditor"].clone()),
        )
        .unwrap()
    };
    // Paris: witnessed once, then backed up.
    let paris = room_with_history().await;
    let public = public_key(&paris);
    let first = checkpointed(&paris).await;
    assert_eq!(witness_for(&paris, &public).round().await.unwrap(), Round::Cosigned(first));
    assert_eq!(witness_for(&paris, &public).round().await.unwrap(), Round::Unchanged(first));
    let dir = paris.stop().await;
    let backup = copy_dir(dir.path());
    // More history, witnessed again.
    let paris = spawn_in(dir.clone(), |_| {}).await;
    assert_eq!(paris.as_("bspp").post("/api/v1/incidents/1/notes", json!({"text": "later"})).await.0, 201);
    let second = checkpointed(&paris).await;
    assert!(second > first);
    // This round as an inspector runs it: the `vigie audit witness` command, one round.
    let (ok, said) = witness_cli(&paris, &public, witness_dir.path()).await;
    assert!(ok, "{said}");
    assert!(said.contains(&format!("co-signed the checkpoint of {second} events")), "{said}");
    let report = verify::live(paris.running.as_ref().unwrap().state.store.readers(), &public).await.unwrap();
    assert!(report.witnessed.iter().any(|w| w.starts_with("inspector.iga@")), "{}", report.render());
    // The witness's co-signature travels with exports.
    let (status, export) =
        paris.as_("auditor").get(&format!("/api/v1/audit/export?from_ms=0&to_ms={}", T0_MS + 86_400_000)).await;
    assert_eq!(status, 200);
    let export: ExportFile = serde_json::from_value(export).unwrap();
    let offline = verify::file(&export, &public).unwrap();
    assert!(offline.ok && offline.witnessed.iter().any(|w| w.starts_with("inspector.iga@")), "{}", offline.render());
    let dir = paris.stop().await;

    // A server that rewrote history after it was witnessed: same key, an event changed, the tree
    // rebuilt and signed again, and the room carrying on.
    let forked = copy_dir(dir.path());
    let pool = open(forked.path()).await;
    sqlx::query("UPDATE events SET actor = 'nobody@PP/dispatcher' WHERE seq = 6").execute(&pool).await.unwrap();
    for table in ["audit_hashes", "audit_checkpoints", "audit_cosignatures"] {
        sqlx::query(&format!("DELETE FROM {table}")).execute(&pool).await.unwrap();
    }
    pool.close().await;
    let rewritten = spawn_in(forked.clone(), |_| {}).await;
    assert_eq!(rewritten.as_("bspp").post("/api/v1/incidents/1/notes", json!({"text": "after"})).await.0, 201);
    checkpointed(&rewritten).await;
    let refused = witness_for(&rewritten, &public).round().await.unwrap_err().to_string();
    assert!(refused.starts_with("FORK"), "{refused}");
    let (ok, said) = witness_cli(&rewritten, &public, witness_dir.path()).await;
    assert!(!ok && said.contains("FORK"), "the command exits non-zero, saying why: {said}");
    rewritten.stop().await;

    // A server restored from the backup: the log went back.
    let restored = spawn_in(backup, |_| {}).await;
    checkpointed(&restored).await;
    let refused = witness_for(&restored, &public).round().await.unwrap_err().to_string();
    assert!(refused.starts_with("ROLLBACK"), "{refused}");
    restored.stop().await;
}

/// Runs `vigie audit witness` (the real binary) for one round with the test's witness key and
/// state; whether it exited 0, and what it said.
async fn witness_cli(app: &TestApp, room_key: &str, dir: &Path) -> (bool, String) {
    // A child process awaited, not waited for: the room runs on this test's runtime.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args(["audit", "witness", &app.base, "--key", room_key, "--once", "--name", "inspector.iga"])
        .arg("--witness-key")
        .arg(dir.join("witness.key"))
        .arg("--state")
        .arg(dir.join("state.json"))
        .env("VIGIE_TOKEN", &app.tokens["auditor"])
        .output()
        .await
        .expect("the vigie binary runs");
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), said)
}

/// Runs the independent Python verifier on `file`; whether it accepted it, and what it said.
fn python_verifies(file: &Path, key: &str) -> (bool, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools/verify_audit.py");
    let out = std::process::Command::new("python3")
        .arg(&script)
        .arg(file)
        .arg("--key")
        .arg(key)
        .output()
        .expect("python3 runs (scripts/setup.sh installs python3-cryptography)");
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!said.contains("Traceback"), "the verifier crashed: {said}");
    (out.status.success(), said)
}

#[tokio::test]
async fn retention_purges_content_the_tree_still_verifies_and_an_export_says_so_in_rust_and_python() {
    let app = spawn_with(|c| {
        c.retain_positions_days = Some(30);
        c.retain_messages_days = Some(30);
    })
    .await;
    app.seed(2).await;
    let fix = json!({"reports": [{"unit_id": 1, "lon": 2.35, "lat": 48.85, "reported_at_ms": T0_MS}]});
    assert_eq!(app.owner_of(1).post("/api/v1/positions", fix).await.0, 200);
    let message = json!({"channel_id": "incident-1", "priority": "routine", "body": "oui"});
    let (status, body) = app.as_("bspp").post("/api/v1/messages", message).await;
    assert_eq!(status, 201, "{body}");
    // Thirty-one days later.
    app.clock.advance_ms(31 * 86_400_000);
    assert_eq!(app.as_("bspp").post("/api/v1/incidents/1/notes", json!({"text": "a month on"})).await.0, 201);
    let running = app.running.as_ref().unwrap();
    let now = vigie::clock::Clock::now_ms(&app.clock);
    for rule in vigie::audit::retention::rules(&running.state.config) {
        let purged =
            vigie::audit::retention::apply(&running.state.store, &running.state.sequencer, &rule, now).await.unwrap();
        assert_eq!(purged, 1, "{rule:?}");
    }
    // The content is gone from the log and from the room; the tree still verifies.
    let state = app.as_("bspp").get("/api/v1/state").await.1["state"].clone();
    assert!(state["units"]["1"]["last_fix"].is_null(), "{}", state["units"]["1"]);
    let message = state["messages"].as_object().unwrap().values().next().expect("the message stays");
    assert_eq!(message["body"], "");
    let public = public_key(&app);
    checkpointed(&app).await;
    let report = verify::live(running.state.store.readers(), &public).await.unwrap();
    assert!(report.ok, "{}", report.render());
    let rules: Vec<&str> = report.purged.iter().map(|r| r.rule.as_str()).collect();
    assert_eq!(rules, ["positions:30d", "messages:30d"], "{}", report.render());
    assert!(report.purged.iter().all(|r| r.recorded));
    // A replay of the range says so.
    let (status, started) =
        app.post("/api/v1/replays", json!({"from_ms": T0_MS - 1000, "to_ms": T0_MS + 60_000})).await;
    assert_eq!(status, 201, "{started}");
    let rules: Vec<&str> = started["purged"].as_array().unwrap().iter().map(|p| p["rule"].as_str().unwrap()).collect();
    assert_eq!(rules, ["positions:30d", "messages:30d"], "{started}");
    // The auditor's screen says so.
    let (_, page) = app.as_("auditor").get("/api/v1/audit/records?kind=message_posted").await;
    assert_eq!(page["entries"][0]["purged"], "messages:30d", "{page}");
    // Filters that read JSON bodies pass over binary position batches.
    for filter in
        ["user=pp&kind=positions_reported", "incident=1&kind=positions_reported", "agency=PP&kind=positions_reported"]
    {
        let (status, page) = app.as_("auditor").get(&format!("/api/v1/audit/records?{filter}")).await;
        assert_eq!(status, 200, "{filter}: {page}");
    }
    let (_, page) = app.as_("auditor").get("/api/v1/audit/records?kind=audit.purged").await;
    assert_eq!(page["entries"].as_array().unwrap().len(), 2, "{page}");

    // An export verifies offline, in Rust and in Python, and names the purge; tampering does not.
    // The range is the day the purged events were committed: the purge records, a month later,
    // come with their inclusion proofs.
    let range = format!("from_ms={}&to_ms={}&positions=true", T0_MS - 1, T0_MS + 86_400_000);
    let (status, export) = app.as_("auditor").get(&format!("/api/v1/audit/export?{range}")).await;
    assert_eq!(status, 200, "{export}");
    let file: ExportFile = serde_json::from_value(export.clone()).unwrap();
    let offline = verify::file(&file, &public).unwrap();
    assert!(offline.ok, "{}", offline.render());
    assert_eq!(offline.purged.len(), 2, "{}", offline.render());
    assert_eq!(export["purges"].as_array().unwrap().len(), 2);
    let dir = TempDir::new().unwrap();
    let good = dir.path().join("good.json");
    std::fs::write(&good, serde_json::to_vec(&export).unwrap()).unwrap();
    let (ok, said) = python_verifies(&good, &public);
    assert!(ok, "{said}");
    assert!(said.contains("purged under messages:30d"), "{said}");
    // And with the command an inspector runs, given the key the room publishes.
    let key = std::process::Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args(["audit", "key", "--database-url", &format!("sqlite://{}", db_path(app.dir.path()).display())])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&key.stdout).trim(), public);
    let verify_file = |path: &Path| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_vigie"))
            .args(["audit", "verify", "--key", &public, "--file"])
            .arg(path)
            .output()
            .unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (ok, said) = verify_file(&good);
    assert!(ok && said.starts_with("OK:") && said.contains("purged under messages:30d"), "{said}");

    let tamper = |what: &str, change: &dyn Fn(&mut Value)| {
        let mut bad = export.clone();
        change(&mut bad);
        let path = dir.path().join(format!("{what}.json"));
        std::fs::write(&path, serde_json::to_vec(&bad).unwrap()).unwrap();
        let file: ExportFile = serde_json::from_value(bad).unwrap();
        let rust = verify::file(&file, &public).unwrap();
        assert!(!rust.ok, "Rust accepts {what}");
        let (ok, said) = python_verifies(&path, &public);
        assert!(!ok, "Python accepts {what}: {said}");
        let (ok, said) = verify_file(&path);
        assert!(!ok && said.starts_with("BROKEN"), "the command accepts {what}: {said}");
    };
    tamper("actor", &|v| v["events"][3]["actor"] = json!("someone.else@PP/dispatcher"));
    tamper("time", &|v| v["events"][2]["at_ms"] = json!(T0_MS + 1));
    tamper("removed", &|v| {
        v["events"].as_array_mut().unwrap().remove(4);
    });
    tamper("purged-without-record", &|v| {
        v["purges"] = json!([]);
    });
    tamper("other-key", &|v| {
        let other = v["anchors"][0]["checkpoint"].as_str().unwrap().replace("— vigie.room", "— vigie.roon");
        v["anchors"] = json!([{"checkpoint": other, "consistency": v["anchors"][0]["consistency"].clone()}]);
    });
    let (ok, said) = python_verifies(&good, "vigie.room+00000000+AXQBYU4dkNSjY3qkXGg76rFJbUEsglw+k5FqX/YO84H/");
    assert!(!ok && said.contains("key"), "{said}");
    app.stop().await;
}

#[tokio::test]
async fn a_change_made_at_the_console_is_recorded_by_the_running_server() {
    let app = spawn_app().await;
    let url = format!("sqlite://{}", db_path(app.dir.path()).display());
    let action = vigie::identity::cli::Action::Disable { login: "bka".into() };
    let said = vigie::identity::cli::run(action, &url, || unreachable!("no password asked")).await.unwrap();
    assert!(said.contains("disabled"), "{said}");
    for _ in 0..50 {
        let (_, page) = app.as_("auditor").get("/api/v1/audit/records?kind=audit.account_changed").await;
        if let Some(entry) = page["entries"].as_array().unwrap().first() {
            assert!(entry["actor"].as_str().unwrap().starts_with("console:"), "{entry}");
            assert_eq!(entry["event"]["record"]["login"], "bka");
            assert_eq!(entry["event"]["record"]["changes"], json!(["disabled"]));
            app.stop().await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the console's change was not recorded within 5 s");
}

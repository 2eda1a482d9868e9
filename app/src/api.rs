//! The browser's one client of the HTTP API: every call the UI makes, typed with the contract the
//! server's handlers use ([`vigie_domain::api`]). Nothing else in the UI knows a path, builds a
//! body or reads an answer as untyped JSON. Answers to commands are not applied here: the
//! committed events come back on the stream and are folded by the reducer like everyone else's.
//!
//! On the server (rendering a page) nothing is called: every function answers
//! [`Failure::not_in_browser`].

// Rendering on the server makes no call: the request side is the browser's alone.
#![cfg_attr(not(feature = "hydrate"), allow(dead_code))]

use serde::de::DeserializeOwned;
use serde::Serialize;
use vigie_domain::api::{
    Account, AccountChanges, AgencyPolicy, ApiToken, IssuedToken, NewAccount, NewApiToken, SharingRule, TotpCode,
    TotpEnrolment,
};
use vigie_domain::api::{
    Acknowledge, AddNote, AgencyRef, AssignUnit, ChangeIncidentStatus, ChangeUnitStatus, Committed, CreateIncident,
    DemoAccount, ErrorBody, ErrorCode, EventsPage, ExportRequest, JobStarted, JobView, Me, NewPin, PostMessage,
    ReplayStarted, Restrict, ScenarioList, SessionList, SignIn, StartReplay,
};
use vigie_domain::api::{AuditPage, AuditProof, VerificationStatus};
use vigie_domain::replay::{Control, Pin, SessionInfo};
use vigie_domain::{IncidentId, IncidentStatus, MessageId, Seq, UnitId, UnitStatus};

const BASE: &str = "/api/v1";
const TRAINER_HEADER: &str = "X-Vigie-Trainer-Key";

/// Why a call failed, as the operator should read it.
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    /// The HTTP status; 0 when the server could not be reached.
    pub status: u16,
    pub code: Option<ErrorCode>,
    pub message: String,
}

impl Failure {
    fn unreachable() -> Self {
        Self { status: 0, code: None, message: "the server cannot be reached; try again".into() }
    }

    pub fn not_in_browser() -> Self {
        Self { status: 0, code: None, message: "only the browser calls the API".into() }
    }

    /// From a refusal's status and body: the API's message (`{"error": {...}}`), or the status.
    fn refusal(status: u16, body: &str) -> Self {
        match serde_json::from_str::<ErrorBody>(body) {
            Ok(ErrorBody { error }) => Self { status, code: Some(error.code), message: error.message },
            Err(_) => Self { status, code: None, message: format!("refused ({status})") },
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

pub type Answer<T> = Result<T, Failure>;

/// What a call carries besides the session cookie (which says who acts): to drive a replay
/// session, its trainer's key.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Caller {
    pub trainer_key: Option<String>,
}

impl Caller {
    /// The signed-in user, nothing more.
    pub fn signed_in() -> Self {
        Self::default()
    }

    fn headers(&self) -> Vec<(&'static str, String)> {
        let mut h = Vec::new();
        if let Some(key) = &self.trainer_key {
            h.push((TRAINER_HEADER, key.clone()));
        }
        h
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Method {
    Get,
    Post,
    Patch,
    Delete,
}

// ---- Commands ----

pub async fn create_incident(who: &Caller, body: &CreateIncident) -> Answer<Committed> {
    call(Method::Post, "/incidents".into(), Some(body), who).await
}

pub async fn change_incident_status(who: &Caller, id: IncidentId, status: IncidentStatus) -> Answer<Committed> {
    call(Method::Post, format!("/incidents/{}/status", id.0), Some(&ChangeIncidentStatus { status }), who).await
}

pub async fn assign(who: &Caller, incident: IncidentId, unit: UnitId) -> Answer<Committed> {
    call(Method::Post, format!("/incidents/{}/assignments", incident.0), Some(&AssignUnit { unit_id: unit.0 }), who)
        .await
}

pub async fn release(who: &Caller, incident: IncidentId, unit: UnitId) -> Answer<Committed> {
    call::<(), _>(Method::Delete, format!("/incidents/{}/assignments/{}", incident.0, unit.0), None, who).await
}

pub async fn add_note(who: &Caller, incident: IncidentId, text: String) -> Answer<Committed> {
    call(Method::Post, format!("/incidents/{}/notes", incident.0), Some(&AddNote { text }), who).await
}

pub async fn change_unit_status(who: &Caller, unit: UnitId, status: UnitStatus) -> Answer<Committed> {
    call(Method::Post, format!("/units/{}/status", unit.0), Some(&ChangeUnitStatus { status }), who).await
}

pub async fn post_message(who: &Caller, body: &PostMessage) -> Answer<Committed> {
    call(Method::Post, "/messages".into(), Some(body), who).await
}

/// Acknowledges for the signed-in user's agency (the server takes it from the session).
pub async fn acknowledge(who: &Caller, message: MessageId) -> Answer<Committed> {
    call(Method::Post, format!("/messages/{}/acks", message.0), Some(&Acknowledge { agency: None }), who).await
}

// ---- The log ----

/// Where a timeline reads what happened before the page opened.
#[derive(Clone, Debug, PartialEq)]
pub enum History {
    /// The live log's events other than positions since `since_ms`.
    Log { since_ms: i64 },
    /// A replay session's whole window.
    Session { id: String },
}

/// One page of `history` after `after_seq` (5 000 events at most).
pub async fn history_page(history: &History, after_seq: Seq) -> Answer<EventsPage> {
    let path = match history {
        History::Log { since_ms } => {
            format!("/events?without_positions=true&from_ms={since_ms}&after_seq={after_seq}&limit=5000")
        }
        History::Session { id } => format!("/replays/{id}/events?after_seq={after_seq}&limit=5000"),
    };
    call::<(), _>(Method::Get, path, None, &Caller::default()).await
}

/// The stream's address on `host`: the live room resumed after `since`, or a replay session.
pub fn stream_url(secure: bool, host: &str, session: Option<&str>, since: Seq) -> String {
    let scheme = if secure { "wss" } else { "ws" };
    match session {
        Some(id) => format!("{scheme}://{host}{BASE}/replays/{id}/stream"),
        None => format!("{scheme}://{host}{BASE}/stream?since={since}"),
    }
}

// ---- Replay and scenarios ----

pub async fn start_replay(body: &StartReplay) -> Answer<ReplayStarted> {
    call(Method::Post, "/replays".into(), Some(body), &Caller::default()).await
}

pub async fn replays() -> Answer<SessionList> {
    call::<(), _>(Method::Get, "/replays".into(), None, &Caller::default()).await
}

pub async fn control(who: &Caller, session: &str, control: &Control) -> Answer<SessionInfo> {
    call(Method::Post, format!("/replays/{session}/control"), Some(control), who).await
}

pub async fn pin(who: &Caller, session: &str, body: &NewPin) -> Answer<Pin> {
    call(Method::Post, format!("/replays/{session}/pins"), Some(body), who).await
}

pub async fn scenarios() -> Answer<ScenarioList> {
    call::<(), _>(Method::Get, "/scenarios".into(), None, &Caller::default()).await
}

// ---- Need-to-know ----

pub async fn restrict(who: &Caller, incident: IncidentId, restricted: bool) -> Answer<Committed> {
    call(Method::Post, format!("/incidents/{}/restriction", incident.0), Some(&Restrict { restricted }), who).await
}

pub async fn share(who: &Caller, incident: IncidentId, agency: String) -> Answer<Committed> {
    call(Method::Post, format!("/incidents/{}/shares", incident.0), Some(&AgencyRef { agency }), who).await
}

pub async fn unshare(who: &Caller, incident: IncidentId, agency: String) -> Answer<Committed> {
    call::<(), _>(Method::Delete, format!("/incidents/{}/shares/{agency}", incident.0), None, who).await
}

pub async fn hide_unit(who: &Caller, unit: UnitId, agency: String) -> Answer<Committed> {
    call(Method::Post, format!("/units/{}/hidden_from", unit.0), Some(&AgencyRef { agency }), who).await
}

pub async fn reveal_unit(who: &Caller, unit: UnitId, agency: String) -> Answer<Committed> {
    call::<(), _>(Method::Delete, format!("/units/{}/hidden_from/{agency}", unit.0), None, who).await
}

// ---- Administration ----

pub async fn accounts() -> Answer<Vec<Account>> {
    call::<(), _>(Method::Get, "/admin/users".into(), None, &Caller::default()).await
}

pub async fn add_account(body: &NewAccount) -> Answer<Account> {
    call(Method::Post, "/admin/users".into(), Some(body), &Caller::default()).await
}

pub async fn change_account(login: &str, body: &AccountChanges) -> Answer<Account> {
    call(Method::Patch, format!("/admin/users/{login}"), Some(body), &Caller::default()).await
}

pub async fn api_tokens() -> Answer<Vec<ApiToken>> {
    call::<(), _>(Method::Get, "/admin/tokens".into(), None, &Caller::default()).await
}

pub async fn issue_token(body: &NewApiToken) -> Answer<IssuedToken> {
    call(Method::Post, "/admin/tokens".into(), Some(body), &Caller::default()).await
}

pub async fn revoke_token(id: i64) -> Answer<()> {
    call::<(), ()>(Method::Delete, format!("/admin/tokens/{id}"), None, &Caller::default()).await
}

pub async fn sharing_rules() -> Answer<Vec<SharingRule>> {
    call::<(), _>(Method::Get, "/sharing-rules".into(), None, &Caller::default()).await
}

pub async fn set_sharing(body: &SharingRule) -> Answer<Committed> {
    call(Method::Post, "/sharing-rules".into(), Some(body), &Caller::default()).await
}

// ---- Search ----

/// One search over the room, `q` as typed.
/// The one search: of the live room, or of the replay `session` at its moment.
pub async fn search(session: Option<&str>, q: &str) -> Answer<vigie_domain::api::SearchResults> {
    let path = match session {
        None => format!("/search?q={}", encode_query(q)),
        Some(id) => format!("/replays/{}/search?q={}", encode_query(id), encode_query(q)),
    };
    call::<(), _>(Method::Get, path, None, &Caller::default()).await
}

/// A value for a query string: percent-encoded UTF-8, unreserved characters kept.
pub fn encode_query(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

// ---- The record for oversight ----

/// Asks for an incident's details: the server records the opening of a restricted one.
pub async fn open_incident(id: IncidentId) -> Answer<vigie_domain::Incident> {
    call::<(), _>(Method::Get, format!("/incidents/{}", id.0), None, &Caller::default()).await
}

/// A page of the record; `query` is the filters' query string.
pub async fn audit_records(query: &str) -> Answer<AuditPage> {
    call::<(), _>(Method::Get, format!("/audit/records?{query}"), None, &Caller::default()).await
}

pub async fn audit_record(seq: u64) -> Answer<AuditProof> {
    call::<(), _>(Method::Get, format!("/audit/records/{seq}"), None, &Caller::default()).await
}

pub async fn verification() -> Answer<VerificationStatus> {
    call::<(), _>(Method::Get, "/audit/verification".into(), None, &Caller::default()).await
}

pub async fn verify_now() -> Answer<()> {
    call::<(), ()>(Method::Post, "/audit/verification".into(), None, &Caller::default()).await
}

// ---- Signing in ----

/// Signs in; `code` is the second factor's current code, for an account that has one.
pub async fn sign_in(login: String, password: String, code: Option<String>) -> Answer<Me> {
    call(Method::Post, "/session".into(), Some(&SignIn { login, password, code }), &Caller::default()).await
}

/// Starts enrolling a second factor: the secret, its URL and QR code, shown once.
pub async fn begin_totp() -> Answer<TotpEnrolment> {
    call::<(), _>(Method::Post, "/session/totp".into(), None, &Caller::default()).await
}

pub async fn confirm_totp(code: String) -> Answer<Me> {
    call(Method::Post, "/session/totp/confirm".into(), Some(&TotpCode { code }), &Caller::default()).await
}

pub async fn agency_policies() -> Answer<Vec<AgencyPolicy>> {
    call::<(), _>(Method::Get, "/admin/agency-policies".into(), None, &Caller::default()).await
}

pub async fn set_agency_policy(body: &AgencyPolicy) -> Answer<AgencyPolicy> {
    call(Method::Post, "/admin/agency-policies".into(), Some(body), &Caller::default()).await
}

pub async fn sign_out() -> Answer<()> {
    call::<(), ()>(Method::Delete, "/session".into(), None, &Caller::default()).await
}

pub async fn whoami() -> Answer<Me> {
    call::<(), _>(Method::Get, "/session".into(), None, &Caller::default()).await
}

/// The demo's accounts, offered for one click (`vigie demo` only; elsewhere a 404).
pub async fn demo_accounts() -> Answer<Vec<DemoAccount>> {
    call::<(), _>(Method::Get, "/session/demo-accounts".into(), None, &Caller::default()).await
}

/// Where a browser goes when its session has ended: the sign-in page, then back here.
#[cfg(feature = "hydrate")]
pub fn to_sign_in() {
    let location = leptos::prelude::window().location();
    let here = location.pathname().unwrap_or_default() + &location.search().unwrap_or_default();
    let next = js_sys::encode_uri_component(&here);
    let _ = location.set_href(&format!("/signin?next={next}"));
}

pub async fn export(body: &ExportRequest) -> Answer<JobStarted> {
    call(Method::Post, "/exports".into(), Some(body), &Caller::default()).await
}

pub async fn job(id: u32) -> Answer<JobView> {
    call::<(), _>(Method::Get, format!("/jobs/{id}"), None, &Caller::default()).await
}

/// Where a finished export's file downloads from.
pub fn job_file_url(id: u32) -> String {
    format!("{BASE}/jobs/{id}/file")
}

/// Uploads a scenario file with XMLHttpRequest, whose upload progress events fetch does not have,
/// so a large scenario shows how much has gone (`progress(sent, total)`).
#[cfg(feature = "hydrate")]
pub async fn import_scenario(file: web_sys::File, progress: impl Fn(u64, u64) + 'static) -> Answer<JobStarted> {
    use wasm_bindgen::{closure::Closure, JsCast};
    let failed = |_| Failure { status: 0, code: None, message: "the upload could not start".into() };
    let xhr = web_sys::XmlHttpRequest::new().map_err(failed)?;
    xhr.open("POST", &format!("{BASE}/scenarios")).map_err(failed)?;
    xhr.set_request_header("Content-Type", "application/gzip").map_err(failed)?;
    let on_progress = Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |e: web_sys::ProgressEvent| {
        progress(e.loaded() as u64, e.total() as u64);
    });
    xhr.upload().map_err(failed)?.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
    let done = js_sys::Promise::new(&mut |resolve, _| xhr.set_onloadend(Some(&resolve)));
    xhr.send_with_opt_blob(Some(&file)).map_err(failed)?;
    let _ = wasm_bindgen_futures::JsFuture::from(done).await;
    drop(on_progress); // the request is over: the handler is freed, not leaked
    let status = xhr.status().unwrap_or(0);
    let text = xhr.response_text().ok().flatten().unwrap_or_default();
    answer(status, &text)
}

// ---- The one place a request is made ----

fn answer<T: DeserializeOwned>(status: u16, text: &str) -> Answer<T> {
    match status {
        0 => Err(Failure::unreachable()),
        // An answer without a body (204) is `null`: `()` for the calls that expect nothing.
        200..=299 => serde_json::from_str(if text.trim().is_empty() { "null" } else { text }).map_err(|e| Failure {
            status,
            code: None,
            message: format!("the server's answer was not understood ({e})"),
        }),
        _ => Err(Failure::refusal(status, text)),
    }
}

#[cfg(feature = "hydrate")]
async fn call<B: Serialize, T: DeserializeOwned>(
    method: Method,
    path: String,
    body: Option<&B>,
    who: &Caller,
) -> Answer<T> {
    use gloo_net::http::{Method as M, RequestBuilder};
    let signing_in = method == Method::Post && path == "/session";
    let method = match method {
        Method::Get => M::GET,
        Method::Post => M::POST,
        Method::Patch => M::PATCH,
        Method::Delete => M::DELETE,
    };
    let builder = who
        .headers()
        .into_iter()
        .fold(RequestBuilder::new(&format!("{BASE}{path}")).method(method), |b, (k, v)| b.header(k, &v));
    let request = match body {
        Some(body) => builder.json(body),
        None => builder.build(),
    }
    .map_err(|e| Failure { status: 0, code: None, message: e.to_string() })?;
    let Ok(response) = request.send().await else { return Err(Failure::unreachable()) };
    let text = response.text().await.unwrap_or_default();
    let answer = answer(response.status(), &text);
    // The session ended (signed out elsewhere, idle, disabled): back to sign-in — except for a
    // sign-in itself, whose refusal is answered on its page.
    if matches!(&answer, Err(f) if f.code == Some(ErrorCode::Unauthenticated)) && !signing_in {
        to_sign_in();
    }
    answer
}

#[cfg(not(feature = "hydrate"))]
async fn call<B: Serialize, T: DeserializeOwned>(
    _method: Method,
    _path: String,
    _body: Option<&B>,
    _who: &Caller,
) -> Answer<T> {
    Err(Failure::not_in_browser())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_reads_the_api_s_code_and_message_and_anything_else_the_status() {
        let body = r#"{"error":{"code":"limit_reached","field":"","message":"the room has 200 agencies"}}"#;
        let f = answer::<Committed>(409, body).unwrap_err();
        assert_eq!(
            (f.status, f.code, f.message.as_str()),
            (409, Some(ErrorCode::LimitReached), "the room has 200 agencies")
        );
        let f = answer::<Committed>(502, "<html>bad gateway</html>").unwrap_err();
        assert_eq!((f.code, f.message.as_str()), (None, "refused (502)"));
        assert_eq!(answer::<Committed>(0, "").unwrap_err(), Failure::unreachable());
        let ok: Committed = answer(200, r#"{"seq": 4, "events": []}"#).unwrap();
        assert_eq!(ok.seq, 4);
    }

    #[test]
    fn the_stream_url_resumes_the_live_room_and_opens_a_session() {
        assert_eq!(stream_url(false, "room:3000", None, 42), "ws://room:3000/api/v1/stream?since=42");
        assert_eq!(stream_url(true, "room", Some("ab12"), 42), "wss://room/api/v1/replays/ab12/stream");
    }
}

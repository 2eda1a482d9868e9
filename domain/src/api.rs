//! The HTTP API's bodies as types, shared by the server's handlers and the browser's client, so
//! both sides compile against one contract (`openapi.json` documents it). Requests are taken
//! as sent (`deny_unknown_fields`) and checked by the handlers with the domain's parsers, which
//! name the field that is wrong; answers are what the handlers serialise.

use serde::{Deserialize, Serialize};

use crate::agency::AgencyKind;
use crate::event::{present, Event};
use crate::incident::{IncidentKind, IncidentStatus, Priority};
use crate::message::MessagePriority;
use crate::replay::{Pin, SessionInfo};
use crate::unit::{UnitKind, UnitStatus};
use crate::{LoggedEvent, Seq};

/// Every refusal's code: what a client may branch on. The body is always
/// `{"error": {"code", "field", "message"}}` ([`ErrorBody`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400: a parameter or field is wrong (named in `field`).
    BadRequest,
    /// 400: the body is not the JSON this endpoint takes.
    BadBody,
    BadPath,
    BadQuery,
    MalformedJson,
    /// 415.
    UnsupportedMediaType,
    /// 415: a scenario upload that is not gzip.
    NotGzip,
    /// 413.
    TooLarge,
    /// 422: a value out of range or of the wrong form.
    Invalid,
    /// 404.
    NotFound,
    NoSuchEndpoint,
    /// 409: not allowed in the room's current state.
    Conflict,
    /// 409: a cap of the room is reached.
    LimitReached,
    /// 409: a job's file is not ready.
    NotReady,
    /// 403: a replay control without the trainer's key.
    NotTheTrainer,
    /// 403: a write from another site.
    CrossSite,
    /// 403: a stream opened from another origin.
    OriginNotAllowed,
    /// 400 / 421: a request without a Host header, or for a name that is not this room's.
    NoHost,
    UnknownHost,
    /// 408.
    Timeout,
    /// 400: a stream endpoint asked without a WebSocket upgrade.
    NotAWebsocket,
    /// 429 / 503: retry after `Retry-After`.
    Busy,
    TooManyClients,
    ExportsRunning,
    ImportRunning,
    /// 503: the writer is not taking commands.
    Unavailable,
    /// 500: the server's log says why.
    Internal,
    /// 401: no live session.
    Unauthenticated,
    /// 401: a sign-in refused (one answer whatever the reason).
    SignInFailed,
    /// 429: too many failed sign-ins for this login or from this address.
    TooManyAttempts,
    /// 403: the caller's roles do not open this endpoint (the message names the roles that do).
    RoleRequired,
    /// 403: the caller's API token lacks the scope this endpoint needs (named in the message).
    ScopeRequired,
    /// 403: the command needs a right the caller lacks here (the right is in `field`).
    Forbidden,
    /// 401: the password was right; the account's second-factor code is needed too.
    SecondFactorRequired,
    /// 403: the account must enrol a second factor before anything else.
    EnrolmentRequired,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::BadBody => "bad_body",
            ErrorCode::BadPath => "bad_path",
            ErrorCode::BadQuery => "bad_query",
            ErrorCode::MalformedJson => "malformed_json",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::NotGzip => "not_gzip",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::Invalid => "invalid",
            ErrorCode::NotFound => "not_found",
            ErrorCode::NoSuchEndpoint => "no_such_endpoint",
            ErrorCode::Conflict => "conflict",
            ErrorCode::LimitReached => "limit_reached",
            ErrorCode::NotReady => "not_ready",
            ErrorCode::NotTheTrainer => "not_the_trainer",
            ErrorCode::CrossSite => "cross_site",
            ErrorCode::OriginNotAllowed => "origin_not_allowed",
            ErrorCode::NoHost => "no_host",
            ErrorCode::UnknownHost => "unknown_host",
            ErrorCode::Timeout => "timeout",
            ErrorCode::NotAWebsocket => "not_a_websocket",
            ErrorCode::Busy => "busy",
            ErrorCode::TooManyClients => "too_many_clients",
            ErrorCode::ExportsRunning => "exports_running",
            ErrorCode::ImportRunning => "import_running",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::SignInFailed => "sign_in_failed",
            ErrorCode::TooManyAttempts => "too_many_attempts",
            ErrorCode::RoleRequired => "role_required",
            ErrorCode::ScopeRequired => "scope_required",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::SecondFactorRequired => "second_factor_required",
            ErrorCode::EnrolmentRequired => "enrolment_required",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub code: ErrorCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
}

// ---- Commands ----

/// A point as sent: checked by [`crate::Point::parse`] with the field's name.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LonLat {
    pub lon: f64,
    pub lat: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterAgency {
    pub code: String,
    pub short_name: String,
    pub full_name: String,
    pub kind: AgencyKind,
    pub country: String,
    pub colour: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterUnit {
    pub callsign: String,
    /// The owning agency; the caller's own when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency: Option<String>,
    pub kind: UnitKind,
    #[serde(default = "available")]
    pub status: UnitStatus,
    /// Agencies that never receive this unit (intelligence, undercover, protection details).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hidden_from: Vec<String>,
}

fn available() -> UnitStatus {
    UnitStatus::Available
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeUnitStatus {
    pub status: UnitStatus,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PositionBatch {
    pub reports: Vec<Report>,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    pub unit_id: u32,
    pub lon: f64,
    pub lat: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heading_deg: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed_mps: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy_m: Option<f64>,
    /// When the device took the fix, ms since the Unix epoch (UTC).
    pub reported_at_ms: i64,
}

/// The answer to a position batch: not the events (echoing thousands of fixes would double the
/// busiest endpoint's traffic).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PositionsAccepted {
    pub seq: Seq,
    pub accepted: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateIncident {
    pub kind: IncidentKind,
    pub priority: Priority,
    pub location: LonLat,
    /// Outer ring as `[lon, lat]` pairs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub area: Option<Vec<[f64; 2]>>,
    pub address: String,
    /// The lead agency; the caller's own when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lead_agency: Option<String>,
    /// Visible only to the lead agency and those it is shared with.
    #[serde(default)]
    pub restricted: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateIncident {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<IncidentKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<LonLat>,
    /// `null` removes the area; absent leaves it.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub area: Option<Option<Vec<[f64; 2]>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lead_agency: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeIncidentStatus {
    pub status: IncidentStatus,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignUnit {
    pub unit_id: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddNote {
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateChannel {
    pub slug: String,
    pub name: String,
    pub members: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostMessage {
    pub channel_id: String,
    /// Always the caller's agency: given, it must be that one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_agency: Option<String>,
    pub priority: MessagePriority,
    pub body: String,
    #[serde(default)]
    pub ack_required: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Acknowledge {
    /// Always the caller's agency: given, it must be that one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency: Option<String>,
}

/// A sign-in: `POST /api/v1/session`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    pub login: String,
    pub password: String,
    /// The second factor's current code, for an account that has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// Who a session is: what the top bar shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Me {
    pub login: String,
    pub agency: String,
    pub roles: Vec<crate::authority::Role>,
    /// The session may only enrol a second factor (the account needs one and has none yet).
    #[serde(default)]
    pub enrolling: bool,
}

impl From<crate::authority::Principal> for Me {
    fn from(p: crate::authority::Principal) -> Self {
        Me { login: p.user, agency: p.agency.to_string(), roles: p.roles.into_iter().collect(), enrolling: false }
    }
}

/// Enrolling a second factor: what the browser shows once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TotpEnrolment {
    /// Base32, for typing into an authenticator by hand.
    pub secret: String,
    pub otpauth_url: String,
    /// The URL as a QR code (an SVG drawn by the server).
    pub qr_svg: String,
}

/// A second-factor code: `POST /api/v1/session/totp/confirm`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TotpCode {
    pub code: String,
}

/// An agency's policy: `POST /api/v1/admin/agency-policies`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgencyPolicy {
    pub agency: String,
    pub require_second_factor: bool,
}

/// The accounts the sign-in page offers for one click, in a demo only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DemoAccount {
    pub login: String,
    pub agency: String,
    pub roles: Vec<crate::authority::Role>,
}

/// An account as an admin sees it (never its password).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub login: String,
    pub display_name: String,
    pub agency: String,
    pub roles: Vec<crate::authority::Role>,
    pub disabled: bool,
    pub created_at_ms: i64,
}

/// A new account: `POST /api/v1/admin/users`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    pub login: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    pub agency: String,
    pub roles: Vec<crate::authority::Role>,
    pub password: String,
}

/// Changes to an account: `PATCH /api/v1/admin/users/{login}`. Any change but the display name
/// ends the account's sessions (its streams were opened with what it was).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountChanges {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<crate::authority::Role>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Removes the account's second factor (a lost phone): it enrols again at its next sign-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset_second_factor: Option<bool>,
}

/// An API token as listed (never the token).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub login: String,
    pub scopes: Vec<crate::authority::Scope>,
    pub created_at_ms: i64,
    #[serde(default)]
    pub last_used_ms: Option<i64>,
    #[serde(default)]
    pub revoked_at_ms: Option<i64>,
}

/// Issuing a token: `POST /api/v1/admin/tokens`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewApiToken {
    pub login: String,
    pub name: String,
    pub scopes: Vec<crate::authority::Scope>,
}

/// A token just issued: the only time it is shown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IssuedToken {
    pub id: i64,
    pub token: String,
}

/// An agency-pair sharing rule: `POST /api/v1/sharing-rules`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharingRule {
    pub from: String,
    pub to: String,
    pub shared: bool,
}

/// Restricting an incident to its lead and those it is shared with, or opening it to the room.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Restrict {
    pub restricted: bool,
}

/// Sharing an incident with an agency, or hiding a unit from one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgencyRef {
    pub agency: String,
}

/// What every accepted command answers: the seq the room is at after it, and its events.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Committed {
    pub seq: Seq,
    pub events: Vec<LoggedEvent>,
}

impl Committed {
    /// The first event, for a command that creates something.
    pub fn first(&self) -> Option<&Event> {
        self.events.first().map(|e| &e.event)
    }
}

// ---- The log ----

/// A page of the log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventsPage {
    pub events: Vec<LoggedEvent>,
    /// Pass as `after_seq` to get the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_after_seq: Option<Seq>,
    /// The room's head when the page was read (absent for a replay session's pages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_seq: Option<Seq>,
}

// ---- Search ----

/// `GET /api/v1/search`: the best hits the caller may see, best first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchResults {
    pub hits: Vec<SearchHit>,
    /// More hits than the answer holds (ask for a larger `limit`, or type more).
    pub more: bool,
}

/// One hit: what it is, how it reads, where it is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    #[serde(flatten)]
    pub found: Found,
    pub title: String,
    pub detail: String,
    /// The best-matching part of its text, the words that matched marked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub snippet: Vec<Fragment>,
    /// `[west, south, east, north]` to show it on the map, when it has a place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bbox: Option<[f64; 4]>,
    /// When it was sent, noted, created or last updated (ms since the Unix epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_ms: Option<i64>,
}

impl SearchHit {
    /// Whether it was found by its title: its snippet is the whole title (the name itself).
    pub fn found_by_title(&self) -> bool {
        self.snippet.iter().map(|f| f.text.as_str()).collect::<String>() == self.title
    }
}

/// What a hit is, by its kind and id.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Found {
    Incident {
        incident_id: crate::IncidentId,
    },
    Unit {
        unit_id: crate::UnitId,
    },
    Message {
        message_id: crate::MessageId,
        channel_id: crate::ChannelId,
    },
    Alert {
        alert_id: crate::AlertId,
    },
    /// A place of a base-map layer (the gazetteer).
    Place {
        layer: String,
    },
}

/// A piece of a snippet; `matched` when it is a word the query matched.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fragment {
    pub text: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub matched: bool,
}

// ---- The record for oversight ----

/// One entry of the record as the auditor's screen lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: Seq,
    pub at_ms: i64,
    pub actor: String,
    pub kind: String,
    /// The event, unless its content was purged (position fixes may also be left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<Event>,
    /// The retention rule that purged its content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purged: Option<String>,
}

/// A page of the record, newest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Pass as `before_seq` for the next (older) page; absent on the last one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_before_seq: Option<Seq>,
}

/// One entry with what proves it: its stored form, its leaf hash and its inclusion proof in the
/// latest signed checkpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditProof {
    pub entry: AuditEntry,
    pub stored: StoredEvent,
    /// Base64 leaf hash.
    pub leaf: String,
    /// The signed checkpoint (a C2SP signed note) the proof is against.
    pub checkpoint: String,
    pub tree_size: u64,
    /// Base64 hashes, leaf to root (RFC 6962 audit path).
    pub proof: Vec<String>,
}

/// An event exactly as stored: what its leaf commits to (see the README's record format).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredEvent {
    pub seq: Seq,
    pub at_ms: i64,
    pub actor: String,
    pub kind: String,
    /// Base64 of the stored body; absent once purged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Base64 salt; absent once purged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
    /// Base64 SHA-256(salt || body), kept once the body is purged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purged: Option<String>,
}

/// The result of a verification of the live log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    pub at_ms: i64,
    pub ok: bool,
    /// Events verified.
    pub size: u64,
    pub checkpoints: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_bad_seq: Option<Seq>,
    /// The verifier's report, one finding per line.
    pub detail: String,
    pub took_ms: u64,
}

/// Whether a verification is running, and the last one's result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VerificationStatus {
    pub running: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<Verification>,
}

// ---- Replay and scenarios ----

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartReplay {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_ms: Option<i64>,
    /// Replay this incident's window (first to last event) with `margin_s` either side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_id: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub margin_s: Option<u32>,
    /// Replay an imported scenario instead of this server's log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario_id: Option<u32>,
}

/// What the trainer gets back when starting a session: the session (its `session_id` among it)
/// and the key that drives it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReplayStarted {
    pub trainer_key: String,
    #[serde(flatten)]
    pub info: SessionInfo,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionList {
    pub sessions: Vec<SessionInfo>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPin {
    pub at_ms: i64,
    pub text: String,
}

/// The answer to a pin: the pin as kept.
pub type Pinned = Pin;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportRequest {
    pub from_ms: i64,
    pub to_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario_id: Option<u32>,
}

/// An imported scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScenarioInfo {
    pub scenario_id: u32,
    pub name: String,
    pub from_ms: i64,
    pub to_ms: i64,
    pub events: u64,
    pub imported_at_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScenarioList {
    pub scenarios: Vec<ScenarioInfo>,
}

/// A job was started: watch it at `/api/v1/jobs/{job_id}`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobStarted {
    pub job_id: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    Export,
    Import,
}

impl std::fmt::Display for JobKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            JobKind::Export => "export",
            JobKind::Import => "import",
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Running,
    Done,
    Failed,
}

/// What a finished export or import did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobResult {
    pub events: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario_id: Option<u32>,
    /// An imported scenario's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobView {
    pub job_id: u32,
    pub kind: JobKind,
    pub state: JobState,
    pub done: u64,
    pub total: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<JobResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_code_reads_the_same_as_text_and_as_json() {
        let all = [
            ErrorCode::BadRequest,
            ErrorCode::BadBody,
            ErrorCode::BadPath,
            ErrorCode::BadQuery,
            ErrorCode::MalformedJson,
            ErrorCode::UnsupportedMediaType,
            ErrorCode::NotGzip,
            ErrorCode::TooLarge,
            ErrorCode::Invalid,
            ErrorCode::NotFound,
            ErrorCode::NoSuchEndpoint,
            ErrorCode::Conflict,
            ErrorCode::LimitReached,
            ErrorCode::NotReady,
            ErrorCode::NotTheTrainer,
            ErrorCode::CrossSite,
            ErrorCode::OriginNotAllowed,
            ErrorCode::NoHost,
            ErrorCode::UnknownHost,
            ErrorCode::Timeout,
            ErrorCode::NotAWebsocket,
            ErrorCode::Busy,
            ErrorCode::TooManyClients,
            ErrorCode::ExportsRunning,
            ErrorCode::ImportRunning,
            ErrorCode::Unavailable,
            ErrorCode::Internal,
            ErrorCode::Unauthenticated,
            ErrorCode::SignInFailed,
            ErrorCode::TooManyAttempts,
            ErrorCode::RoleRequired,
            ErrorCode::ScopeRequired,
            ErrorCode::Forbidden,
            ErrorCode::SecondFactorRequired,
            ErrorCode::EnrolmentRequired,
        ];
        for code in all {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str(), "{code:?}");
        }
    }

    #[test]
    fn an_update_tells_a_removed_area_from_an_untouched_one() {
        let remove: UpdateIncident = serde_json::from_str(r#"{"area": null}"#).unwrap();
        assert_eq!(remove.area, Some(None));
        let untouched: UpdateIncident = serde_json::from_str(r#"{"address": "x"}"#).unwrap();
        assert_eq!(untouched.area, None);
        assert!(serde_json::from_str::<UpdateIncident>(r#"{"colour": "red"}"#).is_err(), "unknown fields refused");
    }
}

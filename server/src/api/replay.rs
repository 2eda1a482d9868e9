//! Replay over HTTP: sessions (start, list, control, pins, follow), the room at any past moment,
//! and scenarios (export a range to a file, import one) run as jobs with progress.
//!
//! Only the trainer, who holds the key returned when the session started
//! (`X-Vigie-Trainer-Key`), drives a session; anyone with its id follows it.

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;
use tokio::io::AsyncWriteExt;
use vigie_domain::api::ErrorCode;
use vigie_domain::api::{
    EventsPage, ExportRequest, JobKind, JobResult, JobStarted, NewPin, ReplayStarted, ScenarioList, SessionList,
    StartReplay,
};
use vigie_domain::authority::{Role, Scope};
use vigie_domain::record::Record;
use vigie_domain::replay::{incident_window, Control, Source};
use vigie_domain::visibility::{record_for, view, Viewer};
use vigie_domain::wire::ServerMessage;
use vigie_domain::{IncidentId, Refusal};

use crate::http::access::{roles, Auth, Routes, Rule};
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::jobs::{Job, Refused};
use crate::replay::{file, seek, ReplayError, Session};
use crate::store::replay::Log;
use crate::stream::Stops;
use crate::AppState;

pub const TRAINER_HEADER: &str = "x-vigie-trainer-key";
/// Exports running at once; a further one is refused with 429 until one finishes.
pub const MAX_EXPORTS: usize = 2;
/// Largest scenario file accepted for import (a busy day of positions is a few hundred MB).
pub const MAX_IMPORT_BYTES: u64 = 1024 * 1024 * 1024;
/// Margin around an incident's window when a replay is started from it.
const DEFAULT_MARGIN_S: u32 = 600;
const MAX_MARGIN_S: u32 = 24 * 3600;

pub fn routes() -> Routes {
    let train = Rule::Roles(roles::TRAIN, Scope::Replay);
    let follow_ = Rule::Roles(roles::FOLLOW_REPLAYS, Scope::Replay);
    let history = Rule::Roles(&[Role::Trainer, Role::Auditor], Scope::Replay);
    let import_ = Routes::default()
        .post("/api/v1/scenarios", train, import)
        .get("/api/v1/scenarios", train, scenarios)
        .wrap(|r| r.layer(DefaultBodyLimit::disable()));
    Routes::default()
        .post("/api/v1/replays", train, start)
        .get("/api/v1/replays", follow_, list)
        .get("/api/v1/replays/{id}", follow_, info)
        .delete("/api/v1/replays/{id}", train, remove)
        .post("/api/v1/replays/{id}/control", train, control)
        .post("/api/v1/replays/{id}/pins", train, pin)
        .get("/api/v1/replays/{id}/events", follow_, session_events)
        .get("/api/v1/replays/{id}/stream", follow_, follow)
        .get("/api/v1/history/state", history, state_at)
        .post("/api/v1/exports", train, export)
        .get("/api/v1/jobs/{id}", train, job)
        .get("/api/v1/jobs/{id}/file", train, job_file)
        .delete("/api/v1/scenarios/{id}", train, remove_scenario)
        .wrap(|r| r.layer(DefaultBodyLimit::max(super::COMMAND_BODY_LIMIT)))
        .merge(import_)
}

/// `GET /api/v1/replays/{id}/stream`: the session's room as a WebSocket stream, served by the
/// same engine as the live one, plus `replay` messages (clock, pins) and `progress` during a far
/// seek. Only `ping` is taken from the client: a replay cannot be commanded.
async fn follow(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<String>,
    request: Request,
) -> Response {
    let Some(session) = state.replays.get(&id) else {
        return ApiError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, format!("no replay session {id}"))
            .into_response();
    };
    let held = state.access.hold(caller.credential.clone(), &caller.principal.user);
    crate::http::upgrade::accept(&state, request, move |state, socket| async move {
        let timing = state.stream_timing();
        let stops = Stops { shutdown: state.shutdown.clone(), access: held.ended.clone() };
        // The session shows its trainer's picture, whoever follows it.
        let audience = session.info().viewer();
        // The driver runs while anyone follows; it starts (or keeps) going once this one is in.
        let serving = crate::stream::serve(&*session, audience, socket, None, timing, stops);
        let started = async {
            tokio::task::yield_now().await;
            session.ensure_driver(&state);
        };
        tokio::join!(serving, started);
    })
}

async fn start(
    State(app): State<AppState>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<StartReplay>,
) -> Result<(StatusCode, Json<ReplayStarted>), ApiError> {
    let title = req.title.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
    if title.as_ref().is_some_and(|t| t.chars().count() > 120) {
        return Err(ApiError::bad_request("title", "a title has at most 120 characters"));
    }
    let (source, window, default_title) = match (req.scenario_id, req.incident_id) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request("incident_id", "give an incident or a scenario, not both"))
        }
        (Some(id), None) => {
            let s = app.store.scenario(id).await.map_err(|e| ApiError::internal("reading scenarios", e))?;
            let s = s.ok_or_else(|| Refusal::not_found("scenario_id", format!("no scenario {id}")))?;
            let window = (req.from_ms.unwrap_or(s.from_ms).max(s.from_ms), req.to_ms.unwrap_or(s.to_ms).min(s.to_ms));
            (Source::Scenario { scenario_id: id, name: s.name.clone() }, window, s.name)
        }
        (None, Some(id)) => {
            if req.from_ms.is_some() || req.to_ms.is_some() {
                return Err(ApiError::bad_request(
                    "from_ms",
                    "an incident's replay takes its own window; give margin_s instead",
                ));
            }
            let margin = req.margin_s.unwrap_or(DEFAULT_MARGIN_S);
            if margin > MAX_MARGIN_S {
                return Err(ApiError::bad_request("margin_s", "margin_s is at most 86400 (a day)"));
            }
            let span = app.hub.read(|s| {
                s.incidents.get(&IncidentId(id)).map(|i| (i.created_at_ms, i.updated_at_ms, i.address.clone()))
            });
            let (first, last, address) =
                span.ok_or_else(|| Refusal::not_found("incident_id", format!("no incident INC-{id}")))?;
            let (from, to) = incident_window(first, last, i64::from(margin) * 1000);
            (Source::Live, (from, to.min(app.clock.now_ms()).max(from + 1)), format!("INC-{id} {address}"))
        }
        (None, None) => {
            let (Some(from), Some(to)) = (req.from_ms, req.to_ms) else {
                return Err(ApiError::bad_request(
                    "from_ms",
                    "give from_ms and to_ms, an incident_id or a scenario_id",
                ));
            };
            if req.margin_s.is_some() {
                return Err(ApiError::bad_request("margin_s", "margin_s goes with incident_id"));
            }
            (Source::Live, (from, to), "Replay".to_owned())
        }
    };
    let started = app
        .replays
        .start(&app, title.unwrap_or(default_title), source, window.0, window.1, &caller.principal.viewer())
        .await?;
    Ok((StatusCode::CREATED, Json(started)))
}

async fn list(State(app): State<AppState>) -> Json<SessionList> {
    Json(SessionList { sessions: app.replays.list() })
}

/// A replay failure at the HTTP boundary: a refusal as is, a store failure logged and hidden.
fn replay_error(e: ReplayError) -> ApiError {
    match e {
        ReplayError::Refused(r) => r.into(),
        ReplayError::Store { doing, error } => ApiError::internal(doing, format!("{error:#}")),
    }
}

pub(crate) fn session(app: &AppState, id: &str) -> Result<Arc<Session>, ApiError> {
    app.replays.get(id).ok_or_else(|| {
        ApiError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, format!("no replay session {id}")).field("id")
    })
}

/// The session, if the request carries its trainer's key.
fn as_trainer(app: &AppState, id: &str, headers: &HeaderMap) -> Result<Arc<Session>, ApiError> {
    let session = session(app, id)?;
    let key = headers.get(TRAINER_HEADER).and_then(|v| v.to_str().ok());
    if session.is_trainer(key) {
        Ok(session)
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::NotTheTrainer,
            "only the session's trainer (X-Vigie-Trainer-Key) drives it",
        ))
    }
}

async fn info(State(app): State<AppState>, ApiPath(id): ApiPath<String>) -> Result<Json<Value>, ApiError> {
    Ok(Json(serde_json::to_value(session(&app, &id)?.info()).expect("a session serializes")))
}

async fn remove(
    State(app): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    as_trainer(&app, &id, &headers)?;
    app.replays.remove(&app, &id).await.map_err(|e| ApiError::internal("removing a session", e))?;
    Ok(StatusCode::NO_CONTENT)
}

async fn control(
    State(app): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    ApiJson(control): ApiJson<Control>,
) -> Result<Json<Value>, ApiError> {
    let session = as_trainer(&app, &id, &headers)?;
    let info = session.control(&app, control).await.map_err(replay_error)?;
    Ok(Json(serde_json::to_value(info).expect("a session serializes")))
}

async fn pin(
    State(app): State<AppState>,
    headers: HeaderMap,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<NewPin>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let session = as_trainer(&app, &id, &headers)?;
    let pin = session.pin(&app, req.at_ms, &caller.principal.user, &req.text).await?;
    Ok((StatusCode::CREATED, Json(serde_json::to_value(pin).expect("a pin serializes"))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    #[serde(default)]
    after_seq: u64,
    limit: Option<i64>,
}

/// The session window's events other than position reports (what its timeline shows), by page.
async fn session_events(
    State(app): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<EventsPage>, ApiError> {
    let session = session(&app, &id)?;
    let limit = q.limit.unwrap_or(5_000);
    if !(1..=10_000).contains(&limit) {
        return Err(ApiError::bad_request("limit", "limit is 1 to 10000"));
    }
    let clock = session.info().clock;
    let read = async {
        let first = app.store.seq_at(session.log, clock.from_ms.saturating_sub(1)).await?;
        let last = app.store.seq_at(session.log, clock.to_ms).await?;
        app.store.log_range(session.log, q.after_seq.max(first), last, limit, true).await
    };
    let page = read.await.map_err(|e| ApiError::internal("reading the session's events", e))?;
    let next_after_seq = page.more.then(|| page.events.last().map(|e| e.seq)).flatten();
    // Seen as the session's trainer may see them.
    let viewer = session.info().viewer();
    let events = match (page.events.first(), &viewer) {
        (Some(first), Viewer::Agency(_)) => {
            let mut room = seek::state_after_seq(&app.store, session.log, first.seq - 1)
                .await
                .map_err(|e| ApiError::internal("reading the session's events", e))?;
            record_for(&mut room, &viewer, page.events)
        }
        _ => page.events,
    };
    Ok(Json(EventsPage { events, next_after_seq, head_seq: None }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AtQuery {
    at_ms: i64,
    scenario_id: Option<u32>,
}

/// `GET /api/v1/history/state?at_ms=T`: the room as it was at T (every event committed at or
/// before T), from this server's log or an imported scenario's.
async fn state_at(
    State(app): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<AtQuery>,
) -> Result<Json<ServerMessage>, ApiError> {
    let at_ms = vigie_domain::time::check_ms("at_ms", q.at_ms)?;
    let log = scenario_log(&app, q.scenario_id).await?;
    let state = seek::state_at(&app.store, log, at_ms, None, |_, _| {})
        .await
        .map_err(|e| ApiError::internal("materialising a past moment", e))?;
    let state = view(&state, &caller.principal.viewer());
    Ok(Json(ServerMessage::Snapshot { seq: state.seq, state: Box::new(state) }))
}

async fn scenario_log(app: &AppState, scenario_id: Option<u32>) -> Result<Log, ApiError> {
    let Some(id) = scenario_id else { return Ok(Log::Live) };
    let known = app.store.scenario(id).await.map_err(|e| ApiError::internal("reading scenarios", e))?;
    known
        .map(|_| Log::Scenario(id))
        .ok_or_else(|| Refusal::not_found("scenario_id", format!("no scenario {id}")).into())
}

/// Starts exporting a range as a scenario file: 202 with the job to watch and download from.
async fn export(
    State(app): State<AppState>,
    Auth(caller): Auth,
    ApiJson(req): ApiJson<ExportRequest>,
) -> Result<(StatusCode, Json<JobStarted>), ApiError> {
    vigie_domain::replay::ReplayClock::new(req.from_ms, req.to_ms, 0)?; // same window rules as a session
    let name = req.name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()).unwrap_or_else(|| "Exercise".into());
    if name.chars().count() > 120 || name.chars().any(char::is_control) {
        return Err(ApiError::bad_request("name", "a name is at most 120 printable characters"));
    }
    let log = scenario_log(&app, req.scenario_id).await?;
    let Ok(turn) = app.exporting.clone().try_acquire_owned() else {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::ExportsRunning,
            format!("{MAX_EXPORTS} exports are already running; retry when one is done"),
        )
        .retry_after(10));
    };
    let job = app.jobs.start(JobKind::Export);
    let (path, out) = app.jobs.create_file(&job).map_err(|e| ApiError::internal("creating the export's file", e))?;
    let download =
        format!("{}.vigie.gz", name.chars().map(|c| if c.is_alphanumeric() { c } else { '-' }).collect::<String>());
    let (job_id, task_job) = (job.id, job.clone());
    let now_ms = app.clock.now_ms();
    // The file carries only what the exporter may see.
    let viewer = caller.principal.viewer();
    let actor = crate::audit::actor_of(&caller.principal);
    tokio::spawn(async move {
        let header = file::Header::new(name, req.from_ms, req.to_ms, now_ms);
        let mut result = file::export(&app.store, log, header, &viewer, out, task_job.clone()).await;
        if let Ok(h) = &result {
            // The file is offered only once the record says who took it.
            let audience = match &viewer {
                vigie_domain::visibility::Viewer::Agency(a) => Some(a.to_string()),
                vigie_domain::visibility::Viewer::Room => None,
            };
            let entry = Record::ScenarioExported { from_ms: h.from_ms, to_ms: h.to_ms, audience };
            match crate::audit::record(&app.sequencer, actor, entry).await {
                Ok(()) => task_job.set_file(path, download),
                Err(e) => result = Err(anyhow::anyhow!("the export could not be recorded: {e}")),
            }
        }
        task_job.finish(result.map(|h| JobResult {
            events: h.events,
            from_ms: Some(h.from_ms),
            to_ms: Some(h.to_ms),
            scenario_id: None,
            name: None,
        }));
        drop(turn);
    });
    Ok((StatusCode::ACCEPTED, Json(JobStarted { job_id })))
}

fn find_job(app: &AppState, id: u32) -> Result<Arc<Job>, ApiError> {
    app.jobs.get(id).ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, format!("no job {id}")))
}

async fn job(State(app): State<AppState>, ApiPath(id): ApiPath<u32>) -> Result<Json<Value>, ApiError> {
    Ok(Json(serde_json::to_value(find_job(&app, id)?.view()).expect("a job serializes")))
}

async fn job_file(State(app): State<AppState>, ApiPath(id): ApiPath<u32>) -> Result<Response, ApiError> {
    let job = find_job(&app, id)?;
    let (path, name) = job
        .file()
        .ok_or_else(|| ApiError::new(StatusCode::CONFLICT, ErrorCode::NotReady, "the job has no file (yet)"))?;
    let file = crate::jobs::open_file(&path).map_err(|e| ApiError::internal("opening the export", e))?;
    let file = tokio::fs::File::from_std(file);
    let length = file.metadata().await.map_err(|e| ApiError::internal("reading the export", e))?.len();
    // Streamed in chunks: a download never sits in memory whole.
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(file));
    Ok((
        [
            (header::CONTENT_TYPE, "application/gzip".to_owned()),
            (header::CONTENT_LENGTH, length.to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        body,
    )
        .into_response())
}

/// Takes a scenario file as the request body (`Content-Type: application/gzip`), one import at a
/// time: checks it is gzip on its first bytes, streams it to a private job file (bounded), then
/// imports it as a job: 202 with the job to watch.
async fn import(
    State(app): State<AppState>,
    Auth(caller): Auth,
    request: Request,
) -> Result<(StatusCode, Json<JobStarted>), ApiError> {
    let content_type = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let media = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    // A browser form can only send text/plain, urlencoded or multipart bodies cross-site; a file
    // sent by a tool may come without a type.
    if !matches!(media.as_str(), "" | "application/gzip" | "application/x-gzip" | "application/octet-stream") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedMediaType,
            "send the scenario file as Content-Type: application/gzip",
        ));
    }
    let Ok(turn) = app.importing.clone().try_acquire_owned() else {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::ImportRunning,
            "a scenario import is already running; retry when it is done",
        )
        .retry_after(10));
    };
    let job = app.jobs.start(JobKind::Import);
    let received = match app.jobs.create_file(&job) {
        Ok((path, file)) => receive(request.into_body(), tokio::fs::File::from_std(file)).await.map(|()| path),
        Err(e) => Err(ApiError::internal("storing the upload", e)),
    };
    let path = match received {
        Ok(path) => path,
        Err(e) => {
            job.finish(Err(Refused(e.message.clone()).into()));
            return Err(e);
        }
    };
    let (job_id, task_job) = (job.id, job.clone());
    let now_ms = app.clock.now_ms();
    let actor = crate::audit::actor_of(&caller.principal);
    tokio::spawn(async move {
        let result = file::import(&app.store, &path, now_ms, app.config.snapshot_every_events, task_job.clone()).await;
        let _ = std::fs::remove_file(&path);
        if let Ok((_, h)) = &result {
            let entry = Record::ScenarioImported { name: h.name.clone(), events: h.events };
            if let Err(e) = crate::audit::record(&app.sequencer, actor, entry).await {
                tracing::error!(error = %e, "a scenario import could not be recorded");
            }
        }
        task_job.finish(result.map(|(id, h)| JobResult {
            events: h.events,
            from_ms: None,
            to_ms: None,
            scenario_id: Some(id),
            name: Some(h.name),
        }));
        drop(turn);
    });
    Ok((StatusCode::ACCEPTED, Json(JobStarted { job_id })))
}

/// Streams the body into `file`, refusing at once what does not start as gzip, and anything past
/// [`MAX_IMPORT_BYTES`].
async fn receive(body: Body, mut file: tokio::fs::File) -> Result<(), ApiError> {
    let mut stream = body.into_data_stream();
    let mut total = 0u64;
    let mut start: Vec<u8> = Vec::with_capacity(2);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::BadBody, format!("the upload failed: {e}"))
        })?;
        if start.len() < 2 {
            start.extend(chunk.iter().take(2 - start.len()));
            if start.len() == 2 && start != [0x1f, 0x8b] {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    ErrorCode::NotGzip,
                    "not a Vigie scenario file: it is not gzip-compressed",
                ));
            }
        }
        total += chunk.len() as u64;
        if total > MAX_IMPORT_BYTES {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::TooLarge,
                "a scenario file is at most 1 GiB",
            ));
        }
        file.write_all(&chunk).await.map_err(|e| ApiError::internal("storing the upload", e))?;
    }
    file.flush().await.map_err(|e| ApiError::internal("storing the upload", e))?;
    if total == 0 {
        return Err(ApiError::bad_request("", "the body is empty: send the scenario file"));
    }
    if start.len() < 2 {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::NotGzip,
            "not a Vigie scenario file: it is not gzip-compressed",
        ));
    }
    Ok(())
}

async fn scenarios(State(app): State<AppState>) -> Result<Json<ScenarioList>, ApiError> {
    let scenarios = app.store.scenarios().await.map_err(|e| ApiError::internal("reading scenarios", e))?;
    Ok(Json(ScenarioList { scenarios }))
}

async fn remove_scenario(State(app): State<AppState>, ApiPath(id): ApiPath<u32>) -> Result<StatusCode, ApiError> {
    // A debrief in progress must not lose its data under it.
    let users: Vec<String> = app
        .replays
        .list()
        .into_iter()
        .filter(|s| matches!(s.source, Source::Scenario { scenario_id, .. } if scenario_id == id))
        .map(|s| s.session_id)
        .collect();
    if !users.is_empty() {
        let message = format!("scenario {id} is replayed by session(s) {}; remove them first", users.join(", "));
        return Err(Refusal::conflict("id", message).into());
    }
    match app.store.delete_scenario(id).await {
        Ok(true) => Ok(StatusCode::NO_CONTENT),
        Ok(false) => Err(Refusal::not_found("id", format!("no scenario {id}")).into()),
        Err(e) => Err(ApiError::internal("removing a scenario", e)),
    }
}

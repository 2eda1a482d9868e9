//! Replay for training. `/replay` starts a session (a time range, an incident's window or an
//! imported scenario) and moves exercises between Vigies (export a range to a file, import one),
//! with progress. `/replay/:id` is the whole room as it was at the session's moment — the same
//! panels, read-only — with the trainer's bar. Trainees who open the same link follow the
//! trainer's clock.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use vigie_domain::api::{ExportRequest, ScenarioInfo, StartReplay};
#[cfg(feature = "hydrate")]
use vigie_domain::api::{JobKind, JobState};
use vigie_domain::replay::SessionInfo;

#[cfg(feature = "hydrate")]
use crate::api;
use crate::i18n::{t, tf, Lang};
use crate::live::WithRoom;
use crate::room::replay_bar::ReplayBar;
use crate::room::{Outcome, Room};
use crate::ui::{parse_utc, utc};

#[component]
pub fn ReplayRoomPage() -> impl IntoView {
    let params = use_params_map();
    let id = Signal::derive(move || params.with(|p| p.get("id").unwrap_or_default()));
    view! { <WithRoom page=|live| view! { <Room live=live><ReplayBar/></Room> }.into_any() replay=id/> }
}

/// Starts a session and opens it; failures go to `outcome`.
fn start_session(body: StartReplay, outcome: RwSignal<Outcome>) {
    outcome.set(Outcome::Pending);
    #[cfg(feature = "hydrate")]
    wasm_bindgen_futures::spawn_local(async move {
        if let Err(e) = crate::room::replay_bar::start_session(body).await {
            outcome.set(Outcome::Failed(e.message));
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = body;
}

/// `/replay`: the sessions, starting one, and scenario files, in the browser's language.
#[component]
pub fn ReplayHome() -> impl IntoView {
    view! { <crate::live::WithLang page=|lang| view! { <Home lang/> }.into_any()/> }
}

#[component]
fn Home(lang: Lang) -> impl IntoView {
    let tr = move |english: &str| t(lang, english);
    let sessions = RwSignal::new(Vec::<SessionInfo>::new());
    let scenarios = RwSignal::new(Vec::<ScenarioInfo>::new());
    let status = RwSignal::new(String::new());
    let progress = RwSignal::new(None::<(u64, u64)>);
    let download = RwSignal::new(None::<String>);
    let title = RwSignal::new(String::new());
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let incident = RwSignal::new(String::new());
    let scenario = RwSignal::new(String::new());
    let file_input = NodeRef::<leptos::html::Input>::new();
    // Effects run in the browser only: `data-ready` tells a test (or a slow tablet's user) the
    // buttons now act.
    let ready = RwSignal::new(false);
    Effect::new(move |_| {
        refresh(sessions, scenarios);
        ready.set(true);
    });
    let range = move || -> Result<(i64, i64), String> {
        let (f, t) = (parse_utc(&from.get_untracked()), parse_utc(&to.get_untracked()));
        match (f, t) {
            (Some(f), Some(t)) => Ok((f, t)),
            _ => Err(tr("Give the start and end (UTC)")),
        }
    };
    let last_hours = move |hours: i64| {
        #[cfg(feature = "hydrate")]
        let now = js_sys::Date::now() as i64;
        #[cfg(not(feature = "hydrate"))]
        let now = 0;
        // The inputs hold minutes: the end goes to the next minute so nothing recent is cut off.
        from.set(utc(now - hours * 3_600_000)[..16].replace(' ', "T"));
        to.set(utc(now + 60_000)[..16].replace(' ', "T"));
    };
    let start = move |_| {
        let mut body = StartReplay {
            title: Some(title.get_untracked()).filter(|t| !t.trim().is_empty()),
            ..StartReplay::default()
        };
        if let Ok(id) = scenario.get_untracked().parse::<u32>() {
            body.scenario_id = Some(id);
        } else if let Ok(id) = incident.get_untracked().trim().trim_start_matches("INC-").parse::<u32>() {
            body.incident_id = Some(id);
        } else {
            match range() {
                Ok((f, t)) => (body.from_ms, body.to_ms) = (Some(f), Some(t)),
                Err(e) => return status.set(e),
            }
        }
        let outcome = RwSignal::new(Outcome::Idle);
        Effect::new(move |_| {
            if let Outcome::Failed(e) = outcome.get() {
                status.set(e);
            }
        });
        start_session(body, outcome);
    };
    let export = move |_| match range() {
        Ok((f, t)) => {
            let name =
                if title.get_untracked().trim().is_empty() { "Exercise".to_string() } else { title.get_untracked() };
            let request = ExportRequest { from_ms: f, to_ms: t, name: Some(name), scenario_id: None };
            run_job(Job::Export(request), lang, status, progress, download, sessions, scenarios);
        }
        Err(e) => status.set(e),
    };
    let import = move |_| {
        #[cfg(feature = "hydrate")]
        {
            let file = file_input.get_untracked().and_then(|i| i.files()).and_then(|f| f.get(0));
            match file {
                Some(file) => run_job(Job::Import(file), lang, status, progress, download, sessions, scenarios),
                None => status.set(tr("Choose a scenario file first")),
            }
        }
    };
    view! {
        <div class="replay-home" data-testid="replay-home" data-ready=move || ready.get().to_string()>
            <header class="topbar"><h1>"Vigie"</h1><span class="replay-badge">{tr("Replay & training")}</span><a href="/">{tr("← Live room")}</a></header>
            <section class="panel">
                <h2>{tr("Start a replay")}</h2>
                <div class="form-grid">
                    <label>{tr("Title")}<input data-testid="replay-title" maxlength="120" prop:value=move || title.get() on:input=move |e| title.set(event_target_value(&e))/></label>
                    <label>{tr("From (UTC)")}<input type="datetime-local" data-testid="replay-from" prop:value=move || from.get() on:input=move |e| from.set(event_target_value(&e))/></label>
                    <label>{tr("To (UTC)")}<input type="datetime-local" data-testid="replay-to" prop:value=move || to.get() on:input=move |e| to.set(event_target_value(&e))/></label>
                    <div class="quick">
                        <button class="small" data-testid="last-1h" on:click=move |_| last_hours(1)>{tr("Last hour")}</button>
                        <button class="small" on:click=move |_| last_hours(6)>{tr("Last 6 h")}</button>
                        <button class="small" on:click=move |_| last_hours(24)>{tr("Last 24 h")}</button>
                    </div>
                    <label>{tr("…or an incident")}<input data-testid="replay-incident" placeholder="INC-12" prop:value=move || incident.get() on:input=move |e| incident.set(event_target_value(&e))/></label>
                    <label>{tr("…or an imported scenario")}
                        <select data-testid="replay-scenario" on:change=move |e| scenario.set(event_target_value(&e))>
                            <option value="">"—"</option>
                            {move || scenarios.get().into_iter().map(|s| view! {
                                <option value=s.scenario_id.to_string()>{format!("{} ({} {})", s.name, s.events, tr("events"))}</option>
                            }).collect_view()}
                        </select>
                    </label>
                </div>
                <button class="primary" data-testid="replay-start" on:click=start>{tr("Start replay")}</button>
                <button data-testid="export-start" on:click=export>{tr("Export this range as a scenario file")}</button>
            </section>
            <section class="panel">
                <h2>{tr("Import a scenario file")}</h2>
                <input type="file" accept=".gz,application/gzip" data-testid="import-file" node_ref=file_input/>
                <button data-testid="import-start" on:click=import>{tr("Import")}</button>
            </section>
            <p class="outcome" data-testid="replay-status" role="status">{move || status.get()}</p>
            {move || progress.get().map(|(done, total)| view! { <progress data-testid="job-progress" max=total.max(1) value=done/> })}
            {move || download.get().map(|href| view! { <a data-testid="export-download" href=href download="">{tr("Download the scenario file")}</a> })}
            <section class="panel">
                <h2>{tr("Sessions")}</h2>
                <ul class="sessions" data-testid="sessions">
                    {move || sessions.get().into_iter().map(|s| {
                        let (from, to) = (s.clock.from_ms, s.clock.to_ms);
                        view! {
                            <li><a href=format!("/replay/{}", s.session_id)>{s.title.clone()}</a>
                                " " {format!("{} → {}", utc(from), &utc(to)[11..])}</li>
                        }
                    }).collect_view()}
                </ul>
            </section>
        </div>
    }
    .into_any()
}

fn refresh(sessions: RwSignal<Vec<SessionInfo>>, scenarios: RwSignal<Vec<ScenarioInfo>>) {
    #[cfg(feature = "hydrate")]
    wasm_bindgen_futures::spawn_local(async move {
        if let Ok(list) = api::replays().await {
            sessions.set(list.sessions);
        }
        if let Ok(list) = api::scenarios().await {
            scenarios.set(list.scenarios);
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (sessions, scenarios);
}

/// Long work the page starts and watches.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
enum Job {
    Export(ExportRequest),
    #[cfg(feature = "hydrate")]
    Import(web_sys::File),
    #[cfg(not(feature = "hydrate"))]
    Import(()),
}

/// Starts an export or an import, then shows the job's progress until it ends.
fn run_job(
    job: Job,
    lang: Lang,
    status: RwSignal<String>,
    progress: RwSignal<Option<(u64, u64)>>,
    download: RwSignal<Option<String>>,
    sessions: RwSignal<Vec<SessionInfo>>,
    scenarios: RwSignal<Vec<ScenarioInfo>>,
) {
    download.set(None);
    progress.set(Some((0, 1)));
    let say = move |template: &str, values: &[&dyn std::fmt::Display]| tf(lang, template, values);
    status.set(say(if matches!(job, Job::Import(_)) { "Uploading…" } else { "Exporting…" }, &[]));
    #[cfg(feature = "hydrate")]
    wasm_bindgen_futures::spawn_local(async move {
        let started = match job {
            Job::Export(request) => api::export(&request).await,
            Job::Import(file) => api::import_scenario(file, move |sent, total| progress.set(Some((sent, total)))).await,
        };
        let id = match started {
            Ok(started) => started.job_id,
            Err(e) => {
                progress.set(None);
                return status.set(e.message);
            }
        };
        loop {
            crate::ui::sleep_ms(250).await;
            let Ok(view) = api::job(id).await else { continue };
            progress.set(Some((view.done, view.total)));
            match view.state {
                JobState::Running => {
                    status.set(say("{}: {} of {} events", &[&t(lang, &view.kind.to_string()), &view.done, &view.total]))
                }
                JobState::Done => {
                    let events = view.result.map_or(0, |r| r.events);
                    status.set(say("{} done: {} events", &[&t(lang, &view.kind.to_string()), &events]));
                    if view.kind == JobKind::Export {
                        download.set(Some(api::job_file_url(id)));
                    }
                    refresh(sessions, scenarios);
                    break;
                }
                JobState::Failed => {
                    progress.set(None);
                    status.set(say("Failed: {}", &[&view.error.unwrap_or_else(|| t(lang, "unknown error"))]));
                    break;
                }
            }
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (job, lang, sessions, scenarios);
}

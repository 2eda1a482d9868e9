//! Replay for training. `/replay` starts a session (a time range, an incident's window or an
//! imported scenario) and moves exercises between Vigies (export a range to a file, import one),
//! with progress. `/replay/:id` is the whole room as it was at the session's moment — the same
//! room components, read-only — with the trainer's bar: play, pause, 1× to 60×, step, scrub, pins.
//! Trainees who open the same link follow the trainer's clock.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use serde_json::{json, Value};

use crate::live::WithRoom;
use crate::room::{Room, Ui};

pub const SPEEDS: [u32; 6] = [1, 2, 5, 10, 30, 60];

/// The trainer's key for session `id`, kept in this browser (or handed over as `#trainer=KEY`).
pub fn trainer_key(id: &str) -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        let storage = window().local_storage().ok().flatten()?;
        let name = format!("vigie.trainer.{id}");
        if let Some(key) = window().location().hash().ok().and_then(|h| h.strip_prefix("#trainer=").map(str::to_owned))
        {
            let _ = storage.set_item(&name, &key);
            let _ = window().location().set_hash("");
        }
        storage.get_item(&name).ok().flatten()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = id;
        None
    }
}

#[component]
pub fn ReplayRoomPage() -> impl IntoView {
    let params = use_params_map();
    let id = Signal::derive(move || params.with(|p| p.get("id").unwrap_or_default()));
    view! { <WithRoom page=|live| view! { <Room live=live/> }.into_any() replay=id/> }
}

/// `YYYY-MM-DD HH:MM:SS` UTC.
pub fn utc(at_ms: i64) -> String {
    let secs = at_ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}", rem / 3600, rem / 60 % 60, rem % 60)
}

/// Sends a control (or any trainer call) for the session on this page.
pub fn trainer_call(ui: Ui, path_tail: &'static str, body: Value) {
    let Some(id) = ui.live.replay_id() else { return };
    let key = trainer_key(&id).unwrap_or_default();
    let user = ui.operator.get_untracked().user;
    ui.outcome.set(crate::room::Outcome::Pending);
    #[cfg(feature = "hydrate")]
    wasm_bindgen_futures::spawn_local(async move {
        let path = format!("/api/v1/replays/{id}/{path_tail}");
        let answer =
            crate::room::call("POST", &path, Some(body), &[("X-Vigie-Trainer-Key", &key), ("X-Vigie-User", &user)])
                .await;
        ui.outcome.set(match answer {
            Ok(_) => crate::room::Outcome::Idle,
            Err(e) => crate::room::Outcome::Failed(e),
        });
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (path_tail, body, key, user, id);
}

/// Seeks the session to `at_ms` (trainer only; a trainee's screen follows).
pub fn seek(ui: Ui, at_ms: i64) {
    if ui.is_trainer.get_untracked() {
        trainer_call(ui, "control", json!({ "action": "seek", "at_ms": at_ms }));
    }
}

/// The replay bar above the room: what is replayed, the moment, and the trainer's controls.
#[component]
pub fn ReplayBar() -> impl IntoView {
    let ui = expect_context::<Ui>();
    let live = ui.live;
    let session = move || live.replay.with(|r| r.as_ref().map(|r| r.session.clone()));
    let clock = move || session().map(|s| s.clock);
    let trainer = ui.is_trainer;
    let pin_text = RwSignal::new(String::new());
    let link = move || {
        let id = live.replay_id().unwrap_or_default();
        #[cfg(feature = "hydrate")]
        let origin = window().location().origin().unwrap_or_default();
        #[cfg(not(feature = "hydrate"))]
        let origin = String::new();
        format!("{origin}/replay/{id}")
    };
    view! {
        <section class="replay-bar" data-testid="replay-bar" aria-label="Replay">
            <span class="replay-badge" data-testid="replay-badge">{move || ui.tr("REPLAY · read-only")}</span>
            <strong class="replay-title">{move || session().map(|s| s.title).unwrap_or_default()}</strong>
            <span class="replay-time" data-testid="replay-time" data-ms=move || live.now_ms.get()>{move || format!("{} UTC", utc(live.now_ms.get()))}</span>
            <Show when=move || trainer.get() fallback=move || view! {
                <span class="following" data-testid="following">{move || ui.tr("Following the trainer")}</span>
                <span class="speed-label" data-testid="speed-label">{move || clock().map(|c| format!("{}× {}", c.speed, if c.playing { "▶" } else { "❚❚" })).unwrap_or_default()}</span>
            }>
                <button class="small" data-testid="replay-step-back" title="Previous event"
                    on:click=move |_| trainer_call(ui, "control", json!({"action": "step", "direction": "back"}))>"◀|"</button>
                <button class="primary small" data-testid="replay-play"
                    on:click=move |_| {
                        let playing = clock().is_some_and(|c| c.playing);
                        trainer_call(ui, "control", json!({"action": if playing { "pause" } else { "play" }}));
                    }>{move || if clock().is_some_and(|c| c.playing) { "❚❚" } else { "▶" }}</button>
                <button class="small" data-testid="replay-step-forward" title="Next event"
                    on:click=move |_| trainer_call(ui, "control", json!({"action": "step", "direction": "forward"}))>"|▶"</button>
                <select data-testid="replay-speed" aria-label="Speed"
                    prop:value=move || clock().map(|c| c.speed.to_string()).unwrap_or_default()
                    on:change=move |e| {
                        if let Ok(speed) = event_target_value(&e).parse::<f64>() {
                            trainer_call(ui, "control", json!({"action": "speed", "speed": speed}));
                        }
                    }>
                    {SPEEDS.into_iter().map(|s| view! { <option value=s.to_string()>{format!("{s}×")}</option> }).collect_view()}
                </select>
            </Show>
            <input type="range" class="replay-scrub" data-testid="replay-scrub" aria-label="Replay moment" step="1000"
                disabled=move || !trainer.get()
                min=move || clock().map_or(0, |c| c.from_ms) max=move || clock().map_or(0, |c| c.to_ms)
                prop:value=move || live.now_ms.get().to_string()
                on:change=move |e| {
                    if let Ok(at) = event_target_value(&e).parse::<f64>() {
                        seek(ui, at as i64);
                    }
                }/>
            {move || live.progress.get().map(|(done, total)| view! {
                <progress data-testid="replay-progress" max=total.max(1) value=done>{format!("{done}/{total}")}</progress>
            })}
            <Show when=move || trainer.get()>
                <input class="pin-text" data-testid="pin-text" maxlength="500" placeholder=move || ui.tr("Pin a note at this moment…")
                    prop:value=move || pin_text.get() on:input=move |e| pin_text.set(event_target_value(&e))/>
                <button class="small" data-testid="pin-add" on:click=move |_| {
                    let text = pin_text.get_untracked();
                    if !text.trim().is_empty() {
                        trainer_call(ui, "pins", json!({"at_ms": live.now_ms.get_untracked(), "text": text}));
                        pin_text.set(String::new());
                    }
                }>{move || ui.tr("Pin")}</button>
                <span class="share" data-testid="replay-link" title="Trainees open this link to follow">{link}</span>
            </Show>
            <ul class="pins" data-testid="pins">
                {move || session().map(|s| s.pins).unwrap_or_default().into_iter().map(|p| {
                    let at = p.at_ms;
                    view! {
                        <li><button class="pin" on:click=move |_| seek(ui, at) title=utc(at)>
                            <span class="pin-time">{utc(p.at_ms)[11..].to_string()}</span>" "{p.text.clone()}
                        </button></li>
                    }
                }).collect_view()}
            </ul>
        </section>
    }
    .into_any()
}

/// `/replay`: the sessions, starting one, and scenario files.
#[component]
pub fn ReplayHome() -> impl IntoView {
    let sessions = RwSignal::new(Vec::<Value>::new());
    let scenarios = RwSignal::new(Vec::<Value>::new());
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
            _ => Err("Give the start and end (UTC)".into()),
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
        let mut body = json!({});
        if !title.get_untracked().trim().is_empty() {
            body["title"] = json!(title.get_untracked());
        }
        if let Ok(id) = scenario.get_untracked().parse::<u32>() {
            body["scenario_id"] = json!(id);
        } else if let Ok(id) = incident.get_untracked().trim().trim_start_matches("INC-").parse::<u32>() {
            body["incident_id"] = json!(id);
        } else {
            match range() {
                Ok((f, t)) => {
                    body["from_ms"] = json!(f);
                    body["to_ms"] = json!(t);
                }
                Err(e) => return status.set(e),
            }
        }
        let outcome = RwSignal::new(crate::room::Outcome::Idle);
        Effect::new(move |_| {
            if let crate::room::Outcome::Failed(e) = outcome.get() {
                status.set(e);
            }
        });
        start_session(body, outcome);
    };
    let export = move |_| match range() {
        Ok((f, t)) => {
            let name =
                if title.get_untracked().trim().is_empty() { "Exercise".to_string() } else { title.get_untracked() };
            run_job(
                "/api/v1/exports",
                Some(json!({"from_ms": f, "to_ms": t, "name": name})),
                None,
                status,
                progress,
                download,
                sessions,
                scenarios,
            );
        }
        Err(e) => status.set(e),
    };
    let import = move |_| {
        #[cfg(feature = "hydrate")]
        {
            let file = file_input.get_untracked().and_then(|i| i.files()).and_then(|f| f.get(0));
            match file {
                Some(file) => {
                    run_job("/api/v1/scenarios", None, Some(file), status, progress, download, sessions, scenarios)
                }
                None => status.set("Choose a scenario file first".into()),
            }
        }
    };
    view! {
        <div class="replay-home" data-testid="replay-home" data-ready=move || ready.get().to_string()>
            <header class="topbar"><h1>"Vigie"</h1><span class="replay-badge">"Replay & training"</span><a href="/">"← Live room"</a></header>
            <section class="panel">
                <h2>"Start a replay"</h2>
                <div class="form-grid">
                    <label>"Title"<input data-testid="replay-title" maxlength="120" prop:value=move || title.get() on:input=move |e| title.set(event_target_value(&e))/></label>
                    <label>"From (UTC)"<input type="datetime-local" data-testid="replay-from" prop:value=move || from.get() on:input=move |e| from.set(event_target_value(&e))/></label>
                    <label>"To (UTC)"<input type="datetime-local" data-testid="replay-to" prop:value=move || to.get() on:input=move |e| to.set(event_target_value(&e))/></label>
                    <div class="quick">
                        <button class="small" data-testid="last-1h" on:click=move |_| last_hours(1)>"Last hour"</button>
                        <button class="small" on:click=move |_| last_hours(6)>"Last 6 h"</button>
                        <button class="small" on:click=move |_| last_hours(24)>"Last 24 h"</button>
                    </div>
                    <label>"…or an incident"<input data-testid="replay-incident" placeholder="INC-12" prop:value=move || incident.get() on:input=move |e| incident.set(event_target_value(&e))/></label>
                    <label>"…or an imported scenario"
                        <select data-testid="replay-scenario" on:change=move |e| scenario.set(event_target_value(&e))>
                            <option value="">"—"</option>
                            {move || scenarios.get().into_iter().map(|s| view! {
                                <option value=s["scenario_id"].to_string()>{format!("{} ({} events)", s["name"].as_str().unwrap_or(""), s["events"])}</option>
                            }).collect_view()}
                        </select>
                    </label>
                </div>
                <button class="primary" data-testid="replay-start" on:click=start>"Start replay"</button>
                <button data-testid="export-start" on:click=export>"Export this range as a scenario file"</button>
            </section>
            <section class="panel">
                <h2>"Import a scenario file"</h2>
                <input type="file" accept=".gz,application/gzip" data-testid="import-file" node_ref=file_input/>
                <button data-testid="import-start" on:click=import>"Import"</button>
            </section>
            <p class="outcome" data-testid="replay-status" role="status">{move || status.get()}</p>
            {move || progress.get().map(|(done, total)| view! { <progress data-testid="job-progress" max=total.max(1) value=done/> })}
            {move || download.get().map(|href| view! { <a data-testid="export-download" href=href download="">"Download the scenario file"</a> })}
            <section class="panel">
                <h2>"Sessions"</h2>
                <ul class="sessions" data-testid="sessions">
                    {move || sessions.get().into_iter().map(|s| {
                        let id = s["session_id"].as_str().unwrap_or("").to_string();
                        let from = s["clock"]["from_ms"].as_i64().unwrap_or(0);
                        let to = s["clock"]["to_ms"].as_i64().unwrap_or(0);
                        view! {
                            <li><a href=format!("/replay/{id}")>{s["title"].as_str().unwrap_or("").to_string()}</a>
                                " " {format!("{} → {}", utc(from), &utc(to)[11..])}</li>
                        }
                    }).collect_view()}
                </ul>
            </section>
        </div>
    }
    .into_any()
}

/// `YYYY-MM-DDTHH:MM` (a `datetime-local` value) read as UTC.
fn parse_utc(value: &str) -> Option<i64> {
    let (date, time) = value.split_once('T')?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.splitn(3, ':').map(|p| p.split('.').next().and_then(|p| p.parse::<i64>().ok()));
    let (h, min) = (t.next()??, t.next()??);
    let s = t.next().flatten().unwrap_or(0);
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || h > 23 || min > 59 || s > 59 {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 86_400) + h * 3600 + min * 60 + s) * 1000)
}

fn refresh(sessions: RwSignal<Vec<Value>>, scenarios: RwSignal<Vec<Value>>) {
    #[cfg(feature = "hydrate")]
    wasm_bindgen_futures::spawn_local(async move {
        if let Ok(v) = crate::room::call("GET", "/api/v1/replays", None, &[]).await {
            sessions.set(v["sessions"].as_array().cloned().unwrap_or_default());
        }
        if let Ok(v) = crate::room::call("GET", "/api/v1/scenarios", None, &[]).await {
            scenarios.set(v["scenarios"].as_array().cloned().unwrap_or_default());
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (sessions, scenarios);
}

/// Starts a session, keeps its trainer key in this browser and opens it; failures go to `outcome`.
pub fn start_session(body: Value, outcome: RwSignal<crate::room::Outcome>) {
    outcome.set(crate::room::Outcome::Pending);
    #[cfg(feature = "hydrate")]
    wasm_bindgen_futures::spawn_local(async move {
        match crate::room::call("POST", "/api/v1/replays", Some(body), &[]).await {
            Ok(started) => {
                let id = started["session_id"].as_str().unwrap_or_default().to_string();
                if let Some(storage) = window().local_storage().ok().flatten() {
                    let _ = storage
                        .set_item(&format!("vigie.trainer.{id}"), started["trainer_key"].as_str().unwrap_or_default());
                }
                let _ = window().location().set_href(&format!("/replay/{id}"));
            }
            Err(e) => outcome.set(crate::room::Outcome::Failed(e)),
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = body;
}

/// Starts an export (JSON body) or an import (file body), then shows the job's progress.
#[allow(clippy::too_many_arguments)]
fn run_job(
    path: &'static str,
    body: Option<Value>,
    #[cfg(feature = "hydrate")] file: Option<web_sys::File>,
    #[cfg(not(feature = "hydrate"))] file: Option<()>,
    status: RwSignal<String>,
    progress: RwSignal<Option<(u64, u64)>>,
    download: RwSignal<Option<String>>,
    sessions: RwSignal<Vec<Value>>,
    scenarios: RwSignal<Vec<Value>>,
) {
    download.set(None);
    progress.set(Some((0, 1)));
    status.set(if file.is_some() { "Uploading…".into() } else { "Exporting…".into() });
    #[cfg(feature = "hydrate")]
    wasm_bindgen_futures::spawn_local(async move {
        let started = match (body, file) {
            (Some(body), _) => crate::room::call("POST", path, Some(body), &[]).await,
            (None, Some(file)) => upload(path, file, progress).await,
            (None, None) => Err("nothing to send".into()),
        };
        let job = match started {
            Ok(v) => v["job_id"].as_u64().unwrap_or(0),
            Err(e) => {
                progress.set(None);
                return status.set(e);
            }
        };
        loop {
            gloo_timers_sleep(250).await;
            let Ok(view) = crate::room::call("GET", &format!("/api/v1/jobs/{job}"), None, &[]).await else { continue };
            progress.set(Some((view["done"].as_u64().unwrap_or(0), view["total"].as_u64().unwrap_or(0))));
            match view["state"].as_str() {
                Some("running") => status.set(format!(
                    "{}: {} of {} events",
                    view["kind"].as_str().unwrap_or(""),
                    view["done"],
                    view["total"]
                )),
                Some("done") => {
                    status.set(format!(
                        "{} done: {} events",
                        view["kind"].as_str().unwrap_or(""),
                        view["result"]["events"]
                    ));
                    if view["kind"] == "export" {
                        download.set(Some(format!("/api/v1/jobs/{job}/file")));
                    }
                    refresh(sessions, scenarios);
                    break;
                }
                _ => {
                    progress.set(None);
                    status.set(format!("Failed: {}", view["error"].as_str().unwrap_or("unknown error")));
                    break;
                }
            }
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (path, body, file, sessions, scenarios);
}

/// Uploads `file` with XMLHttpRequest, whose upload progress events fetch does not have, so a
/// large scenario shows how much has gone; the answer's JSON, or the API's error message.
#[cfg(feature = "hydrate")]
async fn upload(path: &str, file: web_sys::File, progress: RwSignal<Option<(u64, u64)>>) -> Result<Value, String> {
    use wasm_bindgen::{closure::Closure, JsCast};
    let failed = |_| "the upload could not start".to_string();
    let xhr = web_sys::XmlHttpRequest::new().map_err(failed)?;
    xhr.open("POST", path).map_err(failed)?;
    xhr.set_request_header("Content-Type", "application/gzip").map_err(failed)?;
    let on_progress = Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |e: web_sys::ProgressEvent| {
        progress.set(Some((e.loaded() as u64, e.total() as u64)));
    });
    xhr.upload().map_err(failed)?.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
    let done = js_sys::Promise::new(&mut |resolve, _| xhr.set_onloadend(Some(&resolve)));
    xhr.send_with_opt_blob(Some(&file)).map_err(failed)?;
    let _ = wasm_bindgen_futures::JsFuture::from(done).await;
    drop(on_progress);
    let status = xhr.status().unwrap_or(0);
    let value: Value =
        xhr.response_text().ok().flatten().and_then(|t| serde_json::from_str::<Value>(&t).ok()).unwrap_or(Value::Null);
    match status {
        0 => Err("the server cannot be reached; try again".into()),
        200..=299 => Ok(value),
        _ => Err(crate::room::refusal(status, &value)),
    }
}

#[cfg(feature = "hydrate")]
async fn gloo_timers_sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let _ = window().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_and_datetime_local_round_trip() {
        let ms = 1_795_000_123_000;
        let text = utc(ms);
        assert_eq!(text, "2026-11-18 11:08:43");
        assert_eq!(parse_utc(&text.replace(' ', "T")), Some(ms));
        assert_eq!(parse_utc("2026-11-18T11:08"), Some(ms - 43_000));
        assert_eq!(parse_utc("2024-02-29T00:00"), Some(1_709_164_800_000));
        assert_eq!(parse_utc("2026-13-01T00:00"), None);
        assert_eq!(parse_utc("yesterday"), None);
    }
}

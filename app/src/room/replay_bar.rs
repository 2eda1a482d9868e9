//! The replay bar above a replayed room: what is replayed, the moment, and — for the trainer,
//! who holds the session's key — play, pause, 1× to 60×, step, scrub and pins. Trainees' screens
//! follow the trainer's clock.

use leptos::prelude::*;
use vigie_domain::api::{NewPin, StartReplay};
use vigie_domain::replay::{Control, Direction};

use super::{Outcome, Ui};
use crate::api::{self, Caller};
use crate::ui::utc;

pub const SPEEDS: [u32; 6] = [1, 2, 5, 10, 30, 60];

/// The trainer of the session on this page, as a caller.
fn trainer(ui: Ui) -> Option<(Caller, String)> {
    let (session, key) = ui.mode.with_value(|m| Some((m.session()?.to_owned(), m.trainer_key())))?;
    Some((Caller { trainer_key: key }, session))
}

/// Steers the session on this page; the answer comes back on the stream like every change.
pub fn control(ui: Ui, control: Control) {
    let Some((who, session)) = trainer(ui) else { return };
    ui.run(async move { api::control(&who, &session, &control).await.map(|_| Outcome::Idle) });
}

fn pin(ui: Ui, body: NewPin) {
    let Some((who, session)) = trainer(ui) else { return };
    ui.run(async move { api::pin(&who, &session, &body).await.map(|_| Outcome::Idle) });
}

/// Starts a replay session (a window, an incident's or a scenario), keeps its trainer key in this
/// browser, which drives it, and opens it.
pub async fn start_session(body: StartReplay) -> api::Answer<Outcome> {
    let started = api::start_replay(&body).await?;
    let id = &started.info.session_id;
    crate::live::remember_trainer_key(id, &started.trainer_key);
    #[cfg(feature = "hydrate")]
    let _ = window().location().set_href(&format!("/replay/{id}"));
    Ok(Outcome::Pending)
}

/// Seeks the session to `at_ms` (trainer only; a trainee's screen follows).
pub fn seek(ui: Ui, at_ms: i64) {
    if ui.is_trainer.get_untracked() {
        control(ui, Control::Seek { at_ms });
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
        let id = ui.mode.with_value(|m| m.session().unwrap_or_default().to_owned());
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
                    on:click=move |_| control(ui, Control::Step { direction: Direction::Back })>"◀|"</button>
                <button class="primary small" data-testid="replay-play"
                    on:click=move |_| {
                        let playing = clock().is_some_and(|c| c.playing);
                        control(ui, if playing { Control::Pause } else { Control::Play });
                    }>{move || if clock().is_some_and(|c| c.playing) { "❚❚" } else { "▶" }}</button>
                <button class="small" data-testid="replay-step-forward" title="Next event"
                    on:click=move |_| control(ui, Control::Step { direction: Direction::Forward })>"|▶"</button>
                <select data-testid="replay-speed" aria-label="Speed"
                    prop:value=move || clock().map(|c| c.speed.to_string()).unwrap_or_default()
                    on:change=move |e| {
                        if let Ok(speed) = event_target_value(&e).parse::<f64>() {
                            control(ui, Control::Speed { speed });
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
            {move || session().map(|s| s.purged).filter(|p| !p.is_empty()).map(|purged| view! {
                <span class="purged" data-testid="replay-purged" role="note">
                    {purged.iter().map(|p| format!("{} {} ({}) {} {}", ui.tr("Content purged under"), p.rule, p.kind, ui.tr("before"), utc(p.before_ms))).collect::<Vec<_>>().join(" · ")}
                </span>
            })}
            {move || live.progress.get().map(|(done, total)| view! {
                <progress data-testid="replay-progress" max=total.max(1) value=done>{format!("{done}/{total}")}</progress>
            })}
            <Show when=move || trainer.get()>
                <input class="pin-text" data-testid="pin-text" maxlength="500" placeholder=move || ui.tr("Pin a note at this moment…")
                    prop:value=move || pin_text.get() on:input=move |e| pin_text.set(event_target_value(&e))/>
                <button class="small" data-testid="pin-add" on:click=move |_| {
                    let text = pin_text.get_untracked();
                    if !text.trim().is_empty() {
                        pin(ui, NewPin { at_ms: live.now_ms.get_untracked(), text });
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

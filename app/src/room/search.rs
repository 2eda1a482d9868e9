//! The one search box, in the top bar: `/` on a keyboard, one tap on a tablet. Hits of every kind
//! (incidents, units, messages, alerts, places) in one ranked list as the operator types — asked a
//! moment after the last key, an older answer never replacing a newer one. Arrows and Enter, or a
//! tap, select a hit: the map goes to it and the panels show it. The server decides what this
//! screen may find (`GET /api/v1/search`; on a replay page, the replay's room at its moment,
//! `GET /api/v1/replays/{id}/search`).

use leptos::prelude::*;
use vigie_domain::api::{Found, Fragment, SearchHit, SearchResults};

use super::{Selection, SideTab, Ui};
use crate::ui::words;

/// Milliseconds after the last key before asking.
#[cfg(feature = "hydrate")]
const QUIET_MS: u64 = 150;

/// What the list shows (answers arrive only in the browser).
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
enum Shown {
    Nothing,
    Asking,
    Hits(SearchResults),
    Failed(String),
}

#[component]
pub fn SearchBox() -> impl IntoView {
    let ui = expect_context::<Ui>();
    let text = RwSignal::new(String::new());
    let shown = RwSignal::new(Shown::Nothing);
    let open = RwSignal::new(false);
    let active = RwSignal::new(0usize);
    // Each keystroke's number: only the latest one's answer is shown.
    let asked = StoredValue::new(0u64);
    let ask = move |q: String| {
        let n = asked.get_value() + 1;
        asked.set_value(n);
        if q.trim().is_empty() {
            shown.set(Shown::Nothing);
            return;
        }
        shown.set(Shown::Asking);
        #[cfg(feature = "hydrate")]
        set_timeout(
            move || {
                if asked.get_value() != n {
                    return;
                }
                wasm_bindgen_futures::spawn_local(async move {
                    let session = ui.mode.with_value(|m| m.session().map(str::to_owned));
                    let answer = crate::api::search(session.as_deref(), &q).await;
                    if asked.get_value() == n {
                        active.set(0);
                        shown.set(match answer {
                            Ok(r) => Shown::Hits(r),
                            Err(f) => Shown::Failed(f.message),
                        });
                    }
                });
            },
            std::time::Duration::from_millis(QUIET_MS),
        );
    };
    let hits = move || match shown.get() {
        Shown::Hits(r) => r.hits,
        _ => Vec::new(),
    };
    let choose = move |hit: SearchHit| {
        select(ui, &hit);
        open.set(false);
        blur();
    };
    let on_key = move |e: leptos::ev::KeyboardEvent| {
        let count = hits().len();
        match e.key().as_str() {
            "ArrowDown" if count > 0 => active.update(|a| *a = (*a + 1) % count),
            "ArrowUp" if count > 0 => active.update(|a| *a = (*a + count - 1) % count),
            "Enter" => {
                if let Some(hit) = hits().into_iter().nth(active.get_untracked()) {
                    choose(hit);
                }
            }
            "Escape" => {
                open.set(false);
                blur();
            }
            _ => return,
        }
        e.prevent_default();
    };
    view! {
        <div class="search" data-testid="search-box" role="search">
            <input type="search" data-testid="search" aria-label=move || ui.tr("Search everything")
                placeholder=move || ui.tr(if ui.read_only() { "Search this moment: units, incidents, places…" } else { "Search: units, incidents, places…" })
                autocomplete="off" spellcheck="false"
                maxlength=vigie_domain::search::MAX_QUERY_CHARS.to_string()
                role="combobox" aria-controls="search-hits" aria-expanded=move || open.get().to_string()
                prop:value=move || text.get()
                on:input=move |e| { let q = event_target_value(&e); text.set(q.clone()); open.set(true); ask(q) }
                on:focus=move |_| open.set(true)
                on:keydown=on_key/>
            <Show when=move || open.get() && shown.get() != Shown::Nothing>
                <div class="search-hits" id="search-hits" role="listbox" data-testid="search-hits">
                    {move || match shown.get() {
                        Shown::Nothing => ().into_any(),
                        Shown::Asking if hits().is_empty() => view! { <p class="muted">{move || ui.tr("searching…")}</p> }.into_any(),
                        Shown::Failed(message) => view! { <p class="failed" role="alert">{message}</p> }.into_any(),
                        _ => {
                            let list = hits();
                            let more = matches!(shown.get_untracked(), Shown::Hits(ref r) if r.more);
                            if list.is_empty() {
                                return view! { <p class="muted" data-testid="search-none">{move || ui.tr("Nothing found")}</p> }.into_any();
                            }
                            view! {
                                <ol>
                                    {list.into_iter().enumerate().map(|(i, hit)| {
                                        let chosen = hit.clone();
                                        view! { <HitRow hit i active on_choose=move || choose(chosen.clone())/> }
                                    }).collect_view()}
                                </ol>
                                {more.then(|| view! { <p class="muted more">{move || ui.tr("More found: type more words")}</p> })}
                            }.into_any()
                        }
                    }}
                </div>
            </Show>
        </div>
    }
    .into_any()
}

#[component]
fn HitRow(hit: SearchHit, i: usize, active: RwSignal<usize>, on_choose: impl Fn() + 'static) -> impl IntoView {
    let ui = expect_context::<Ui>();
    let kind = kind_label(&hit.found);
    let marked =
        |fragments: &[Fragment]| {
            fragments
                .iter()
                .map(|f| {
                    if f.matched {
                        view! { <mark>{f.text.clone()}</mark> }.into_any()
                    } else {
                        f.text.clone().into_any()
                    }
                })
                .collect_view()
        };
    // Found by its title: the title itself shows what matched, and no snippet repeats it.
    let in_title = hit.found_by_title();
    let title = if in_title { marked(&hit.snippet).into_any() } else { hit.title.clone().into_any() };
    let snippet = (!in_title && !hit.snippet.is_empty()).then(|| marked(&hit.snippet));
    view! {
        <li role="option" class="hit" class:active=move || active.get() == i aria-selected=move || (active.get() == i).to_string()
            data-testid="search-hit" data-kind=kind.to_lowercase()
            on:mousedown=|e| e.prevent_default()
            on:mouseenter=move |_| active.set(i)
            on:click=move |_| on_choose()>
            <span class="kind">{move || ui.tr(kind)}</span>
            <span class="title">{title}</span>
            <span class="detail">{move || detail(ui, &hit.found).unwrap_or_else(|| hit.detail.clone())}</span>
            {snippet.map(|s| view! { <span class="snippet">{s}</span> })}
        </li>
    }
}

/// A hit's detail line from this screen's own room, in its language (the server's line for a place,
/// which names only its layer, and for what the screen does not hold yet).
fn detail(ui: Ui, found: &Found) -> Option<String> {
    let tr = |english: &str| ui.tr(english);
    ui.live.state.with_value(|s| match found {
        Found::Incident { incident_id } => s
            .incidents
            .get(incident_id)
            .map(|i| format!("{incident_id} · {} · {:?} · {}", tr(&words(i.kind)), i.priority, tr(&words(i.status)))),
        Found::Unit { unit_id } => {
            s.units.get(unit_id).map(|u| format!("{} · {} · {}", u.agency, tr(&words(u.kind)), tr(u.status.label())))
        }
        Found::Alert { alert_id } => s.alerts.get(alert_id).map(|a| {
            let now_ms = ui.live.now_ms.get_untracked();
            format!("{} · {} · {}", a.content.event, tr(&words(a.content.severity)), tr(a.standing(now_ms)))
        }),
        Found::Message { message_id, channel_id } => {
            let (m, c) = (s.messages.get(message_id)?, s.channels.get(channel_id)?);
            Some(format!("{} · {}", m.sender_agency, crate::room::messages::channel_name(ui, c)))
        }
        Found::Place { .. } => None,
    })
}

fn kind_label(found: &Found) -> &'static str {
    match found {
        Found::Incident { .. } => "Incident",
        Found::Unit { .. } => "Unit",
        Found::Message { .. } => "Message",
        Found::Alert { .. } => "Alert",
        Found::Place { .. } => "Place",
    }
}

/// Shows a hit: the map goes to it, the panels select it.
fn select(ui: Ui, hit: &SearchHit) {
    match &hit.found {
        Found::Incident { incident_id } => ui.focus_incident(*incident_id),
        Found::Unit { unit_id } => {
            ui.side.set(SideTab::Units);
            ui.focus_unit(*unit_id);
        }
        Found::Message { message_id, channel_id } => {
            ui.channel.set(channel_id.clone());
            ui.found_message.set(Some(*message_id));
            ui.side.set(SideTab::Messages);
        }
        Found::Alert { .. } | Found::Place { .. } => {
            ui.selected.set(Selection::None);
            if let Some(b) = hit.bbox {
                ui.fit.set(Some(b));
            }
        }
    }
}

/// Leaves the search field (a tablet's keyboard closes; keys go back to the shortcuts).
fn blur() {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        if let Some(el) = document().active_element().and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok()) {
            let _ = el.blur();
        }
    }
}

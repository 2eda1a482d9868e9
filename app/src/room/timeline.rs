//! The timeline: everything that happened, on a horizontal time axis — the log, filtered. Zoom
//! (buttons or wheel), pan (drag), filters by agency and incident; a click selects the item on the
//! map and in the panels. Older events are read from the log (`api::history_page`, the mode says where from),
//! newer ones arrive on the stream.

use leptos::prelude::*;
use vigie_domain::timeline::{entry, Entry, Lane};
use vigie_domain::{AgencyCode, IncidentId, LoggedEvent};

use super::{Selection, SideTab, Ui};
#[cfg(feature = "hydrate")]
use crate::api;
use crate::live::Mode;
use crate::ui::describe;

/// Zoom levels offered as buttons (the wheel goes between and beyond them).
const SPANS: [(&str, i64); 4] =
    [("15 min", 15 * 60_000), ("1 h", 3_600_000), ("6 h", 6 * 3_600_000), ("24 h", 24 * 3_600_000)];
const MIN_SPAN_MS: i64 = 60_000;
const MAX_SPAN_MS: i64 = 7 * 24 * 3_600_000;
/// At most this many items are drawn; beyond that the window is too wide to click one anyway.
const MAX_ITEMS: usize = 1_500;

#[component]
pub fn Timeline() -> impl IntoView {
    let ui = expect_context::<Ui>();
    let span_ms = RwSignal::new(3_600_000i64);
    // `None`: the right edge follows the clock.
    let end_ms = RwSignal::new(None::<i64>);
    let agency = RwSignal::new(String::new());
    let incident = RwSignal::new(String::new());
    let older = RwSignal::new(Vec::<LoggedEvent>::new());
    load_older(ui, older);

    // Following the clock, "now" sits a little inside the right edge so the latest item shows whole.
    let window = move || {
        let span = span_ms.get();
        let end = end_ms.get().unwrap_or_else(|| ui.live.now_ms.get() + span / 40);
        (end - span, end)
    };
    let follows_stream = ui.mode.with_value(Mode::timeline_follows_stream);
    let items = move || {
        ui.live.changes.track();
        let (start, end) = window();
        let agency = AgencyCode::parse(&agency.get()).ok();
        let incident = incident.get().parse::<u32>().ok().map(IncidentId);
        let older = older.get();
        ui.live.state.with_value(|s| {
            ui.live.history.with_value(|live| {
                let live: &[LoggedEvent] = if follows_stream { live } else { &[] };
                let first_live = live.first().map_or(u64::MAX, |e| e.seq);
                let events = older.iter().filter(|e| e.seq < first_live).chain(live.iter());
                let shown: Vec<_> = events
                    .filter(|e| e.at_ms >= start && e.at_ms <= end)
                    .filter_map(|e| entry(s, e).map(|en| (en, e)))
                    .filter(|(en, _)| en.matches(agency.as_ref(), incident))
                    .collect();
                // The newest MAX_ITEMS, and only those are described.
                shown
                    .into_iter()
                    .rev()
                    .take(MAX_ITEMS)
                    .map(|(en, e)| (en, describe(s, e, ui.lang.get())))
                    .collect::<Vec<_>>()
            })
        })
    };
    let ticks = move || {
        let (start, end) = window();
        let step = tick_step(end - start);
        let first = (start / step + 1) * step;
        (0..)
            .map(|i| first + i * step)
            .take_while(|t| *t < end)
            .map(|t| (pct(t, start, end), clock(t)))
            .collect::<Vec<_>>()
    };
    let drag = StoredValue::new(None::<(f64, i64)>);
    let width = NodeRef::<leptos::html::Div>::new();
    let px_to_ms = move |dx: f64| -> i64 {
        let w = width.get_untracked().map_or(1000.0, |el| f64::from(el.client_width().max(1)));
        (dx / w * span_ms.get_untracked() as f64) as i64
    };
    let incidents = move || {
        ui.live.changes.track();
        ui.live.state.with_value(|s| s.incidents.keys().rev().take(200).map(|i| i.0).collect::<Vec<_>>())
    };
    view! {
        <section class="timeline" aria-label="Timeline" data-testid="timeline">
            <div class="timeline-bar">
                {SPANS.into_iter().map(|(label, ms)| view! {
                    <button class="small" class:active=move || span_ms.get() == ms data-testid=format!("span-{}", label.replace(' ', ""))
                        on:click=move |_| span_ms.set(ms)>{label}</button>
                }).collect_view()}
                <button class="small" class:active=move || end_ms.get().is_none() data-testid="timeline-now"
                    on:click=move |_| end_ms.set(None)>{move || ui.tr("Now")}</button>
                <super::AgencyFilter value=agency testid="timeline-agency"/>
                <select aria-label="Incident" data-testid="timeline-incident" on:change=move |e| incident.set(event_target_value(&e))>
                    <option value="">{move || ui.tr("All incidents")}</option>
                    {move || incidents().into_iter().map(|i| view! { <option value=i.to_string()>{format!("INC-{i}")}</option> }).collect_view()}
                </select>
            </div>
            <div class="timeline-body" node_ref=width
                on:wheel=move |e| {
                    e.prevent_default();
                    let factor = if e.delta_y() > 0.0 { 1.5 } else { 1.0 / 1.5 };
                    span_ms.update(|s| *s = ((*s as f64 * factor) as i64).clamp(MIN_SPAN_MS, MAX_SPAN_MS));
                }
                on:pointerdown=move |e| {
                    let end = end_ms.get_untracked().unwrap_or_else(|| ui.live.now_ms.get_untracked());
                    drag.set_value(Some((f64::from(e.client_x()), end)));
                }
                on:pointermove=move |e| {
                    if let Some((x0, end0)) = drag.get_value() {
                        let dx = f64::from(e.client_x()) - x0;
                        if dx.abs() > 4.0 {
                            end_ms.set(Some(end0 - px_to_ms(dx)));
                        }
                    }
                }
                on:pointerup=move |e| {
                    // In a replay, a click (not a drag) on the timeline moves the session there.
                    #[cfg(feature = "hydrate")]
                    if let (true, Some((x0, _))) = (ui.is_trainer.get_untracked(), drag.get_value()) {
                        if (f64::from(e.client_x()) - x0).abs() <= 4.0 {
                            if let Some(el) = width.get_untracked() {
                                let left = el.get_bounding_client_rect().left();
                                let (start, end) = window();
                                let frac = (f64::from(e.client_x()) - left) / f64::from(el.client_width().max(1));
                                super::replay_bar::seek(ui, start + ((end - start) as f64 * frac) as i64);
                            }
                        }
                    }
                    let _ = &e;
                    drag.set_value(None)
                }
                on:pointerleave=move |_| drag.set_value(None)>
                <div class="axis">
                    {move || ticks().into_iter().map(|(x, label)| view! { <span class="tick" style=format!("left:{x:.3}%")>{label}</span> }).collect_view()}
                </div>
                {Lane::ALL.into_iter().map(|lane| view! {
                    <div class=format!("lane lane-{lane:?}").to_lowercase()>
                        <span class="lane-name">{move || ui.tr(&format!("{lane:?}"))}</span>
                    </div>
                }).collect_view()}
                // A replayed room shows the session's moment and pins on its timeline.
                {move || ui.live.replay.with(Option::is_some).then(|| {
                    let (start, end) = window();
                    let pins = ui.live.replay.with(|r| r.as_ref().map(|r| r.session.pins.clone()).unwrap_or_default());
                    view! {
                        <div class="cursor" style=format!("left:{:.3}%", pct(ui.live.now_ms.get(), start, end))></div>
                        {pins.into_iter().filter(|p| p.at_ms >= start && p.at_ms <= end).map(|p| view! {
                            <span class="pin-mark" data-testid="pin-mark" style=format!("left:{:.3}%", pct(p.at_ms, start, end)) title=p.text.clone()>"📌"</span>
                        }).collect_view()}
                    }
                })}
                <div class="items">
                    {move || {
                        let (start, end) = window();
                        let selected = ui.selected.get();
                        items().into_iter().map(|(en, text)| {
                            let x = pct(en.at_ms, start, end);
                            let row = Lane::ALL.iter().position(|l| *l == en.lane).unwrap_or(0);
                            let is_selected = match selected {
                                Selection::Incident(i) => en.incident == Some(i),
                                Selection::Unit(u) => en.unit == Some(u),
                                Selection::None => false,
                            };
                            let title = format!("{} {}", clock(en.at_ms), text);
                            let future = !follows_stream && en.at_ms > ui.live.now_ms.get();
                            view! {
                                <button class=format!("item lane-{:?}", en.lane).to_lowercase() class:selected=is_selected class:future=future
                                    style=format!("left:{x:.3}%;top:{}px", 22 + row * 30) title=title.clone() aria-label=title
                                    data-seq=en.seq on:pointerdown=|e| e.stop_propagation() on:pointerup=|e| e.stop_propagation()
                                    on:click=move |e| {
                                        e.stop_propagation();
                                        // For a replay's trainer, an event is also a moment to jump to.
                                        super::replay_bar::seek(ui, en.at_ms);
                                        select(ui, &en)
                                    }></button>
                            }
                        }).collect_view()
                    }}
                </div>
            </div>
        </section>
    }
    .into_any()
}

fn select(ui: Ui, en: &Entry) {
    match (en.lane, en.unit, en.incident) {
        (Lane::Units, Some(u), _) => ui.focus_unit(u),
        (Lane::Messages, _, incident) => {
            ui.side.set(SideTab::Messages);
            if let Some(i) = incident {
                ui.focus_incident(i);
            }
        }
        (_, _, Some(i)) => ui.focus_incident(i),
        _ => {}
    }
}

fn pct(t: i64, start: i64, end: i64) -> f64 {
    (t - start) as f64 / (end - start).max(1) as f64 * 100.0
}

/// About six to twelve ticks whatever the zoom.
fn tick_step(span_ms: i64) -> i64 {
    const STEPS: [i64; 9] = [
        60_000,
        2 * 60_000,
        5 * 60_000,
        10 * 60_000,
        15 * 60_000,
        30 * 60_000,
        3_600_000,
        3 * 3_600_000,
        6 * 3_600_000,
    ];
    STEPS.into_iter().find(|s| span_ms / s <= 12).unwrap_or(24 * 3_600_000)
}

/// `HH:MM` UTC.
fn clock(at_ms: i64) -> String {
    let m = at_ms.div_euclid(60_000).rem_euclid(24 * 60);
    format!("{:02}:{:02}", m / 60, m % 60)
}

/// Reads the events before this page's first live one (or a replay's whole window) from the log,
/// a page at a time (browser only).
fn load_older(ui: Ui, older: RwSignal<Vec<LoggedEvent>>) {
    #[cfg(feature = "hydrate")]
    {
        let history = ui.mode.with_value(|m| m.history(ui.live.now_ms.get_untracked()));
        // Four pages of 5 000 is more than a day of an exercise's non-position events; a
        // replay's window may hold more.
        let (max_pages, up_to) = match history {
            api::History::Log { .. } => (4, ui.live.seq.get_untracked()),
            api::History::Session { .. } => (20, u64::MAX),
        };
        wasm_bindgen_futures::spawn_local(async move { older.set(read_pages(&history, max_pages, up_to).await) });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (ui, older);
}

/// Reads up to `max_pages` pages of `history`, keeping the events up to seq `up_to`.
#[cfg(feature = "hydrate")]
async fn read_pages(history: &api::History, max_pages: usize, up_to: u64) -> Vec<LoggedEvent> {
    let (mut after, mut all) = (0u64, Vec::new());
    for _ in 0..max_pages {
        let Ok(page) = api::history_page(history, after).await else { break };
        let done = page.next_after_seq.is_none() || page.events.last().is_none_or(|e| e.seq >= up_to);
        after = page.events.last().map_or(after, |e| e.seq);
        all.extend(page.events.into_iter().filter(|e| e.seq <= up_to));
        if done {
            break;
        }
    }
    all
}

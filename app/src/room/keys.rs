//! Keyboard shortcuts for dispatchers, and the help overlay that lists them (`?`).

use leptos::prelude::*;

use super::Ui;
#[cfg(feature = "hydrate")]
use super::{Selection, SideTab};

/// Every shortcut, as shown in the help overlay.
pub const SHORTCUTS: &[(&str, &str)] = &[
    ("?", "show or hide this help"),
    ("n", "new incident (at the last incident's place)"),
    ("j / k", "next / previous incident in the queue"),
    ("f", "fit the map to the selected incident"),
    ("u", "units panel"),
    ("m", "messages panel"),
    ("/", "search everything: units, incidents, messages, alerts, places"),
    ("a", "acknowledge the flash message on screen"),
    ("Esc", "close the form or the selection"),
];

/// Listens for shortcuts on the whole page, except while typing in a field.
pub fn install(ui: Ui, help: RwSignal<bool>) {
    // Installed once per page; `help` is the overlay's signal.
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let handle = window_event_listener(leptos::ev::keydown, move |e| {
            if e.ctrl_key() || e.meta_key() || e.alt_key() {
                return;
            }
            let typing = e
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok())
                .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "SELECT" | "TEXTAREA"));
            if typing && e.key() != "Escape" {
                return;
            }
            let handled = match e.key().as_str() {
                "?" => {
                    help.update(|h| *h = !*h);
                    true
                }
                "Escape" => {
                    help.set(false);
                    ui.placing.set(None);
                    ui.selected.set(Selection::None);
                    true
                }
                "n" => {
                    ui.start_placing();
                    true
                }
                "j" | "k" => {
                    step_incident(ui, if e.key() == "j" { 1 } else { -1 });
                    true
                }
                "f" => {
                    if let Selection::Incident(id) = ui.selected.get_untracked() {
                        ui.focus_incident(id);
                    }
                    true
                }
                "u" => {
                    ui.side.set(SideTab::Units);
                    true
                }
                "m" => {
                    ui.side.set(SideTab::Messages);
                    true
                }
                "/" => {
                    focus("[data-testid=search]");
                    true
                }
                "a" => {
                    click("[data-testid=flash-ack]");
                    true
                }
                _ => false,
            };
            if handled {
                e.prevent_default();
            }
        });
        on_cleanup(move || handle.remove());
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (ui, help);
}

#[cfg(feature = "hydrate")]
/// Moves the selection along the open incidents in queue order (priority, then age).
fn step_incident(ui: Ui, by: i32) {
    let order: Vec<_> = ui.live.state.with_value(|s| {
        let mut open: Vec<_> = s.incidents.values().filter(|i| i.status.is_open()).collect();
        open.sort_by_key(|i| i.queue_key());
        open.iter().map(|i| i.incident_id).collect()
    });
    if order.is_empty() {
        return;
    }
    let current = match ui.selected.get_untracked() {
        Selection::Incident(id) => order.iter().position(|i| *i == id),
        _ => None,
    };
    let next = match current {
        Some(p) => (p as i32 + by).rem_euclid(order.len() as i32) as usize,
        None if by > 0 => 0,
        None => order.len() - 1,
    };
    ui.focus_incident(order[next]);
}

#[cfg(feature = "hydrate")]
fn element(selector: &str) -> Option<web_sys::HtmlElement> {
    use wasm_bindgen::JsCast;
    document().query_selector(selector).ok().flatten()?.dyn_into::<web_sys::HtmlElement>().ok()
}

#[cfg(feature = "hydrate")]
fn focus(selector: &str) {
    // After the panel switch has rendered.
    let selector = selector.to_string();
    request_animation_frame(move || {
        if let Some(el) = element(&selector) {
            let _ = el.focus();
        }
    });
}

#[cfg(feature = "hydrate")]
fn click(selector: &str) {
    if let Some(el) = element(selector) {
        el.click();
    }
}

#[component]
pub fn HelpOverlay(open: RwSignal<bool>) -> impl IntoView {
    let ui = expect_context::<Ui>();
    view! {
        <Show when=move || open.get()>
            <div class="help-overlay" role="dialog" aria-label="Keyboard shortcuts" data-testid="help" on:click=move |_| open.set(false)>
                <div class="help-card">
                    <h2>{move || ui.tr("Keyboard shortcuts")}</h2>
                    <table>
                        {SHORTCUTS.iter().map(|(k, what)| view! { <tr><th><kbd>{*k}</kbd></th><td>{move || ui.tr(what)}</td></tr> }).collect_view()}
                    </table>
                    <p class="hint">{move || ui.tr("Press ? or Esc to close.")}</p>
                </div>
            </div>
        </Show>
    }
}

//! Summary tiles and the agency table: the room's top bar, the wall overview and the Summary tab.

use leptos::prelude::*;
use vigie_domain::{Priority, UnitStatus};

use crate::i18n::{t, Lang};
use crate::live::LiveRoom;

/// Open incidents of one priority.
#[component]
pub fn PriorityTile(room: LiveRoom, p: Priority) -> impl IntoView {
    let count = move || room.summary.with(|s| s.open_incidents_by_priority.get(&p).copied().unwrap_or(0));
    view! {
        <div class=format!("tile priority-{p:?}").to_lowercase()>
            <span class="count" data-testid=format!("incidents-{p:?}")>{count}</span>
            <span class="label">{format!("{p:?}")}</span>
        </div>
    }
}

/// Units in one status, labelled in `lang`.
#[component]
pub fn StatusTile(room: LiveRoom, s: UnitStatus, #[prop(into)] lang: Signal<Lang>) -> impl IntoView {
    let count = move || room.summary.with(|sum| sum.units(s));
    let slug = format!("{s:?}").to_lowercase();
    view! {
        <div class=format!("tile status-{slug}")>
            <span class="count" data-testid=format!("units-{slug}")>{count}</span>
            <span class="label">{move || t(lang.get(), s.label())}</span>
        </div>
    }
}

/// Units by agency and status, headed in `lang`.
#[component]
pub fn AgencyTable(room: LiveRoom, #[prop(into)] lang: Signal<Lang>) -> impl IntoView {
    let rows = move || room.summary.with(|s| s.units_by_agency.clone().into_iter().collect::<Vec<_>>());
    view! {
        <table class="agencies">
            <thead>
                <tr>
                    <th>{move || t(lang.get(), "Agency")}</th>
                    {UnitStatus::ALL.into_iter().map(|s| view! { <th>{move || t(lang.get(), s.label())}</th> }).collect_view()}
                </tr>
            </thead>
            <tbody>
                {move || rows().into_iter().map(|(code, by_status)| {
                    let colour = room.state.with_value(|s| s.agencies.get(&code).map(|a| a.colour.clone())).unwrap_or_default();
                    view! {
                        <tr>
                            <th><span class="swatch" style=format!("background:{colour}")></span>{code.to_string()}</th>
                            {UnitStatus::ALL.into_iter().map(|s| view! { <td>{by_status.get(&s).copied().unwrap_or(0)}</td> }).collect_view()}
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

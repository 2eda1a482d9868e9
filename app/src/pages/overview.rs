//! The first page of the room: live counts (units by status and agency, open incidents by
//! priority) and the latest events, updating in place from the stream.

use leptos::prelude::*;
use vigie_domain::{Priority, UnitStatus};

use crate::i18n::t;
use crate::live::{LiveRoom, WithRoom};
use crate::ui::tiles::{AgencyTable, PriorityTile, StatusTile};
use crate::ui::{clock_time, describe};

#[component]
pub fn Overview() -> impl IntoView {
    view! { <WithRoom page=|live| view! { <Room room=live/> }.into_any()/> }
}

#[component]
fn Room(room: LiveRoom) -> impl IntoView {
    Effect::new(move |_| room.connect());
    let lang = room.lang;
    let tr = move |english: &'static str| t(lang, english);
    let link_class = move || format!("link link-{}", room.link.get().slug());
    view! {
        <header class="topbar">
            <h1>"Vigie"</h1>
            <span class="subtitle">{tr("Operations room")}</span>
            <span class=link_class data-testid="link">{move || tr(room.link.get().label())}</span>
            <span class="seq" data-testid="seq" data-anomalies=move || room.anomalies.get()>
                "seq " {move || room.seq.get()}
            </span>
        </header>
        <main class="overview">
            <section class="panel incidents-by-priority">
                <h2>{tr("Open incidents")}</h2>
                <div class="tiles">
                    {Priority::ALL.into_iter().map(|p| view! { <PriorityTile room p/> }).collect_view()}
                </div>
            </section>
            <section class="panel units-by-status">
                <h2>{tr("Units")}</h2>
                <div class="tiles">
                    <div class="tile total">
                        <span class="count" data-testid="units-total">
                            {move || room.summary.with(|s| s.units_by_status.values().sum::<u32>())}
                        </span>
                        <span class="label">{tr("total")}</span>
                    </div>
                    {UnitStatus::ALL.into_iter().map(|s| view! { <StatusTile room s lang/> }).collect_view()}
                    <div class="tile stale">
                        <span class="count" data-testid="units-stale">{move || room.summary.with(|s| s.stale_units)}</span>
                        <span class="label">{tr("stale")}</span>
                    </div>
                </div>
            </section>
            <section class="panel units-by-agency">
                <h2>{tr("Units by agency")}</h2>
                <AgencyTable room lang/>
            </section>
            <section class="panel recent">
                <h2>{tr("Latest events")}</h2>
                <ol class="events" data-testid="recent-events">
                    <For each=move || room.recent.get() key=|e| e.seq let:e>
                        <li>
                            <time>{clock_time(e.at_ms)}</time>
                            <span class="actor">{crate::ui::who(lang, &e.actor)}</span>
                            <span class="what">{room.state.with_value(|s| describe(s, &e, lang))}</span>
                        </li>
                    </For>
                </ol>
            </section>
        </main>
    }
    .into_any()
}

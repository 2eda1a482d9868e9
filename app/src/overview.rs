//! The first page of the room: live counts (units by status and agency, open incidents by
//! priority) and the latest events, updating in place from the stream.

use leptos::prelude::*;
use vigie_domain::{Event, LoggedEvent, Priority, State, UnitStatus};

use crate::live::{Link, LiveRoom, WithRoom};
use crate::room::words;

#[component]
pub fn Overview() -> impl IntoView {
    view! { <WithRoom page=|live| view! { <Room room=live/> }.into_any()/> }
}

#[component]
fn Room(room: LiveRoom) -> impl IntoView {
    Effect::new(move |_| room.connect());
    let link_label = move || match room.link.get() {
        Link::Connecting => "connecting",
        Link::Live => "live",
        Link::Reconnecting => "reconnecting…",
    };
    let link_class = move || format!("link link-{}", link_label().trim_end_matches('…'));
    view! {
        <header class="topbar">
            <h1>"Vigie"</h1>
            <span class="subtitle">"Operations room"</span>
            <span class=link_class data-testid="link">{link_label}</span>
            <span class="seq" data-testid="seq" data-anomalies=move || room.anomalies.get()>
                "seq " {move || room.seq.get()}
            </span>
        </header>
        <main class="overview">
            <section class="panel incidents-by-priority">
                <h2>"Open incidents"</h2>
                <div class="tiles">
                    {Priority::ALL.into_iter().map(|p| view! { <PriorityTile room p/> }).collect_view()}
                </div>
            </section>
            <section class="panel units-by-status">
                <h2>"Units"</h2>
                <div class="tiles">
                    <div class="tile total">
                        <span class="count" data-testid="units-total">
                            {move || room.summary.with(|s| s.units_by_status.values().sum::<u32>())}
                        </span>
                        <span class="label">"total"</span>
                    </div>
                    {UnitStatus::ALL.into_iter().map(|s| view! { <StatusTile room s/> }).collect_view()}
                    <div class="tile stale">
                        <span class="count" data-testid="units-stale">{move || room.summary.with(|s| s.stale_units)}</span>
                        <span class="label">"stale"</span>
                    </div>
                </div>
            </section>
            <section class="panel units-by-agency">
                <h2>"Units by agency"</h2>
                <AgencyTable room/>
            </section>
            <section class="panel recent">
                <h2>"Latest events"</h2>
                <ol class="events" data-testid="recent-events">
                    <For each=move || room.recent.get() key=|e| e.seq let:e>
                        <li>
                            <time>{clock_time(e.at_ms)}</time>
                            <span class="actor">{e.actor.clone()}</span>
                            <span class="what">{room.state.with_value(|s| describe(s, &e))}</span>
                        </li>
                    </For>
                </ol>
            </section>
        </main>
    }
    .into_any()
}

/// Open incidents of one priority (also on the room's top bar).
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

/// Units in one status (also on the room's top bar).
#[component]
pub fn StatusTile(room: LiveRoom, s: UnitStatus) -> impl IntoView {
    let count = move || room.summary.with(|sum| sum.units(s));
    let slug = format!("{s:?}").to_lowercase();
    view! {
        <div class=format!("tile status-{slug}")>
            <span class="count" data-testid=format!("units-{slug}")>{count}</span>
            <span class="label">{s.label()}</span>
        </div>
    }
}

/// Units by agency and status (also the room's Summary tab).
#[component]
pub fn AgencyTable(room: LiveRoom) -> impl IntoView {
    let rows = move || room.summary.with(|s| s.units_by_agency.clone().into_iter().collect::<Vec<_>>());
    view! {
        <table class="agencies">
            <thead>
                <tr>
                    <th>"Agency"</th>
                    {UnitStatus::ALL.into_iter().map(|s| view! { <th>{s.label()}</th> }).collect_view()}
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

/// `HH:MM:SS` UTC.
fn clock_time(at_ms: i64) -> String {
    let s = at_ms.div_euclid(1000).rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}Z", s / 3600, s / 60 % 60, s % 60)
}

/// One line of plain text for an event (rendered as text, never as HTML).
pub fn describe(state: &State, e: &LoggedEvent) -> String {
    let unit = |id: &vigie_domain::UnitId| state.units.get(id).map_or_else(|| id.to_string(), |u| u.callsign.clone());
    match &e.event {
        Event::AgencyRegistered { agency } => format!("{} joined the room", agency.short_name),
        Event::UnitRegistered { callsign, agency, .. } => format!("{callsign} ({agency}) registered"),
        Event::UnitStatusChanged { unit_id, status } => format!("{} is {}", unit(unit_id), status.label()),
        Event::PositionsReported { fixes } => format!("{} positions", fixes.len()),
        Event::IncidentCreated { incident_id, kind, priority, address, .. } => {
            format!("{incident_id} {priority:?} {} at {address}", words(kind))
        }
        Event::IncidentUpdated { incident_id, .. } => format!("{incident_id} updated"),
        Event::IncidentStatusChanged { incident_id, status } => format!("{incident_id} is {}", words(status)),
        Event::UnitAssigned { incident_id, unit_id } => format!("{} assigned to {incident_id}", unit(unit_id)),
        Event::UnitReleased { incident_id, unit_id } => format!("{} released from {incident_id}", unit(unit_id)),
        Event::NoteAdded { incident_id, text } => format!("{incident_id} note: {text}"),
        Event::ChannelCreated { channel } => format!("channel {} opened", channel.name),
        Event::MessagePosted { channel_id, priority, body, sender_agency, .. } => {
            format!("[{}] {sender_agency} on {channel_id}: {body}", format!("{priority:?}").to_uppercase())
        }
        Event::MessageAcknowledged { message_id, agency } => format!("{agency} acknowledged {message_id}"),
    }
}

//! The unit board: units grouped by agency with their status colour and time in status, overdue
//! ones highlighted (thresholds per status, adjustable on the board), quick status change and
//! search by callsign.

use leptos::prelude::*;
use std::collections::BTreeMap;
use vigie_domain::{Unit, UnitStatus};

use super::{Selection, Ui};
use crate::api;
use crate::ui::{elapsed, wire_name, words};

/// Rows drawn per agency; beyond, the board says how many more and search narrows it down (a wall
/// of 10 000 rows helps no one and costs the map its frame rate).
const MAX_ROWS_PER_AGENCY: usize = 150;

/// Minutes in a status after which a unit is flagged overdue; `None`: never.
fn default_overdue_min(status: UnitStatus) -> Option<u32> {
    match status {
        UnitStatus::Dispatched => Some(3),
        UnitStatus::EnRoute => Some(20),
        UnitStatus::OnScene => Some(90),
        UnitStatus::Transporting => Some(30),
        UnitStatus::AtHospital => Some(45),
        UnitStatus::Available | UnitStatus::OutOfService => None,
    }
}

#[component]
pub fn UnitBoard() -> impl IntoView {
    let ui = expect_context::<Ui>();
    let search = RwSignal::new(String::new());
    let thresholds =
        RwSignal::new(UnitStatus::ALL.into_iter().map(|s| (s, default_overdue_min(s))).collect::<BTreeMap<_, _>>());
    let groups = move || {
        ui.live.changes.track();
        let needle = search.get().to_lowercase();
        ui.live.state.with_value(|s| {
            let mut by_agency: BTreeMap<String, Vec<Unit>> = BTreeMap::new();
            for u in s.units.values().filter(|u| needle.is_empty() || u.callsign.to_lowercase().contains(&needle)) {
                by_agency.entry(u.agency.to_string()).or_default().push(u.clone());
            }
            by_agency
                .into_iter()
                .map(|(agency, units)| {
                    let colour = s.agencies.get(&units[0].agency).map(|a| a.colour.clone()).unwrap_or_default();
                    (agency, colour, units)
                })
                .collect::<Vec<_>>()
        })
    };
    view! {
        <section class="unit-board" aria-label="Units">
            <div class="filters">
                <input type="search" placeholder=move || ui.tr("Callsign…") aria-label="Search by callsign" data-testid="unit-search"
                    prop:value=move || search.get() on:input=move |e| search.set(event_target_value(&e))/>
                <details class="thresholds">
                    <summary>{move || ui.tr("Overdue after")}</summary>
                    {UnitStatus::ALL.into_iter().filter(|s| default_overdue_min(*s).is_some()).map(|s| view! {
                        <label>{move || ui.tr(s.label())}
                            <input type="number" min="1" max="1440" prop:value=move || thresholds.with(|t| t[&s].unwrap_or(0))
                                on:change=move |e| {
                                    let v = event_target_value(&e).parse::<u32>().ok().filter(|v| *v > 0);
                                    thresholds.update(|t| { t.insert(s, v); });
                                }/>
                            " min"
                        </label>
                    }).collect_view()}
                </details>
            </div>
            <div class="groups" data-testid="unit-board">
                <For each=groups key=|(agency, _, units)| (agency.clone(), units.len(), units.iter().map(|u| u.status_since_ms).sum::<i64>()) let:group>
                    <details class="agency-group" open>
                        <summary><span class="swatch" style=format!("background:{}", group.1)></span>{group.0.clone()}
                            <span class="count">{group.2.len()}</span></summary>
                        <ul>
                            {let hidden = group.2.len().saturating_sub(MAX_ROWS_PER_AGENCY);
                            view! {
                                {group.2.into_iter().take(MAX_ROWS_PER_AGENCY).map(|u| view! { <UnitRow unit=u thresholds/> }).collect_view()}
                                {(hidden > 0).then(|| view! { <li class="more">{format!("+{hidden}… ")}{move || ui.tr("Callsign…")}</li> })}
                            }}
                        </ul>
                    </details>
                </For>
            </div>
        </section>
    }
    .into_any()
}

#[component]
fn UnitRow(unit: Unit, thresholds: RwSignal<BTreeMap<UnitStatus, Option<u32>>>) -> impl IntoView {
    let ui = expect_context::<Ui>();
    let id = unit.unit_id;
    let since = unit.status_since_ms;
    let status = unit.status;
    let overdue = move || {
        let limit = thresholds.with(|t| t.get(&status).copied().flatten());
        limit.is_some_and(|m| ui.live.now_ms.get() - since > i64::from(m) * 60_000)
    };
    let stale = move || {
        ui.live
            .state
            .with_value(|s| s.units.get(&id).is_some_and(|u| u.is_stale(ui.live.now_ms.get(), ui.live.stale_after_ms)))
    };
    let callsign = unit.callsign.clone();
    view! {
        <li class=format!("unit-row status-{}", wire_name(&status)) class:overdue=overdue class:stale=stale
            class:selected=move || ui.selected.get() == Selection::Unit(id) data-testid=format!("unit-{}", unit.callsign)>
            <button class="callsign" on:click=move |_| ui.focus_unit(id)>{unit.callsign.clone()}</button>
            <span class="kind">{move || ui.tr(&words(unit.kind))}</span>
            <span class="status" data-testid="unit-status">{move || ui.tr(status.label())}</span>
            <time class="timer">{move || elapsed(ui.live.now_ms.get(), since)}</time>
            <select class="quick-status" aria-label=format!("Status of {}", unit.callsign) on:change=move |e| {
                let v = event_target_value(&e);
                if let Some(to) = UnitStatus::ALL.into_iter().find(|s| wire_name(s) == v) {
                    ui.command(format!("{callsign} → {}", ui.tr(to.label())), move |who| async move { api::change_unit_status(&who, id, to).await });
                }
            }>
                {UnitStatus::ALL.into_iter().map(|s| view! { <option value=wire_name(&s) selected=s == status>{move || ui.tr(s.label())}</option> }).collect_view()}
            </select>
            <button class="small follow" title="Follow on the map" class:active=move || ui.followed.get() == Some(id)
                on:click=move |_| ui.toggle_follow(id)>{move || ui.tr("Follow")}</button>
        </li>
    }
    .into_any()
}

/// The selected unit: what it is, where it was last seen, what it is doing, and quick actions.
#[component]
pub fn UnitCard() -> impl IntoView {
    let ui = expect_context::<Ui>();
    let unit = move || {
        ui.live.changes.track();
        let Selection::Unit(id) = ui.selected.get() else { return None };
        ui.live.state.with_value(|s| {
            let u = s.units.get(&id)?.clone();
            let agency = s.agencies.get(&u.agency).map(|a| (a.full_name.clone(), a.colour.clone())).unwrap_or_default();
            let incident = u.incident_id.and_then(|i| s.incidents.get(&i)).map(|i| (i.incident_id, i.address.clone()));
            Some((u, agency, incident))
        })
    };
    view! {
        {move || unit().map(|(u, (agency, colour), incident)| {
            let id = u.unit_id;
            let since = u.status_since_ms;
            let status = u.status;
            let fix = u.last_fix;
            view! {
                <article class="unit-card" data-testid="unit-detail">
                    <header>
                        <h3><span class="swatch" style=format!("background:{colour}")></span>{u.callsign.clone()}</h3>
                        <button class="close" aria-label="Close" on:click=move |_| ui.selected.set(Selection::None)>"×"</button>
                    </header>
                    <p class="meta">{agency} " · " {move || ui.tr(&words(u.kind))}</p>
                    // Only its own agency is told whom a unit is hidden from.
                    {(!u.hidden_from.is_empty()).then(|| {
                        let from: Vec<String> = u.hidden_from.iter().map(|a| a.to_string()).collect();
                        view! {
                            <p class="meta" data-testid="hidden-from"><span class="restricted-badge">{move || ui.tr("hidden from")}</span> " " {from.join(", ")}</p>
                        }
                    })}
                    <p class="meta">
                        <span class=format!("status status-{}", wire_name(&status)) data-testid="unit-detail-status">{move || ui.tr(status.label())}</span>
                        " " {move || ui.tr("for")} " " {move || elapsed(ui.live.now_ms.get(), since)}
                    </p>
                    {incident.map(|(incident_id, address)| view! {
                        <p class="meta">{move || ui.tr("Assigned to")} " "
                            <button class="link" on:click=move |_| ui.focus_incident(incident_id)>{incident_id.to_string()}</button>
                            " " {address}</p>
                    })}
                    <p class="meta fix">
                        {move || ui.tr("Last fix")} " "
                        {move || match fix {
                            Some(f) => {
                                let age = elapsed(ui.live.now_ms.get(), f.reported_at_ms);
                                let speed = f.speed_mps.map(|v| format!(" · {:.0} km/h", v * 3.6)).unwrap_or_default();
                                let heading = f.heading_deg.map(|h| format!(" · {h:.0}°")).unwrap_or_default();
                                format!("{} · {:.5}, {:.5}{speed}{heading}", ui.trf("{} ago", &[&age]), f.position.lat, f.position.lon)
                            }
                            None => "—".to_string(),
                        }}
                    </p>
                    <div class="actions">
                        <button class="small" data-testid="unit-follow" class:active=move || ui.followed.get() == Some(id)
                            on:click=move |_| ui.toggle_follow(id)>
                            {move || if ui.followed.get() == Some(id) { ui.tr("Stop following") } else { ui.tr("Follow on the map") }}
                        </button>
                    </div>
                </article>
            }
        })}
    }
}

//! The incident queue (open incidents by priority then age, with ticking timers and filters), the
//! selected incident's detail (status, assigned units, nearest-available recommendation, notes)
//! and the form that creates an incident where the map was right-clicked or long-pressed.

use leptos::prelude::*;
use vigie_domain::api::{CreateIncident, LonLat, StartReplay};
use vigie_domain::recommend::recommend;
use vigie_domain::{Incident, IncidentKind, IncidentStatus, Priority, UnitId};

use super::{Selection, Ui};
use crate::api;
use crate::ui::{elapsed, wire_name, words};

/// Recommendations shown for the selected incident.
const RECOMMENDED: usize = 5;

#[component]
pub fn IncidentPanel() -> impl IntoView {
    let ui = expect_context::<Ui>();
    let agency = RwSignal::new(String::new());
    let kind = RwSignal::new(String::new());
    let status = RwSignal::new(String::new());
    // On a tablet the commander folds the panels away to give the map the screen.
    let collapsed = RwSignal::new(false);
    let queue = move || {
        ui.live.changes.track();
        let (agency, kind, status) = (agency.get(), kind.get(), status.get());
        ui.live.state.with_value(|s| {
            let mut open: Vec<Incident> = s
                .incidents
                .values()
                .filter(|i| i.status.is_open())
                .filter(|i| agency.is_empty() || i.lead_agency.to_string() == agency)
                .filter(|i| kind.is_empty() || wire_name(&i.kind) == kind)
                .filter(|i| status.is_empty() || wire_name(&i.status) == status)
                .cloned()
                .collect();
            open.sort_by_key(Incident::queue_key);
            open
        })
    };
    view! {
        <section class="incident-panel" aria-label="Incidents" class:collapsed=move || collapsed.get()>
            <header class="panel-head">
                <button class="collapse" data-testid="collapse-incidents" aria-expanded=move || (!collapsed.get()).to_string()
                    on:click=move |_| collapsed.update(|c| *c = !*c)>
                    <h2>{move || ui.tr("Incidents")} " " {move || if collapsed.get() { "▸" } else { "▾" }}</h2>
                </button>
                <button class="primary" data-testid="new-incident" on:click=move |_| ui.start_placing()>{move || ui.tr("+ New")}</button>
            </header>
            <div class="filters">
                <super::AgencyFilter value=agency testid="filter-agency"/>
                <select aria-label="Type" data-testid="filter-kind" on:change=move |e| kind.set(event_target_value(&e))>
                    <option value="">{move || ui.tr("All types")}</option>
                    {IncidentKind::ALL.into_iter().map(|k| view! { <option value=wire_name(&k)>{move || ui.tr(&words(k))}</option> }).collect_view()}
                </select>
                <select aria-label="Status" data-testid="filter-status" on:change=move |e| status.set(event_target_value(&e))>
                    <option value="">{move || ui.tr("Any status")}</option>
                    {IncidentStatus::ALL.into_iter().filter(|s| s.is_open()).map(|s| view! { <option value=wire_name(&s)>{move || ui.tr(&words(s))}</option> }).collect_view()}
                </select>
            </div>
            <ol class="queue" data-testid="incident-queue">
                <For each=queue key=|i| (i.incident_id, i.status_since_ms, i.updated_at_ms, i.assigned.clone(), i.notes.len()) let:i>
                    <QueueRow incident=i/>
                </For>
            </ol>
            <IncidentDetail/>
        </section>
    }
    .into_any()
}

#[component]
fn QueueRow(incident: Incident) -> impl IntoView {
    let ui = expect_context::<Ui>();
    let id = incident.incident_id;
    let since = incident.created_at_ms;
    let selected = move || ui.selected.get() == Selection::Incident(id);
    view! {
        <li class=format!("queue-row priority-{:?}", incident.priority).to_lowercase() class:selected=selected
            data-testid=format!("queue-{id}") on:click=move |_| ui.focus_incident(id)>
            <span class="badge">{format!("{:?}", incident.priority)}</span>
            <span class="what">
                <strong>{id.to_string()} " " {let kind = incident.kind; move || ui.tr(&words(kind))}</strong>
                {incident.restricted.then(|| view! { <span class="restricted-badge" data-testid="restricted-badge">{move || ui.tr("restricted")}</span> })}
                <span class="address">{incident.address.clone()}</span>
            </span>
            <span class=format!("status status-{}", wire_name(&incident.status))>{let st = incident.status; move || ui.tr(&words(st))}</span>
            <span class="units" title="assigned units">{incident.assigned.len()} " u"</span>
            <time class="timer">{move || elapsed(ui.live.now_ms.get(), since)}</time>
        </li>
    }
    .into_any()
}

#[component]
fn IncidentDetail() -> impl IntoView {
    let ui = expect_context::<Ui>();
    let incident = move || {
        ui.live.changes.track();
        let Selection::Incident(id) = ui.selected.get() else { return None };
        ui.live.state.with_value(|s| s.incidents.get(&id).cloned())
    };
    // Opening a restricted incident is recorded for oversight: the server records it when its
    // details are asked for (once per selection here; the server keeps one record per 10 min).
    let reported = StoredValue::new(None::<vigie_domain::IncidentId>);
    Effect::new(move |_| {
        let Selection::Incident(id) = ui.selected.get() else {
            reported.set_value(None);
            return;
        };
        let restricted = ui.live.state.with_value(|s| s.incidents.get(&id).is_some_and(|i| i.restricted));
        if restricted && !ui.read_only() && reported.get_value() != Some(id) {
            reported.set_value(Some(id));
            #[cfg(feature = "hydrate")]
            wasm_bindgen_futures::spawn_local(async move {
                let _ = crate::api::open_incident(id).await;
            });
        }
    });
    view! {
        {move || incident().map(|i| view! { <IncidentCard incident=i/> })}
    }
}

#[component]
fn IncidentCard(incident: Incident) -> impl IntoView {
    let ui = expect_context::<Ui>();
    let id = incident.incident_id;
    let next: Vec<IncidentStatus> =
        IncidentStatus::ALL.into_iter().filter(|s| incident.status.can_become(*s)).collect();
    let assigned: Vec<(UnitId, String, String)> = ui.live.state.with_value(|s| {
        incident
            .assigned
            .iter()
            .filter_map(|u| s.units.get(u))
            .map(|u| (u.unit_id, u.callsign.clone(), u.status.label().to_string()))
            .collect()
    });
    let recommendations = {
        let incident = incident.clone();
        move || {
            ui.live.changes.track();
            let now_ms = ui.live.now_ms.get();
            ui.live.state.with_value(|s| {
                recommend(s, &incident, now_ms, ui.live.stale_after_ms, RECOMMENDED)
                    .into_iter()
                    .filter_map(|r| s.units.get(&r.unit_id).map(|u| (r, u.callsign.clone(), u.agency.to_string())))
                    .collect::<Vec<_>>()
            })
        }
    };
    let note = crate::ui::draft::draft(format!("vigie.draft.note.{id}"));
    let open = incident.status.is_open();
    view! {
        <article class="incident-card" data-testid="incident-detail">
            <header>
                <h3>{id.to_string()} " · " {let kind = incident.kind; move || ui.tr(&words(kind))} " · " {format!("{:?}", incident.priority)}</h3>
                <button class="close" aria-label="Close" on:click=move |_| ui.selected.set(Selection::None)>"×"</button>
            </header>
            <p class="address">{incident.address.clone()}</p>
            <NeedToKnow incident=incident.clone()/>
            <p class="meta">
                {move || ui.tr("Lead")} " " <strong>{incident.lead_agency.to_string()}</strong> " · "
                <span data-testid="incident-status">{let st = incident.status; move || ui.tr(&words(st))}</span>
                " " {move || ui.tr("for")} " " {let since = incident.status_since_ms; move || elapsed(ui.live.now_ms.get(), since)}
            </p>
            <div class="actions">
                {next.into_iter().map(|to| {
                    let label = move || ui.tr(&words(to));
                    view! {
                        <button data-testid=format!("status-{}", wire_name(&to)) on:click=move |_| ui.command(
                            format!("{id} → {}", ui.tr(&words(to))),
                            move |who| async move { api::change_incident_status(&who, id, to).await },
                        )>{label}</button>
                    }
                }).collect_view()}
                <button on:click=move |_| ui.focus_incident(id)>{move || ui.tr("Fit map")}</button>
                <Show when=move || !ui.read_only()>
                    <button data-testid="replay-this" title=move || ui.tr("Replay this incident's window for a debrief")
                        on:click=move |_| ui.start_replay(StartReplay { incident_id: Some(id.0), ..StartReplay::default() })>
                        {move || ui.tr("Replay")}</button>
                </Show>
            </div>
            <h4>{move || ui.tr("Assigned")}</h4>
            <ul class="assigned" data-testid="assigned">
                {assigned.into_iter().map(|(unit_id, callsign, status)| view! {
                    <li>
                        <button class="link" on:click=move |_| ui.focus_unit(unit_id)>{callsign.clone()}</button>
                        <span class="status">{status}</span>
                        <button class="small" on:click=move |_| ui.command(
                            format!("{} {callsign}", ui.tr("Release")),
                            move |who| async move { api::release(&who, id, unit_id).await },
                        )>{move || ui.tr("Release")}</button>
                    </li>
                }).collect_view()}
            </ul>
            <Show when=move || open>
                <h4>{move || ui.tr("Nearest available")}</h4>
                <ul class="recommended" data-testid="recommended">
                    {let recommendations = recommendations.clone(); move || recommendations().into_iter().map(|(r, callsign, agency)| {
                        let unit_id = r.unit_id;
                        view! {
                            <li>
                                <span class="callsign">{callsign.clone()}</span>
                                <span class="agency">{agency}</span>
                                <span class="distance">{format!("{:.1} km", r.distance_m / 1000.0)}</span>
                                <span class="eta">{format!("~{} min", r.eta_s.div_ceil(60))}</span>
                                <button class="primary small" data-testid=format!("assign-{}", callsign) on:click=move |_| ui.command(
                                    format!("{} {callsign} → {id}", ui.tr("Assign")),
                                    move |who| async move { api::assign(&who, id, unit_id).await },
                                )>{move || ui.tr("Assign")}</button>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </Show>
            <h4>{move || ui.tr("Notes")}</h4>
            <ol class="notes">
                {incident.notes.iter().map(|n| view! {
                    <li><span class="actor">{let a = n.author.clone(); move || crate::ui::who(ui.lang.get(), &a)}</span> " " <span class="text">{n.text.clone()}</span></li>
                }).collect_view()}
            </ol>
            <Show when=move || open>
                <form class="note-form" on:submit=move |e| {
                    e.prevent_default();
                    let text = note.get_untracked();
                    if text.trim().is_empty() { return; }
                    ui.command(format!("{} {id}", ui.tr("Note on")), move |who| async move { api::add_note(&who, id, text).await });
                    note.set(String::new());
                }>
                    <input aria-label="Note" placeholder=move || ui.tr("Add a note") maxlength="2000" data-testid="note-input"
                        prop:value=move || note.get() on:input=move |e| note.set(event_target_value(&e))/>
                    <button type="submit">{move || ui.tr("Add")}</button>
                </form>
            </Show>
        </article>
    }
    .into_any()
}

/// The creation form, opened by a right-click or long-press on the map (or "+ New").
#[component]
pub fn PlaceIncident() -> impl IntoView {
    let ui = expect_context::<Ui>();
    let kind = RwSignal::new(IncidentKind::ALL[0]);
    let priority = RwSignal::new(Priority::P2);
    let address = RwSignal::new(String::new());
    let restricted = RwSignal::new(false);
    let submit = move |e: leptos::ev::SubmitEvent| {
        e.prevent_default();
        let Some((lon, lat)) = ui.placing.get_untracked() else { return };
        let address = Some(address.get_untracked())
            .filter(|a| !a.trim().is_empty())
            .unwrap_or_else(|| format!("{lat:.5}, {lon:.5}"));
        let body = CreateIncident {
            kind: kind.get_untracked(),
            priority: priority.get_untracked(),
            location: LonLat { lon, lat },
            area: None,
            address,
            // The signed-in user's agency leads what it opens.
            lead_agency: None,
            restricted: restricted.get_untracked(),
        };
        ui.command(ui.tr("New incident"), move |who| async move { api::create_incident(&who, &body).await });
        ui.placing.set(None);
    };
    view! {
        <Show when=move || ui.placing.get().is_some()>
            <form class="place-incident" data-testid="place-incident" on:submit=submit>
                <h3>{move || ui.tr("New incident")}</h3>
                <p class="where" data-testid="new-where">{move || ui.placing.get().map(|(lon, lat)| format!("{lat:.5}, {lon:.5}"))}</p>
                <p class="hint">{move || ui.tr("Click the map to move it.")}</p>
                <label>{move || ui.tr("Type")}
                    <select data-testid="new-kind" on:change=move |e| {
                        let v = event_target_value(&e);
                        if let Some(k) = IncidentKind::ALL.into_iter().find(|k| wire_name(k) == v) { kind.set(k) }
                    }>
                        {IncidentKind::ALL.into_iter().map(|k| view! { <option value=wire_name(&k)>{move || ui.tr(&words(k))}</option> }).collect_view()}
                    </select>
                </label>
                <label>{move || ui.tr("Priority")}
                    <select data-testid="new-priority" on:change=move |e| {
                        let v = event_target_value(&e);
                        if let Some(p) = Priority::ALL.into_iter().find(|p| format!("{p:?}") == v) { priority.set(p) }
                    }>
                        {Priority::ALL.into_iter().map(|p| view! { <option value=format!("{p:?}") selected=p == Priority::P2>{format!("{p:?}")}</option> }).collect_view()}
                    </select>
                </label>
                <label>{move || ui.tr("Address")}
                    <input data-testid="new-address" maxlength="200" prop:value=move || address.get() on:input=move |e| address.set(event_target_value(&e))/>
                </label>
                <label class="check">
                    <input type="checkbox" data-testid="new-restricted" prop:checked=move || restricted.get()
                        on:change=move |e| restricted.set(event_target_checked(&e))/>
                    {move || ui.trf("Restricted: only {} and the agencies it shares with see it", &[&ui.operator.get().agency])}
                </label>
                <div class="actions">
                    <button type="submit" class="primary" data-testid="create-incident">{move || ui.tr("Create")}</button>
                    <button type="button" on:click=move |_| ui.placing.set(None)>{move || ui.tr("Cancel")}</button>
                </div>
            </form>
        </Show>
    }
    .into_any()
}

/// Who sees the incident: a restricted one is marked; the lead agency restricts it, opens it to
/// the room, shares it with an agency and stops sharing (the server checks the same rules).
#[component]
fn NeedToKnow(incident: Incident) -> impl IntoView {
    let ui = expect_context::<Ui>();
    let id = incident.incident_id;
    let leads = incident.lead_agency.as_str() == ui.operator.get_untracked().agency;
    let restricted = incident.restricted;
    let shared: Vec<String> = incident.shared_with.iter().map(|a| a.to_string()).collect();
    let candidates: Vec<String> = {
        let lead = incident.lead_agency.to_string();
        ui.agency_codes().into_iter().filter(|c| *c != lead && !shared.contains(c)).collect()
    };
    let pick = RwSignal::new(String::new());
    let can_act = leads && !ui.read_only();
    view! {
        <div class="need-to-know" data-testid="need-to-know">
            {restricted.then(|| view! { <span class="restricted-badge" data-testid="card-restricted">{move || ui.tr("restricted")}</span> })}
            {(!shared.is_empty()).then(|| view! { <span class="muted">{move || ui.tr("Shared with")}</span> })}
            {shared.into_iter().map(|agency| {
                let testid = format!("shared-{agency}");
                let unshare = can_act.then(|| {
                    let (testid, title, code) = (format!("unshare-{agency}"), agency.clone(), agency.clone());
                    view! {
                        <button class="small" data-testid=testid
                            title=move || format!("{} {title}", ui.tr("Stop sharing with"))
                            on:click=move |_| {
                                let agency = code.clone();
                                ui.command(format!("{id} ↛ {agency}"), move |who| async move { api::unshare(&who, id, agency).await })
                            }>"×"</button>
                    }
                });
                view! { <span class="share-chip" data-testid=testid>{agency} {unshare}</span> }
            }).collect_view()}
            <Show when=move || can_act>
                <button class="small" data-testid="toggle-restricted" on:click=move |_| ui.command(
                    format!("{id} {}", if restricted { ui.tr("Open to the room") } else { ui.tr("Restrict") }),
                    move |who| async move { api::restrict(&who, id, !restricted).await },
                )>{move || if restricted { ui.tr("Open to the room") } else { ui.tr("Restrict") }}</button>
                <select aria-label=move || ui.tr("Share with") data-testid="share-pick" on:change=move |e| pick.set(event_target_value(&e))>
                    <option value="">{move || ui.tr("Share with")}</option>
                    {candidates.clone().into_iter().map(|c| view! { <option value=c.clone()>{c.clone()}</option> }).collect_view()}
                </select>
                <button class="small" data-testid="share" on:click=move |_| {
                    let agency = pick.get_untracked();
                    if agency.is_empty() {
                        return;
                    }
                    ui.command(format!("{id} → {agency}"), move |who| async move { api::share(&who, id, agency).await });
                }>{move || ui.tr("Share")}</button>
            </Show>
        </div>
    }
    .into_any()
}

//! `/audit`: the record for oversight, for auditors (judges, inspectors, parliamentary staff).
//! Who did what, filtered by user, agency, incident, kind and time; one entry's stored form, leaf
//! hash and inclusion proof against the latest signed checkpoint; an export of a range (checked
//! offline with `vigie audit verify --file` or `tools/verify_audit.py`); the last verification.
//! The server records every read of the record, including these.

use leptos::prelude::*;
use vigie_domain::api::{AuditEntry, AuditProof, VerificationStatus};
use vigie_domain::{LoggedEvent, State};

use crate::i18n::{t, Lang};
use crate::ui::{parse_utc, utc, who};

#[component]
pub fn AuditPage() -> impl IntoView {
    view! { <crate::live::WithLang page=|lang| view! { <Audit lang/> }.into_any()/> }
}

/// The filters as typed.
#[derive(Clone, Copy)]
struct Filters {
    user: RwSignal<String>,
    agency: RwSignal<String>,
    incident: RwSignal<String>,
    kind: RwSignal<String>,
    from: RwSignal<String>,
    to: RwSignal<String>,
}

impl Filters {
    /// The query string of `GET /api/v1/audit/records` (values percent-encoded).
    fn query(&self, before: Option<u64>) -> String {
        let mut q: Vec<(String, String)> = Vec::new();
        let mut put = |k: &str, v: String| {
            let v = v.trim().to_owned();
            if !v.is_empty() {
                q.push((k.into(), v));
            }
        };
        put("user", self.user.get_untracked());
        put("agency", self.agency.get_untracked().to_uppercase());
        put("incident", self.incident.get_untracked().trim_start_matches("INC-").to_owned());
        put("kind", self.kind.get_untracked());
        put("from_ms", parse_utc(&self.from.get_untracked()).map(|m| m.to_string()).unwrap_or_default());
        put("to_ms", parse_utc(&self.to.get_untracked()).map(|m| m.to_string()).unwrap_or_default());
        if let Some(b) = before {
            q.push(("before_seq".into(), b.to_string()));
        }
        q.iter().map(|(k, v)| format!("{k}={}", crate::api::encode_query(v))).collect::<Vec<_>>().join("&")
    }
}

/// One line for an entry, in the screen's language.
fn what(entry: &AuditEntry, lang: Lang) -> String {
    match &entry.event {
        Some(event) => {
            let logged =
                LoggedEvent { seq: entry.seq, at_ms: entry.at_ms, actor: entry.actor.clone(), event: event.clone() };
            crate::ui::describe(&State::default(), &logged, lang)
        }
        None => entry.kind.clone(),
    }
}

#[component]
fn Audit(lang: Lang) -> impl IntoView {
    let tr = move |english: &'static str| t(lang, english);
    let filters = Filters {
        user: RwSignal::new(String::new()),
        agency: RwSignal::new(String::new()),
        incident: RwSignal::new(String::new()),
        kind: RwSignal::new(String::new()),
        from: RwSignal::new(String::new()),
        to: RwSignal::new(String::new()),
    };
    let entries = RwSignal::new(Vec::<AuditEntry>::new());
    let next = RwSignal::new(None::<u64>);
    let open = RwSignal::new(None::<AuditProof>);
    let status = RwSignal::new(String::new());
    let verification = RwSignal::new(None::<VerificationStatus>);
    let ready = RwSignal::new(false);
    let search = move |before: Option<u64>| {
        let query = filters.query(before);
        #[cfg(feature = "hydrate")]
        wasm_bindgen_futures::spawn_local(async move {
            match crate::api::audit_records(&query).await {
                Ok(vigie_domain::api::AuditPage { entries: page, next_before_seq }) => {
                    if before.is_some() {
                        entries.update(|e| e.extend(page));
                    } else {
                        entries.set(page);
                    }
                    next.set(next_before_seq);
                    status.set(String::new());
                }
                Err(e) => status.set(e.message),
            }
            ready.set(true);
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = query;
    };
    let refresh_verification = move || {
        #[cfg(feature = "hydrate")]
        wasm_bindgen_futures::spawn_local(async move {
            if let Ok(v) = crate::api::verification().await {
                verification.set(Some(v));
            }
        });
    };
    Effect::new(move |_| {
        search(None);
        refresh_verification();
    });
    let show = move |seq: u64| {
        #[cfg(feature = "hydrate")]
        wasm_bindgen_futures::spawn_local(async move {
            match crate::api::audit_record(seq).await {
                Ok(p) => open.set(Some(p)),
                Err(e) => status.set(e.message),
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = seq;
    };
    let verify_now = move |_| {
        #[cfg(feature = "hydrate")]
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(e) = crate::api::verify_now().await {
                status.set(e.message);
            }
            // Poll until it is done (a day's log takes seconds).
            for _ in 0..600 {
                crate::ui::sleep_ms(1_000).await;
                if let Ok(v) = crate::api::verification().await {
                    let running = v.running;
                    verification.set(Some(v));
                    if !running {
                        break;
                    }
                }
            }
        });
    };
    let submit = move |e: leptos::ev::SubmitEvent| {
        e.prevent_default();
        search(None);
    };
    let export_href = move || {
        let from = parse_utc(&filters.from.get()).unwrap_or(0);
        let to = parse_utc(&filters.to.get()).unwrap_or(4_102_444_800_000);
        format!("/api/v1/audit/export?from_ms={from}&to_ms={to}")
    };
    let field = move |label: &'static str, id: &'static str, signal: RwSignal<String>, kind: &'static str| {
        view! {
            <label>{tr(label)}<input type=kind data-testid=id maxlength="64" prop:value=move || signal.get()
                on:input=move |e| signal.set(event_target_value(&e))/></label>
        }
    };
    view! {
        <div class="admin audit" data-testid="audit" data-ready=move || ready.get().to_string()>
            <header class="topbar"><h1>"Vigie"</h1><span class="replay-badge">{tr("Record for oversight")}</span>
                <a href="/">{tr("← Live room")}</a>
                <span class="outcome" role="status" data-testid="audit-status">{move || status.get()}</span>
            </header>
            <section class="panel" data-testid="verification">
                <h2>{tr("Verification")}</h2>
                {move || match verification.get() {
                    Some(VerificationStatus { last: Some(v), running }) => view! {
                        <p class=if v.ok { "verdict ok" } else { "verdict broken" } data-testid="verdict">
                            {if v.ok { tr("Intact") } else { tr("BROKEN") }} " — "
                            {format!("{} {} · {} {} · {} ms · {}", v.size, tr("events"), v.checkpoints, tr("checkpoints"), v.took_ms, utc(v.at_ms))}
                            {v.first_bad_seq.map(|s| format!(" · {} #{s}", tr("first broken event")))}
                            {running.then(|| format!(" · {}", tr("verifying…")))}
                        </p>
                        <pre class="report">{v.detail}</pre>
                    }.into_any(),
                    Some(VerificationStatus { last: None, running }) => view! {
                        <p data-testid="verdict">{if running { tr("verifying…") } else { tr("Not verified yet") }}</p>
                    }.into_any(),
                    None => ().into_any(),
                }}
                <button class="primary" data-testid="verify-now" on:click=verify_now>{tr("Verify now")}</button>
            </section>
            <section class="panel">
                <h2>{tr("Who did what")}</h2>
                <form class="form-grid" on:submit=submit data-testid="audit-filters">
                    {field("User", "filter-user", filters.user, "text")}
                    {field("Agency", "filter-agency", filters.agency, "text")}
                    {field("Incident", "filter-incident", filters.incident, "text")}
                    <label>{tr("Kind")}
                        <select data-testid="filter-kind" on:change=move |e| filters.kind.set(event_target_value(&e))>
                            <option value="">{tr("Everything but positions")}</option>
                            <option value="audit">{tr("Access and administration")}</option>
                            <option value="incident_shared">"incident_shared"</option>
                            <option value="incident_restricted">"incident_restricted"</option>
                            <option value="sharing_changed">"sharing_changed"</option>
                            <option value="message_posted">"message_posted"</option>
                            <option value="audit.signed_in">"audit.signed_in"</option>
                            <option value="audit.restricted_viewed">"audit.restricted_viewed"</option>
                            <option value="positions_reported">"positions_reported"</option>
                        </select>
                    </label>
                    {field("From (UTC)", "filter-from", filters.from, "datetime-local")}
                    {field("To (UTC)", "filter-to", filters.to, "datetime-local")}
                    <button type="submit" class="primary" data-testid="audit-search">{tr("Search")}</button>
                    <a class="button" data-testid="audit-export" href=export_href download>{tr("Export this range")}</a>
                </form>
                <table class="admin-table" data-testid="audit-entries">
                    <thead><tr><th>"#"</th><th>{tr("Time (UTC)")}</th><th>{tr("Who")}</th><th>{tr("What")}</th></tr></thead>
                    <tbody>
                        {move || entries.get().into_iter().map(|e| {
                            let seq = e.seq;
                            let purged = e.purged.clone().map(|rule| format!(" ({} {rule})", t(lang, "purged under")));
                            view! {
                                <tr data-testid=format!("entry-{seq}") data-kind=e.kind.clone() class="clickable" on:click=move |_| show(seq)>
                                    <td>{seq}</td><td>{utc(e.at_ms)}</td><td>{who(lang, &e.actor)}</td>
                                    <td>{what(&e, lang)}{purged}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
                <Show when=move || next.get().is_some()>
                    <button data-testid="audit-older" on:click=move |_| search(next.get_untracked())>{tr("Older")}</button>
                </Show>
            </section>
            <Show when=move || open.get().is_some()>
                {move || open.get().map(|p| view! {
                    <section class="panel proof" data-testid="audit-proof">
                        <h2>{format!("{} #{}", tr("Entry"), p.entry.seq)}</h2>
                        <p>{who(lang, &p.entry.actor)} " — " {what(&p.entry, lang)}</p>
                        <h3>{tr("As stored")}</h3>
                        <pre data-testid="stored">{serde_json::to_string_pretty(&p.stored).unwrap_or_default()}</pre>
                        <h3>{tr("Leaf hash")}</h3><code data-testid="leaf">{p.leaf.clone()}</code>
                        <h3>{format!("{} ({} {})", tr("Inclusion proof"), p.tree_size, tr("events"))}</h3>
                        <ol class="hashes" data-testid="inclusion">{p.proof.iter().map(|h| view! { <li><code>{h.clone()}</code></li> }).collect_view()}</ol>
                        <h3>{tr("Signed checkpoint")}</h3><pre data-testid="checkpoint">{p.checkpoint.clone()}</pre>
                    </section>
                })}
            </Show>
        </div>
    }
}

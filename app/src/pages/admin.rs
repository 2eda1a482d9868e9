//! `/admin`: the room's administration — accounts (add, roles, agency, disable, password), API
//! tokens (issue, shown once; revoke) and agency-pair sharing rules. Admins only (the server
//! refuses the page and every call to anyone else).

use leptos::prelude::*;
use vigie_domain::api::{Account, ApiToken, SharingRule};
use vigie_domain::authority::{Role, Scope};

use crate::i18n::{t, Lang};

#[component]
pub fn AdminPage() -> impl IntoView {
    view! { <crate::live::WithLang page=|lang| view! { <Admin lang/> }.into_any()/> }
}

/// What the page holds, reloaded after every change.
#[derive(Clone, Copy)]
struct Data {
    accounts: RwSignal<Vec<Account>>,
    tokens: RwSignal<Vec<ApiToken>>,
    rules: RwSignal<Vec<SharingRule>>,
    policies: RwSignal<Vec<vigie_domain::api::AgencyPolicy>>,
    status: RwSignal<String>,
}

impl Data {
    fn reload(self) {
        #[cfg(feature = "hydrate")]
        wasm_bindgen_futures::spawn_local(async move {
            match crate::api::accounts().await {
                Ok(a) => self.accounts.set(a),
                Err(e) => self.status.set(e.message),
            }
            if let Ok(t) = crate::api::api_tokens().await {
                self.tokens.set(t);
            }
            if let Ok(r) = crate::api::sharing_rules().await {
                self.rules.set(r);
            }
            if let Ok(p) = crate::api::agency_policies().await {
                self.policies.set(p);
            }
        });
    }

    /// Runs a change, says how it went, and reloads.
    fn run<T: 'static>(self, done: String, work: impl std::future::Future<Output = crate::api::Answer<T>> + 'static) {
        #[cfg(feature = "hydrate")]
        wasm_bindgen_futures::spawn_local(async move {
            match work.await {
                Ok(_) => self.status.set(done),
                Err(e) => self.status.set(e.message),
            }
            self.reload();
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (done, work);
    }
}

fn role_names(roles: &[Role]) -> String {
    roles.iter().map(|r| r.name()).collect::<Vec<_>>().join(", ")
}

#[component]
fn Admin(lang: Lang) -> impl IntoView {
    let tr = move |english: &'static str| t(lang, english);
    let data = Data {
        accounts: RwSignal::new(Vec::new()),
        tokens: RwSignal::new(Vec::new()),
        rules: RwSignal::new(Vec::new()),
        policies: RwSignal::new(Vec::new()),
        status: RwSignal::new(String::new()),
    };
    let ready = RwSignal::new(false);
    Effect::new(move |_| {
        data.reload();
        ready.set(true);
    });
    view! {
        <div class="admin" data-testid="admin" data-ready=move || ready.get().to_string()>
            <header class="topbar"><h1>"Vigie"</h1><span class="replay-badge">{tr("Administration")}</span>
                <a href="/">{tr("← Live room")}</a>
                <span class="outcome" role="status" data-testid="admin-status">{move || data.status.get()}</span>
            </header>
            <Accounts data lang/>
            <Tokens data lang/>
            <Sharing data lang/>
            <Policies data lang/>
        </div>
    }
}

#[component]
fn Accounts(data: Data, lang: Lang) -> impl IntoView {
    let tr = move |english: &'static str| t(lang, english);
    let (login, name, agency, password) = (
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
    );
    let roles = RwSignal::new(std::collections::BTreeSet::<Role>::new());
    let add = move |e: leptos::ev::SubmitEvent| {
        e.prevent_default();
        let body = vigie_domain::api::NewAccount {
            login: login.get_untracked().trim().to_owned(),
            display_name: Some(name.get_untracked()).filter(|n| !n.trim().is_empty()),
            agency: agency.get_untracked().trim().to_uppercase(),
            roles: roles.get_untracked().into_iter().collect(),
            password: password.get_untracked(),
        };
        password.set(String::new());
        let done = format!("{} {}", t(lang, "Account added:"), body.login);
        data.run(done, async move { crate::api::add_account(&body).await });
    };
    view! {
        <section class="panel">
            <h2>{tr("Accounts")}</h2>
            <table class="admin-table" data-testid="accounts">
                <thead><tr><th>{tr("Login")}</th><th>{tr("Name")}</th><th>{tr("Agency")}</th><th>{tr("Roles")}</th><th></th></tr></thead>
                <tbody>
                    {move || data.accounts.get().into_iter().map(|a| {
                        let who = a.login.clone();
                        let disabled = a.disabled;
                        let toggle = move |_| {
                            let (who, changes) = (who.clone(), vigie_domain::api::AccountChanges { disabled: Some(!disabled), ..Default::default() });
                            let done = format!("{who}: {}", t(lang, if disabled { "enabled" } else { "disabled" }));
                            data.run(done, async move { crate::api::change_account(&who, &changes).await });
                        };
                        view! {
                            <tr data-testid=format!("account-{}", a.login) class:disabled=disabled>
                                <td>{a.login.clone()}</td><td>{a.display_name.clone()}</td><td>{a.agency.clone()}</td>
                                <td>{role_names(&a.roles)}</td>
                                <td><button class="small" data-testid=format!("toggle-{}", a.login) on:click=toggle>
                                    {if disabled { t(lang, "Enable") } else { t(lang, "Disable") }}</button>
                                    " " <button class="small" data-testid=format!("reset-2fa-{}", a.login) on:click={
                                        let who = a.login.clone();
                                        move |_| {
                                            let who = who.clone();
                                            let changes = vigie_domain::api::AccountChanges { reset_second_factor: Some(true), ..Default::default() };
                                            let done = format!("{who}: {}", t(lang, "second factor reset"));
                                            data.run(done, async move { crate::api::change_account(&who, &changes).await });
                                        }
                                    }>{t(lang, "Reset second factor")}</button></td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            <form class="form-grid" on:submit=add data-testid="add-account">
                <label>{tr("Login")}<input data-testid="new-login" maxlength="64" autocomplete="off" prop:value=move || login.get() on:input=move |e| login.set(event_target_value(&e))/></label>
                <label>{tr("Name")}<input data-testid="new-name" maxlength="80" prop:value=move || name.get() on:input=move |e| name.set(event_target_value(&e))/></label>
                <label>{tr("Agency")}<input data-testid="new-agency" maxlength="16" prop:value=move || agency.get() on:input=move |e| agency.set(event_target_value(&e))/></label>
                <label>{tr("Password")}<input data-testid="new-password" type="password" autocomplete="new-password" maxlength="128" prop:value=move || password.get() on:input=move |e| password.set(event_target_value(&e))/></label>
                <fieldset class="roles"><legend>{tr("Roles")}</legend>
                    {Role::ALL.into_iter().map(|r| view! {
                        <label class="check"><input type="checkbox" data-testid=format!("new-role-{}", r.name())
                            on:change=move |e| roles.update(|s| { if event_target_checked(&e) { s.insert(r); } else { s.remove(&r); } })/>
                            {t(lang, r.name())}</label>
                    }).collect_view()}
                </fieldset>
                <button type="submit" class="primary" data-testid="add-account-submit">{tr("Add account")}</button>
            </form>
        </section>
    }
}

#[component]
fn Tokens(data: Data, lang: Lang) -> impl IntoView {
    let tr = move |english: &'static str| t(lang, english);
    let (login, name) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
    let scopes = RwSignal::new(std::collections::BTreeSet::<Scope>::new());
    let shown = RwSignal::new(None::<String>);
    let issue = move |e: leptos::ev::SubmitEvent| {
        e.prevent_default();
        let body = vigie_domain::api::NewApiToken {
            login: login.get_untracked().trim().to_owned(),
            name: name.get_untracked(),
            scopes: scopes.get_untracked().into_iter().collect(),
        };
        #[cfg(feature = "hydrate")]
        wasm_bindgen_futures::spawn_local(async move {
            match crate::api::issue_token(&body).await {
                Ok(issued) => {
                    shown.set(Some(issued.token));
                    data.status.set(t(lang, "Token issued: copy it now, it is shown once"));
                }
                Err(e) => data.status.set(e.message),
            }
            data.reload();
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (body, shown);
    };
    view! {
        <section class="panel">
            <h2>{tr("API tokens")}</h2>
            <table class="admin-table" data-testid="tokens">
                <thead><tr><th>"#"</th><th>{tr("Account")}</th><th>{tr("Name")}</th><th>{tr("Scopes")}</th><th></th></tr></thead>
                <tbody>
                    {move || data.tokens.get().into_iter().map(|tok| {
                        let id = tok.id;
                        let revoked = tok.revoked_at_ms.is_some();
                        let scopes: Vec<&str> = tok.scopes.iter().map(|s| s.name()).collect();
                        view! {
                            <tr data-testid=format!("token-{id}") class:disabled=revoked>
                                <td>{id}</td><td>{tok.login.clone()}</td><td>{tok.name.clone()}</td><td>{scopes.join(", ")}</td>
                                <td>{if revoked { view! { <span class="muted">{t(lang, "revoked")}</span> }.into_any() } else {
                                    view! { <button class="small" data-testid=format!("revoke-{id}") on:click=move |_| {
                                        data.run(format!("{} {id}", t(lang, "Revoked token")), async move { crate::api::revoke_token(id).await })
                                    }>{t(lang, "Revoke")}</button> }.into_any()
                                }}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            <Show when=move || shown.get().is_some()>
                <p class="token-once" data-testid="token-once"><code>{move || shown.get().unwrap_or_default()}</code></p>
            </Show>
            <form class="form-grid" on:submit=issue data-testid="issue-token">
                <label>{tr("Account")}<input data-testid="token-login" maxlength="64" prop:value=move || login.get() on:input=move |e| login.set(event_target_value(&e))/></label>
                <label>{tr("Name")}<input data-testid="token-name" maxlength="64" prop:value=move || name.get() on:input=move |e| name.set(event_target_value(&e))/></label>
                <fieldset class="roles"><legend>{tr("Scopes")}</legend>
                    {Scope::ALL.into_iter().map(|s| view! {
                        <label class="check"><input type="checkbox" data-testid=format!("scope-{}", s.name().replace(':', "-"))
                            on:change=move |e| scopes.update(|set| { if event_target_checked(&e) { set.insert(s); } else { set.remove(&s); } })/>
                            {s.name()}</label>
                    }).collect_view()}
                </fieldset>
                <button type="submit" class="primary" data-testid="issue-token-submit">{tr("Issue token")}</button>
            </form>
        </section>
    }
}

#[component]
fn Sharing(data: Data, lang: Lang) -> impl IntoView {
    let tr = move |english: &'static str| t(lang, english);
    let (from, to) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
    let set = move |shared: bool| {
        let rule = SharingRule {
            from: from.get_untracked().trim().to_uppercase(),
            to: to.get_untracked().trim().to_uppercase(),
            shared,
        };
        let done = format!("{} → {}", rule.from, rule.to);
        data.run(done, async move { crate::api::set_sharing(&rule).await });
    };
    view! {
        <section class="panel">
            <h2>{tr("Sharing between agencies")}</h2>
            <p class="hint">{tr("An agency sees every restricted incident of the agencies that share with it.")}</p>
            <ul class="rules" data-testid="sharing-rules">
                {move || data.rules.get().into_iter().map(|r| view! {
                    <li data-testid=format!("rule-{}-{}", r.from, r.to)>{r.from.clone()} " → " {r.to.clone()}</li>
                }).collect_view()}
            </ul>
            <div class="form-grid">
                <label>{tr("From")}<input data-testid="rule-from" maxlength="16" prop:value=move || from.get() on:input=move |e| from.set(event_target_value(&e))/></label>
                <label>{tr("To")}<input data-testid="rule-to" maxlength="16" prop:value=move || to.get() on:input=move |e| to.set(event_target_value(&e))/></label>
                <button class="primary" data-testid="rule-share" on:click=move |_| set(true)>{tr("Share")}</button>
                <button data-testid="rule-unshare" on:click=move |_| set(false)>{tr("Stop sharing")}</button>
            </div>
        </section>
    }
}

#[component]
fn Policies(data: Data, lang: Lang) -> impl IntoView {
    let tr = move |english: &'static str| t(lang, english);
    let agency = RwSignal::new(String::new());
    let set = move |required: bool| {
        let policy = vigie_domain::api::AgencyPolicy {
            agency: agency.get_untracked().trim().to_uppercase(),
            require_second_factor: required,
        };
        let done = format!(
            "{}: {}",
            policy.agency,
            t(lang, if required { "second factor required" } else { "second factor optional" })
        );
        data.run(done, async move { crate::api::set_agency_policy(&policy).await });
    };
    view! {
        <section class="panel">
            <h2>{tr("Second factor by agency")}</h2>
            <p class="hint">{tr("Admins and auditors always need one. An agency may require it of all its accounts.")}</p>
            <ul class="rules" data-testid="policies">
                {move || data.policies.get().into_iter().map(|p| view! { <li>{p.agency}</li> }).collect_view()}
            </ul>
            <div class="form-grid">
                <label>{tr("Agency")}<input data-testid="policy-agency" maxlength="16" prop:value=move || agency.get() on:input=move |e| agency.set(event_target_value(&e))/></label>
                <button class="primary" data-testid="policy-require" on:click=move |_| set(true)>{tr("Require")}</button>
                <button data-testid="policy-lift" on:click=move |_| set(false)>{tr("Make optional")}</button>
            </div>
        </section>
    }
}

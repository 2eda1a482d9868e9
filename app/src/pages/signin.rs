//! `/signin`: who is at this screen. A login and password (the server answers the same whatever
//! was wrong, and slows repeated failures), then back to the page the browser came from. In a
//! demo only, the demo's accounts are offered for one click. Sized for a tablet as for a desk.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use vigie_domain::api::DemoAccount;
use vigie_domain::authority::Role;

use crate::i18n::{t, Lang};

/// Where to go after signing in: a path of this room only (never another site: `//host` or a
/// scheme is refused), else the room.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/".to_owned(),
    }
}

/// The page for an account's roles when it came with no `next`: a trainee follows replays.
fn home_for(roles: &[Role]) -> &'static str {
    if roles.iter().any(|r| vigie_domain::authority::roles::READ_ROOM.contains(r)) {
        "/"
    } else {
        "/replay"
    }
}

#[component]
pub fn SignIn() -> impl IntoView {
    view! { <crate::live::WithLang page=|lang| view! { <Form lang/> }.into_any()/> }
}

#[component]
fn Form(lang: Lang) -> impl IntoView {
    let lang = RwSignal::new(lang);
    let tr = move |english: &'static str| move || t(lang.get(), english);
    let query = use_query_map();
    let next = move || query.with_untracked(|q| q.get("next"));
    let login = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    // Asked for once the password was right and the account has a second factor.
    let code = RwSignal::new(String::new());
    let needs_code = RwSignal::new(false);
    let demo = RwSignal::new(Vec::<DemoAccount>::new());
    // Effects run in the browser only: `data-ready` tells a test the form now acts.
    let ready = RwSignal::new(false);
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        wasm_bindgen_futures::spawn_local(async move {
            if let Ok(accounts) = crate::api::demo_accounts().await {
                demo.set(accounts);
            }
        });
        ready.set(true);
    });
    let go = move |who: String, secret: String| {
        busy.set(true);
        error.set(String::new());
        #[cfg(feature = "hydrate")]
        wasm_bindgen_futures::spawn_local(async move {
            let given = Some(code.get_untracked().trim().to_owned()).filter(|c| !c.is_empty());
            match crate::api::sign_in(who, secret, given).await {
                Ok(me) => {
                    let to = match next() {
                        Some(n) => safe_next(Some(&n)),
                        None => home_for(&me.roles).to_owned(),
                    };
                    // An account that must have a second factor and has none sets it up first.
                    let to =
                        if me.enrolling { format!("/enrol?next={}", js_sys::encode_uri_component(&to)) } else { to };
                    let _ = window().location().set_href(&to);
                }
                Err(failure) => {
                    use vigie_domain::api::ErrorCode;
                    busy.set(false);
                    code.set(String::new());
                    if failure.code == Some(ErrorCode::SecondFactorRequired) {
                        needs_code.set(true);
                        error.set(t(lang.get_untracked(), "Enter the code from your authenticator app"));
                        return;
                    }
                    password.set(String::new());
                    error.set(match failure.code {
                        Some(ErrorCode::SignInFailed) if needs_code.get_untracked() => {
                            t(lang.get_untracked(), "Wrong login, password or code")
                        }
                        Some(ErrorCode::SignInFailed) => t(lang.get_untracked(), "Wrong login or password"),
                        _ => failure.message,
                    });
                }
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (who, secret, next, home_for);
    };
    let submit = move |e: leptos::ev::SubmitEvent| {
        e.prevent_default();
        go(login.get_untracked().trim().to_owned(), password.get_untracked());
    };
    view! {
        <div class="signin" data-testid="signin" data-ready=move || ready.get().to_string()>
            <form class="signin-card" on:submit=submit>
                <header>
                    <h1>"Vigie"</h1>
                    <button type="button" class="small lang-button" data-testid="lang" title="Français / English"
                        on:click=move |_| lang.update(|l| *l = l.other())>
                        {move || lang.get().other().code().to_uppercase()}
                    </button>
                </header>
                <p class="hint">{tr("Sign in to the operations room")}</p>
                <label>{tr("Login")}
                    <input data-testid="login" name="username" autocomplete="username" autocapitalize="none"
                        spellcheck="false" maxlength="64" required prop:value=move || login.get()
                        on:input=move |e| login.set(event_target_value(&e))/>
                </label>
                <label>{tr("Password")}
                    <input data-testid="password" type="password" name="password" autocomplete="current-password"
                        maxlength="128" required prop:value=move || password.get()
                        on:input=move |e| password.set(event_target_value(&e))/>
                </label>
                <Show when=move || needs_code.get()>
                    <label>{tr("Code")}
                        <input data-testid="code" name="one-time-code" autocomplete="one-time-code" inputmode="numeric"
                            maxlength="6" prop:value=move || code.get() on:input=move |e| code.set(event_target_value(&e))/>
                    </label>
                </Show>
                <p class="error" role="alert" data-testid="signin-error">{move || error.get()}</p>
                <button type="submit" class="primary" data-testid="signin-submit" disabled=move || busy.get()>
                    {tr("Sign in")}
                </button>
            </form>
            <Show when=move || !demo.get().is_empty()>
                <section class="demo-accounts" data-testid="demo-accounts">
                    <h2>{tr("Demo: sign in as")}</h2>
                    <ul>
                        {move || demo.get().into_iter().map(|a| {
                            let who = a.login.clone();
                            let roles: Vec<&str> = a.roles.iter().map(|r| r.name()).collect();
                            let roles = roles.join(", ");
                            view! {
                                <li>
                                    <button type="button" data-testid=format!("demo-{}", a.login) disabled=move || busy.get()
                                        on:click=move |_| go(who.clone(), "demo".into())>
                                        <span class="login">{a.login.clone()}</span>
                                        <span class="agency">{a.agency.clone()}</span>
                                        <span class="roles">{move || roles.split(", ").map(|r| t(lang.get(), r)).collect::<Vec<_>>().join(", ")}</span>
                                    </button>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                    <p class="hint">{tr("Demo accounts exist only in vigie demo; their password is demo.")}</p>
                </section>
            </Show>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_sign_in_the_browser_goes_only_to_a_page_of_this_room() {
        assert_eq!(safe_next(Some("/overview?x=1")), "/overview?x=1");
        assert_eq!(safe_next(Some("//evil.example/")), "/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }
}

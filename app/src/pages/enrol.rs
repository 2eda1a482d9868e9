//! `/enrol`: setting up a second factor (TOTP). The server draws the QR code of a new secret; the
//! user scans it with an authenticator app (or types the secret), enters the first code, and goes
//! on to where it was going. Accounts that need one (admin, auditor, or by their agency's policy)
//! are sent here by the server until it is done.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::signin::safe_next;
use crate::i18n::{t, Lang};

#[component]
pub fn EnrolPage() -> impl IntoView {
    view! { <crate::live::WithLang page=|lang| view! { <Enrol lang/> }.into_any()/> }
}

#[component]
fn Enrol(lang: Lang) -> impl IntoView {
    let tr = move |english: &'static str| t(lang, english);
    let query = use_query_map();
    let qr = RwSignal::new(String::new());
    let secret = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    let error = RwSignal::new(String::new());
    let ready = RwSignal::new(false);
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        wasm_bindgen_futures::spawn_local(async move {
            match crate::api::begin_totp().await {
                Ok(e) => {
                    qr.set(e.qr_svg);
                    secret.set(e.secret);
                }
                Err(f) => error.set(f.message),
            }
            ready.set(true);
        });
    });
    let confirm = move |e: leptos::ev::SubmitEvent| {
        e.prevent_default();
        let given = code.get_untracked().trim().to_owned();
        #[cfg(feature = "hydrate")]
        wasm_bindgen_futures::spawn_local(async move {
            match crate::api::confirm_totp(given).await {
                Ok(_) => {
                    let to = safe_next(query.with_untracked(|q| q.get("next")).as_deref());
                    let _ = window().location().set_href(&to);
                }
                Err(_) => {
                    code.set(String::new());
                    error.set(t(lang, "That is not the current code; try the next one"));
                }
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (given, query, safe_next);
    };
    view! {
        <div class="signin" data-testid="enrol" data-ready=move || ready.get().to_string()>
            <form class="signin-card" on:submit=confirm>
                <header><h1>"Vigie"</h1></header>
                <p class="hint">{tr("This account needs a second factor. Scan the code with an authenticator app, then enter the code it shows.")}</p>
                // The server's own SVG drawing of the otpauth:// URL (no script, no user text in it).
                <div class="qr" data-testid="qr" inner_html=move || qr.get()></div>
                <p class="hint">{tr("Or type this key:")} " " <code data-testid="totp-secret">{move || secret.get()}</code></p>
                <label>{tr("Code")}
                    <input data-testid="enrol-code" name="one-time-code" autocomplete="one-time-code" inputmode="numeric"
                        maxlength="6" prop:value=move || code.get() on:input=move |e| code.set(event_target_value(&e))/>
                </label>
                <p class="error" role="alert" data-testid="enrol-error">{move || error.get()}</p>
                <button type="submit" class="primary" data-testid="enrol-submit">{tr("Confirm")}</button>
            </form>
        </div>
    }
}

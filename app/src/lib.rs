//! Vigie's UI, rendered on the server and hydrated in the browser. The room's picture in the
//! browser comes from the same reducer as the server's (`vigie_domain::State::apply`), fed by the
//! WebSocket stream.
//!
//! Layout, and the rule that keeps it free of cycles — each layer uses only those below it:
//! - [`pages`]: the routes (`/`, `/overview`, `/replay`, `/replay/:id`, `/signin`); each loads a room (or none) and lays out panels.
//! - [`room`]: the panels (map, incidents, units, messages, timeline, replay bar) and the screen's
//!   shared state ([`room::Ui`]).
//! - [`ui`]: what pages and panels share — formatting, the one palette, summary tiles.
//! - [`api`]: the one typed client of the HTTP API.
//! - [`live`]: the room as the browser holds it, fed by the stream, and the page's mode (live or replay).
//! - [`i18n`]: French and English.

// Leptos view types nest deeply; the release (hydrate) build of the room needs more than 128.
#![recursion_limit = "256"]

pub mod api;
pub mod i18n;
pub mod live;
pub mod pages;
pub mod room;
pub mod ui;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::SsrMode;
use leptos_router::{ParamSegment, StaticSegment};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <link rel="stylesheet" href="/vendor/maplibre-gl/maplibre-gl.css"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    #[cfg(feature = "ssr")]
    ssr::send_content_security_policy();
    view! {
        <Stylesheet id="vigie" href="/pkg/vigie.css"/>
        <Title text="Vigie"/>
        // The palette's colours, for the stylesheet (see `ui::palette`).
        <div class="palette" style=ui::palette::css_variables()>
        <Router>
            <Routes fallback=|| view! { <p class="not-found">"Page not found."</p> }>
                // Async: the server sends the page with the room already in it, so a wall screen shows real
                // figures before (and without) the wasm.
                <Route path=StaticSegment("") view=pages::room::RoomPage ssr=SsrMode::Async/>
                <Route path=StaticSegment("overview") view=pages::overview::Overview ssr=SsrMode::Async/>
                <Route path=StaticSegment("replay") view=pages::replay::ReplayHome/>
                <Route path=StaticSegment("signin") view=pages::signin::SignIn/>
                <Route path=StaticSegment("admin") view=pages::admin::AdminPage/>
                <Route path=StaticSegment("audit") view=pages::audit::AuditPage/>
                <Route path=StaticSegment("enrol") view=pages::enrol::EnrolPage/>
                <Route path=(StaticSegment("replay"), ParamSegment("id")) view=pages::replay::ReplayRoomPage ssr=SsrMode::Async/>
            </Routes>
        </Router>
        </div>
    }
}

/// What only the server side needs.
#[cfg(feature = "ssr")]
pub mod ssr {
    use std::sync::Arc;

    /// The Content-Security-Policy for a page whose inline scripts carry `nonce` (Leptos puts a
    /// fresh one on its hydration bootstrap for every response), or for any other answer
    /// (`None`: no inline script may run). Everything loads from the room itself, nothing may frame
    /// it, and WebAssembly may compile. Styles may be inline (components set `style`).
    pub fn content_security_policy(nonce: Option<&str>) -> String {
        let scripts = match nonce {
            Some(n) => format!("'self' 'nonce-{n}' 'wasm-unsafe-eval'"),
            None => "'self' 'wasm-unsafe-eval'".to_owned(),
        };
        format!(
            "default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; \
             font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'self'; \
             form-action 'self'; frame-ancestors 'none'"
        )
    }

    /// Sends the page's policy with this response's nonce (the server's guard leaves it in place).
    pub fn send_content_security_policy() {
        use leptos::prelude::use_context;
        let (Some(nonce), Some(response)) = (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>())
        else {
            return;
        };
        if let Ok(value) = http::HeaderValue::from_str(&content_security_policy(Some(&nonce))) {
            response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
        }
    }

    /// Reads the live room on the server as a principal sees it; provided by the server crate.
    #[derive(Clone)]
    pub struct RoomSource(
        pub Arc<dyn Fn(&vigie_domain::authority::Principal) -> crate::live::InitialRoom + Send + Sync>,
    );

    /// A replay session's room, or why not.
    pub type ReplayRoom =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<crate::live::InitialRoom, String>> + Send>>;

    /// Reads a replay session's room at its clock's moment; provided by the server crate.
    #[derive(Clone)]
    pub struct ReplaySource(pub Arc<dyn Fn(String, vigie_domain::authority::Principal) -> ReplayRoom + Send + Sync>);

    /// The signed-in principal of the request being rendered (the server's gate put it there), or
    /// why not.
    pub fn principal() -> Result<vigie_domain::authority::Principal, leptos::prelude::ServerFnError> {
        leptos::prelude::use_context::<http::request::Parts>()
            .and_then(|p| p.extensions.get::<vigie_domain::authority::Principal>().cloned())
            .ok_or_else(|| leptos::prelude::ServerFnError::new("sign in first"))
    }
}

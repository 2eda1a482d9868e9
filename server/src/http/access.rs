//! Who may call what. Every API route is registered through [`Routes`] with a [`Rule`] — there is
//! no other way to add one — and the rule is checked before the handler runs: no credential → 401,
//! a role the rule does not name or a token without the rule's scope → 403 naming what is missing.
//! [`Routes::table`] lists every route with its rule; the route-table test walks it, so a new
//! route is tested the day it is added.
//!
//! The rule is the coarse gate (which roles reach an endpoint at all); what a principal may do to
//! which unit or incident is decided per command in the domain
//! ([`vigie_domain::authority::authorize`]), and what it may read by [`vigie_domain::visibility`].

use axum::extract::{FromRequestParts, Request, State};
use axum::handler::Handler;
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use axum::Router;
use vigie_domain::api::ErrorCode;
use vigie_domain::authority::{Role, Scope};

use crate::http::error::ApiError;
use crate::identity::caller::{self, Caller};
use crate::AppState;

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Anyone, signed in or not: signing in, health, the API's description.
    Public,
    /// Any signed-in caller, also a session that may only enrol its second factor.
    Session,
    /// A caller with one of these roles, through a credential that has this scope.
    Roles(&'static [Role], Scope),
}

impl Rule {
    pub fn admits(&self, role: Role) -> bool {
        match self {
            Rule::Public | Rule::Session => true,
            Rule::Roles(roles, _) => roles.contains(&role),
        }
    }
}

pub use vigie_domain::authority::roles;

/// One route and its rule.
#[derive(Clone, Debug)]
pub struct RouteRule {
    pub method: Method,
    pub path: &'static str,
    pub rule: Rule,
}

/// Routes with their rules: the only way a route is added to the API.
pub struct Routes {
    router: Router<AppState>,
    table: Vec<RouteRule>,
}

impl Default for Routes {
    fn default() -> Self {
        Routes { router: Router::new(), table: Vec::new() }
    }
}

impl Routes {
    pub fn get<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, rule: Rule, handler: H) -> Self {
        self.add(Method::GET, path, rule, axum::routing::get(handler))
    }

    pub fn post<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, rule: Rule, handler: H) -> Self {
        self.add(Method::POST, path, rule, axum::routing::post(handler))
    }

    pub fn patch<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, rule: Rule, handler: H) -> Self {
        self.add(Method::PATCH, path, rule, axum::routing::patch(handler))
    }

    pub fn delete<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, rule: Rule, handler: H) -> Self {
        self.add(Method::DELETE, path, rule, axum::routing::delete(handler))
    }

    fn add(mut self, method: Method, path: &'static str, rule: Rule, handler: MethodRouter<AppState>) -> Self {
        let gated = handler
            .route_layer(axum::middleware::from_fn(move |request: Request, next: Next| gate(rule, request, next)));
        self.router = self.router.route(path, gated);
        self.table.push(RouteRule { method, path, rule });
        self
    }

    pub fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.table.extend(other.table);
        self
    }

    /// Wraps these routes' router (a body limit, a middleware) without touching their rules.
    pub fn wrap(mut self, f: impl FnOnce(Router<AppState>) -> Router<AppState>) -> Self {
        self.router = f(self.router);
        self
    }

    pub fn table(&self) -> &[RouteRule] {
        &self.table
    }

    pub fn into_router(self) -> Router<AppState> {
        self.router
    }
}

fn unauthenticated() -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, ErrorCode::Unauthenticated, "sign in first (or send an API token)")
}

/// Marks a request whose credential could not be checked (the store did not answer).
#[derive(Clone, Copy)]
struct Unreadable;

async fn gate(rule: Rule, request: Request, next: Next) -> Response {
    if rule == Rule::Public {
        return next.run(request).await;
    }
    if request.extensions().get::<Unreadable>().is_some() {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Unavailable,
            "the room's store cannot be read; retry in a moment",
        )
        .retry_after(1)
        .into_response();
    }
    let Some(caller) = request.extensions().get::<Caller>() else { return unauthenticated().into_response() };
    let Rule::Roles(roles, scope) = rule else { return next.run(request).await };
    if caller.enrolling {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::EnrolmentRequired,
            "set up your second factor first (an authenticator app): this account needs one",
        )
        .into_response();
    }
    if !caller.principal.has_any(roles) {
        let names: Vec<&str> = roles.iter().map(|r| r.name()).collect();
        return ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::RoleRequired,
            format!("this needs the role {}", names.join(" or ")),
        )
        .into_response();
    }
    if !caller.may(scope) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::ScopeRequired,
            format!("this token lacks the scope {}", scope.name()),
        )
        .into_response();
    }
    next.run(request).await
}

/// Resolves the request's credential (if it carries one) into a [`Caller`] in its extensions, for
/// the gate, the handlers and the pages. A credential that is not live leaves none: the gate
/// answers 401 and a page sends the browser to sign in.
pub async fn authenticate(State(app): State<AppState>, mut request: Request, next: Next) -> Response {
    // The site's own files (scripts, styles, the map's library) are the same for everyone: a page's
    // dozen of them do not each read the sessions table.
    let path = request.uri().path();
    let static_file = path.starts_with("/pkg/") || path.starts_with("/vendor/") || path == "/favicon.svg";
    if !static_file && caller::carries_credential(request.headers()) {
        match caller::resolve(&app.store, request.headers(), app.clock.now_ms()).await {
            Ok(Some(caller)) => {
                // The principal alone, for the UI's server functions (which know no server type).
                request.extensions_mut().insert(caller.principal.clone());
                request.extensions_mut().insert(caller);
            }
            Ok(None) => {}
            Err(e) => {
                // A public route (health above all) still answers; a gated one says why it cannot.
                tracing::error!(error = %format!("{e:#}"), "reading a credential");
                request.extensions_mut().insert(Unreadable);
            }
        }
    }
    next.run(request).await
}

/// The pages and who may open them. A page asked without a session sends the browser to sign in
/// (and back after); one the caller's roles do not open answers 403 with a way out.
pub const PAGES: &[(&str, &[Role])] = &[
    ("/", roles::READ_ROOM),
    ("/overview", roles::READ_ROOM),
    ("/replay", roles::FOLLOW_REPLAYS),
    ("/replay/", roles::FOLLOW_REPLAYS),
    ("/admin", roles::ADMIN),
    ("/audit", roles::AUDIT),
    ("/enrol", roles::ANYONE),
];

/// The roles a page path needs, if it is a page.
pub fn page_roles(path: &str) -> Option<&'static [Role]> {
    PAGES
        .iter()
        .find(|(p, _)| if p.ends_with('/') && p.len() > 1 { path.starts_with(p) } else { path == *p })
        .map(|(_, r)| *r)
}

/// Sends a browser without a session from a page to the sign-in page, and refuses a page the
/// caller's roles do not open. The UI's server functions (`/leptos/…`) check the principal
/// themselves.
pub async fn pages(request: Request, next: Next) -> Response {
    let Some(needs) = page_roles(request.uri().path()) else { return next.run(request).await };
    match request.extensions().get::<Caller>() {
        None => {
            let back = request.uri().path_and_query().map_or("/", |p| p.as_str());
            let to = format!("/signin?next={}", urlencoding_path(back));
            axum::response::Redirect::to(&to).into_response()
        }
        // A session that must enrol its second factor goes to do so, then back.
        Some(caller) if caller.enrolling && request.uri().path() != "/enrol" => {
            let back = request.uri().path_and_query().map_or("/", |p| p.as_str());
            axum::response::Redirect::to(&format!("/enrol?next={}", urlencoding_path(back))).into_response()
        }
        Some(caller) if !caller.principal.has_any(needs) => {
            let body = format!(
                "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Vigie</title></head><body>\
                 <p>Your roles do not open this page. / Vos rôles n'ouvrent pas cette page.</p>\
                 <p><a href=\"{}\">Vigie</a> · <a href=\"/signin\">Sign in as someone else / Changer d'utilisateur</a></p></body></html>",
                if caller.principal.has_any(roles::READ_ROOM) { "/" } else { "/replay" }
            );
            (StatusCode::FORBIDDEN, axum::response::Html(body)).into_response()
        }
        Some(_) => next.run(request).await,
    }
}

/// `path` with what a query value may not hold escaped (it is the room's own path, from the URI).
fn urlencoding_path(path: &str) -> String {
    path.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The authenticated caller of a gated route (401 when there is none).
pub struct Auth(pub Caller);

impl<S: Send + Sync> FromRequestParts<S> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts.extensions.get::<Caller>().cloned().map(Auth).ok_or_else(unauthenticated)
    }
}

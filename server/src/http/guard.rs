//! Rules every request passes before a route sees it, in one middleware:
//!
//! 1. **Host.** Only the room's own names are answered (loopback and the listen address by
//!    default, plus `VIGIE_PUBLIC_URL` and `VIGIE_ALLOWED_HOSTS`): anything else is a 421. Without
//!    this, a page on a DNS-rebinding domain that resolves to the room's address is "same origin"
//!    with it and reads the stream and drives the command API.
//! 2. **Cross-site writes.** A request that changes something (any method but GET, HEAD,
//!    OPTIONS) is refused with 403 when its `Origin` is not one of the room's origins or the
//!    browser marks it `Sec-Fetch-Site: cross-site`/`same-site`. Clients that are not browsers
//!    send neither and pass. (The stream's upgrade is a GET: [`crate::socket`] checks its `Origin`
//!    against the same list.)
//! 3. **Deadline.** A request's body and handling finish within `VIGIE_REQUEST_TIMEOUT_MS`
//!    (scenario uploads: [`IMPORT_DEADLINE`]), else 408 and the connection closes: a client that
//!    trickles a declared body holds nothing for long.
//! 4. **Headers.** Every answer says it may not be framed or sniffed and leaks no referrer; its
//!    Content-Security-Policy lets no script run but the room's own files and, on a page, the
//!    inline bootstrap carrying that response's nonce.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;
use vigie_domain::api::ErrorCode;

use crate::config::Config;
use crate::http::error::ApiError;
use crate::AppState;

/// The policy for answers other than pages (no inline script at all); see
/// [`app::ssr::content_security_policy`].
static STRICT_CSP: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| app::ssr::content_security_policy(None));

/// How long a scenario upload may take (up to [`crate::api::replay::MAX_IMPORT_BYTES`] on a LAN).
pub const IMPORT_DEADLINE: Duration = Duration::from_secs(600);
/// The path whose body is a scenario upload.
pub const IMPORT_PATH: &str = "/api/v1/scenarios";

/// The names and origins the room answers to.
#[derive(Clone, Debug)]
pub struct Origins {
    /// `host[:port]`, lower case, as a `Host` header carries them.
    hosts: BTreeSet<String>,
    /// Host names allowed on any port (`VIGIE_ALLOWED_HOSTS` entries without a port).
    any_port: BTreeSet<String>,
    /// `scheme://host[:port]`, as an `Origin` header carries them.
    origins: BTreeSet<String>,
}

impl Origins {
    /// The room's names for a server bound to `bound` with `config`.
    pub fn new(config: &Config, bound: SocketAddr) -> Self {
        let port = bound.port();
        let mut names: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "[::1]".into()];
        if !bound.ip().is_unspecified() {
            names.push(match bound {
                SocketAddr::V4(a) => a.ip().to_string(),
                SocketAddr::V6(a) => format!("[{}]", a.ip()),
            });
        }
        let mut hosts: BTreeSet<String> = names.iter().map(|n| format!("{n}:{port}")).collect();
        if port == 80 {
            hosts.extend(names.iter().cloned());
        }
        let mut any_port = BTreeSet::new();
        for entry in &config.allowed_hosts {
            let entry = entry.trim().to_ascii_lowercase();
            if entry.is_empty() {
                continue;
            }
            if has_port(&entry) {
                hosts.insert(entry);
            } else {
                any_port.insert(entry);
            }
        }
        let mut origins: BTreeSet<String> = BTreeSet::new();
        if let Some(public) = config.public_url.as_deref().and_then(origin_of) {
            let authority = public.split_once("://").map_or("", |(_, a)| a).to_owned();
            hosts.insert(authority);
            origins.insert(public);
        }
        for host in &hosts {
            origins.insert(format!("http://{host}"));
            origins.insert(format!("https://{host}"));
        }
        origins.extend(config.allowed_origins.iter().map(|o| o.trim_end_matches('/').to_ascii_lowercase()));
        Self { hosts, any_port, origins }
    }

    /// Whether a `Host` header names this room.
    pub fn allows_host(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        self.hosts.contains(&host) || self.any_port.contains(strip_port(&host))
    }

    /// Whether an `Origin` header is one of this room's pages.
    pub fn allows_origin(&self, origin: &str) -> bool {
        let origin = origin.to_ascii_lowercase();
        if self.origins.contains(&origin) {
            return true;
        }
        origin.split_once("://").is_some_and(|(scheme, authority)| {
            matches!(scheme, "http" | "https") && self.any_port.contains(strip_port(authority))
        })
    }
}

fn has_port(authority: &str) -> bool {
    match authority.rsplit_once(':') {
        Some((host, port)) => {
            !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit())
                && !host.ends_with(':')
                && (host.starts_with('[') == host.ends_with(']'))
        }
        None => false,
    }
}

fn strip_port(authority: &str) -> &str {
    if has_port(authority) {
        authority.rsplit_once(':').map_or(authority, |(host, _)| host)
    } else {
        authority
    }
}

/// `scheme://host[:port]` of a URL, lower case, without a trailing path.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.trim().split_once("://")?;
    let authority = rest.split('/').next().filter(|a| !a.is_empty())?;
    Some(format!("{}://{}", scheme.to_ascii_lowercase(), authority.to_ascii_lowercase()))
}

/// Why a request is refused before reaching its route, if it is.
pub fn check(origins: &Origins, method: &Method, headers: &HeaderMap) -> Result<(), ApiError> {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let Some(host) = host else {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::NoHost, "the request has no Host header"));
    };
    if !origins.allows_host(host) {
        return Err(ApiError::new(
            StatusCode::MISDIRECTED_REQUEST,
            ErrorCode::UnknownHost,
            format!("this server does not answer to {host:?}; a room's names are set with VIGIE_PUBLIC_URL or VIGIE_ALLOWED_HOSTS"),
        ));
    }
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        if !origins.allows_origin(origin) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                ErrorCode::CrossSite,
                format!("a page from {origin} may not change this room"),
            ));
        }
    }
    let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if matches!(site, Some("cross-site" | "same-site")) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::CrossSite,
            "a page from another site may not change this room",
        ));
    }
    Ok(())
}

/// The middleware: [`check`], the deadline, then the security headers on whatever is answered.
pub async fn guard(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let mut response = match check(&app.origins, request.method(), request.headers()) {
        Err(refused) => refused.into_response(),
        Ok(()) => {
            let deadline =
                if request.uri().path() == IMPORT_PATH { IMPORT_DEADLINE } else { app.config.request_timeout() };
            match tokio::time::timeout(deadline, next.run(request)).await {
                Ok(response) => response,
                Err(_) => {
                    let mut late = ApiError::new(
                        StatusCode::REQUEST_TIMEOUT,
                        ErrorCode::Timeout,
                        format!("the request did not complete within {} s", deadline.as_secs_f64()),
                    )
                    .into_response();
                    // The body may be half read: the connection cannot carry another request.
                    late.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
                    late
                }
            }
        }
    };
    let h = response.headers_mut();
    // A page sets its own policy, with the nonce of its inline bootstrap; every other answer
    // gets the same policy without one.
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_str(&STRICT_CSP).expect("an ASCII policy"));
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origins(configure: impl FnOnce(&mut Config)) -> Origins {
        let mut config = Config::new("127.0.0.1:3000".parse().unwrap(), "sqlite://x.db");
        configure(&mut config);
        Origins::new(&config, "127.0.0.1:3000".parse().unwrap())
    }

    #[test]
    fn loopback_and_configured_names_are_the_rooms_and_nothing_else() {
        let o = origins(|c| {
            c.public_url = Some("https://Vigie.Prefecture.example/".into());
            c.allowed_hosts = vec!["wall-1".into(), "10.1.2.3:8443".into()];
        });
        for yes in [
            "127.0.0.1:3000",
            "localhost:3000",
            "[::1]:3000",
            "vigie.prefecture.example",
            "wall-1",
            "wall-1:3000",
            "10.1.2.3:8443",
        ] {
            assert!(o.allows_host(yes), "{yes}");
        }
        for no in [
            "evil.example:3000",
            "127.0.0.1:3001",
            "localhost",
            "10.1.2.3:3000",
            "wall-10:3000",
            "vigie.prefecture.example.evil:443",
        ] {
            assert!(!o.allows_host(no), "{no}");
        }
        assert!(o.allows_origin("https://vigie.prefecture.example"));
        assert!(o.allows_origin("http://127.0.0.1:3000"));
        assert!(o.allows_origin("http://wall-1:9000"));
        assert!(!o.allows_origin("http://evil.example:3000"));
        assert!(!o.allows_origin("null"));
    }

    #[test]
    fn writes_from_another_site_are_refused_reads_are_not() {
        let o = origins(|_| {});
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.insert(*k, HeaderValue::from_static(v));
            }
            h
        };
        let local = [("host", "127.0.0.1:3000")];
        assert!(check(&o, &Method::POST, &headers(&local)).is_ok(), "a tool without Origin");
        assert!(check(&o, &Method::POST, &headers(&[local[0], ("origin", "http://127.0.0.1:3000")])).is_ok());
        assert_eq!(
            check(&o, &Method::POST, &headers(&[local[0], ("origin", "http://evil.example")])).unwrap_err().status,
            403
        );
        assert_eq!(
            check(&o, &Method::POST, &headers(&[local[0], ("sec-fetch-site", "cross-site")])).unwrap_err().status,
            403
        );
        assert!(
            check(&o, &Method::GET, &headers(&[local[0], ("origin", "http://evil.example")])).is_ok(),
            "reads are the stream's and CORS's business"
        );
        assert_eq!(
            check(&o, &Method::GET, &headers(&[("host", "rebound.evil.example:3000")])).unwrap_err().status,
            421
        );
        assert_eq!(check(&o, &Method::GET, &HeaderMap::new()).unwrap_err().status, 400);
    }
}

//! Who a request is from: the credential it carries (a session cookie or an API token in
//! `Authorization: Bearer`), resolved once per request into a [`Caller`].

use axum::http::{header, HeaderMap};
use std::collections::BTreeSet;
use vigie_domain::authority::{Principal, Scope};

use super::sessions::{digest, COOKIE};
use super::tokens;
use crate::store::Store;

/// The credential a caller proved, kept so an open stream can be closed when it ends.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Credential {
    /// A browser session, by the SHA-256 of its token (as stored).
    Session(String),
    /// An API token, by id.
    Token(i64),
}

/// An authenticated caller: its principal, what it may use the API for, and how it proved it.
#[derive(Clone, Debug)]
pub struct Caller {
    pub principal: Principal,
    /// A browser session has every scope; a token those it was issued with.
    pub scopes: BTreeSet<Scope>,
    pub credential: Credential,
    /// A session of an account that must enrol a second factor and has not: it may only enrol.
    pub enrolling: bool,
}

impl Caller {
    pub fn may(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }
}

/// The session token a request's cookie carries, if it has a token's shape.
pub fn session_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(COOKIE)?.strip_prefix('='))
        .filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The API token of an `Authorization: Bearer` header, if it has a token's shape.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    Some(token.trim()).filter(|t| scheme.eq_ignore_ascii_case("bearer") && tokens::well_formed(t))
}

/// Whether the request carries any credential at all (a malformed one included), so a request
/// without one is not looked up.
pub fn carries_credential(headers: &HeaderMap) -> bool {
    headers.contains_key(header::AUTHORIZATION)
        || headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).any(|v| v.contains(COOKIE))
}

/// The caller the request's credential proves, if it is live. A token is tried first: an
/// integration never holds a cookie, and a browser never sends `Authorization`.
pub async fn resolve(store: &Store, headers: &HeaderMap, now_ms: i64) -> anyhow::Result<Option<Caller>> {
    if let Some(token) = bearer_token(headers) {
        return Ok(store.token(token, now_ms).await?.map(|(id, principal, scopes)| Caller {
            principal,
            scopes,
            credential: Credential::Token(id),
            enrolling: false,
        }));
    }
    let Some(token) = session_token(headers) else { return Ok(None) };
    Ok(store.session(token, now_ms).await?.map(|(principal, enrolling)| Caller {
        principal,
        scopes: Scope::ALL.into_iter().collect(),
        credential: Credential::Session(digest(token)),
        enrolling,
    }))
}

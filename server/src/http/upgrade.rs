//! Opening a stream: the HTTP upgrade to a WebSocket — origin check, a client slot, the RFC 6455
//! handshake — handing the socket to a stream session. Refusals use the API's error shape.

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::WebSocketStream;
use vigie_domain::api::ErrorCode;

use super::error::ApiError;
use super::guard::Origins;
use crate::stream::socket::{config, Socket};
use crate::AppState;

/// Checks the origin, takes a stream slot and answers the handshake, then runs `session` on the
/// socket. Refusals use the API's error shape.
pub fn accept<F, Fut>(state: &AppState, mut request: Request, session: F) -> Response
where
    F: FnOnce(AppState, Socket) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let headers = request.headers();
    if let Err(e) = check_origin(headers, &state.origins) {
        return e.into_response();
    }
    let key = match handshake_key(request.method(), headers) {
        Ok(key) => key,
        Err(message) => {
            return ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::NotAWebsocket, message).into_response()
        }
    };
    let Some(on_upgrade) = request.extensions_mut().remove::<hyper::upgrade::OnUpgrade>() else {
        return ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::NotAWebsocket, "this connection cannot be upgraded")
            .into_response();
    };
    let peer = super::peer_ip(&request);
    let Some(permit) = state.streams.take(peer) else {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::TooManyClients,
            "the server has no room for another stream client from this address",
        )
        .into_response();
    };
    let state = state.clone();
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let socket =
                    WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config())).await;
                session(state, socket).await;
            }
            Err(e) => tracing::debug!(error = %e, "a WebSocket upgrade did not complete"),
        }
        drop(permit);
    });
    let mut response = StatusCode::SWITCHING_PROTOCOLS.into_response();
    let h = response.headers_mut();
    h.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(header::SEC_WEBSOCKET_ACCEPT, HeaderValue::from_str(&key).expect("base64 is a valid header value"));
    response
}

/// The `Sec-WebSocket-Accept` value for a valid upgrade request (RFC 6455 §4.2.1), or why not.
fn handshake_key(method: &Method, headers: &HeaderMap) -> Result<String, &'static str> {
    let has_token = |name: header::HeaderName, token: &str| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    };
    if method != Method::GET {
        return Err("a WebSocket upgrade is a GET");
    }
    if !has_token(header::CONNECTION, "upgrade") || !has_token(header::UPGRADE, "websocket") {
        return Err("this endpoint is a WebSocket: send Connection: upgrade and Upgrade: websocket");
    }
    if headers.get(header::SEC_WEBSOCKET_VERSION).and_then(|v| v.to_str().ok()) != Some("13") {
        return Err("only WebSocket version 13 is spoken here");
    }
    let key = headers.get(header::SEC_WEBSOCKET_KEY).ok_or("the upgrade has no Sec-WebSocket-Key")?;
    Ok(derive_accept_key(key.as_bytes()))
}

/// Browsers always send `Origin`; a page from another site must not read the room. The origin is
/// compared with the room's configured origins, never with the request's own `Host` (which a
/// DNS-rebinding page controls). Clients that are not browsers send none and are let through
/// (they cannot be tricked into acting for a user).
fn check_origin(headers: &HeaderMap, origins: &Origins) -> Result<(), ApiError> {
    let Some(origin) = headers.get(header::ORIGIN).map(|o| o.to_str().unwrap_or("?")) else { return Ok(()) };
    if origins.allows_origin(origin) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::OriginNotAllowed,
            format!("origin {origin} may not open the stream"),
        ))
    }
}

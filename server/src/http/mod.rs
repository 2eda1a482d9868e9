//! The HTTP boundary shared by the API and the streams: the one error type, extractors whose
//! rejections use it, the rules every request passes first ([`guard`]) and the upgrade that opens
//! a stream ([`upgrade`]). Services (sequencer,
//! hub, store, replay's engine) never need more of HTTP than [`error::ApiError`] conversions.

pub mod access;
pub mod error;
pub mod extract;
pub mod guard;
pub mod upgrade;

use axum::extract::{ConnectInfo, Request};
use std::net::{IpAddr, SocketAddr};

/// The client's address, as the listener recorded it on the request (unspecified when a request
/// did not come through it, e.g. in a unit test); per-address shares are counted by it.
pub fn peer_ip(request: &Request) -> IpAddr {
    request.extensions().get::<ConnectInfo<SocketAddr>>().map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip())
}

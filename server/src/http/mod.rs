//! The HTTP boundary shared by the API and the streams: the one error type, extractors whose
//! rejections use it, and the rules every request passes first ([`guard`]). Services (sequencer,
//! hub, store, replay's engine) never need more of HTTP than [`error::ApiError`] conversions.

pub mod error;
pub mod extract;
pub mod guard;

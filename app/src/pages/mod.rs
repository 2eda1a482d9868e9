//! The pages: each loads a room (or none) and lays out panels. Pages use panels ([`crate::room`]),
//! shared UI ([`crate::ui`]), the typed client ([`crate::api`]) and the live room
//! ([`crate::live`]); nothing below imports a page.

pub mod admin;
pub mod audit;
pub mod enrol;
pub mod overview;
pub mod replay;
pub mod room;
pub mod signin;

//! Who is in the room: local accounts (air-gapped first), their passwords hashed with argon2id,
//! the sessions and API tokens they act through, and the caller each request resolves to
//! ([`caller::Caller`], carrying a [`vigie_domain::authority::Principal`]).

pub mod caller;
pub mod cli;
pub mod password;
pub mod sessions;
pub mod throttle;
pub mod tokens;
pub mod totp;
pub mod users;
pub mod watch;

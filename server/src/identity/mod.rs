//! Who is in the room: local accounts (air-gapped first), their passwords hashed with argon2id,
//! and the principal each signs in as ([`vigie_domain::authority::Principal`]). Sessions, tokens
//! and the sign-in page build on this.

pub mod cli;
pub mod password;
pub mod sessions;
pub mod throttle;
pub mod users;

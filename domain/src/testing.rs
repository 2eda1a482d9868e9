//! What the crate's own unit tests build rooms with.

use crate::command::{decide, Command};
use crate::{Agency, AgencyCode, AgencyKind, LoggedEvent, State};

pub const T0_MS: i64 = 1_795_000_000_000;

pub fn code(c: &str) -> AgencyCode {
    AgencyCode::parse(c).unwrap()
}

/// Registering agency `c` (short and full name `c`).
pub fn agency(c: &str) -> Command {
    Command::RegisterAgency { agency: Agency::parse(c, c, c, AgencyKind::Police, "FR", "#224466").unwrap() }
}

/// Decides `command` (it must be accepted) and folds its events in after the room's head.
pub fn must(state: &mut State, command: Command) {
    for event in decide(state, &command, "test", T0_MS).unwrap() {
        let seq = state.seq + 1;
        state.apply(&LoggedEvent { seq, at_ms: T0_MS, actor: "test".into(), event });
    }
}

//! Replay's clock and controls, pure so the server (which drives a session) and every browser
//! following it compute the same replay time from the same few numbers.
//!
//! A replay clock is an anchor — "at wall time `wall_ms` the replay stood at `at_ms`" — plus a
//! speed and whether it runs. Anyone holding it and a wall clock knows the replay time without
//! further messages; a control (play, pause, seek, speed) re-anchors it at the moment it is given.

use serde::{Deserialize, Serialize};

use crate::time::check_ms;
use crate::Refusal;

/// The speeds a trainer may pick.
pub const MIN_SPEED: f64 = 1.0;
pub const MAX_SPEED: f64 = 60.0;
/// Longest replay window one session covers.
pub const MAX_WINDOW_MS: i64 = 31 * 24 * 3_600_000;
/// Longest pinned note.
pub const MAX_PIN_CHARS: usize = 500;

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReplayClock {
    /// The window the replay covers; the clock never leaves it.
    pub from_ms: i64,
    pub to_ms: i64,
    /// Replay time at the anchor.
    pub at_ms: i64,
    /// Wall time (the server's) of the anchor.
    pub wall_ms: i64,
    pub speed: f64,
    pub playing: bool,
}

impl ReplayClock {
    /// A paused clock at the start of `[from_ms, to_ms]`.
    pub fn new(from_ms: i64, to_ms: i64, wall_ms: i64) -> Result<Self, Refusal> {
        let (from_ms, to_ms) = (check_ms("from_ms", from_ms)?, check_ms("to_ms", to_ms)?);
        if to_ms <= from_ms {
            return Err(Refusal::invalid("to_ms", "the replay window must end after it starts"));
        }
        if to_ms - from_ms > MAX_WINDOW_MS {
            return Err(Refusal::invalid("to_ms", "a replay window covers at most 31 days"));
        }
        Ok(Self { from_ms, to_ms, at_ms: from_ms, wall_ms, speed: 1.0, playing: false })
    }

    /// Replay time at wall time `wall_ms`: it runs at `speed` while playing and stops at the end.
    pub fn at(&self, wall_ms: i64) -> i64 {
        if !self.playing {
            return self.at_ms;
        }
        // Saturating: a clock read from storage may hold any numbers; `as` from f64 saturates too.
        let elapsed = wall_ms.saturating_sub(self.wall_ms).max(0) as f64 * self.speed;
        self.at_ms.saturating_add(elapsed as i64).max(self.from_ms).min(self.to_ms)
    }

    /// Whether the replay has reached the end of its window at `wall_ms`.
    pub fn ended(&self, wall_ms: i64) -> bool {
        self.at(wall_ms) >= self.to_ms
    }

    /// Re-anchors at `wall_ms`, so a change applies from that moment on.
    fn reanchor(&mut self, wall_ms: i64) {
        self.at_ms = self.at(wall_ms);
        self.wall_ms = wall_ms;
    }

    /// Applies a control given at `wall_ms`. `step_to` is the time of the event a step lands on,
    /// found by the caller in the log (`None` when there is no further event that way).
    pub fn control(&mut self, control: &Control, wall_ms: i64, step_to: Option<i64>) -> Result<(), Refusal> {
        self.reanchor(wall_ms);
        match *control {
            Control::Play => {
                // Playing from the end starts over, as a player does.
                if self.at_ms >= self.to_ms {
                    self.at_ms = self.from_ms;
                }
                self.playing = true;
            }
            Control::Pause => self.playing = false,
            Control::Seek { at_ms } => {
                if at_ms < self.from_ms || at_ms > self.to_ms {
                    return Err(Refusal::invalid("at_ms", "the moment is outside the replay window"));
                }
                self.at_ms = at_ms;
            }
            Control::Speed { speed } => {
                if !(MIN_SPEED..=MAX_SPEED).contains(&speed) {
                    return Err(Refusal::invalid("speed", "speed goes from 1× to 60×"));
                }
                self.speed = speed;
            }
            Control::Step { .. } => {
                self.playing = false;
                if let Some(t) = step_to {
                    self.at_ms = t.max(self.from_ms).min(self.to_ms);
                }
            }
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Forward,
    Back,
}

/// What a trainer does to a session's clock.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Control {
    Play,
    Pause,
    Seek {
        at_ms: i64,
    },
    Speed {
        speed: f64,
    },
    /// Pauses on the next (or previous) event other than a position report.
    Step {
        direction: Direction,
    },
}

/// A note a trainer pins on the session's timeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pin {
    pub id: u32,
    pub at_ms: i64,
    pub author: String,
    pub text: String,
}

impl Pin {
    pub fn parse(id: u32, at_ms: i64, author: &str, text: &str, clock: &ReplayClock) -> Result<Self, Refusal> {
        let text = text.trim();
        if text.is_empty() {
            return Err(Refusal::invalid("text", "a pinned note needs text"));
        }
        if text.chars().count() > MAX_PIN_CHARS {
            return Err(Refusal::invalid("text", "a pinned note has at most 500 characters"));
        }
        if at_ms < clock.from_ms || at_ms > clock.to_ms {
            return Err(Refusal::invalid("at_ms", "the note's moment is outside the replay window"));
        }
        Ok(Self { id, at_ms, author: author.to_owned(), text: text.to_owned() })
    }
}

/// Where a session's events come from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    /// This server's own log.
    Live,
    /// A scenario imported from a file; never mixed with the live log.
    Scenario { scenario_id: u32, name: String },
}

/// What a session's followers know of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub session_id: String,
    pub title: String,
    pub source: Source,
    pub clock: ReplayClock,
    pub pins: Vec<Pin>,
    pub created_at_ms: i64,
    /// Whose picture the session shows: the agency of the trainer who started it (a trainer shows
    /// trainees no more than it may see itself); `None` for the whole room (an auditor's, or a
    /// session started before accounts existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<crate::AgencyCode>,
    /// Content of the replayed range that retention purged from the log (the replay shows those
    /// events without it): said plainly on the replay bar.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub purged: Vec<Purge>,
}

/// A retention rule that purged content before `before_ms` (see [`crate::record::Record::Purged`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Purge {
    pub rule: String,
    pub kind: String,
    pub before_ms: i64,
}

impl SessionInfo {
    pub fn viewer(&self) -> crate::visibility::Viewer {
        match &self.audience {
            Some(agency) => crate::visibility::Viewer::Agency(agency.clone()),
            None => crate::visibility::Viewer::Room,
        }
    }
}

/// An incident's window with margins: from `margin_ms` before its first event to `margin_ms`
/// after its last one.
pub fn incident_window(first_ms: i64, last_ms: i64, margin_ms: i64) -> (i64, i64) {
    let start = first_ms.saturating_sub(margin_ms).max(crate::time::EARLIEST_MS);
    (start, last_ms.max(first_ms.saturating_add(1)).saturating_add(margin_ms))
}

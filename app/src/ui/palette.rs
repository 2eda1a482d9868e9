//! The one palette of the room: unit statuses and incident priorities, for the map (passed to
//! `room_map.js` with each feature), the panels and the tiles (as CSS variables set on the page's
//! root, which `style/main.css` reads). Agencies bring their own colour (`Agency::colour`). Nothing
//! else holds these colours: a test fails if the CSS or the map's script copies one.

use vigie_domain::alert::Severity;
use vigie_domain::{Priority, UnitStatus};

/// A unit's status ring and row mark.
pub fn status(s: UnitStatus) -> &'static str {
    match s {
        UnitStatus::Available => "#3fb950",
        UnitStatus::Dispatched => "#a371f7",
        UnitStatus::EnRoute => "#58a6ff",
        UnitStatus::OnScene => "#f0883e",
        UnitStatus::Transporting => "#db61a2",
        UnitStatus::AtHospital => "#e3b341",
        UnitStatus::OutOfService => "#6e7681",
    }
}

/// An incident's marker, area and queue mark.
pub fn priority(p: Priority) -> &'static str {
    match p {
        Priority::P1 => "#ff4d4f",
        Priority::P2 => "#ff9f1a",
        Priority::P3 => "#f5d90a",
        Priority::P4 => "#5cb0ff",
    }
}

/// An outside alert's area (CAP severity), in violets so an alert is never read as an incident.
pub fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Extreme => "#d02bff",
        Severity::Severe => "#b36bff",
        Severity::Moderate => "#9d8cff",
        Severity::Minor | Severity::Unknown => "#8fa3c7",
    }
}

/// A unit whose agency is unknown to the room.
pub const NO_AGENCY: &str = "#8b949e";

/// The palette as CSS custom properties (`--p1`…, `--status-available`…), for a page's root.
pub fn css_variables() -> String {
    let priorities =
        Priority::ALL.into_iter().map(|p| format!("--{}:{};", format!("{p:?}").to_lowercase(), priority(p)));
    let statuses = UnitStatus::ALL.into_iter().map(|s| format!("--status-{}:{};", super::wire_name(&s), status(s)));
    let alert = std::iter::once(format!("--alert:{};", severity(Severity::Severe)));
    priorities.chain(statuses).chain(alert).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_css_and_the_map_script_hold_no_copy_of_the_palette() {
        let css = include_str!("../../../style/main.css").to_lowercase();
        let js = include_str!("../../js/room_map.js").to_lowercase();
        let colours = Priority::ALL.into_iter().map(priority).chain(UnitStatus::ALL.into_iter().map(status));
        for colour in colours {
            assert!(!css.contains(colour), "style/main.css copies {colour}: use the CSS variable");
            assert!(!js.contains(colour), "room_map.js copies {colour}: read it from the feature");
        }
        let vars = css_variables();
        assert!(vars.contains("--p1:#ff4d4f;") && vars.contains("--status-on_scene:#f0883e;"), "{vars}");
    }
}

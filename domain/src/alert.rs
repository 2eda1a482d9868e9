//! Alerts from outside the room — a weather service's storm warning, civil protection's flood
//! alert, a public warning gateway's message (CAP 1.2) — as the room holds them: who issued them,
//! what they say, where (polygons, circles, geocodes), how urgent, severe and certain, and when
//! they take effect and expire.
//!
//! Their life: an alert is issued; a later message of the same sender updates it (its content
//! replaced, its id kept) or cancels it; it expires by the clock, never by an event, so a replay
//! fades it at the same moment the room did ([`Alert::is_active`]). Alerts are public: every
//! agency sees them.

use serde::{Deserialize, Serialize};

use crate::agency::bounded_text;
use crate::{Area, Point, Refusal};

/// Most alerts the room holds (a busy winter's warnings, many times over).
pub const MAX_ALERTS: usize = 20_000;
pub const MAX_ALERT_AREAS: usize = 64;
pub const MAX_ALERT_SHAPES: usize = 64;
const MAX_ALERT_TEXT: usize = 8_000;
const MAX_ALERT_NAME: usize = 512;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AlertId(pub u32);

impl std::fmt::Display for AlertId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AL-{}", self.0)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    Immediate,
    Expected,
    Future,
    Past,
    Unknown,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Extreme,
    Severe,
    Moderate,
    Minor,
    Unknown,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Certainty {
    Observed,
    Likely,
    Possible,
    Unlikely,
    Unknown,
}

/// A circle: centre and radius in metres.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Circle {
    pub centre: Point,
    pub radius_m: f64,
}

/// A place a layer names by code (an INSEE commune code, a US county's SAME code).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Geocode {
    pub name: String,
    pub value: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertArea {
    pub description: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub polygons: Vec<Area>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub circles: Vec<Circle>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub geocodes: Vec<Geocode>,
    /// The outlines of its geocodes, from the room's layers when it came in (only for an area
    /// given by geocodes alone): what the map draws for it, in a replay too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolved: Vec<Area>,
}

/// What an alert says, as issued or updated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertContent {
    /// Who issued it (CAP `sender`) and its identifier there: how later messages name it.
    pub sender: String,
    pub identifier: String,
    pub sent_ms: i64,
    /// An exercise or a test (CAP status other than Actual): shown, marked so.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub exercise: bool,
    pub event: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headline: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instruction: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_name: Option<String>,
    pub urgency: Urgency,
    pub severity: Severity,
    pub certainty: Certainty,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub areas: Vec<AlertArea>,
}

impl AlertContent {
    /// Checks every text's bound and the counts; the shapes were checked when parsed.
    pub fn check(&self) -> Result<(), Refusal> {
        bounded_text("sender", &self.sender, MAX_ALERT_NAME)?;
        bounded_text("identifier", &self.identifier, MAX_ALERT_NAME)?;
        bounded_text("event", &self.event, MAX_ALERT_NAME)?;
        for (field, text, max) in [
            ("headline", &self.headline, MAX_ALERT_NAME),
            ("sender_name", &self.sender_name, MAX_ALERT_NAME),
            ("description", &self.description, MAX_ALERT_TEXT),
            ("instruction", &self.instruction, MAX_ALERT_TEXT),
        ] {
            if let Some(t) = text {
                if t.chars().count() > max {
                    return Err(Refusal::invalid(field, format!("{field} is at most {max} characters")));
                }
            }
        }
        crate::time::check_ms("sent", self.sent_ms)?;
        if self.areas.len() > MAX_ALERT_AREAS {
            return Err(Refusal::invalid("areas", format!("an alert has at most {MAX_ALERT_AREAS} areas")));
        }
        for (i, a) in self.areas.iter().enumerate() {
            if a.polygons.len() + a.circles.len() > MAX_ALERT_SHAPES
                || a.geocodes.len() > MAX_ALERT_SHAPES
                || a.resolved.len() > MAX_ALERT_SHAPES
            {
                return Err(Refusal::invalid(
                    format!("areas[{i}]"),
                    format!("an area has at most {MAX_ALERT_SHAPES} shapes and geocodes"),
                ));
            }
            if a.circles.iter().any(|c| !c.radius_m.is_finite() || !(0.0..=20_000_000.0).contains(&c.radius_m)) {
                return Err(Refusal::invalid(format!("areas[{i}].circles"), "a radius is 0 to 20 000 km"));
            }
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub alert_id: AlertId,
    #[serde(flatten)]
    pub content: AlertContent,
    /// When the room received it, and last an update.
    pub received_at_ms: i64,
    pub updated_at_ms: i64,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cancelled: bool,
}

impl Alert {
    /// In force at `now_ms`: not cancelled, effective, not expired. Derived from the clock, never
    /// stored, so a replay shows it fade at the moment the room saw it fade.
    pub fn is_active(&self, now_ms: i64) -> bool {
        !self.cancelled
            && self.content.effective_ms.is_none_or(|at| at <= now_ms)
            && self.content.expires_ms.is_none_or(|at| now_ms < at)
    }

    /// Its standing at `now_ms`, in words: "cancelled", "in force" or "not in force" (not yet
    /// effective, or expired).
    pub fn standing(&self, now_ms: i64) -> &'static str {
        if self.cancelled {
            "cancelled"
        } else if self.is_active(now_ms) {
            "in force"
        } else {
            "not in force"
        }
    }

    /// Whether it is the message `sender`'s `identifier`.
    pub fn is(&self, sender: &str, identifier: &str) -> bool {
        self.content.sender == sender && self.content.identifier == identifier
    }
}

/// What a received message does to the room's alerts (CAP's msgType).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertMessage {
    Alert,
    Update,
    Cancel,
}

/// An earlier message a later one names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertRef {
    pub sender: String,
    pub identifier: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alert_is_active_between_effective_and_expiry_and_never_once_cancelled() {
        let mut alert = Alert {
            alert_id: AlertId(1),
            content: AlertContent {
                sender: "meteo".into(),
                identifier: "1".into(),
                sent_ms: 1_000,
                exercise: false,
                event: "Orages".into(),
                headline: None,
                description: None,
                instruction: None,
                sender_name: None,
                urgency: Urgency::Expected,
                severity: Severity::Severe,
                certainty: Certainty::Likely,
                effective_ms: Some(2_000),
                expires_ms: Some(5_000),
                areas: Vec::new(),
            },
            received_at_ms: 1_000,
            updated_at_ms: 1_000,
            cancelled: false,
        };
        assert!(!alert.is_active(1_999));
        assert!(alert.is_active(2_000) && alert.is_active(4_999));
        assert!(!alert.is_active(5_000));
        alert.cancelled = true;
        assert!(!alert.is_active(3_000));
    }
}

//! Typed identifiers. Units and incidents get small integers assigned by the reducer's counters
//! (compact on the wire and in the position log); agencies are known by a short code.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::Refusal;

/// Position of an event in the room's log: global, gap-free, starting at 1.
pub type Seq = u64;

macro_rules! numeric_id {
    ($name:ident, $int:ty, $prefix:literal) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(pub $int);

        // Accepts a number or a numeric string: ids are JSON map keys (strings) in the state, and
        // serde hands buffered map keys of internally tagged messages over as strings.
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                #[derive(Deserialize)]
                #[serde(untagged)]
                enum Raw<'a> {
                    Number($int),
                    Text(&'a str),
                    Owned(String),
                }
                let parse = |t: &str| t.parse::<$int>().map($name).map_err(serde::de::Error::custom);
                match Raw::deserialize(d)? {
                    Raw::Number(n) => Ok($name(n)),
                    Raw::Text(t) => parse(t),
                    Raw::Owned(t) => parse(&t),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "{}"), self.0)
            }
        }
    };
}

numeric_id!(UnitId, u32, "U");
numeric_id!(IncidentId, u32, "INC-");
numeric_id!(MessageId, u64, "MSG-");

/// An agency's short code, e.g. `NYPD`, `BSPP`, `PP`: 2 to 16 of `A-Z 0-9 _ -`. Deserializes
/// through [`AgencyCode::parse`], so no input path skips the check.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AgencyCode(String);

impl TryFrom<String> for AgencyCode {
    type Error = Refusal;
    fn try_from(raw: String) -> Result<Self, Refusal> {
        Self::parse(&raw)
    }
}

impl From<AgencyCode> for String {
    fn from(code: AgencyCode) -> String {
        code.0
    }
}

impl AgencyCode {
    pub fn parse(raw: &str) -> Result<Self, Refusal> {
        let ok_len = (2..=16).contains(&raw.len());
        let ok_chars = raw.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if ok_len && ok_chars {
            Ok(Self(raw.to_owned()))
        } else {
            Err(Refusal::invalid("", format!("agency code {raw:?} must be 2 to 16 characters of A-Z, 0-9, '_' or '-'")))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AgencyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A message channel: `room` (everyone), `agency-<CODE>`, `incident-<n>`, or an inter-agency
/// channel `inter-<slug>` created on purpose with its member agencies.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChannelId(String);

impl ChannelId {
    pub const ROOM: &'static str = "room";

    pub fn room() -> Self {
        Self(Self::ROOM.to_owned())
    }

    pub fn for_agency(code: &AgencyCode) -> Self {
        Self(format!("agency-{code}"))
    }

    pub fn for_incident(incident_id: IncidentId) -> Self {
        Self(format!("incident-{}", incident_id.0))
    }

    /// A channel created on purpose with chosen members (not the room's, an agency's or an incident's).
    pub fn is_inter_agency(&self) -> bool {
        self.0.starts_with("inter-")
    }

    /// The incident whose channel this is, if it is one.
    pub fn incident(&self) -> Option<IncidentId> {
        self.0.strip_prefix("incident-")?.parse().ok().map(IncidentId)
    }

    /// An inter-agency channel from a slug of 1 to 40 of `a-z 0-9 -`.
    pub fn inter_agency(slug: &str) -> Result<Self, Refusal> {
        let ok = (1..=40).contains(&slug.len())
            && slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(Self(format!("inter-{slug}")))
        } else {
            Err(Refusal::invalid("slug", "a channel slug is 1 to 40 characters of a-z, 0-9 or '-'"))
        }
    }

    /// Accepts any id a channel can have; whether it exists is the state's business.
    pub fn parse(raw: &str) -> Result<Self, Refusal> {
        let ok =
            (1..=64).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(Refusal::invalid("", format!("{raw:?} is not a channel id")))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agency_codes_are_short_upper_case_words() {
        assert!(AgencyCode::parse("NYPD").is_ok());
        assert!(AgencyCode::parse("BKA-LNO").is_ok());
        for bad in ["", "N", "nypd", "NY PD", "ABCDEFGHIJKLMNOPQ", "NYPD<"] {
            assert!(AgencyCode::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn channel_ids_are_built_from_their_owner() {
        assert_eq!(ChannelId::for_incident(IncidentId(7)).as_str(), "incident-7");
        assert_eq!(ChannelId::for_agency(&AgencyCode::parse("FDNY").unwrap()).as_str(), "agency-FDNY");
        assert_eq!(ChannelId::inter_agency("paris-nyc").unwrap().as_str(), "inter-paris-nyc");
        assert!(ChannelId::inter_agency("Paris NYC").is_err());
        assert!(ChannelId::parse("incident-7").is_ok());
        assert!(ChannelId::parse("a b").is_err());
    }

    #[test]
    fn ids_display_with_their_prefix() {
        assert_eq!(IncidentId(12).to_string(), "INC-12");
        assert_eq!(UnitId(3).to_string(), "U3");
    }
}

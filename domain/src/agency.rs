//! Agencies in the room: who they are and how the room draws them.

use serde::{Deserialize, Serialize};

use crate::{AgencyCode, Refusal};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgencyKind {
    Police,
    Gendarmerie,
    FireRescue,
    Ems,
    CivilProtection,
    Liaison,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Agency {
    pub code: AgencyCode,
    pub short_name: String,
    pub full_name: String,
    pub kind: AgencyKind,
    /// ISO 3166-1 alpha-2, e.g. `FR`, `US`, `DE`.
    pub country: String,
    pub colour: Colour,
}

/// A colour as `#rrggbb` (lower case). Only this type is rendered into a page's `style`, and it
/// deserializes through its parser, so no path (an imported file included) can smuggle CSS in.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Colour(String);

impl Colour {
    pub fn parse(raw: &str) -> Result<Self, Refusal> {
        let ok = raw.len() == 7 && raw.starts_with('#') && raw[1..].bytes().all(|b| b.is_ascii_hexdigit());
        if ok {
            Ok(Self(raw.to_ascii_lowercase()))
        } else {
            Err(Refusal::invalid("colour", "colour is #rrggbb"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Colour {
    /// Neutral grey, for an agency the room does not know (yet).
    fn default() -> Self {
        Self("#8b949e".into())
    }
}

impl std::fmt::Display for Colour {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Colour {
    type Error = Refusal;
    fn try_from(raw: String) -> Result<Self, Refusal> {
        Self::parse(&raw)
    }
}

impl From<Colour> for String {
    fn from(c: Colour) -> String {
        c.0
    }
}

impl Agency {
    pub fn parse(
        code: &str,
        short_name: &str,
        full_name: &str,
        kind: AgencyKind,
        country: &str,
        colour: &str,
    ) -> Result<Self, Refusal> {
        let code = AgencyCode::parse(code).map_err(|r| r.within("code"))?;
        let short_name = bounded_text("short_name", short_name, 32)?;
        let full_name = bounded_text("full_name", full_name, 120)?;
        if !(country.len() == 2 && country.bytes().all(|b| b.is_ascii_uppercase())) {
            return Err(Refusal::invalid("country", "country is an ISO 3166-1 alpha-2 code such as FR or US"));
        }
        let colour = Colour::parse(colour)?;
        Ok(Self { code, short_name, full_name, kind, country: country.to_owned(), colour })
    }
}

/// Trims `raw` and checks it is non-empty, at most `max_chars` long and free of control characters.
pub fn bounded_text(field: &str, raw: &str, max_chars: usize) -> Result<String, Refusal> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(Refusal::invalid(field, format!("{field} must not be empty")));
    }
    if text.chars().count() > max_chars {
        return Err(Refusal::invalid(field, format!("{field} is longer than {max_chars} characters")));
    }
    if text.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(Refusal::invalid(field, format!("{field} contains control characters")));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_agency_is_parsed_and_its_colour_normalised() {
        let a = Agency::parse("NYPD", "NYPD", "New York City Police Department", AgencyKind::Police, "US", "#1F4E9A")
            .unwrap();
        assert_eq!(a.colour.as_str(), "#1f4e9a");
        let injected = serde_json::from_str::<Colour>(r##""#000;background-image:url(//x)""##);
        assert!(injected.is_err(), "a colour deserializes through its parser");
    }

    #[test]
    fn each_bad_agency_field_is_named() {
        let field = |r: Result<Agency, Refusal>| r.unwrap_err().field.unwrap();
        assert_eq!(field(Agency::parse("x", "a", "b", AgencyKind::Ems, "FR", "#000000")), "code");
        assert_eq!(field(Agency::parse("AB", " ", "b", AgencyKind::Ems, "FR", "#000000")), "short_name");
        assert_eq!(field(Agency::parse("AB", "a", "b", AgencyKind::Ems, "fra", "#000000")), "country");
        assert_eq!(field(Agency::parse("AB", "a", "b", AgencyKind::Ems, "FR", "red")), "colour");
    }

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(bounded_text("f", "  hi  ", 5).unwrap(), "hi");
        assert!(bounded_text("f", "abcdef", 5).is_err());
        assert!(bounded_text("f", "a\u{7}b", 5).is_err());
        assert!(bounded_text("f", "a\nb", 5).is_ok());
    }
}

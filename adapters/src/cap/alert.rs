//! CAP 1.2, the Common Alerting Protocol (OASIS Standard, 1 July 2010): one `<alert>` with its
//! `<info>` blocks and their `<area>`s, parsed from untrusted bytes into a validated [`CapAlert`]
//! and encoded back, valid against the OASIS schema (`urn:oasis:names:tc:emergency:cap:1.2`).
//!
//! Written from the specification's data dictionary (section 3.2): the alert's identification
//! (`identifier`, `sender`, `sent`, `status`, `msgType`, `scope`, `references`), each info's
//! `event`, `urgency`, `severity`, `certainty`, times, texts, and each area's `areaDesc`,
//! `polygon` ("lat,lon" pairs, first equal to last), `circle` ("lat,lon radius-km") and `geocode`.
//!
//! Bounds: an alert is at most [`MAX_ALERT_BYTES`] and [`MAX_NODES`] XML nodes; a DTD is refused
//! (so no entity is expanded or fetched, and there is no XInclude: an `xi:include` is an unknown
//! element, never followed); at most [`MAX_INFOS`] infos, [`MAX_AREAS`] areas each,
//! [`MAX_SHAPES`] polygons and circles an area, [`MAX_VERTICES`] vertices a polygon; every text
//! bounded and every coordinate range-checked. A refusal names the element.

use std::fmt::Write as _;

use crate::xml::{self, escape};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub const NAMESPACE: &str = "urn:oasis:names:tc:emergency:cap:1.2";
pub const MAX_ALERT_BYTES: usize = 1024 * 1024;
pub const MAX_NODES: u32 = 50_000;
pub const MAX_INFOS: usize = 16;
pub const MAX_AREAS: usize = 64;
pub const MAX_SHAPES: usize = 64;
pub const MAX_VERTICES: usize = 2_000;
const MAX_TEXT_CHARS: usize = 8_000;
const MAX_NAME_CHARS: usize = 512;

macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident { $($variant:ident),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The CAP spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => stringify!($variant)),+ }
            }

            fn parse(field: &str, raw: &str) -> Result<Self, CapError> {
                Self::ALL.iter().copied().find(|v| v.as_str() == raw.trim()).ok_or_else(|| {
                    let allowed: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                    refuse(field, format!("{raw:?} is not one of {}", allowed.join(", ")))
                })
            }
        }
    };
}

vocabulary!(Status { Actual, Exercise, System, Test, Draft });
vocabulary!(MsgType { Alert, Update, Cancel, Ack, Error });
vocabulary!(Scope { Public, Restricted, Private });
vocabulary!(Urgency { Immediate, Expected, Future, Past, Unknown });
vocabulary!(Severity { Extreme, Severe, Moderate, Minor, Unknown });
vocabulary!(Certainty { Observed, Likely, Possible, Unlikely, Unknown });
vocabulary!(Category { Geo, Met, Safety, Security, Rescue, Fire, Health, Env, Transport, Infra, CBRNE, Other });

#[derive(Clone, Debug, PartialEq)]
pub struct CapAlert {
    pub identifier: String,
    pub sender: String,
    pub sent_ms: i64,
    pub status: Status,
    pub msg_type: MsgType,
    pub scope: Scope,
    pub restriction: Option<String>,
    pub note: Option<String>,
    /// The earlier messages an Update or Cancel is about.
    pub references: Vec<Reference>,
    pub infos: Vec<Info>,
}

/// One earlier message, named as CAP names it: `sender,identifier,sent`.
#[derive(Clone, Debug, PartialEq)]
pub struct Reference {
    pub sender: String,
    pub identifier: String,
    pub sent_ms: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Info {
    pub language: Option<String>,
    pub categories: Vec<Category>,
    pub event: String,
    pub urgency: Urgency,
    pub severity: Severity,
    pub certainty: Certainty,
    pub effective_ms: Option<i64>,
    pub onset_ms: Option<i64>,
    pub expires_ms: Option<i64>,
    pub sender_name: Option<String>,
    pub headline: Option<String>,
    pub description: Option<String>,
    pub instruction: Option<String>,
    pub web: Option<String>,
    pub areas: Vec<CapArea>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CapArea {
    pub desc: String,
    /// Rings of `(lat, lon)`, closed (first equals last), as CAP writes them.
    pub polygons: Vec<Vec<(f64, f64)>>,
    /// `((lat, lon), radius in km)`.
    pub circles: Vec<((f64, f64), f64)>,
    /// `(valueName, value)`, e.g. `("INSEE", "75104")`.
    pub geocodes: Vec<(String, String)>,
}

/// Why bytes are not a CAP 1.2 alert: the element, and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct CapError {
    pub field: String,
    pub message: String,
}

fn refuse(field: &str, message: impl Into<String>) -> CapError {
    CapError { field: field.to_owned(), message: message.into() }
}

type Node<'a, 'i> = roxmltree::Node<'a, 'i>;

impl CapAlert {
    /// Parses one CAP 1.2 `<alert>`.
    pub fn parse(bytes: &[u8]) -> Result<Self, CapError> {
        if bytes.len() > MAX_ALERT_BYTES {
            return Err(refuse("alert", format!("an alert is at most {} KiB", MAX_ALERT_BYTES / 1024)));
        }
        let doc = xml::document(bytes, MAX_NODES).map_err(|m| refuse("alert", m))?;
        let alert = doc.root_element();
        if alert.tag_name().name() != "alert" {
            return Err(refuse("alert", format!("the root element is <{}>, not <alert>", alert.tag_name().name())));
        }
        if alert.tag_name().namespace() != Some(NAMESPACE) {
            return Err(refuse("alert", format!("not in CAP 1.2's namespace {NAMESPACE}")));
        }
        let identifier = token("identifier", &required(&alert, "identifier")?)?;
        let sender = token("sender", &required(&alert, "sender")?)?;
        let sent_ms = instant("sent", &required(&alert, "sent")?)?;
        let status = Status::parse("status", &required(&alert, "status")?)?;
        let msg_type = MsgType::parse("msgType", &required(&alert, "msgType")?)?;
        let scope = Scope::parse("scope", &required(&alert, "scope")?)?;
        let restriction = optional(&alert, "restriction", MAX_TEXT_CHARS)?;
        if scope == Scope::Restricted && restriction.is_none() {
            return Err(refuse("restriction", "a Restricted alert says its restriction"));
        }
        let references = match optional(&alert, "references", MAX_TEXT_CHARS)? {
            None => Vec::new(),
            Some(list) => list.split_whitespace().map(reference).collect::<Result<_, _>>()?,
        };
        if matches!(msg_type, MsgType::Update | MsgType::Cancel | MsgType::Ack | MsgType::Error)
            && references.is_empty()
        {
            return Err(refuse("references", format!("an {} names the messages it is about", msg_type.as_str())));
        }
        let infos: Vec<Node> = children(&alert, "info").collect();
        if infos.len() > MAX_INFOS {
            return Err(refuse("info", format!("at most {MAX_INFOS} info blocks")));
        }
        let infos = infos
            .iter()
            .enumerate()
            .map(|(i, n)| info(n).map_err(|e| refuse(&format!("info[{i}].{}", e.field), e.message)))
            .collect::<Result<_, _>>()?;
        Ok(CapAlert {
            identifier,
            sender,
            sent_ms,
            status,
            msg_type,
            scope,
            restriction,
            note: optional(&alert, "note", MAX_TEXT_CHARS)?,
            references,
            infos,
        })
    }

    /// The earliest `expires` of its infos (an alert without one does not expire by itself).
    pub fn expires_ms(&self) -> Option<i64> {
        self.infos.iter().filter_map(|i| i.expires_ms).min()
    }

    /// The alert as CAP 1.2 XML, elements in the schema's order.
    pub fn to_xml(&self) -> String {
        let mut out = String::with_capacity(2048);
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(out, "<alert xmlns=\"{NAMESPACE}\">");
        element(&mut out, 1, "identifier", &self.identifier);
        element(&mut out, 1, "sender", &self.sender);
        element(&mut out, 1, "sent", &cap_time(self.sent_ms));
        element(&mut out, 1, "status", self.status.as_str());
        element(&mut out, 1, "msgType", self.msg_type.as_str());
        element(&mut out, 1, "scope", self.scope.as_str());
        if let Some(r) = &self.restriction {
            element(&mut out, 1, "restriction", r);
        }
        if let Some(n) = &self.note {
            element(&mut out, 1, "note", n);
        }
        if !self.references.is_empty() {
            let list: Vec<String> = self
                .references
                .iter()
                .map(|r| format!("{},{},{}", r.sender, r.identifier, cap_time(r.sent_ms)))
                .collect();
            element(&mut out, 1, "references", &list.join(" "));
        }
        for info in &self.infos {
            out.push_str("  <info>\n");
            if let Some(l) = &info.language {
                element(&mut out, 2, "language", l);
            }
            for c in &info.categories {
                element(&mut out, 2, "category", c.as_str());
            }
            element(&mut out, 2, "event", &info.event);
            element(&mut out, 2, "urgency", info.urgency.as_str());
            element(&mut out, 2, "severity", info.severity.as_str());
            element(&mut out, 2, "certainty", info.certainty.as_str());
            for (name, at) in [("effective", info.effective_ms), ("onset", info.onset_ms), ("expires", info.expires_ms)]
            {
                if let Some(at) = at {
                    element(&mut out, 2, name, &cap_time(at));
                }
            }
            for (name, text) in [
                ("senderName", &info.sender_name),
                ("headline", &info.headline),
                ("description", &info.description),
                ("instruction", &info.instruction),
                ("web", &info.web),
            ] {
                if let Some(text) = text {
                    element(&mut out, 2, name, text);
                }
            }
            for area in &info.areas {
                out.push_str("    <area>\n");
                element(&mut out, 3, "areaDesc", &area.desc);
                for ring in &area.polygons {
                    let pairs: Vec<String> = ring.iter().map(|(lat, lon)| format!("{lat},{lon}")).collect();
                    element(&mut out, 3, "polygon", &pairs.join(" "));
                }
                for ((lat, lon), radius) in &area.circles {
                    element(&mut out, 3, "circle", &format!("{lat},{lon} {radius}"));
                }
                for (name, value) in &area.geocodes {
                    out.push_str("      <geocode>\n");
                    element(&mut out, 4, "valueName", name);
                    element(&mut out, 4, "value", value);
                    out.push_str("      </geocode>\n");
                }
                out.push_str("    </area>\n");
            }
            out.push_str("  </info>\n");
        }
        out.push_str("</alert>\n");
        out
    }
}

fn info(node: &Node) -> Result<Info, CapError> {
    let categories: Vec<Category> =
        children(node, "category").map(|c| Category::parse("category", &text_of(&c))).collect::<Result<_, _>>()?;
    if categories.is_empty() {
        return Err(refuse("category", "an info has at least one category"));
    }
    let areas: Vec<Node> = children(node, "area").collect();
    if areas.len() > MAX_AREAS {
        return Err(refuse("area", format!("at most {MAX_AREAS} areas")));
    }
    let areas = areas
        .iter()
        .enumerate()
        .map(|(i, a)| area(a).map_err(|e| refuse(&format!("area[{i}].{}", e.field), e.message)))
        .collect::<Result<_, _>>()?;
    let time = |name: &'static str| optional(node, name, 64)?.map(|t| instant(name, &t)).transpose();
    Ok(Info {
        language: optional(node, "language", 64)?,
        categories,
        event: bounded("event", &required(node, "event")?, MAX_NAME_CHARS)?,
        urgency: Urgency::parse("urgency", &required(node, "urgency")?)?,
        severity: Severity::parse("severity", &required(node, "severity")?)?,
        certainty: Certainty::parse("certainty", &required(node, "certainty")?)?,
        effective_ms: time("effective")?,
        onset_ms: time("onset")?,
        expires_ms: time("expires")?,
        sender_name: optional(node, "senderName", MAX_NAME_CHARS)?,
        headline: optional(node, "headline", MAX_NAME_CHARS)?,
        description: optional(node, "description", MAX_TEXT_CHARS)?,
        instruction: optional(node, "instruction", MAX_TEXT_CHARS)?,
        web: optional(node, "web", MAX_NAME_CHARS)?,
        areas,
    })
}

fn area(node: &Node) -> Result<CapArea, CapError> {
    let polygons: Vec<Node> = children(node, "polygon").collect();
    let circles: Vec<Node> = children(node, "circle").collect();
    if polygons.len() + circles.len() > MAX_SHAPES {
        return Err(refuse("polygon", format!("at most {MAX_SHAPES} polygons and circles")));
    }
    let polygons = polygons.iter().map(|p| polygon(&text_of(p))).collect::<Result<_, _>>()?;
    let circles = circles.iter().map(|c| circle(&text_of(c))).collect::<Result<_, _>>()?;
    let geocodes = children(node, "geocode")
        .take(MAX_SHAPES + 1)
        .map(|g| {
            let name = bounded("geocode.valueName", &required(&g, "valueName")?, MAX_NAME_CHARS)?;
            let value = bounded("geocode.value", &required(&g, "value")?, MAX_NAME_CHARS)?;
            Ok((name, value))
        })
        .collect::<Result<Vec<_>, CapError>>()?;
    if geocodes.len() > MAX_SHAPES {
        return Err(refuse("geocode", format!("at most {MAX_SHAPES} geocodes")));
    }
    Ok(CapArea {
        desc: bounded("areaDesc", &required(node, "areaDesc")?, MAX_NAME_CHARS)?,
        polygons,
        circles,
        geocodes,
    })
}

fn pair(field: &str, raw: &str) -> Result<(f64, f64), CapError> {
    let (lat, lon) = raw.split_once(',').ok_or_else(|| refuse(field, format!("{raw:?} is not \"lat,lon\"")))?;
    let number = |s: &str, limit: f64| -> Result<f64, CapError> {
        let v: f64 = s.trim().parse().map_err(|_| refuse(field, format!("{s:?} is not a number")))?;
        if !v.is_finite() || v.abs() > limit {
            return Err(refuse(field, format!("{v} is outside [-{limit}, {limit}]")));
        }
        Ok(v)
    };
    Ok((number(lat, 90.0)?, number(lon, 180.0)?))
}

fn polygon(raw: &str) -> Result<Vec<(f64, f64)>, CapError> {
    let pairs: Vec<&str> = raw.split_whitespace().collect();
    if pairs.len() > MAX_VERTICES {
        return Err(refuse("polygon", format!("at most {MAX_VERTICES} points")));
    }
    let ring: Vec<(f64, f64)> = pairs.iter().map(|p| pair("polygon", p)).collect::<Result<_, _>>()?;
    if ring.len() < 4 || ring.first() != ring.last() {
        return Err(refuse("polygon", "a polygon is at least 4 \"lat,lon\" pairs, the first equal to the last"));
    }
    Ok(ring)
}

fn circle(raw: &str) -> Result<((f64, f64), f64), CapError> {
    let (centre, radius) =
        raw.trim().split_once(' ').ok_or_else(|| refuse("circle", format!("{raw:?} is not \"lat,lon radius\"")))?;
    let radius: f64 = radius.trim().parse().map_err(|_| refuse("circle", format!("{radius:?} is not a radius")))?;
    if !radius.is_finite() || !(0.0..=20_000.0).contains(&radius) {
        return Err(refuse("circle", format!("a radius of {radius} km is outside [0, 20000]")));
    }
    Ok((pair("circle", centre)?, radius))
}

fn reference(raw: &str) -> Result<Reference, CapError> {
    let mut parts = raw.splitn(3, ',');
    let (Some(sender), Some(identifier), Some(sent)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(refuse("references", format!("{raw:?} is not \"sender,identifier,sent\"")));
    };
    Ok(Reference {
        sender: token("references", sender)?,
        identifier: token("references", identifier)?,
        sent_ms: instant("references", sent)?,
    })
}

fn children<'a, 'i: 'a>(node: &Node<'a, 'i>, tag: &'static str) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    node.children().filter(move |n| n.is_element() && n.tag_name().name() == tag)
}

fn text_of(node: &Node) -> String {
    node.children().filter_map(|n| n.text()).collect::<String>().trim().to_owned()
}

fn required(node: &Node, tag: &'static str) -> Result<String, CapError> {
    children(node, tag).next().map(|n| text_of(&n)).ok_or_else(|| refuse(tag, "missing"))
}

fn optional(node: &Node, tag: &'static str, max: usize) -> Result<Option<String>, CapError> {
    children(node, tag).next().map(|n| bounded(tag, &text_of(&n), max)).transpose().map(|t| t.filter(|t| !t.is_empty()))
}

fn bounded(field: &str, text: &str, max: usize) -> Result<String, CapError> {
    if text.chars().count() > max {
        return Err(refuse(field, format!("at most {max} characters")));
    }
    if text.chars().any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r') {
        return Err(refuse(field, "no control characters"));
    }
    Ok(text.to_owned())
}

/// CAP's identifiers and senders: no spaces, commas or restricted characters (`<`, `&`).
fn token(field: &str, raw: &str) -> Result<String, CapError> {
    let raw = raw.trim();
    if raw.is_empty() || raw.chars().count() > MAX_NAME_CHARS {
        return Err(refuse(field, format!("1 to {MAX_NAME_CHARS} characters")));
    }
    if raw.chars().any(|c| c.is_whitespace() || c == ',' || c == '<' || c == '&' || c.is_control()) {
        return Err(refuse(field, "no spaces, commas, '<' or '&'"));
    }
    Ok(raw.to_owned())
}

/// A CAP time (`2026-11-30T05:00:00-00:00`, an offset always written) as ms since the epoch.
fn instant(field: &str, raw: &str) -> Result<i64, CapError> {
    xml::instant(field, raw, "a CAP time (2026-11-30T05:00:00-00:00)").map_err(|m| refuse(field, m))
}

/// A time as CAP writes it: seconds, UTC as "-00:00" (the specification's examples' form).
pub fn cap_time(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .map(|t| t.replace('Z', "-00:00"))
        .unwrap_or_else(|| "1970-01-01T00:00:00-00:00".into())
}

fn element(out: &mut String, depth: usize, name: &str, text: &str) {
    let _ = writeln!(out, "{}<{name}>{}</{name}>", "  ".repeat(depth), escape(text));
}

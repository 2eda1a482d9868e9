//! What every format here shares at its edge: untrusted bytes read as an XML document with no
//! DTD (so no entity is expanded or fetched: XXE and billion laughs are refused) and a node
//! limit; RFC 3339 times read within the domain's range; text escaped on the way out. A refusal
//! is in words; each format names the field.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// `bytes` as a document: UTF-8, no DTD, at most `nodes` XML nodes.
pub fn document(bytes: &[u8], nodes: u32) -> Result<roxmltree::Document<'_>, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8".to_owned())?;
    let options = roxmltree::ParsingOptions { allow_dtd: false, nodes_limit: nodes, ..Default::default() };
    roxmltree::Document::parse_with_options(text, options).map_err(|e| match e {
        roxmltree::Error::DtdDetected => "a DTD is not accepted (no entities, no external files)".to_owned(),
        roxmltree::Error::NodesLimitReached => format!("more than {nodes} XML nodes"),
        other => format!("not well-formed XML: {other}"),
    })
}

/// An RFC 3339 time (any offset; CAP's "-00:00" is UTC too) as ms since the epoch, within the
/// domain's range; `form` shows the expected form in the refusal.
pub fn instant(field: &str, raw: &str, form: &str) -> Result<i64, String> {
    let at = OffsetDateTime::parse(raw.trim(), &Rfc3339).map_err(|_| format!("{raw:?} is not {form}"))?;
    let ms = i64::try_from(at.unix_timestamp_nanos() / 1_000_000).map_err(|_| "out of range".to_owned())?;
    vigie_domain::time::check_ms(field, ms).map_err(|r| r.message)
}

/// Text for an attribute value or element content.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
    out
}

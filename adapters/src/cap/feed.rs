//! Alert feeds: the CAP alerts an Atom (RFC 4287) or RSS 2.0 feed lists ([`items`]) — each by a
//! link to its CAP document or with the alert embedded, as weather services and public warning
//! systems publish them — and the room's own Atom feed of its public alerts ([`atom`]).
//!
//! Bounds as for an alert: at most [`MAX_FEED_BYTES`], [`MAX_FEED_NODES`] nodes, no DTD; at
//! most [`MAX_ITEMS`] items are read.

use std::fmt::Write as _;

use crate::cap::alert::{cap_time, CapAlert, CapError, NAMESPACE};
use crate::xml::{self, escape};

pub const MAX_FEED_BYTES: usize = 4 * 1024 * 1024;
pub const MAX_FEED_NODES: u32 = 200_000;
pub const MAX_ITEMS: usize = 500;

/// One alert a feed lists.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// The alert is at this address (to fetch, on the room's network only).
    Link(String),
    /// The alert is in the feed itself.
    Embedded(Box<CapAlert>),
}

fn refuse(field: &str, message: impl Into<String>) -> CapError {
    CapError { field: field.to_owned(), message: message.into() }
}

/// The alerts `bytes` (an Atom or RSS 2.0 feed) lists, newest first as the feed orders them.
pub fn items(bytes: &[u8]) -> Result<Vec<Item>, CapError> {
    if bytes.len() > MAX_FEED_BYTES {
        return Err(refuse("feed", format!("a feed is at most {} MiB", MAX_FEED_BYTES >> 20)));
    }
    let doc = xml::document(bytes, MAX_FEED_NODES).map_err(|m| refuse("feed", m))?;
    let text = doc.input_text();
    let root = doc.root_element();
    let entries: Vec<roxmltree::Node> = match root.tag_name().name() {
        "feed" => root.children().filter(|n| n.has_tag_name("entry")).collect(),
        "rss" => root
            .children()
            .filter(|n| n.has_tag_name("channel"))
            .flat_map(|c| c.children().filter(|n| n.has_tag_name("item")))
            .collect(),
        other => return Err(refuse("feed", format!("<{other}> is neither an Atom <feed> nor an RSS <rss>"))),
    };
    let mut out = Vec::new();
    for entry in entries.into_iter().take(MAX_ITEMS) {
        // An alert embedded in the entry (Atom content, or any CAP <alert> child).
        if let Some(alert) = entry.descendants().find(|n| n.has_tag_name((NAMESPACE, "alert"))) {
            let xml = &text[alert.range()];
            // The embedded alert declares its namespace on itself or inherits it: parse it as a
            // document of its own, with the namespace declared.
            let standalone = if xml.contains("xmlns") {
                xml.to_owned()
            } else {
                xml.replacen("<alert", &format!("<alert xmlns=\"{NAMESPACE}\""), 1)
            };
            out.push(Item::Embedded(Box::new(CapAlert::parse(standalone.as_bytes())?)));
            continue;
        }
        let link = entry
            .children()
            .filter(|n| n.has_tag_name("link"))
            .find_map(|l| {
                // Atom: <link href type="application/cap+xml">; RSS: <link>url</link>.
                l.attribute("href").map(str::to_owned).or_else(|| l.text().map(|t| t.trim().to_owned()))
            })
            .or_else(|| {
                entry
                    .children()
                    .find(|n| n.has_tag_name("enclosure"))
                    .and_then(|e| e.attribute("url"))
                    .map(str::to_owned)
            });
        if let Some(link) = link.filter(|l| l.starts_with("http://") || l.starts_with("https://")) {
            if link.len() <= 2048 {
                out.push(Item::Link(link));
            }
        }
    }
    Ok(out)
}

/// One entry of the room's feed.
pub struct Entry {
    pub id: String,
    pub title: String,
    pub updated_ms: i64,
    pub summary: String,
    /// Where its CAP document is.
    pub cap_url: String,
}

/// An Atom feed (RFC 4287) of `entries`, each linking to its CAP 1.2 alert.
pub fn atom(title: &str, id: &str, self_url: &str, updated_ms: i64, entries: &[Entry]) -> String {
    let mut out =
        String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
    let _ = writeln!(out, "  <title>{}</title>", escape(title));
    let _ = writeln!(out, "  <id>{}</id>", escape(id));
    let _ = writeln!(out, "  <link rel=\"self\" href=\"{}\"/>", escape(self_url));
    let _ = writeln!(out, "  <updated>{}</updated>", cap_time(updated_ms).replace("-00:00", "Z"));
    let _ = writeln!(out, "  <author><name>{}</name></author>", escape(title));
    for e in entries {
        out.push_str("  <entry>\n");
        let _ = writeln!(out, "    <id>{}</id>", escape(&e.id));
        let _ = writeln!(out, "    <title>{}</title>", escape(&e.title));
        let _ = writeln!(out, "    <updated>{}</updated>", cap_time(e.updated_ms).replace("-00:00", "Z"));
        let _ = writeln!(out, "    <summary>{}</summary>", escape(&e.summary));
        let _ =
            writeln!(out, "    <link rel=\"alternate\" type=\"application/cap+xml\" href=\"{}\"/>", escape(&e.cap_url));
        out.push_str("  </entry>\n");
    }
    out.push_str("</feed>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atom_and_rss_feeds_give_their_alerts_links_and_embedded_alerts() {
        let atom_feed = r#"<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Alerts</title>
          <entry><id>1</id><link rel="alternate" type="application/cap+xml" href="https://alerts.example/1.xml"/></entry>
          <entry><id>2</id><content type="text/xml"><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>A2</identifier><sender>s@x</sender><sent>2026-11-30T05:00:00-00:00</sent><status>Actual</status><msgType>Alert</msgType><scope>Public</scope></alert></content></entry>
          <entry><id>3</id><link href="file:///etc/passwd"/></entry>
        </feed>"#;
        let items = items(atom_feed.as_bytes()).unwrap();
        assert_eq!(items.len(), 2, "a file: link is never followed");
        assert_eq!(items[0], Item::Link("https://alerts.example/1.xml".into()));
        let Item::Embedded(alert) = &items[1] else { panic!() };
        assert_eq!(alert.identifier, "A2");
        let rss = r#"<rss version="2.0"><channel><title>x</title><item><title>Storm</title><link>http://alerts.example/storm.cap</link></item></channel></rss>"#;
        assert_eq!(items_of(rss), vec![Item::Link("http://alerts.example/storm.cap".into())]);
        let xxe = r#"<!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]><rss>&x;</rss>"#;
        assert!(super::items(xxe.as_bytes()).unwrap_err().message.contains("DTD"));
    }

    proptest::proptest! {
        /// Fuzzing: arbitrary bytes, and a feed cut or spliced anywhere: a refusal, never a panic.
        #[test]
        fn arbitrary_bytes_are_refused_or_read_never_a_panic(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048),
            cut in 0usize..300,
            splice in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..16),
        ) {
            let feed = r#"<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>1</id><link href="https://a.example/1.xml"/></entry><entry><content><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>A</identifier></alert></content></entry></feed>"#;
            let _ = items(&bytes);
            let cut = cut.min(feed.len());
            let mut spliced = feed.as_bytes()[..cut].to_vec();
            spliced.extend_from_slice(&splice);
            spliced.extend_from_slice(&feed.as_bytes()[cut..]);
            let _ = items(&spliced);
        }
    }

    fn items_of(text: &str) -> Vec<Item> {
        items(text.as_bytes()).unwrap()
    }

    #[test]
    fn the_room_s_feed_lists_its_entries_and_reads_back() {
        let entry = Entry {
            id: "urn:vigie:INC-1".into(),
            title: "INC-1 Fire <Rivoli>".into(),
            updated_ms: 1_795_000_000_000,
            summary: "P1".into(),
            cap_url: "https://vigie.example/api/v1/incidents/1/cap".into(),
        };
        let xml = atom("Vigie", "urn:vigie:room", "https://vigie.example/api/v1/cap/feed", 1_795_000_000_000, &[entry]);
        assert!(xml.contains("INC-1 Fire &lt;Rivoli&gt;"));
        assert_eq!(items_of(&xml), vec![Item::Link("https://vigie.example/api/v1/incidents/1/cap".into())]);
    }
}

//! The search without an index, over one room held in memory: a replay's room at its moment, which
//! the server's index (the live room's) does not hold.
//!
//! It finds what the index finds, the same way: the same documents ([`crate::search::documents`]),
//! words cut and folded as the index's tokenizer does ([`crate::text::fold`]), every query word the
//! start of a word, the title weighing 8 to 1, among equals the shorter title then the newest; and
//! every hit goes through the same need-to-know filter ([`crate::search::hit`]).
//!
//! The work is in two parts: [`prepare`] folds the room's documents once (a caller keeps them while
//! the room stands still, as a paused replay does), and [`rank`] reads them for each query.

use std::collections::HashSet;

use crate::api::{Fragment, SearchHit, SearchResults};
use crate::search::{document, documents, hit, Document, SearchQuery, Subject};
use crate::text::{fold, folded_words};
use crate::visibility::Viewer;
use crate::State;

/// How much a word found in the title counts against one found in the rest (as the index's bm25).
const TITLE_WEIGHT: u32 = 8;
/// Words of a snippet, and of context shown before its first match.
const SNIPPET_WORDS: usize = 12;
const CONTEXT_WORDS: usize = 3;

/// The best `limit` hits of `query` in `state` that `viewer` may see.
pub fn scan(state: &State, viewer: &Viewer, query: &SearchQuery, now_ms: i64, limit: usize) -> SearchResults {
    answer(state, viewer, query, rank(&prepare(documents(state)), query), now_ms, limit)
}

/// A document as [`rank`] reads it: its title and the rest folded, words separated by one space.
pub struct Prepared {
    subject: Subject,
    title: String,
    body: String,
    /// Characters of the original title (a shorter title ranks first among equals).
    title_chars: usize,
}

/// Folds `docs` for [`rank`].
pub fn prepare(docs: Vec<Document>) -> Vec<Prepared> {
    docs.into_iter()
        .map(|d| Prepared {
            subject: d.subject,
            title_chars: d.title.chars().count(),
            title: fold(&d.title),
            body: fold(&d.body),
        })
        .collect()
}

/// A document that matches, and where.
pub struct Ranked {
    subject: Subject,
    in_title: bool,
}

/// Whether a word of `folded` (words separated by single spaces) starts with `term`.
fn has_word_starting(folded: &str, term: &str) -> bool {
    folded.match_indices(term).any(|(i, _)| i == 0 || folded.as_bytes()[i - 1] == b' ')
}

/// The documents that match `query`, best first. Needs no room: a caller that must not hold its
/// room for long prepares the documents, ranks them apart, and holds the room again only to
/// [`answer`].
pub fn rank(prepared: &[Prepared], query: &SearchQuery) -> Vec<Ranked> {
    let terms = folded_terms(query);
    let mut found: Vec<(u32, usize, i64, Ranked)> = prepared
        .iter()
        .filter_map(|d| {
            let mut score = 0;
            let mut in_any_title = false;
            for term in &terms {
                let (in_title, in_body) = (has_word_starting(&d.title, term), has_word_starting(&d.body, term));
                if !in_title && !in_body {
                    return None;
                }
                in_any_title |= in_title;
                score += u32::from(in_title) * TITLE_WEIGHT + u32::from(in_body);
            }
            let key = d.subject.key().unwrap_or(0);
            Some((score, d.title_chars, key, Ranked { subject: d.subject, in_title: in_any_title }))
        })
        .collect();
    found.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(b.2.cmp(&a.2)));
    found.into_iter().map(|(_, _, _, r)| r).collect()
}

/// The best `limit` of `ranked` (by [`rank`], for `query`) that `viewer` may see in `state`, each
/// once (an incident found by its address and a note is one hit), with its snippet.
pub fn answer(
    state: &State,
    viewer: &Viewer,
    query: &SearchQuery,
    ranked: Vec<Ranked>,
    now_ms: i64,
    limit: usize,
) -> SearchResults {
    let terms = folded_terms(query);
    let mut seen = HashSet::new();
    let mut hits = Vec::new();
    for Ranked { subject, in_title } in ranked {
        let Some(h) = hit(state, viewer, subject, now_ms, Vec::new()) else { continue };
        if !seen.insert(h.found.clone()) {
            continue;
        }
        if hits.len() == limit {
            return SearchResults { hits, more: true };
        }
        let snippet = document(state, subject)
            .map(|d| snippet(if in_title { &d.title } else { &d.body }, &terms))
            .unwrap_or_default();
        hits.push(SearchHit { snippet, ..h });
    }
    SearchResults { hits, more: false }
}

fn folded_terms(query: &SearchQuery) -> Vec<String> {
    query.terms().iter().flat_map(|t| folded_words(t)).map(|(_, w)| w).collect()
}

/// Up to [`SNIPPET_WORDS`] words of `text` from a little before its first match, the matched
/// words marked, "…" where it is cut (as the index's `snippet()`).
fn snippet(text: &str, terms: &[String]) -> Vec<Fragment> {
    let words = folded_words(text);
    let matched = |w: &str| terms.iter().any(|t| w.starts_with(t.as_str()));
    let Some(first) = words.iter().position(|(_, w)| matched(w)) else { return Vec::new() };
    let start = first.saturating_sub(CONTEXT_WORDS);
    let end = (start + SNIPPET_WORDS).min(words.len());
    let from = if start == 0 { 0 } else { words[start].0.start };
    let to = if end == words.len() { text.len() } else { words[end - 1].0.end };
    let mut out = Vec::new();
    let mut plain = String::from(if start > 0 { "…" } else { "" });
    let mut at = from;
    for (range, word) in &words[start..end] {
        if matched(word) {
            plain.push_str(&text[at..range.start]);
            if !plain.is_empty() {
                out.push(Fragment { text: std::mem::take(&mut plain), matched: false });
            }
            out.push(Fragment { text: text[range.clone()].to_owned(), matched: true });
            at = range.end;
        }
    }
    plain.push_str(&text[at..to]);
    if end < words.len() {
        plain.push('…');
    }
    if !plain.is_empty() {
        out.push(Fragment { text: plain, matched: false });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Found;
    use crate::search::tests::room;
    use crate::{AgencyCode, IncidentId, UnitId};

    fn q(text: &str) -> SearchQuery {
        SearchQuery::parse(text).unwrap()
    }

    fn found(r: &SearchResults) -> Vec<Found> {
        r.hits.iter().map(|h| h.found.clone()).collect()
    }

    #[test]
    fn it_finds_as_the_index_does_whatever_the_accents_case_or_ending() {
        let state = room();
        let all = Viewer::Room;
        let note = scan(&state, &all, &q("NEGOCIAT"), 0, 10);
        assert_eq!(found(&note), [Found::Incident { incident_id: IncidentId(1) }]);
        let marked: Vec<(&str, bool)> = note.hits[0].snippet.iter().map(|f| (f.text.as_str(), f.matched)).collect();
        assert!(marked.contains(&("négociateur", true)), "{marked:?}");
        // Every word must match; a miss finds nothing.
        assert!(scan(&state, &all, &q("negociateur zzz"), 0, 10).hits.is_empty());
        // The title weighs most: the incident at the Préfecture before the unit of the PP, and
        // the incident found by its address and its note ("place") is one hit.
        let r = scan(&state, &all, &q("p"), 0, 10);
        assert_eq!(found(&r), [Found::Incident { incident_id: IncidentId(1) }, Found::Unit { unit_id: UnitId(1) }]);
        assert_eq!(
            r.hits[0].snippet,
            [
                Fragment { text: "Préfecture".into(), matched: true },
                Fragment { text: ", île de la Cité".into(), matched: false }
            ]
        );
    }

    #[test]
    fn it_goes_through_need_to_know_and_counts_what_is_left_out_only_when_seen() {
        let state = room();
        let bka = Viewer::Agency(AgencyCode::parse("BKA").unwrap());
        // The restricted incident and its note are not found by another agency, nor said to exist.
        let r = scan(&state, &bka, &q("negociateur"), 0, 10);
        assert!(r.hits.is_empty() && !r.more, "{r:?}");
        // What it may see, it finds: the room's message.
        let r = scan(&state, &bka, &q("secteur boucle"), 0, 10);
        assert!(matches!(found(&r)[..], [Found::Message { .. }]), "{r:?}");
        // `limit` and `more`.
        let everything = scan(&state, &Viewer::Room, &q("p"), 0, 50);
        assert!(everything.hits.len() >= 2, "{everything:?}");
        let one = scan(&state, &Viewer::Room, &q("p"), 0, 1);
        assert_eq!((one.hits.len(), one.more), (1, true));
        assert_eq!(one.hits[0], everything.hits[0], "the best first");
    }

    #[test]
    fn a_snippet_is_cut_around_its_first_match_and_marks_each_matched_word() {
        let text = "un deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze Quinze";
        let f = snippet(text, &["six".into(), "quin".into()]);
        let parts: Vec<(&str, bool)> = f.iter().map(|f| (f.text.as_str(), f.matched)).collect();
        let rest = " sept huit neuf dix onze douze treize quatorze…";
        assert_eq!(parts, [("…trois quatre cinq ", false), ("six", true), (rest, false)]);
        let f = snippet("Hôtel-de-Ville", &["hotel".into()]);
        assert_eq!(
            f,
            [Fragment { text: "Hôtel".into(), matched: true }, Fragment { text: "-de-Ville".into(), matched: false }]
        );
    }
}

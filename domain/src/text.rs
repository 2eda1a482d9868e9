//! Words for the room's enums, shared by the screens and the search index.

/// `OnScene` → `on scene`: an enum value as the words an operator reads and types.
pub fn words(debug: impl std::fmt::Debug) -> String {
    let camel = format!("{debug:?}");
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push(' ');
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// The words of `text` as the search index cuts and folds them (SQLite FTS5's `unicode61`
/// tokenizer with `remove_diacritics 2`): runs of letters and digits, lower-cased, accents taken
/// off ("Préfecture" is "prefecture", "Œuvre" is "œuvre"). Each word comes with its byte range in
/// `text`, to mark it where it was found.
pub fn folded_words(text: &str) -> Vec<(std::ops::Range<usize>, String)> {
    use unicode_normalization::char::is_combining_mark;
    use unicode_normalization::UnicodeNormalization;
    let in_word = |c: char| c.is_alphanumeric() || is_combining_mark(c);
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
        match (start, in_word(c)) {
            (None, true) => start = Some(i),
            (Some(s), false) => {
                let word = &text[s..i];
                let folded: String =
                    word.nfd().filter(|c| !is_combining_mark(*c)).flat_map(char::to_lowercase).collect();
                if !folded.is_empty() {
                    out.push((s..i, folded));
                }
                start = None;
            }
            _ => {}
        }
    }
    out
}

/// `text`'s words as [`folded_words`] cuts and folds them, joined by single spaces: what a search
/// without an index reads, many times over, so plain ASCII (most of a room's text) is folded
/// without decomposing it.
pub fn fold(text: &str) -> String {
    if text.is_ascii() {
        let mut out = String::with_capacity(text.len());
        for word in text.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()) {
            if !out.is_empty() {
                out.push(' ');
            }
            out.extend(word.chars().map(|c| c.to_ascii_lowercase()));
        }
        return out;
    }
    folded_words(text).into_iter().map(|(_, w)| w).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_cut_at_anything_but_letters_and_digits_and_folded() {
        let text = "Préfecture de police — INC-12, Hôtel-de-Ville; e\u{301}te\u{301} ŒUVRE";
        let words: Vec<(&str, String)> = folded_words(text).into_iter().map(|(r, w)| (&text[r], w)).collect();
        let folded: Vec<&str> = words.iter().map(|(_, w)| w.as_str()).collect();
        assert_eq!(folded, ["prefecture", "de", "police", "inc", "12", "hotel", "de", "ville", "ete", "œuvre"]);
        assert_eq!(words[0].0, "Préfecture", "ranges cut the original text");
        assert_eq!(words[8].0, "e\u{301}te\u{301}", "a decomposed accent stays in its word");
        assert!(folded_words(" — ; ").is_empty());
        assert_eq!(fold(text), folded.join(" "));
        assert_eq!(fold("  INC-12, Quai  de Bercy. "), "inc 12 quai de bercy");
        assert_eq!(fold(""), "");
    }
}

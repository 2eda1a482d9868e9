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

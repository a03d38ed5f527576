//! Bidirectional-text controls in text people and staff wrote. A leave reason holding
//! U+202E (RIGHT-TO-LEFT OVERRIDE) displayed "gnp.exe" as "exe.png": overrides and
//! embeddings reorder the characters after them, in chat and in the admin alike. Shown
//! text keeps none of them, and keeps directional isolates only when they are balanced
//! (our own right-to-left texts isolate names and numbers that way).

use std::borrow::Cow;

/// LRE, RLE, PDF, LRO, RLO: embeddings and overrides, never needed in shown text.
fn is_embedding_or_override(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}')
}

/// LRI, RLI, FSI (open) and PDI (close).
fn isolate_delta(c: char) -> i32 {
    match c {
        '\u{2066}'..='\u{2068}' => 1,
        '\u{2069}' => -1,
        _ => 0,
    }
}

/// The text with bidi embeddings and overrides removed, and its isolates removed too
/// unless every one is closed in order. Text without any is returned as it is.
pub fn neutralise(text: &str) -> Cow<'_, str> {
    if !text
        .chars()
        .any(|c| is_embedding_or_override(c) || isolate_delta(c) != 0)
    {
        return Cow::Borrowed(text);
    }
    let mut depth = 0i32;
    let mut balanced = true;
    for c in text.chars() {
        depth += isolate_delta(c);
        if depth < 0 {
            balanced = false;
        }
    }
    balanced &= depth == 0;
    Cow::Owned(
        text.chars()
            .filter(|c| !is_embedding_or_override(*c) && (balanced || isolate_delta(*c) == 0))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::neutralise;

    #[test]
    fn overrides_are_removed_and_unbalanced_isolates_too() {
        assert_eq!(neutralise("fever, see photo"), "fever, see photo");
        assert!(matches!(neutralise("plain"), std::borrow::Cow::Borrowed(_)));
        assert_eq!(neutralise("report\u{202E}gnp.exe"), "reportgnp.exe");
        assert_eq!(neutralise("\u{202B}x\u{202C}"), "x");
        // Balanced isolates (our own right-to-left texts) stay.
        assert_eq!(
            neutralise("علی \u{2068}Ali\u{2069}"),
            "علی \u{2068}Ali\u{2069}"
        );
        // An isolate left open would change everything after it: all isolates go.
        assert_eq!(neutralise("a\u{2067}b"), "ab");
        assert_eq!(neutralise("\u{2069}a\u{2066}b"), "ab");
    }
}

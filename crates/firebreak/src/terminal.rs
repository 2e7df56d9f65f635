//! What reaches the terminal: text others typed (titles, notes, chat) may hold control
//! characters — an escape sequence that rewrites the screen, a NUL, a right-to-left override
//! that reverses what follows — so every line the CLI prints shows them escaped instead.

use std::borrow::Cow;

/// `text` with control characters (but newline and tab), DEL, the C1 range and the Unicode
/// bidirectional controls written as `\u001b` — the form JSON uses too, so `--json` output
/// stays valid JSON.
pub fn safe(text: &str) -> Cow<'_, str> {
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn unsafe_char(c: char) -> bool {
    match c {
        '\n' | '\t' => false,
        // Bidirectional embeddings, overrides and isolates; the zero-width marks are harmless.
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => true,
        c => c.is_control(),
    }
}

#[cfg(test)]
mod tests {
    use super::safe;

    #[test]
    fn control_characters_are_shown_escaped() {
        let cases = [
            ("plain text, ünïcode ✓", "plain text, ünïcode ✓"),
            ("two\nlines\tand a tab", "two\nlines\tand a tab"),
            ("\u{1b}[2Jcleared", "\\u001b[2Jcleared"),
            ("nul\0here", "nul\\u0000here"),
            ("abc\u{202e}fed", "abc\\u202efed"),
            ("carriage\rreturn", "carriage\\u000dreturn"),
            ("c1\u{9b}31m", "c1\\u009b31m"),
            ("del\u{7f}", "del\\u007f"),
        ];
        for (text, expected) in cases {
            assert_eq!(safe(text), expected, "{text:?}");
        }
    }
}

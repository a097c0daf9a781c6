//! Text from the network made safe for a terminal: control characters (C0, DEL, C1: the ESC
//! of ANSI sequences, BEL, CR, backspace...) shown as `\xNN`, and the bidirectional formatting
//! characters that reorder what a reader sees as `\u{NNNN}`. Everything else is kept.

use std::borrow::Cow;
use std::fmt::Write;

pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            c if c.is_control() && (c as u32) <= 0xff => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_and_controls_are_shown_not_sent() {
        assert_eq!(
            printable("hi\x1b[2J\x1b]0;pwned\x07\r\nend"),
            "hi\\x1b[2J\\x1b]0;pwned\\x07\\x0d\\x0aend"
        );
        assert_eq!(
            printable("\u{9b}31m \u{202e}txt.exe"),
            "\\x9b31m \\u{202e}txt.exe"
        );
        assert!(matches!(
            printable("buddy bob is open — at desk"),
            Cow::Borrowed(_)
        ));
    }
}

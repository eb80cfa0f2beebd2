//! `Content-Disposition: attachment` for a file name chosen by a user (RFC 6266 with the RFC 8187
//! `filename*` parameter): a quoted ASCII fallback that cannot break out of its quotes or the
//! header, and the name itself in UTF-8, percent-encoded.

use crate::values::is_invisible_format;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Long enough for any real document name, short enough for every file system.
const MAX_NAME_CHARS: usize = 200;

/// Used when nothing of the name is left.
const DEFAULT_NAME: &str = "download";

/// RFC 8187 `attr-char`: everything else is percent-encoded.
const ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// The header value that makes a browser save the bytes as (a safe form of) `name`.
pub fn attachment(name: &str) -> String {
    let name = clean(name);
    let fallback = ascii_fallback(&name);
    format!(
        "attachment; filename=\"{fallback}\"; filename*=UTF-8''{}",
        utf8_percent_encode(&name, ATTR_CHAR)
    )
}

/// The name without control or direction-changing characters (which could hide the real
/// extension), with path separators replaced, and without leading dots (hidden files).
fn clean(name: &str) -> String {
    let kept: String = name
        .chars()
        .filter(|c| !c.is_control() && !is_invisible_format(*c))
        .map(|c| if matches!(c, '/' | '\\') { '_' } else { c })
        .take(MAX_NAME_CHARS)
        .collect();
    non_empty(&kept)
}

/// Printable ASCII only, without the quote that would end the parameter.
fn ascii_fallback(name: &str) -> String {
    let ascii: String = name
        .chars()
        .filter(|c| *c != '"')
        .map(|c| {
            if c == ' ' || c.is_ascii_graphic() {
                c
            } else {
                '_'
            }
        })
        .collect();
    non_empty(&ascii)
}

fn non_empty(name: &str) -> String {
    // Dots and white space in any order: " . .env" must not end up as ".env".
    let trimmed = name
        .trim_start_matches(|c: char| c == '.' || c.is_whitespace())
        .trim_end();
    if trimmed.is_empty() {
        DEFAULT_NAME.to_owned()
    } else {
        trimmed.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ASCII fallback and the decoded `filename*` of a header value.
    fn names(value: &str) -> (String, String) {
        let rest = value.strip_prefix("attachment; filename=\"").unwrap();
        let (fallback, encoded) = rest.split_once("\"; filename*=UTF-8''").unwrap();
        let full = percent_encoding::percent_decode_str(encoded)
            .decode_utf8()
            .unwrap();
        (fallback.to_owned(), full.into_owned())
    }

    #[test]
    fn dots_and_spaces_in_any_order_do_not_make_a_hidden_file() {
        // Found by the filename fuzz target: the dots went first, then the spaces, and a dot
        // that followed the spaces survived.
        let (fallback, full) = names(&attachment(" . .hidden"));
        assert_eq!((fallback.as_str(), full.as_str()), ("hidden", "hidden"));
        let (fallback, full) = names(&attachment("\u{3000}.\t. .env"));
        assert_eq!((fallback.as_str(), full.as_str()), ("env", "env"));
        assert_eq!(names(&attachment(". . .")).1, "download");
        assert_eq!(names(&attachment("a. .b. ")).1, "a. .b.");
    }

    #[test]
    fn the_arabic_letter_mark_is_removed_like_other_bidi_marks() {
        // Found by the filename fuzz target: U+061C changes the direction of what follows, as
        // U+200E and U+200F do, but was kept.
        let (fallback, full) = names(&attachment("abc\u{061C}d.pdf"));
        assert_eq!((fallback.as_str(), full.as_str()), ("abcd.pdf", "abcd.pdf"));
        assert_eq!(
            names(&attachment("a\u{200E}b\u{200F}c\u{061C}d.pdf")).1,
            "abcd.pdf"
        );
    }
}

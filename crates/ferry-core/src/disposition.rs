//! `Content-Disposition: attachment` for a file name chosen by a user (RFC 6266 with the RFC 8187
//! `filename*` parameter): a quoted ASCII fallback that cannot break out of its quotes or the
//! header, and the name itself in UTF-8, percent-encoded.

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
    let trimmed = name.trim().trim_start_matches('.').trim_start();
    if trimmed.is_empty() {
        DEFAULT_NAME.to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// Bidirectional overrides and isolates, marks, and line separators.
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}'
    )
}

#![no_main]
//! An uploaded file's original name, as it becomes a document's display name (through the
//! create-transfer service) and a download's Content-Disposition header.

use ferry_core::Error;
use ferry_core::disposition;
use ferry_fuzz::{block_on, ferry, new_file, new_transfer};
use libfuzzer_sys::fuzz_target;
use percent_encoding::percent_decode_str;

/// What `clean_text` removes besides control characters: overrides, isolates and marks.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Characters that must never reach a saved file's name: these, plus zero-width and line
/// separators, which the header drops too.
fn hidden_in_download(c: char) -> bool {
    c.is_control()
        || is_bidi_control(c)
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{FEFF}')
}

/// RFC 8187 attr-char, or the `%` of an escape.
fn is_attr_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~%".contains(&b)
}

fn check_saved_name(name: &str, what: &str) {
    assert!(!name.is_empty(), "{what}: empty");
    assert!(
        !name.contains(['/', '\\']),
        "{what}: a path separator in {name:?}"
    );
    assert!(!name.chars().any(hidden_in_download), "{what}: {name:?}");
    assert!(!name.starts_with('.'), "{what}: a hidden file {name:?}");
    assert_eq!(name, name.trim(), "{what}: surrounding white space");
}

fn check_disposition(original: &str) {
    let value = disposition::attachment(original);
    assert!(
        value.bytes().all(|b| b == b' ' || b.is_ascii_graphic()),
        "not a plain header value: {value:?}"
    );
    assert!(http::HeaderValue::from_str(&value).is_ok());
    let rest = value
        .strip_prefix("attachment; filename=\"")
        .expect("the disposition type and fallback name");
    let (fallback, encoded) = rest
        .split_once("\"; filename*=UTF-8''")
        .expect("the fallback is closed by its own quote");
    assert!(!fallback.contains('"'));
    check_saved_name(fallback, "fallback");
    assert!(encoded.bytes().all(is_attr_char), "filename* {encoded:?}");
    let name = percent_decode_str(encoded)
        .decode_utf8()
        .expect("filename* is UTF-8");
    check_saved_name(&name, "filename*");
    assert!(name.chars().count() <= 200);
}

fn check_display_name(original: &str) {
    let ferry = ferry();
    let sender = ferry_fuzz::sender();
    let created = block_on(ferry.create_transfer(
        &sender,
        new_transfer(vec![new_file(original, "application/pdf")]),
        None,
    ));
    match created {
        Ok(transfer) => {
            let name = &transfer.documents[0].name;
            assert!(!name.is_empty() && name != "." && name != "..");
            assert!(!name.contains(['/', '\\']), "a path separator in {name:?}");
            assert!(
                !name.chars().any(|c| c.is_control() || is_bidi_control(c)),
                "{name:?}"
            );
            assert_eq!(name, name.trim());
            assert!(name.chars().count() <= 255);
        }
        // A name is the client's mistake, never the server's.
        Err(Error::Invalid(_)) => {}
        Err(e) => panic!("create_transfer failed with {e:?} for {original:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let original = String::from_utf8_lossy(data);
    check_disposition(&original);
    check_display_name(&original);
});

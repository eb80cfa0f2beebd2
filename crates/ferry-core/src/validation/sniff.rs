//! Type detection from the first bytes of an object (everything but ZIP structure).

use super::DetectedType;

/// Readers accept a PDF header starting anywhere in the first KiB, after arbitrary junk.
const PDF_HEADER_WINDOW: usize = 1024;
/// Records looked at to decide whether a text is CSV.
const CSV_RECORDS: usize = 20;

/// `prefix`: the first bytes of a non-empty object; `complete`: whether it is the whole object.
pub(super) fn detect(prefix: &[u8], complete: bool) -> DetectedType {
    if let Some(kind) = executable_kind(prefix) {
        tracing::debug!(kind, "executable content");
        return DetectedType::Executable;
    }
    if let Some(t) = binary_magic(prefix) {
        return t;
    }
    let lossy = decode(prefix, complete, true).unwrap_or_default();
    if lossy.starts_with("#!") {
        return DetectedType::Script;
    }
    if looks_like_markup_with_script(&lossy) {
        return DetectedType::Html;
    }
    // Checked after the script and markup tests so that a polyglot with a PDF header a few
    // lines in is not waved through as a PDF.
    if pdf_reader_would_open(prefix) {
        return DetectedType::Pdf;
    }
    match decode(prefix, complete, false) {
        Some(text) if is_clean_text(&text) => {
            if looks_like_csv(&text, complete) {
                DetectedType::Csv
            } else {
                DetectedType::Text
            }
        }
        _ => DetectedType::Unknown,
    }
}

/// Which kind of native or byte code the bytes start with, for the log.
pub(super) fn executable_kind(p: &[u8]) -> Option<&'static str> {
    const MACH_O: [&[u8]; 4] = [
        b"\xFE\xED\xFA\xCE",
        b"\xFE\xED\xFA\xCF",
        b"\xCE\xFA\xED\xFE",
        b"\xCF\xFA\xED\xFE",
    ];
    if p.starts_with(b"MZ") {
        Some("pe")
    } else if p.starts_with(b"\x7FELF") {
        Some("elf")
    } else if MACH_O.iter().any(|m| p.starts_with(m)) {
        Some("mach-o")
    } else if p.starts_with(b"\xCA\xFE\xBA\xBE") {
        // Shared by Java classes and fat Mach-O binaries. A fat header's next word is the
        // architecture count (a handful); a class file's is minor<<16 | major, with major >= 45.
        match p.get(4..8) {
            Some(w) if u32::from_be_bytes([w[0], w[1], w[2], w[3]]) < 45 => Some("mach-o-fat"),
            Some(_) => Some("java-class"),
            None => Some("java-class-or-mach-o-fat"),
        }
    } else if [
        b"\xCA\xFE\xBA\xBF",
        b"\xBE\xBA\xFE\xCA",
        b"\xBF\xBA\xFE\xCA",
    ]
    .iter()
    .any(|m| p.starts_with(*m))
    {
        Some("mach-o-fat")
    } else if p.starts_with(b"\0asm") {
        Some("wasm")
    } else {
        None
    }
}

fn binary_magic(p: &[u8]) -> Option<DetectedType> {
    let t = if p.starts_with(b"%PDF-") {
        DetectedType::Pdf
    } else if p.starts_with(b"\x89PNG\r\n\x1A\n") {
        DetectedType::Png
    } else if p.starts_with(b"\xFF\xD8\xFF") {
        DetectedType::Jpeg
    } else if p.starts_with(b"GIF87a") || p.starts_with(b"GIF89a") {
        DetectedType::Gif
    } else if [b"II*\0", b"MM\0*", b"II+\0", b"MM\0+"]
        .iter()
        .any(|m| p.starts_with(*m))
    {
        // Classic TIFF and BigTIFF, both byte orders.
        DetectedType::Tiff
    } else if p.len() >= 12 && p.starts_with(b"RIFF") && &p[8..12] == b"WEBP" {
        DetectedType::Webp
    } else if p.starts_with(b"PK\x05\x06") || p.starts_with(b"PK\x07\x08") {
        // An empty or a spanned archive: a ZIP, but never an Office file.
        DetectedType::Zip
    } else {
        return None;
    };
    Some(t)
}

/// Whether a PDF reader would take the object for a PDF: a header within its first KiB.
pub(super) fn pdf_reader_would_open(prefix: &[u8]) -> bool {
    has_pdf_header(&prefix[..prefix.len().min(PDF_HEADER_WINDOW + 6)])
}

/// `%PDF-` followed by a version number, so prose that mentions the marker is not a PDF.
fn has_pdf_header(window: &[u8]) -> bool {
    window
        .windows(7)
        .any(|w| w.starts_with(b"%PDF-") && w[5].is_ascii_digit() && w[6] == b'.')
}

/// Decodes the prefix as UTF-8 (optionally after a BOM) or as BOM-marked UTF-16. `lossy`
/// replaces invalid sequences; otherwise any invalid sequence gives `None`, except for one
/// character cut short by the end of an incomplete prefix.
fn decode(prefix: &[u8], complete: bool, lossy: bool) -> Option<String> {
    if let Some(rest) = prefix.strip_prefix(b"\xFF\xFE") {
        return decode_utf16(rest, u16::from_le_bytes, complete, lossy);
    }
    if let Some(rest) = prefix.strip_prefix(b"\xFE\xFF") {
        return decode_utf16(rest, u16::from_be_bytes, complete, lossy);
    }
    let bytes = prefix.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(prefix);
    if lossy {
        return Some(String::from_utf8_lossy(bytes).into_owned());
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Some(s.to_owned()),
        // `error_len() == None`: the input ended inside a character.
        Err(e) if e.error_len().is_none() && !complete => {
            Some(String::from_utf8_lossy(&bytes[..e.valid_up_to()]).into_owned())
        }
        Err(_) => None,
    }
}

fn decode_utf16(
    bytes: &[u8],
    unit: fn([u8; 2]) -> u16,
    complete: bool,
    lossy: bool,
) -> Option<String> {
    let mut units: Vec<u16> = bytes.chunks_exact(2).map(|c| unit([c[0], c[1]])).collect();
    let odd_byte = bytes.len() % 2 == 1;
    if !complete {
        // The prefix may end between the bytes of a unit or the units of a surrogate pair.
        if units.last().is_some_and(|u| (0xD800..0xDC00).contains(u)) {
            units.pop();
        }
    } else if odd_byte && !lossy {
        return None;
    }
    let mut out = String::with_capacity(units.len());
    for c in char::decode_utf16(units) {
        match c {
            Ok(c) => out.push(c),
            Err(_) if lossy => out.push(char::REPLACEMENT_CHARACTER),
            Err(_) => return None,
        }
    }
    Some(out)
}

/// No NUL and no control character but tab, line feed, carriage return and form feed.
fn is_clean_text(text: &str) -> bool {
    text.chars()
        .all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r' | '\x0C'))
}

/// Markup that a browser could run script from: HTML, XHTML, SVG, XML with a stylesheet.
fn looks_like_markup_with_script(text: &str) -> bool {
    const MARKERS: [&str; 12] = [
        "<!doctype html",
        "<html",
        "<head",
        "<body",
        "<script",
        "<svg",
        "<iframe",
        "<object",
        "<embed",
        "<?xml-stylesheet",
        "http://www.w3.org/1999/xhtml",
        "http://www.w3.org/2000/svg",
    ];
    let trimmed = text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{FEFF}');
    if !trimmed.starts_with('<') {
        return false;
    }
    let lower = trimmed.to_ascii_lowercase();
    MARKERS.iter().any(|m| lower.contains(m))
}

/// The first records have the same number (at least two) of fields separated by commas,
/// semicolons or tabs outside double quotes.
fn looks_like_csv(text: &str, complete: bool) -> bool {
    [',', ';', '\t']
        .into_iter()
        .any(|delimiter| consistent_fields(text, delimiter, complete))
}

fn consistent_fields(text: &str, delimiter: char, complete: bool) -> bool {
    let mut counts: Vec<usize> = Vec::with_capacity(CSV_RECORDS);
    let mut fields = 1;
    let mut in_quotes = false;
    let mut has_content = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                if in_quotes && chars.peek() == Some(&'"') {
                    chars.next();
                } else {
                    in_quotes = !in_quotes;
                }
                has_content = true;
            }
            c if c == delimiter && !in_quotes => {
                fields += 1;
                has_content = true;
            }
            '\n' if !in_quotes => {
                // Blank lines separate nothing.
                if has_content {
                    counts.push(fields);
                    if counts.len() == CSV_RECORDS {
                        break;
                    }
                }
                fields = 1;
                has_content = false;
            }
            c if c.is_whitespace() => {}
            _ => has_content = true,
        }
    }
    // A last record without a line end counts only if the prefix is the whole object;
    // otherwise it may have been cut.
    if complete && has_content && !in_quotes && counts.len() < CSV_RECORDS {
        counts.push(fields);
    }
    counts.len() >= 2 && counts[0] >= 2 && counts.iter().all(|&n| n == counts[0])
}

//! Native text extraction, no cloud: PDFs with a text layer (lopdf) and plain text or CSV.
//!
//! The input is hostile: sizes are checked before anything is loaded, output is capped, and a
//! panic inside the PDF parser becomes an error instead of taking the worker down.

mod pdf_lines;
#[cfg(test)]
mod tests;

use anyhow::{Context, anyhow, bail};
use serde::{Deserialize, Serialize};
use std::io::{ErrorKind, Read};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtractLimits {
    /// Characters kept over all pages. A million keeps the text's answer (at most 4 bytes a
    /// character, with JSON's escapes) under the 6 MB a Lambda function may return.
    pub max_chars: usize,
    /// Pages read; the page count still reports every page.
    pub max_pages: usize,
    /// PDFs above this size are not loaded at all (lopdf holds the whole file in memory).
    pub max_pdf_bytes: u64,
    /// What one compressed PDF stream may inflate to, and all of them together: the parser
    /// inflates streams in memory without a limit of its own.
    pub max_stream_bytes: u64,
    pub max_inflated_bytes: u64,
    /// Objects written out in the file (`N 0 obj`): lopdf takes time quadratic in their number
    /// to load a file (each one counts lines from the start), about 15 s for 100,000 in a
    /// release build. Objects packed in object streams do not count.
    pub max_objects: usize,
}

impl Default for ExtractLimits {
    fn default() -> Self {
        Self {
            max_chars: 1_000_000,
            max_pages: 2_000,
            max_pdf_bytes: 64 * 1024 * 1024,
            max_stream_bytes: 16 * 1024 * 1024,
            max_inflated_bytes: 256 * 1024 * 1024,
            max_objects: 25_000,
        }
    }
}

/// How deeply arrays and dictionaries may nest in what the PDF parser reads. lopdf recurses once
/// per level (and so does dropping what it parsed), so without a bound a run of brackets
/// exhausts any stack and aborts the whole process; real documents nest a few levels. Well
/// above what the stray brackets of compressed data add up to, which the check counts too.
pub(crate) const MAX_NESTING: usize = 4096;

/// How long a page's chain of `Parent` nodes may be: lopdf climbs it recursively to find
/// inherited resources. Its own page tree walk stops at the same depth.
pub(crate) const MAX_PAGE_TREE_DEPTH: usize = 256;

/// The stack of the thread that reads a PDF: room for [`MAX_NESTING`] levels of the parser, a
/// few KiB each (tens in a debug build). Address space only; pages are used as needed.
const PARSER_STACK_BYTES: usize = 256 * 1024 * 1024;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtractedText {
    pub pages: Vec<String>,
    pub page_count: u32,
    /// Some text was left out because of [`ExtractLimits`].
    pub truncated: bool,
}

/// The text layer of a PDF, page by page. `Ok(None)` when the pages hold no text (a scan);
/// `Err` when the file is too large, encrypted or cannot be parsed.
pub fn extract_pdf(path: &Path, limits: &ExtractLimits) -> anyhow::Result<Option<ExtractedText>> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    if size > limits.max_pdf_bytes {
        bail!(
            "the PDF is {size} bytes, above the {} byte limit for text extraction",
            limits.max_pdf_bytes
        );
    }
    // lopdf indexes and unwraps on input it does not expect, and recurses as deeply as the
    // document nests: its own thread, with a stack sized for the nesting allowed.
    let (path, limits) = (path.to_owned(), limits.clone());
    std::thread::Builder::new()
        .name("pdf-text".into())
        .stack_size(PARSER_STACK_BYTES)
        .spawn(move || without_panics(|| pdf_text(&path, &limits)))
        .context("starting the PDF reader")?
        .join()
        .unwrap_or_else(|_| Err(anyhow!("the PDF reader failed")))
}

/// Runs `f`, turning a panic into an error. AssertUnwindSafe is sound here because nothing
/// `f` touches outlives a panic: the document is dropped with the unwinding frames.
fn without_panics<T>(f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        Err(anyhow!("the PDF parser failed on this file: {message}"))
    })
}

/// Inflates every zlib stream of the file into a counter, never into memory, and refuses a
/// file that would expand beyond the limits: a 1 MB PDF can hold gigabytes of page content.
fn check_expansion(pdf: &[u8], limits: &ExtractLimits) -> anyhow::Result<()> {
    const KEYWORD: &[u8] = b"stream";
    let mut total: u64 = 0;
    let mut at = 0;
    while let Some(found) = pdf[at..].windows(KEYWORD.len()).position(|w| w == KEYWORD) {
        let keyword = at + found;
        at = keyword + KEYWORD.len();
        if pdf[..keyword].ends_with(b"end") {
            continue;
        }
        // The data starts after the keyword's end of line (CRLF or LF).
        let start = match &pdf[at..] {
            [b'\r', b'\n', ..] => at + 2,
            [b'\n', ..] => at + 1,
            _ => continue,
        };
        let mut inflated =
            flate2::read::ZlibDecoder::new(&pdf[start..]).take(limits.max_stream_bytes + 1);
        // Not zlib (an image, say): nothing. Broken midway: what came out before the break,
        // which the parser would hold too.
        let mut counter = Counter(0);
        let _ = std::io::copy(&mut inflated, &mut counter);
        let size = counter.0;
        if size > limits.max_stream_bytes {
            bail!(
                "a stream of the PDF expands beyond {} bytes; its text is not extracted",
                limits.max_stream_bytes
            );
        }
        total += size;
        if total > limits.max_inflated_bytes {
            bail!(
                "the PDF's streams expand beyond {} bytes in all; its text is not extracted",
                limits.max_inflated_bytes
            );
        }
    }
    Ok(())
}

/// Keeps every object but an object stream whose decoded content nests too deeply. lopdf
/// uses what this returns for the objects inside object streams, and only the `None` for the
/// others (object streams among them), which keep their own value.
fn drop_deep_object_streams(
    id: lopdf::ObjectId,
    object: &mut lopdf::Object,
) -> Option<(lopdf::ObjectId, lopdf::Object)> {
    match object.as_stream() {
        Ok(stream) => {
            if stream.dict.has_type(b"ObjStm") {
                let decoded = stream.decompressed_content();
                let content = decoded.as_deref().unwrap_or(&stream.content);
                if nesting_depth(content) > MAX_NESTING {
                    return None;
                }
            }
            Some((id, lopdf::Object::Null))
        }
        Err(_) => Some((id, object.clone())),
    }
}

/// How many objects a PDF writes out: the `obj` keywords that follow a generation number.
fn object_count(data: &[u8]) -> usize {
    data.windows(5)
        .filter(|w| w[0].is_ascii_digit() && &w[1..] == b" obj")
        .count()
}

/// The deepest nesting of arrays and dictionaries in PDF syntax (a file, an object stream or a
/// page's content), read as the parser reads it: literal and hexadecimal strings and comments
/// hold no structure. Binary data (streams in a file, inline images in content) is read like
/// the rest; its stray brackets come and go at random and add little.
pub(crate) fn nesting_depth(data: &[u8]) -> usize {
    let (mut depth, mut deepest, mut i) = (0usize, 0usize, 0usize);
    while i < data.len() {
        match data[i] {
            b'%' => {
                while i < data.len() && data[i] != b'\n' && data[i] != b'\r' {
                    i += 1;
                }
            }
            b'(' => {
                let mut open = 1;
                i += 1;
                while i < data.len() && open > 0 {
                    match data[i] {
                        b'\\' => i += 1,
                        b'(' => open += 1,
                        b')' => open -= 1,
                        _ => {}
                    }
                    i += 1;
                }
                continue;
            }
            b'<' if data.get(i + 1) == Some(&b'<') => {
                depth += 1;
                deepest = deepest.max(depth);
                i += 1;
            }
            b'>' if data.get(i + 1) == Some(&b'>') => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'<' => {
                while i < data.len() && data[i] != b'>' {
                    i += 1;
                }
            }
            b'[' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    deepest
}

struct Counter(u64);

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn pdf_text(path: &Path, limits: &ExtractLimits) -> anyhow::Result<Option<ExtractedText>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    check_expansion(&bytes, limits)?;
    let objects = object_count(&bytes);
    if objects > limits.max_objects {
        bail!(
            "the PDF writes out {objects} objects, above the {} that text extraction reads",
            limits.max_objects
        );
    }
    if nesting_depth(&bytes) > MAX_NESTING {
        bail!(
            "the PDF nests arrays or dictionaries more than {MAX_NESTING} levels deep; its text is not extracted"
        );
    }
    // Object streams are parsed as they are loaded: the filter drops one that nests too deeply
    // before the parser sees its content.
    let document = lopdf::Reader {
        buffer: &bytes,
        document: lopdf::Document::new(),
    }
    .read(Some(drop_deep_object_streams))
    .context("the file is not a readable PDF")?;
    drop(bytes);
    // lopdf has already tried the empty user password; still encrypted means a real password.
    if document.is_encrypted() {
        bail!("the PDF is encrypted");
    }
    let pages = document.get_pages();
    let page_count = u32::try_from(pages.len()).context("too many pages")?;
    let mut out = ExtractedText {
        pages: Vec::new(),
        page_count,
        truncated: false,
    };
    let mut budget = limits.max_chars;
    let mut first_error = None;
    let mut has_text = false;
    for (index, &page_id) in pages.values().enumerate() {
        if index >= limits.max_pages {
            out.truncated = true;
            break;
        }
        // A page whose fonts or content cannot be decoded keeps what the others gave; only a
        // document where nothing at all could be read counts as broken.
        let (raw, error) = pdf_lines::page_text(&document, page_id);
        if let Some(e) = error {
            first_error.get_or_insert(e);
        }
        let mut sink = TextSink::new(budget);
        sink.push_str(&raw);
        out.truncated |= sink.truncated;
        if sink.truncated && sink.chars == 0 {
            // Nothing of this page fits: leave it out rather than list an empty page.
            break;
        }
        budget -= sink.chars;
        has_text |= sink.text.chars().any(|c| !c.is_whitespace());
        out.pages.push(sink.text);
        if out.truncated {
            break;
        }
    }
    match (has_text, first_error) {
        (true, _) => Ok(Some(out)),
        (false, Some(e)) => Err(anyhow!(e).context("no page of the PDF could be read")),
        (false, None) => Ok(None),
    }
}

/// The text of a plain text or CSV object, read as a stream up to `max_chars`. UTF-8, or
/// UTF-16 when the text starts with its byte order mark; invalid sequences become U+FFFD.
pub fn extract_text<R: Read>(
    mut reader: R,
    limits: &ExtractLimits,
) -> anyhow::Result<ExtractedText> {
    let mut sink = TextSink::new(limits.max_chars);
    let mut buf = vec![0u8; 64 * 1024];
    let mut decoder: Option<Decoder> = None;
    // Bytes read before the encoding is known (fewer than a BOM).
    let mut head: Vec<u8> = Vec::new();
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).context("reading the text"),
        };
        let mut data = &buf[..n];
        let decoder = match &mut decoder {
            Some(d) => d,
            None => {
                head.extend_from_slice(data);
                if head.len() < 3 {
                    continue;
                }
                let (d, bom) = Decoder::for_start(&head);
                data = &head[bom..];
                decoder.insert(d)
            }
        };
        decoder.feed(data, &mut sink);
        if sink.truncated {
            break;
        }
        // `head` is only needed until the first decode.
        head = Vec::new();
    }
    match decoder {
        Some(mut d) => d.finish(&mut sink),
        None => {
            // Fewer than three bytes in all.
            let (mut d, bom) = Decoder::for_start(&head);
            d.feed(&head[bom..], &mut sink);
            d.finish(&mut sink);
        }
    }
    Ok(ExtractedText {
        pages: vec![sink.text],
        page_count: 1,
        truncated: sink.truncated,
    })
}

/// Incremental decoding across reads that may split a character.
enum Decoder {
    Utf8 {
        pending: Vec<u8>,
    },
    Utf16 {
        big_endian: bool,
        odd: Option<u8>,
        high: Option<u16>,
    },
}

impl Decoder {
    /// The decoder for a text starting with `head`, and the length of its byte order mark.
    fn for_start(head: &[u8]) -> (Self, usize) {
        if head.starts_with(b"\xEF\xBB\xBF") {
            (
                Self::Utf8 {
                    pending: Vec::new(),
                },
                3,
            )
        } else if head.starts_with(b"\xFF\xFE") {
            (
                Self::Utf16 {
                    big_endian: false,
                    odd: None,
                    high: None,
                },
                2,
            )
        } else if head.starts_with(b"\xFE\xFF") {
            (
                Self::Utf16 {
                    big_endian: true,
                    odd: None,
                    high: None,
                },
                2,
            )
        } else {
            (
                Self::Utf8 {
                    pending: Vec::new(),
                },
                0,
            )
        }
    }

    fn feed(&mut self, mut data: &[u8], sink: &mut TextSink) {
        match self {
            Self::Utf8 { pending } => {
                // Complete the character split by the previous read, at most 3 bytes.
                while !pending.is_empty() && !data.is_empty() {
                    pending.push(data[0]);
                    data = &data[1..];
                    match std::str::from_utf8(pending) {
                        Ok(s) => {
                            sink.push_str(s);
                            pending.clear();
                        }
                        Err(e) if e.error_len().is_none() => {}
                        Err(_) => {
                            // Not a continuation after all: replace the bad lead and re-read
                            // what followed it.
                            sink.push_char(char::REPLACEMENT_CHARACTER);
                            let rest = pending.split_off(1);
                            pending.clear();
                            decode_utf8(&rest, pending, sink);
                        }
                    }
                }
                if pending.is_empty() {
                    decode_utf8(data, pending, sink);
                }
            }
            Self::Utf16 {
                big_endian,
                odd,
                high,
            } => {
                let mut bytes = data.iter().copied();
                loop {
                    let (a, b) = match odd.take() {
                        Some(a) => match bytes.next() {
                            Some(b) => (a, b),
                            None => {
                                *odd = Some(a);
                                break;
                            }
                        },
                        None => match (bytes.next(), bytes.next()) {
                            (Some(a), Some(b)) => (a, b),
                            (Some(a), None) => {
                                *odd = Some(a);
                                break;
                            }
                            _ => break,
                        },
                    };
                    let unit = if *big_endian {
                        u16::from_be_bytes([a, b])
                    } else {
                        u16::from_le_bytes([a, b])
                    };
                    push_utf16(unit, high, sink);
                    if sink.truncated {
                        return;
                    }
                }
            }
        }
    }

    /// Whatever was cut off at the end of the stream becomes a replacement character.
    fn finish(&mut self, sink: &mut TextSink) {
        let incomplete = match self {
            Self::Utf8 { pending } => !pending.is_empty(),
            Self::Utf16 { odd, high, .. } => odd.is_some() || high.is_some(),
        };
        if incomplete {
            sink.push_char(char::REPLACEMENT_CHARACTER);
        }
    }
}

/// Decodes `data` lossily into `sink`, leaving a character cut at the end in `pending`.
fn decode_utf8(mut data: &[u8], pending: &mut Vec<u8>, sink: &mut TextSink) {
    while !data.is_empty() && !sink.truncated {
        match std::str::from_utf8(data) {
            Ok(s) => {
                sink.push_str(s);
                return;
            }
            Err(e) => {
                let (valid, rest) = data.split_at(e.valid_up_to());
                // from_utf8 has just checked `valid`.
                sink.push_str(std::str::from_utf8(valid).unwrap_or_default());
                match e.error_len() {
                    Some(bad) => {
                        sink.push_char(char::REPLACEMENT_CHARACTER);
                        data = &rest[bad..];
                    }
                    None => {
                        pending.extend_from_slice(rest);
                        return;
                    }
                }
            }
        }
    }
}

fn push_utf16(unit: u16, high: &mut Option<u16>, sink: &mut TextSink) {
    if let Some(h) = high.take() {
        if (0xDC00..0xE000).contains(&unit) {
            let c = 0x10000 + ((u32::from(h) - 0xD800) << 10) + (u32::from(unit) - 0xDC00);
            sink.push_char(char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER));
            return;
        }
        sink.push_char(char::REPLACEMENT_CHARACTER);
    }
    if (0xD800..0xDC00).contains(&unit) {
        *high = Some(unit);
    } else {
        sink.push_char(char::from_u32(u32::from(unit)).unwrap_or(char::REPLACEMENT_CHARACTER));
    }
}

/// Collects cleaned text up to a number of characters: line ends normalised to `\n`, NUL and
/// other control characters dropped (they break viewers and JSON consumers), tabs kept.
struct TextSink {
    text: String,
    chars: usize,
    max: usize,
    /// A character was refused because the limit was reached.
    truncated: bool,
    after_cr: bool,
    at_start: bool,
}

impl TextSink {
    fn new(max: usize) -> Self {
        Self {
            text: String::new(),
            chars: 0,
            max,
            truncated: false,
            after_cr: false,
            at_start: true,
        }
    }

    fn push_str(&mut self, s: &str) {
        for c in s.chars() {
            self.push_char(c);
            if self.truncated {
                return;
            }
        }
    }

    fn push_char(&mut self, c: char) {
        let at_start = std::mem::replace(&mut self.at_start, false);
        let after_cr = std::mem::replace(&mut self.after_cr, c == '\r');
        let kept = match c {
            '\r' => '\n',
            '\n' if after_cr => return,
            '\n' | '\t' => c,
            // A byte order mark left in the text is not content.
            '\u{FEFF}' if at_start => return,
            c if c.is_control() => return,
            c => c,
        };
        if self.chars >= self.max {
            self.truncated = true;
            return;
        }
        self.text.push(kept);
        self.chars += 1;
    }
}

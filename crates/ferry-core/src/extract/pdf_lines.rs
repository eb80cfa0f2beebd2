//! The text of one PDF page with its line breaks. lopdf's own extraction joins the lines of a
//! text block with nothing between them ("…Alice and BobSigned on…"); this walks the same
//! operators and also honours those that start a new line.

use lopdf::content::Content;
use lopdf::{Document, Encoding, Object, ObjectId};
use std::collections::BTreeMap;

/// The page's text, and the first error met: what could be decoded is kept.
pub(super) fn page_text(document: &Document, page_id: ObjectId) -> (String, Option<lopdf::Error>) {
    let mut first_error = None;
    // lopdf climbs the Parent chain recursively for inherited resources, and parses content
    // recursively: both are bounded before lopdf sees them.
    if let Err(e) = check_parents(document, page_id) {
        return (String::new(), Some(e));
    }
    let fonts = match document.get_page_fonts(page_id) {
        Ok(fonts) => fonts,
        Err(e) => return (String::new(), Some(e)),
    };
    let encodings: BTreeMap<Vec<u8>, Encoding> = fonts
        .into_iter()
        .filter_map(|(name, font)| match font.get_font_encoding(document) {
            Ok(encoding) => Some((name, encoding)),
            Err(e) => {
                first_error.get_or_insert(e);
                None
            }
        })
        .collect();
    let content = match document.get_page_content(page_id).and_then(|data| {
        if super::nesting_depth(&data) > super::MAX_NESTING {
            return Err(lopdf::Error::Syntax(
                "the page's content nests arrays or dictionaries too deeply".into(),
            ));
        }
        Content::decode(&data)
    }) {
        Ok(content) => content,
        Err(e) => return (String::new(), Some(e)),
    };

    let mut text = String::new();
    let mut encoding = None;
    for operation in &content.operations {
        let operands = operation.operands.as_slice();
        let shown = match operation.operator.as_str() {
            "Tf" => {
                encoding = operands
                    .first()
                    .and_then(|font| font.as_name().ok())
                    .and_then(|name| encodings.get(name));
                continue;
            }
            "Tj" | "TJ" => operands,
            // `'` and `"` move to the next line, then show their string.
            "'" => {
                new_line(&mut text);
                operands
            }
            "\"" => {
                new_line(&mut text);
                operands.get(2..).unwrap_or_default()
            }
            "T*" | "ET" => {
                new_line(&mut text);
                continue;
            }
            "Td" | "TD" => {
                let down = operands.get(1).and_then(|ty| ty.as_float().ok());
                if down.is_some_and(|ty| ty != 0.0) {
                    new_line(&mut text);
                } else {
                    word_break(&mut text);
                }
                continue;
            }
            _ => continue,
        };
        let Some(encoding) = encoding else { continue };
        if let Err(e) = show(&mut text, encoding, shown) {
            first_error.get_or_insert(e);
        }
    }
    (text, first_error)
}

/// Fails when the page's chain of Parent nodes is longer than any real page tree.
fn check_parents(document: &Document, page_id: ObjectId) -> lopdf::Result<()> {
    let mut node = page_id;
    for _ in 0..=super::MAX_PAGE_TREE_DEPTH {
        match document
            .get_dictionary(node)
            .and_then(|d| d.get(b"Parent"))
            .and_then(Object::as_reference)
        {
            Ok(parent) => node = parent,
            Err(_) => return Ok(()),
        }
    }
    Err(lopdf::Error::Syntax(
        "the page hangs from a page tree deeper than any real document's".into(),
    ))
}

fn show(text: &mut String, encoding: &Encoding, operands: &[Object]) -> lopdf::Result<()> {
    for operand in operands {
        match operand {
            Object::String(bytes, _) => text.push_str(&Document::decode_text(encoding, bytes)?),
            Object::Array(items) => show(text, encoding, items)?,
            // A large negative kerning inside TJ is how many PDFs write a space.
            Object::Integer(i) if *i < -100 => word_break(text),
            Object::Real(r) if *r < -100.0 => word_break(text),
            _ => {}
        }
    }
    Ok(())
}

fn new_line(text: &mut String) {
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
}

fn word_break(text: &mut String) {
    if !text.is_empty() && !text.ends_with(char::is_whitespace) {
        text.push(' ');
    }
}

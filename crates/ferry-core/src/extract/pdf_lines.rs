//! The text of one PDF page with its line breaks. lopdf's own extraction joins the lines of a
//! text block with nothing between them ("…Alice and BobSigned on…"); this walks the same
//! operators and also honours those that start a new line.

use lopdf::content::Content;
use lopdf::{Document, Encoding, Object, ObjectId};
use std::collections::BTreeMap;

/// The page's text, and the first error met: what could be decoded is kept.
pub(super) fn page_text(document: &Document, page_id: ObjectId) -> (String, Option<lopdf::Error>) {
    let mut first_error = None;
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
    let content = match document
        .get_page_content(page_id)
        .and_then(|data| Content::decode(&data))
    {
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

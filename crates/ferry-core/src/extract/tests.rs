use super::*;
use lopdf::{
    Document, EncryptionState, EncryptionVersion, Object, Permissions, Stream, dictionary,
};
use std::io::Write;

/// A PDF written by lopdf, one page per entry: `Some(text)` draws the text in Helvetica,
/// `None` draws only a line (no text layer, like a scan).
fn pdf(pages: &[Option<&str>]) -> Document {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "Type1",
        "BaseFont" => "Helvetica",
    });
    let resources_id = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font_id } });
    let mut kids: Vec<Object> = Vec::new();
    for page in pages {
        let content = match page {
            Some(text) => format!("BT /F1 12 Tf 72 712 Td ({text}) Tj ET"),
            None => "0 0 m 100 100 l S".to_owned(),
        };
        let content_id = doc.add_object(Stream::new(dictionary! {}, content.into_bytes()));
        let page_id = doc.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "Contents" => content_id,
            "MediaBox" => vec![0.into(), 0.into(), 612.into(), 792.into()],
        });
        kids.push(page_id.into());
    }
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages",
            "Kids" => kids,
            "Count" => count,
            "Resources" => resources_id,
        }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    doc.trailer.set(
        "ID",
        vec![
            Object::string_literal("0123456789abcdef"),
            Object::string_literal("0123456789abcdef"),
        ],
    );
    doc
}

fn save(doc: &mut Document) -> Vec<u8> {
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

fn file(bytes: &[u8]) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(bytes).unwrap();
    f.flush().unwrap();
    f
}

fn two_pages() -> Vec<u8> {
    save(&mut pdf(&[Some("Hello page one"), Some("Hello page two")]))
}

#[test]
fn extracts_the_text_of_each_page() {
    let f = file(&two_pages());
    let text = extract_pdf(f.path(), &ExtractLimits::default())
        .unwrap()
        .expect("a text layer");
    assert_eq!(text.page_count, 2);
    assert_eq!(text.pages.len(), 2);
    assert_eq!(text.pages[0].trim(), "Hello page one");
    assert_eq!(text.pages[1].trim(), "Hello page two");
    assert!(!text.truncated);
}

#[test]
fn a_pdf_without_text_is_none() {
    let f = file(&save(&mut pdf(&[None, None, None])));
    assert_eq!(
        extract_pdf(f.path(), &ExtractLimits::default()).unwrap(),
        None
    );
    // Whitespace is no text either.
    let f = file(&save(&mut pdf(&[Some("   "), None])));
    assert_eq!(
        extract_pdf(f.path(), &ExtractLimits::default()).unwrap(),
        None
    );
}

#[test]
fn a_broken_pdf_is_an_error_not_a_panic() {
    let bytes = two_pages();
    for len in [0, 10, bytes.len() / 3, bytes.len() / 2] {
        let f = file(&bytes[..len]);
        assert!(
            extract_pdf(f.path(), &ExtractLimits::default()).is_err(),
            "cut at {len}"
        );
    }
    let f = file(b"%PDF-1.7\nthis is not a PDF at all\n%%EOF\n");
    assert!(extract_pdf(f.path(), &ExtractLimits::default()).is_err());

    // Single-byte damage anywhere: whatever lopdf makes of it, no panic escapes.
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    for _ in 0..300 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let mut damaged = bytes.clone();
        let at = (state % bytes.len() as u64) as usize;
        damaged[at] = (state >> 32) as u8;
        let f = file(&damaged);
        let _ = extract_pdf(f.path(), &ExtractLimits::default());
    }
}

#[test]
fn a_panic_in_the_parser_becomes_an_error() {
    let err = without_panics::<()>(|| panic!("index out of bounds: {}", 7)).unwrap_err();
    assert!(err.to_string().contains("index out of bounds: 7"), "{err}");
    let err = without_panics::<()>(|| panic!("static message")).unwrap_err();
    assert!(err.to_string().contains("static message"), "{err}");
    assert_eq!(without_panics(|| Ok(3)).unwrap(), 3);
}

#[test]
fn a_missing_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    assert!(extract_pdf(&dir.path().join("absent.pdf"), &ExtractLimits::default()).is_err());
}

#[test]
fn an_encrypted_pdf_is_an_error() {
    let mut doc = pdf(&[Some("Secret page")]);
    let version = EncryptionVersion::V2 {
        document: &doc,
        owner_password: "owner",
        user_password: "user",
        key_length: 128,
        permissions: Permissions::all(),
    };
    let state = EncryptionState::try_from(version).unwrap();
    doc.encrypt(&state).unwrap();
    let f = file(&save(&mut doc));
    let err = extract_pdf(f.path(), &ExtractLimits::default()).unwrap_err();
    assert!(format!("{err:#}").contains("encrypted"), "{err:#}");
}

#[test]
fn refuses_a_pdf_above_the_size_limit_before_loading_it() {
    let bytes = two_pages();
    let f = file(&bytes);
    let limits = ExtractLimits {
        max_pdf_bytes: bytes.len() as u64 - 1,
        ..ExtractLimits::default()
    };
    let err = extract_pdf(f.path(), &limits).unwrap_err();
    assert!(err.to_string().contains("limit"), "{err}");
    let limits = ExtractLimits {
        max_pdf_bytes: bytes.len() as u64,
        ..ExtractLimits::default()
    };
    assert!(extract_pdf(f.path(), &limits).unwrap().is_some());
}

#[test]
fn stops_at_max_chars() {
    let f = file(&two_pages());
    let limits = ExtractLimits {
        max_chars: 5,
        ..ExtractLimits::default()
    };
    let text = extract_pdf(f.path(), &limits).unwrap().unwrap();
    assert_eq!(text.pages, vec!["Hello".to_owned()]);
    assert_eq!(text.page_count, 2);
    assert!(text.truncated);

    // A budget that ends exactly with the first page leaves the second out, truncated.
    let first = extract_pdf(f.path(), &ExtractLimits::default())
        .unwrap()
        .unwrap()
        .pages[0]
        .chars()
        .count();
    let limits = ExtractLimits {
        max_chars: first,
        ..ExtractLimits::default()
    };
    let text = extract_pdf(f.path(), &limits).unwrap().unwrap();
    assert_eq!(text.pages.len(), 1);
    assert!(text.truncated);
}

#[test]
fn stops_at_max_pages() {
    let f = file(&save(&mut pdf(&[Some("one"), Some("two"), Some("three")])));
    let limits = ExtractLimits {
        max_pages: 2,
        ..ExtractLimits::default()
    };
    let text = extract_pdf(f.path(), &limits).unwrap().unwrap();
    assert_eq!(text.page_count, 3);
    assert_eq!(text.pages.len(), 2);
    assert!(text.truncated);
}

#[test]
fn control_characters_are_stripped_from_pdf_text() {
    let f = file(&save(&mut pdf(&[Some(r"nul\000bell\007esc\033end")])));
    let text = extract_pdf(f.path(), &ExtractLimits::default())
        .unwrap()
        .unwrap();
    assert_eq!(text.pages[0].trim_end(), "nulbellescend");
}

// ---- plain text -------------------------------------------------------------------------------

/// Hands out its bytes a few at a time, as a network stream would.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fn text_of(bytes: &[u8], max_chars: usize, step: usize) -> ExtractedText {
    let limits = ExtractLimits {
        max_chars,
        ..ExtractLimits::default()
    };
    extract_text(Trickle { data: bytes, step }, &limits).unwrap()
}

#[test]
fn reads_plain_text_as_one_page() {
    let source = "name,amount\r\nGrüße,1\r\n東京 😀\tx\n";
    for step in [1, 2, 3, 5, 1 << 16] {
        let text = text_of(source.as_bytes(), 1000, step);
        assert_eq!(
            text.pages,
            vec!["name,amount\nGrüße,1\n東京 😀\tx\n".to_owned()],
            "step {step}"
        );
        assert_eq!(text.page_count, 1);
        assert!(!text.truncated);
    }
}

#[test]
fn empty_and_tiny_inputs() {
    for (bytes, expected) in [
        (&b""[..], ""),
        (b"a", "a"),
        (b"ab", "ab"),
        (b"\xEF\xBB\xBF", ""),
        (b"\xFF\xFE", ""),
    ] {
        let text = text_of(bytes, 10, 1);
        assert_eq!(text.pages, vec![expected.to_owned()], "{bytes:?}");
        assert!(!text.truncated);
    }
}

#[test]
fn stops_reading_a_big_text_at_the_limit() {
    /// An endless source that counts what was read from it.
    struct Endless {
        read: usize,
    }
    impl Read for Endless {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            buf.fill(b'x');
            self.read += buf.len();
            Ok(buf.len())
        }
    }
    let mut source = Endless { read: 0 };
    let limits = ExtractLimits {
        max_chars: 100_000,
        ..ExtractLimits::default()
    };
    let text = extract_text(&mut source, &limits).unwrap();
    assert!(text.truncated);
    assert_eq!(text.pages[0].len(), 100_000);
    assert!(
        source.read < 100_000 + 2 * 64 * 1024,
        "read {} bytes",
        source.read
    );

    // Exactly at the limit is not truncated.
    let text = text_of(&[b'y'; 500], 500, 7);
    assert!(!text.truncated);
    assert_eq!(text.pages[0].len(), 500);
    let text = text_of(&[b'y'; 501], 500, 7);
    assert!(text.truncated);
}

#[test]
fn the_limit_counts_characters_not_bytes() {
    let source = "é".repeat(10);
    let text = text_of(source.as_bytes(), 4, 3);
    assert_eq!(text.pages[0], "éééé");
    assert!(text.truncated);
}

#[test]
fn invalid_utf8_is_replaced() {
    let cases: [(&[u8], &str); 6] = [
        (b"caf\xE9 au lait", "caf\u{FFFD} au lait"),
        (b"cut \xE2\x82", "cut \u{FFFD}"),
        (b"\xE2\x82x", "\u{FFFD}x"),
        (b"a\xF0\x9F\x98\x80b", "a😀b"),
        (b"\xFF\xFF", "\u{FFFD}\u{FFFD}"),
        (b"\xC3\xC3\xA9", "\u{FFFD}é"),
    ];
    for (bytes, expected) in cases {
        for step in [1, 2, 3, 64] {
            assert_eq!(
                text_of(bytes, 100, step).pages[0],
                expected,
                "{bytes:?} step {step}"
            );
        }
    }
}

#[test]
fn control_characters_are_stripped_from_text() {
    let text = text_of(b"a\0b\x1B[1mc\x07\td\re\r\nf\x0Cg", 100, 4);
    assert_eq!(text.pages[0], "ab[1mc\td\ne\nfg");
}

#[test]
fn utf16_text_with_a_bom_is_decoded() {
    let source = "Grüße 😀\r\nzwei";
    for (bom, big_endian) in [([0xFF, 0xFE], false), ([0xFE, 0xFF], true)] {
        let mut bytes = bom.to_vec();
        for unit in source.encode_utf16() {
            bytes.extend(if big_endian {
                unit.to_be_bytes()
            } else {
                unit.to_le_bytes()
            });
        }
        for step in [1, 3, 1000] {
            let text = text_of(&bytes, 100, step);
            assert_eq!(text.pages[0], "Grüße 😀\nzwei", "step {step}");
        }
        // A dangling byte or a lone surrogate becomes a replacement character.
        let mut odd = bytes.clone();
        odd.push(0x41);
        assert!(text_of(&odd, 100, 2).pages[0].ends_with("zwei\u{FFFD}"));
    }
    let lone = [0xFF, 0xFE, 0x00, 0xD8, 0x41, 0x00];
    assert_eq!(text_of(&lone, 100, 1).pages[0], "\u{FFFD}A");
}

#[test]
fn read_errors_are_reported() {
    struct Failing;
    impl Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("connection reset"))
        }
    }
    let err = extract_text(Failing, &ExtractLimits::default()).unwrap_err();
    assert!(format!("{err:#}").contains("connection reset"));
}

/// Pages whose compressed content inflates to about `inflated` bytes each.
fn padded_pages(pages: usize, inflated: usize) -> Vec<u8> {
    let padding = " ".repeat(inflated);
    let texts: Vec<String> = (0..pages).map(|i| format!("Page {i}{padding}")).collect();
    let mut doc = pdf(&texts.iter().map(|t| Some(t.as_str())).collect::<Vec<_>>());
    doc.compress();
    save(&mut doc)
}

#[test]
fn a_pdf_that_inflates_beyond_the_limits_is_not_parsed() {
    let bytes = padded_pages(1, 3 * 1024 * 1024);
    assert!(
        bytes.len() < 64 * 1024,
        "the padding compresses well: {}",
        bytes.len()
    );
    let f = file(&bytes);
    let text = extract_pdf(f.path(), &ExtractLimits::default())
        .unwrap()
        .unwrap();
    assert!(
        text.pages[0].starts_with("Page 0"),
        "compressed streams are read"
    );

    let one_stream = ExtractLimits {
        max_stream_bytes: 2 * 1024 * 1024,
        ..ExtractLimits::default()
    };
    let err = extract_pdf(f.path(), &one_stream).unwrap_err();
    assert!(err.to_string().contains("expands beyond"), "{err}");

    let f = file(&padded_pages(4, 1024 * 1024));
    let in_all = ExtractLimits {
        max_inflated_bytes: 3 * 1024 * 1024,
        ..ExtractLimits::default()
    };
    let err = extract_pdf(f.path(), &in_all).unwrap_err();
    assert!(err.to_string().contains("in all"), "{err}");
}

/// One page drawn with `content` in Helvetica.
fn pdf_drawing(content: &str) -> Vec<u8> {
    let mut doc = pdf(&[Some("placeholder")]);
    let page = *doc.get_pages().values().next().unwrap();
    let content_id = doc.add_object(Stream::new(dictionary! {}, content.as_bytes().to_vec()));
    doc.get_object_mut(page)
        .and_then(Object::as_dict_mut)
        .unwrap()
        .set("Contents", content_id);
    save(&mut doc)
}

#[test]
fn lines_of_a_text_block_stay_apart() {
    let f = file(&pdf_drawing(
        "BT /F1 12 Tf 72 712 Td (Service contract between Alice and Bob) Tj \
         0 -14 Td (Signed on the first) Tj 40 0 Td (of March) Tj \
         T* (Witnessed) Tj (by Carol) ' [(Page) -250 (one)] TJ ET",
    ));
    let text = extract_pdf(f.path(), &ExtractLimits::default())
        .unwrap()
        .expect("a text layer");
    assert_eq!(
        text.pages[0],
        "Service contract between Alice and Bob\nSigned on the first of March\nWitnessed\nby CarolPage one\n"
    );
}

/// A PDF of these objects, numbered from 1 (the first is the catalog), with a correct xref
/// table: for structures lopdf would not write.
fn raw_pdf(objects: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"%PDF-1.5\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

fn stream_object(dict: &str, content: &[u8]) -> Vec<u8> {
    let mut out = format!("<< {dict} /Length {} >>\nstream\n", content.len()).into_bytes();
    out.extend_from_slice(content);
    out.extend_from_slice(b"\nendstream");
    out
}

fn nested(levels: usize, inner: &str) -> String {
    format!("{}{inner}{}", "[".repeat(levels), "]".repeat(levels))
}

const ONE_PAGE: [&str; 3] = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
];
const HELVETICA: &str = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>";

#[test]
fn nesting_is_measured_as_the_parser_reads_it() {
    assert_eq!(nesting_depth(b"<< /A [ [ 1 ] << /B [] >> ] >>"), 4);
    assert_eq!(nesting_depth(b"[(]]]) (((]))) [] ] "), 2);
    assert_eq!(nesting_depth(b"[ (\\( [[[[) % [[[[[\n <5b5b5b> ]"), 1);
    assert_eq!(
        nesting_depth(b"]]]] [ ]"),
        1,
        "stray closers do not go below zero"
    );
    assert_eq!(nesting_depth(nested(10_000, "(x)").as_bytes()), 10_000);
}

/// Found by the attack suite: a few hundred nested arrays overflowed the stack of the thread
/// reading the PDF, which aborts the whole process (and, retried, aborts it again).
#[test]
fn deep_nesting_is_refused_before_the_parser_recurses() {
    let deep = nested(100_000, "");
    let deflate = |bytes: &[u8]| {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(bytes).unwrap();
        z.finish().unwrap()
    };
    // In a page's content, compressed.
    let content = format!("BT /F1 12 Tf {} TJ ET", nested(100_000, "(Deep)"));
    let mut objects: Vec<Vec<u8>> = ONE_PAGE.iter().map(|o| o.as_bytes().to_vec()).collect();
    objects.push(HELVETICA.as_bytes().to_vec());
    objects.push(stream_object(
        "/Filter /FlateDecode",
        &deflate(content.as_bytes()),
    ));
    let f = file(&raw_pdf(&objects));
    let err = extract_pdf(f.path(), &ExtractLimits::default()).unwrap_err();
    assert!(format!("{err:#}").contains("too deeply"), "{err:#}");

    // In an object of the file itself.
    objects[4] = stream_object("", b"BT /F1 12 Tf (Shallow) Tj ET");
    objects.push(deep.clone().into_bytes());
    let f = file(&raw_pdf(&objects));
    let err = extract_pdf(f.path(), &ExtractLimits::default()).unwrap_err();
    assert!(err.to_string().contains("levels deep"), "{err}");

    // Compressed in an object stream: the stream is dropped, the rest is read.
    objects.pop();
    let header = "6 0 ";
    objects.push(stream_object(
        &format!(
            "/Type /ObjStm /N 1 /First {} /Filter /FlateDecode",
            header.len()
        ),
        &deflate(format!("{header}{deep}").as_bytes()),
    ));
    let f = file(&raw_pdf(&objects));
    let text = extract_pdf(f.path(), &ExtractLimits::default())
        .unwrap()
        .expect("the page's text");
    assert_eq!(text.pages[0].trim(), "Shallow");
}

/// Found by the attack suite: a page whose Parent chain climbs thousands of levels overflowed
/// the stack in lopdf's recursive search for inherited resources. (lopdf loads a file in time
/// quadratic in its objects, hence no more levels here.)
#[test]
fn a_page_hanging_from_an_endless_page_tree_is_not_read() {
    let depth = 5_000;
    let (first, page) = (3, 3 + depth);
    let mut objects = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        format!("<< /Type /Pages /Kids [{first} 0 R {page} 0 R] /Count 2 >>").into_bytes(),
    ];
    for level in 0..depth {
        let id = first + level;
        let parent = if level == 0 { 2 } else { id - 1 };
        objects.push(
            format!(
                "<< /Type /Pages /Kids [{} 0 R] /Parent {parent} 0 R /Count 1 >>",
                id + 1
            )
            .into_bytes(),
        );
    }
    objects.push(
        format!(
            "<< /Type /Page /Parent {} 0 R /Resources << /Font << /F1 {} 0 R >> >> /Contents {} 0 R >>",
            page - 1,
            page + 1,
            page + 2
        )
        .into_bytes(),
    );
    objects.push(HELVETICA.as_bytes().to_vec());
    objects.push(stream_object("", b"BT /F1 12 Tf (Deep) Tj ET"));
    let f = file(&raw_pdf(&objects));
    let err = extract_pdf(f.path(), &ExtractLimits::default()).unwrap_err();
    assert!(format!("{err:#}").contains("page tree"), "{err:#}");
}

#[test]
fn a_pdf_with_too_many_objects_is_not_parsed() {
    let mut doc = pdf(&[Some("Hello many objects")]);
    for i in 0..300 {
        doc.add_object(Object::Integer(i));
    }
    let bytes = save(&mut doc);
    assert!(object_count(&bytes) > 300, "{}", object_count(&bytes));
    let f = file(&bytes);
    let few = ExtractLimits {
        max_objects: 300,
        ..ExtractLimits::default()
    };
    let err = extract_pdf(f.path(), &few).unwrap_err().to_string();
    assert!(err.contains("objects"), "{err}");
    let text = extract_pdf(f.path(), &ExtractLimits::default())
        .unwrap()
        .unwrap();
    assert!(text.pages[0].contains("Hello many objects"));
}

use super::*;
use ::zip::write::SimpleFileOptions;
use ::zip::{CompressionMethod, ZipWriter};
use std::io::{Cursor, Write};

fn inspect(bytes: &[u8]) -> Inspection {
    let mut inspector = Inspector::new();
    inspector.update(bytes);
    inspector.finish()
}

fn inspect_chunked(bytes: &[u8], chunk: usize) -> Inspection {
    let mut inspector = Inspector::new();
    for c in bytes.chunks(chunk) {
        inspector.update(c);
    }
    inspector.finish()
}

fn detect(bytes: &[u8]) -> DetectedType {
    inspect(bytes).detected
}

/// A deterministic byte generator (xorshift64), so large inputs need no fixtures.
struct Noise(u64);

impl Noise {
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            chunk.copy_from_slice(&self.0.to_le_bytes()[..chunk.len()]);
        }
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = vec![0; n];
        self.fill(&mut v);
        v
    }
}

// ---- sample documents -------------------------------------------------------------------------

/// A real one-page PDF, written by hand with a correct cross-reference table.
fn minimal_pdf() -> Vec<u8> {
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
    ];
    let mut out = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
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

fn png() -> Vec<u8> {
    hex::decode(concat!(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000",
        "1f15c4890000000a49444154789c63000100000500010d0a2db40000000049454e44ae426082"
    ))
    .unwrap()
}

fn jpeg() -> Vec<u8> {
    let mut v = b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00".to_vec();
    v.extend_from_slice(b"\xFF\xD9");
    v
}

fn gif(version: &[u8; 6]) -> Vec<u8> {
    let mut v = version.to_vec();
    v.extend_from_slice(
        &hex::decode("01000100800000000000ffffff2c00000000010001000002024401003b").unwrap(),
    );
    v
}

fn tiff(big_endian: bool) -> Vec<u8> {
    // Header, then an IFD with no entries and no next IFD.
    if big_endian {
        b"MM\0*\0\0\0\x08\0\0\0\0\0\0".to_vec()
    } else {
        b"II*\0\x08\0\0\0\0\0\0\0\0\0".to_vec()
    }
}

fn webp() -> Vec<u8> {
    let payload = b"VP8L\x05\x00\x00\x00\x2f\x00\x00\x00\x00\x00";
    let mut v = b"RIFF".to_vec();
    v.extend_from_slice(&(4 + payload.len() as u32).to_le_bytes());
    v.extend_from_slice(b"WEBP");
    v.extend_from_slice(payload);
    v
}

struct Entry<'a> {
    name: &'a str,
    data: &'a [u8],
    stored: bool,
}

fn deflated<'a>(name: &'a str, data: &'a [u8]) -> Entry<'a> {
    Entry {
        name,
        data,
        stored: false,
    }
}

fn stored<'a>(name: &'a str, data: &'a [u8]) -> Entry<'a> {
    Entry {
        name,
        data,
        stored: true,
    }
}

fn build_zip(entries: &[Entry<'_>], comment: &str, zip64: bool) -> Vec<u8> {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    for e in entries {
        let method = if e.stored {
            CompressionMethod::Stored
        } else {
            CompressionMethod::Deflated
        };
        w.start_file(
            e.name,
            SimpleFileOptions::default().compression_method(method),
        )
        .unwrap();
        w.write_all(e.data).unwrap();
    }
    if !comment.is_empty() {
        w.set_comment(comment);
    }
    if zip64 {
        // Any ZIP64 comment makes the writer emit the ZIP64 end record and its locator.
        w.set_zip64_comment(Some(""));
    }
    w.finish().unwrap().into_inner()
}

const CONTENT_TYPES: &[u8] = br#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>"#;
const RELS: &[u8] = br#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"/>"#;
const XML: &[u8] = br#"<?xml version="1.0" encoding="UTF-8"?><doc>hello</doc>"#;

fn ooxml(main_part: &str) -> Vec<u8> {
    build_zip(
        &[
            deflated("[Content_Types].xml", CONTENT_TYPES),
            deflated("_rels/.rels", RELS),
            deflated(main_part, XML),
        ],
        "",
        false,
    )
}

fn docx() -> Vec<u8> {
    ooxml("word/document.xml")
}

fn odf(kind: &str) -> Vec<u8> {
    let mime = format!("application/vnd.oasis.opendocument.{kind}");
    build_zip(
        &[
            stored("mimetype", mime.as_bytes()),
            deflated("content.xml", XML),
            deflated("styles.xml", XML),
            deflated("META-INF/manifest.xml", XML),
        ],
        "",
        false,
    )
}

// ---- hashing ----------------------------------------------------------------------------------

#[test]
fn hashes_match_known_vectors() {
    let cases: [(&[u8], &str, &str); 3] = [
        (
            b"",
            "d41d8cd98f00b204e9800998ecf8427e",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ),
        (
            b"abc",
            "900150983cd24fb0d6963f7d28e17f72",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        ),
        (
            b"The quick brown fox jumps over the lazy dog",
            "9e107d9d372bb6826bd81d3542a419d6",
            "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592",
        ),
    ];
    for (input, md5, sha256) in cases {
        for chunk in [1, 3, 1 << 20] {
            let inspection = inspect_chunked(input, chunk);
            assert_eq!(hex::encode(inspection.md5), md5);
            assert_eq!(hex::encode(inspection.sha256), sha256);
            assert_eq!(inspection.size, input.len() as u64);
        }
    }
}

// ---- simple formats ---------------------------------------------------------------------------

#[test]
fn detects_documents_and_images_by_magic() {
    let pdf = minimal_pdf();
    lopdf::Document::load_mem(&pdf).expect("the sample PDF is a real PDF");
    let cases = [
        (pdf, DetectedType::Pdf),
        (png(), DetectedType::Png),
        (jpeg(), DetectedType::Jpeg),
        (gif(b"GIF87a"), DetectedType::Gif),
        (gif(b"GIF89a"), DetectedType::Gif),
        (tiff(false), DetectedType::Tiff),
        (tiff(true), DetectedType::Tiff),
        (webp(), DetectedType::Webp),
    ];
    let policy = TypePolicy::documents_and_images();
    for (bytes, expected) in cases {
        let detected = detect(&bytes);
        assert_eq!(detected, expected);
        assert_eq!(
            policy.check(expected.mime(), detected),
            TypeVerdict::Accepted,
            "{expected:?}"
        );
        assert_eq!(policy.check("", detected), TypeVerdict::Accepted);
        assert_eq!(expected.is_image(), expected != DetectedType::Pdf);
    }
}

#[test]
fn pdf_header_may_follow_junk_within_the_first_kib() {
    let mut late = vec![b'x'; 1000];
    late.extend_from_slice(&minimal_pdf());
    assert_eq!(detect(&late), DetectedType::Pdf);

    let mut too_late = vec![b'x'; 1100];
    too_late.extend_from_slice(&minimal_pdf());
    assert_ne!(detect(&too_late), DetectedType::Pdf);

    // Prose that mentions the marker is still text.
    assert_eq!(
        detect(b"a PDF file starts with %PDF- and a version\n"),
        DetectedType::Text
    );
}

// ---- office files -----------------------------------------------------------------------------

#[test]
fn detects_office_and_opendocument_files_by_structure() {
    let cases = [
        (docx(), DetectedType::Docx),
        (ooxml("xl/workbook.xml"), DetectedType::Xlsx),
        (ooxml("ppt/presentation.xml"), DetectedType::Pptx),
        (odf("text"), DetectedType::Odt),
        (odf("spreadsheet"), DetectedType::Ods),
        (odf("presentation"), DetectedType::Odp),
    ];
    let policy = TypePolicy::default();
    for (bytes, expected) in cases {
        let detected = detect(&bytes);
        assert_eq!(detected, expected);
        assert_eq!(
            policy.check(expected.mime(), detected),
            TypeVerdict::Accepted
        );
        assert_eq!(
            policy.check("application/zip", detected),
            TypeVerdict::Accepted
        );
        assert_eq!(
            policy.check("application/octet-stream", detected),
            TypeVerdict::Accepted
        );
        assert_eq!(
            policy.check("application/pdf", detected),
            TypeVerdict::Mismatch
        );
    }
    // Each Office type matches only its own declared type.
    assert_eq!(
        policy.check(DetectedType::Xlsx.mime(), DetectedType::Docx),
        TypeVerdict::Mismatch
    );
}

#[test]
fn an_office_file_with_odd_entries_is_still_an_office_file() {
    let bytes = build_zip(
        &[
            deflated("[Content_Types].xml", CONTENT_TYPES),
            deflated("word/document.xml", XML),
            deflated("word/vbaProject.bin", b"\0\x01macro"),
            deflated("payload/setup.exe", b"MZ\x90\0"),
            deflated("payload/run.ps1", b"Write-Host hi"),
        ],
        "",
        false,
    );
    assert_eq!(detect(&bytes), DetectedType::Docx);
}

/// Found by the attack suite: a valid .docx whose first entry, stored, starts with a PDF
/// header was accepted as a .docx, although PDF readers open it as a PDF.
#[test]
fn an_office_file_that_pdf_readers_would_open_is_neither() {
    let polyglot = build_zip(
        &[
            stored("a", &minimal_pdf()),
            deflated("[Content_Types].xml", CONTENT_TYPES),
            deflated("word/document.xml", XML),
        ],
        "",
        false,
    );
    assert_eq!(detect(&polyglot), DetectedType::Unknown);
    // Further in than a PDF reader looks, a PDF is just an entry of the archive.
    let padding = vec![b'x'; 2048];
    let later = build_zip(
        &[
            stored("padding", &padding),
            stored("a.pdf", &minimal_pdf()),
            deflated("[Content_Types].xml", CONTENT_TYPES),
            deflated("word/document.xml", XML),
        ],
        "",
        false,
    );
    assert_eq!(detect(&later), DetectedType::Docx);
}

#[test]
fn a_zip_without_the_office_parts_is_a_zip() {
    let policy = TypePolicy::default();
    let missing_document = build_zip(
        &[
            deflated("[Content_Types].xml", CONTENT_TYPES),
            deflated("word/styles.xml", XML),
        ],
        "",
        false,
    );
    assert_eq!(detect(&missing_document), DetectedType::Zip);
    let missing_content_types = build_zip(&[deflated("word/document.xml", XML)], "", false);
    assert_eq!(detect(&missing_content_types), DetectedType::Zip);
    let plain = build_zip(
        &[deflated("readme.txt", b"hello"), deflated("run.exe", b"MZ")],
        "",
        false,
    );
    assert_eq!(detect(&plain), DetectedType::Zip);
    let empty = build_zip(&[], "", false);
    assert_eq!(detect(&empty), DetectedType::Zip);
    assert_eq!(
        policy.check(DetectedType::Docx.mime(), detect(&missing_document)),
        TypeVerdict::NotAllowed
    );
    assert_eq!(
        policy.check("application/zip", DetectedType::Zip),
        TypeVerdict::NotAllowed
    );
}

#[test]
fn opendocument_needs_a_stored_mimetype_first_and_a_content_part() {
    let mime = b"application/vnd.oasis.opendocument.text";
    let compressed = build_zip(
        &[deflated("mimetype", mime), deflated("content.xml", XML)],
        "",
        false,
    );
    assert_eq!(detect(&compressed), DetectedType::Zip);
    let not_first = build_zip(
        &[deflated("content.xml", XML), stored("mimetype", mime)],
        "",
        false,
    );
    assert_eq!(detect(&not_first), DetectedType::Zip);
    let no_content = build_zip(
        &[stored("mimetype", mime), deflated("styles.xml", XML)],
        "",
        false,
    );
    assert_eq!(detect(&no_content), DetectedType::Zip);
    let other_kind = build_zip(
        &[
            stored("mimetype", b"application/vnd.oasis.opendocument.graphics"),
            deflated("content.xml", XML),
        ],
        "",
        false,
    );
    assert_eq!(detect(&other_kind), DetectedType::Zip);
    let longer = build_zip(
        &[
            stored("mimetype", b"application/vnd.oasis.opendocument.textx"),
            deflated("content.xml", XML),
        ],
        "",
        false,
    );
    assert_eq!(detect(&longer), DetectedType::Zip);
}

#[test]
fn a_long_trailing_comment_is_skipped() {
    // The comment holds a fake end record, which must not be mistaken for the real one.
    let mut comment = "c".repeat(60_000);
    comment.insert_str(30_000, "PK\u{5}\u{6}");
    let bytes = build_zip(
        &[
            deflated("[Content_Types].xml", CONTENT_TYPES),
            deflated("word/document.xml", XML),
        ],
        &comment,
        false,
    );
    assert_eq!(detect(&bytes), DetectedType::Docx);
    assert_eq!(inspect_chunked(&bytes, 977).detected, DetectedType::Docx);
}

#[test]
fn reads_the_zip64_end_record() {
    let bytes = build_zip(
        &[
            deflated("[Content_Types].xml", CONTENT_TYPES),
            deflated("xl/workbook.xml", XML),
        ],
        "",
        true,
    );
    assert!(
        bytes.windows(4).any(|w| w == b"PK\x06\x07"),
        "the writer emitted a ZIP64 locator"
    );
    assert_eq!(detect(&bytes), DetectedType::Xlsx);

    // A locator pointing anywhere else makes the archive corrupt.
    let locator = bytes.windows(4).rposition(|w| w == b"PK\x06\x07").unwrap();
    let mut broken = bytes.clone();
    broken[locator + 8..locator + 16].copy_from_slice(&3u64.to_le_bytes());
    assert_eq!(detect(&broken), DetectedType::Zip);
    let mut beyond = bytes;
    beyond[locator + 8..locator + 16].copy_from_slice(&u64::MAX.to_le_bytes());
    assert_eq!(detect(&beyond), DetectedType::Zip);
}

#[test]
fn a_corrupt_central_directory_is_a_zip_and_never_a_panic() {
    let good = docx();
    let eocd = good.windows(4).rposition(|w| w == b"PK\x05\x06").unwrap();
    let cd = good.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
    let patch = |at: usize, value: &[u8]| {
        let mut b = good.clone();
        b[at..at + value.len()].copy_from_slice(value);
        b
    };
    let corrupt = [
        patch(cd, b"PK\x01\x03"),                  // entry signature
        patch(eocd + 10, &u16::MAX.to_le_bytes()), // entry count
        patch(eocd + 10, &1u16.to_le_bytes()),     // too few entries for the size
        patch(eocd + 12, &u32::MAX.to_le_bytes()), // directory size
        patch(eocd + 16, &u32::MAX.to_le_bytes()), // directory offset
        patch(eocd + 16, &0u32.to_le_bytes()),     // directory offset
        patch(eocd + 20, &7u16.to_le_bytes()),     // comment length past the end
        patch(eocd + 4, &1u16.to_le_bytes()),      // multi-disk
        patch(cd + 28, &u16::MAX.to_le_bytes()),   // name length
        patch(cd + 30, &u16::MAX.to_le_bytes()),   // extra length
        good[..good.len() - 1].to_vec(),           // truncated end record
        good[..eocd].to_vec(),                     // no end record at all
    ];
    for (i, bytes) in corrupt.iter().enumerate() {
        assert_eq!(detect(bytes), DetectedType::Zip, "case {i}");
    }

    // Every truncation and many random single-byte changes: no panic, never anything but the
    // archive's own type or a plain zip.
    for len in 0..good.len() {
        let detected = detect(&good[..len]);
        assert!(
            matches!(
                detected,
                DetectedType::Zip
                    | DetectedType::Unknown
                    | DetectedType::Text
                    | DetectedType::Empty
            ),
            "{len}: {detected:?}"
        );
    }
    let mut noise = Noise(0x9E37_79B9_7F4A_7C15);
    let mut r = [0u8; 8];
    for _ in 0..3000 {
        noise.fill(&mut r);
        let mut bytes = good.clone();
        let at = cd + (u32::from_le_bytes([r[0], r[1], r[2], r[3]]) as usize) % (good.len() - cd);
        bytes[at] = r[4];
        assert!(matches!(
            detect(&bytes),
            DetectedType::Docx | DetectedType::Zip
        ));
    }
}

#[test]
fn a_central_directory_outside_the_tail_is_a_zip() {
    let filler = Noise(7).bytes(64 * 1024);
    let mut entries = vec![
        deflated("[Content_Types].xml", CONTENT_TYPES),
        deflated("word/document.xml", XML),
    ];
    let names: Vec<String> = (0..200)
        .map(|i| format!("word/media/image-with-a-rather-long-name-{i:04}.bin"))
        .collect();
    entries.extend(names.iter().map(|n| stored(n, &filler[..16])));
    entries.push(stored("word/media/big.bin", &filler));
    let bytes = build_zip(&entries, "", false);
    assert_eq!(detect(&bytes), DetectedType::Docx);

    // A tail too small for the directory (about 14 KiB here) cannot tell.
    for cap in [4 * 1024, 8 * 1024] {
        let mut inspector = Inspector::with_tail_capacity(cap);
        for c in bytes.chunks(1000) {
            inspector.update(c);
        }
        assert_eq!(inspector.retained_capacity().1, cap);
        assert_eq!(inspector.finish().detected, DetectedType::Zip);
    }
    let mut inspector = Inspector::with_tail_capacity(32 * 1024);
    inspector.update(&bytes);
    assert_eq!(inspector.finish().detected, DetectedType::Docx);
}

#[test]
fn a_large_office_file_is_read_from_its_tail() {
    // 3 MiB of incompressible media pushes the directory far past the start and wraps the ring.
    let media = Noise(42).bytes(3 * 1024 * 1024 + 12_345);
    let bytes = build_zip(
        &[
            deflated("[Content_Types].xml", CONTENT_TYPES),
            stored("ppt/media/video.bin", &media),
            deflated("ppt/presentation.xml", XML),
        ],
        "",
        false,
    );
    for chunk in [bytes.len(), 1 << 20, 65_536, 4099] {
        assert_eq!(
            inspect_chunked(&bytes, chunk).detected,
            DetectedType::Pptx,
            "chunk {chunk}"
        );
    }
}

// ---- executables, scripts, markup -------------------------------------------------------------

fn elf() -> Vec<u8> {
    let mut v = b"\x7FELF\x02\x01\x01\0".to_vec();
    v.resize(64, 0);
    v
}

fn pe_with_late_pdf_header() -> Vec<u8> {
    let mut v = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xFF\xFF\0\0".to_vec();
    v.resize(100, 0);
    v.extend_from_slice(b"%PDF-1.7\n");
    v.resize(600, 0);
    v.extend_from_slice(b"PE\0\0");
    v
}

#[test]
fn executables_are_never_allowed_whatever_they_claim() {
    let policy = TypePolicy::default();
    let mut samples = vec![
        elf(),
        pe_with_late_pdf_header(),
        b"\xFE\xED\xFA\xCE\0\0\0\x12".to_vec(),
        b"\xFE\xED\xFA\xCF\x01\0\0\x07".to_vec(),
        b"\xCE\xFA\xED\xFE\x07\0\0\0".to_vec(),
        b"\xCF\xFA\xED\xFE\x07\0\0\x01".to_vec(),
        b"\xCA\xFE\xBA\xBE\0\0\0\x02\x01\0\0\x07".to_vec(),
        b"\xCA\xFE\xBA\xBE\0\0\0\x41\0\x0A".to_vec(),
        b"\0asm\x01\0\0\0".to_vec(),
    ];
    samples.push(b"MZ".to_vec());
    for bytes in &samples {
        let detected = detect(bytes);
        assert_eq!(detected, DetectedType::Executable, "{:02x?}", &bytes[..4]);
        for declared in [
            "application/pdf",
            "",
            "application/octet-stream",
            "image/png",
        ] {
            assert_eq!(policy.check(declared, detected), TypeVerdict::NotAllowed);
        }
    }
    assert_eq!(DetectedType::Executable.mime(), "application/x-executable");
}

#[test]
fn tells_java_classes_from_fat_mach_o() {
    assert_eq!(
        sniff::executable_kind(b"\xCA\xFE\xBA\xBE\0\0\0\x02"),
        Some("mach-o-fat")
    );
    assert_eq!(
        sniff::executable_kind(b"\xCA\xFE\xBA\xBE\0\0\0\x41"),
        Some("java-class")
    );
    // Preview-feature class files have minor version 0xFFFF.
    assert_eq!(
        sniff::executable_kind(b"\xCA\xFE\xBA\xBE\xFF\xFF\0\x41"),
        Some("java-class")
    );
    assert_eq!(
        sniff::executable_kind(b"\xCA\xFE\xBA\xBF\0\0\0\x02"),
        Some("mach-o-fat")
    );
    assert_eq!(sniff::executable_kind(b"%PDF-1.7"), None);
}

#[test]
fn scripts_and_markup_are_not_documents() {
    let policy = TypePolicy::default();
    let cases: [(&[u8], DetectedType); 12] = [
        (b"#!/bin/sh\nrm -rf /\n", DetectedType::Script),
        (b"\xEF\xBB\xBF#!/usr/bin/env python3\nprint(1)\n", DetectedType::Script),
        (b"#!\0\x01binary after a shebang", DetectedType::Script),
        (b"<!DOCTYPE html><html><body>hi</body></html>", DetectedType::Html),
        (b"\xEF\xBB\xBF\r\n  <HTML lang=en><p>hi", DetectedType::Html),
        (b"<script>alert(1)</script>", DetectedType::Html),
        (b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>", DetectedType::Html),
        (
            b"<?xml version=\"1.0\"?>\n<!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" \"x\">\n<svg width=\"1\"/>",
            DetectedType::Html,
        ),
        (b"<?xml version=\"1.0\"?><html xmlns=\"http://www.w3.org/1999/xhtml\"/>", DetectedType::Html),
        (b"<!-- comment -->\n<iframe src=x>", DetectedType::Html),
        // Plain XML data and prose that mentions a tag stay text.
        (b"<?xml version=\"1.0\"?><invoice><total>3</total></invoice>", DetectedType::Text),
        (b"Please do not paste <script> tags here.\n", DetectedType::Text),
    ];
    for (bytes, expected) in cases {
        let detected = detect(bytes);
        assert_eq!(detected, expected, "{}", String::from_utf8_lossy(bytes));
        if expected != DetectedType::Text {
            assert_eq!(
                policy.check("text/plain", detected),
                TypeVerdict::NotAllowed
            );
        }
    }
    // UTF-16 markup is markup too.
    let utf16: Vec<u8> = b"\xFF\xFE"
        .iter()
        .copied()
        .chain("<html>".encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    assert_eq!(detect(&utf16), DetectedType::Html);
}

#[test]
fn empty_input_is_empty() {
    let inspection = Inspector::new().finish();
    assert_eq!(inspection.detected, DetectedType::Empty);
    assert_eq!(inspection.size, 0);
    assert_eq!(
        TypePolicy::default().check("", DetectedType::Empty),
        TypeVerdict::NotAllowed
    );
    let mut inspector = Inspector::new();
    inspector.update(&[]);
    assert_eq!(inspector.finish(), inspection);
}

// ---- text and csv -----------------------------------------------------------------------------

#[test]
fn recognises_text() {
    let cases: [(&[u8], DetectedType); 9] = [
        (b"hello world\n", DetectedType::Text),
        (
            "Grüße aus Köln — 東京\r\n\tindented\x0Cnext page".as_bytes(),
            DetectedType::Text,
        ),
        (b"\xEF\xBB\xBFwith a BOM\n", DetectedType::Text),
        (b"x", DetectedType::Text),
        (b"nul\0inside", DetectedType::Unknown),
        (b"escape \x1B[31m red", DetectedType::Unknown),
        (b"latin-1 caf\xE9\n", DetectedType::Unknown),
        (b"cut at the end \xE2\x82", DetectedType::Unknown),
        ("C1 control \u{85} inside".as_bytes(), DetectedType::Unknown),
    ];
    for (bytes, expected) in cases {
        assert_eq!(
            detect(bytes),
            expected,
            "{}",
            String::from_utf8_lossy(bytes)
        );
    }
}

#[test]
fn utf16_text_with_a_bom_is_text() {
    let text = "Grüße 😀, UTF-16\n";
    let le: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    let be: Vec<u8> = [0xFE, 0xFF]
        .into_iter()
        .chain(text.encode_utf16().flat_map(u16::to_be_bytes))
        .collect();
    assert_eq!(detect(&le), DetectedType::Text);
    assert_eq!(detect(&be), DetectedType::Text);
    // A lone surrogate is not text; without a BOM the NULs make it binary.
    let lone: Vec<u8> = [0xFF, 0xFE, 0x00, 0xD8, 0x41, 0x00].to_vec();
    assert_eq!(detect(&lone), DetectedType::Unknown);
    let no_bom: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    assert_eq!(detect(&no_bom), DetectedType::Unknown);

    // A surrogate pair or a unit cut by the prefix end is fine.
    for pad in [0, 1, 2, 3] {
        let mut long = vec![0xFF, 0xFE];
        long.extend(std::iter::repeat_n([b'a', 0], (PREFIX_LEN - 2 - pad) / 2).flatten());
        if pad % 2 == 1 {
            long.push(b'a');
            long.push(0);
        }
        long.extend("😀😀 tail\n".encode_utf16().flat_map(u16::to_le_bytes));
        long.extend(std::iter::repeat_n([b'b', 0], 100).flatten());
        assert_eq!(detect(&long), DetectedType::Text, "pad {pad}");
    }
}

#[test]
fn a_character_cut_by_the_prefix_end_is_still_text() {
    for offset in 0..4 {
        let mut text = "a".repeat(PREFIX_LEN - 2 - offset);
        while text.len() < PREFIX_LEN + 100 {
            text.push('€'); // three bytes: straddles the prefix end for some offset
            text.push('😀');
        }
        text.push('\n');
        assert_eq!(
            detect(text.as_bytes()),
            DetectedType::Text,
            "offset {offset}"
        );
        assert_eq!(
            inspect_chunked(text.as_bytes(), 1).detected,
            DetectedType::Text
        );
    }
}

#[test]
fn tells_csv_from_text() {
    let cases: [(&str, DetectedType); 11] = [
        (
            "name,amount,date\nAda,12,2024-01-01\nBob,7,2024-01-02\n",
            DetectedType::Csv,
        ),
        ("name;amount\nAda;12,50\nBob;7,00", DetectedType::Csv),
        ("name\tamount\nAda\t12\n\nBob\t7\n", DetectedType::Csv),
        (
            "name,comment\n\"Ada\",\"likes, commas\"\n\"Bob\",\"says \"\"hi\"\"\"\n",
            DetectedType::Csv,
        ),
        ("id,text\n1,\"two\nlines\"\n2,plain\n", DetectedType::Csv),
        ("\u{FEFF}a,b\r\n1,2\r\n", DetectedType::Csv),
        (
            "Dear Ada, hello.\nThis is a letter without commas.\n",
            DetectedType::Text,
        ),
        ("a,b,c\n1,2\n3,4,5\n", DetectedType::Text),
        ("only,one,line\n", DetectedType::Text),
        ("plain words\nand more words\n", DetectedType::Text),
        ("x;y\n", DetectedType::Text),
    ];
    for (text, expected) in cases {
        assert_eq!(detect(text.as_bytes()), expected, "{text:?}");
    }
    let policy = TypePolicy::default();
    assert_eq!(
        policy.check("text/plain; charset=utf-8", DetectedType::Csv),
        TypeVerdict::Accepted
    );
    assert_eq!(
        policy.check("TEXT/CSV", DetectedType::Text),
        TypeVerdict::Accepted
    );
    assert_eq!(
        policy.check("application/vnd.ms-excel", DetectedType::Csv),
        TypeVerdict::Accepted
    );
    assert_eq!(
        policy.check("application/vnd.ms-excel", DetectedType::Text),
        TypeVerdict::Accepted
    );
    assert_eq!(
        policy.check("text/html", DetectedType::Text),
        TypeVerdict::Mismatch
    );
}

#[test]
fn a_long_csv_is_judged_on_whole_records_of_its_prefix() {
    let mut csv = String::from("id,name,amount\n");
    let mut i = 0;
    while csv.len() < 3 * PREFIX_LEN {
        csv.push_str(&format!("{i},\"name {i}\",{}.{:02}\n", i * 7, i % 100));
        i += 1;
    }
    for chunk in [csv.len(), 1, 1000] {
        assert_eq!(
            inspect_chunked(csv.as_bytes(), chunk).detected,
            DetectedType::Csv
        );
    }
}

// ---- streaming --------------------------------------------------------------------------------

#[test]
fn chunk_sizes_do_not_change_the_result() {
    let mut long_text = "line of text with ünïcödé\n".repeat(500);
    long_text.push_str("end");
    let samples = vec![
        minimal_pdf(),
        png(),
        docx(),
        odf("spreadsheet"),
        build_zip(&[deflated("a.txt", b"a")], &"z".repeat(2000), false),
        long_text.into_bytes(),
        pe_with_late_pdf_header(),
        b"a,b\n1,2\n".to_vec(),
        Noise(3).bytes(20_000),
    ];
    for bytes in samples {
        let whole = inspect(&bytes);
        for chunk in [1, 2, 3, 7, 64, 4099, 1 << 20] {
            assert_eq!(inspect_chunked(&bytes, chunk), whole, "chunk {chunk}");
        }
    }
}

#[test]
fn the_tail_ring_keeps_exactly_the_last_bytes() {
    let data = Noise(11).bytes(10_000);
    for cap in [1, 5, 64, 999, 10_000, 20_000] {
        for chunk in [1, 3, 64, 1000, 4999, 10_000] {
            let mut ring = Ring::new(cap);
            for c in data.chunks(chunk) {
                ring.push(c);
            }
            assert!(ring.buf.capacity() <= cap.max(1));
            let expected = &data[data.len().saturating_sub(cap)..];
            assert_eq!(ring.into_contiguous(), expected, "cap {cap} chunk {chunk}");
        }
    }
}

#[test]
fn memory_stays_bounded_on_large_inputs() {
    // 64 MiB that starts like a ZIP, so both the prefix and the tail ring are in use.
    let mut inspector = Inspector::new();
    let mut noise = Noise(99);
    let mut chunk = vec![0u8; 1 << 20];
    let mut reference_md5 = Md5::new();
    for i in 0..64 {
        noise.fill(&mut chunk[..4096]);
        if i == 0 {
            chunk[..4].copy_from_slice(b"PK\x03\x04");
        }
        chunk[4096..4104].copy_from_slice(&(i as u64).to_le_bytes());
        inspector.update(&chunk);
        reference_md5.update(&chunk);
        let (prefix, tail) = inspector.retained_capacity();
        assert!(prefix <= PREFIX_LEN, "prefix capacity {prefix}");
        assert!(tail <= TAIL_LEN, "tail capacity {tail}");
    }
    let inspection = inspector.finish();
    assert_eq!(inspection.size, 64 << 20);
    assert_eq!(inspection.detected, DetectedType::Zip);
    assert_eq!(inspection.md5, <[u8; 16]>::from(reference_md5.finalize()));

    // Not a ZIP: no tail at all.
    let mut inspector = Inspector::new();
    for _ in 0..16 {
        noise.fill(&mut chunk);
        chunk[0] = b'x';
        inspector.update(&chunk);
    }
    assert_eq!(inspector.retained_capacity(), (PREFIX_LEN, 0));
    assert_eq!(inspector.finish().detected, DetectedType::Unknown);

    // A small ZIP does not get the whole ring.
    let mut inspector = Inspector::new();
    inspector.update(&docx());
    assert!(inspector.retained_capacity().1 <= 8 * 1024);
}

// ---- policy -----------------------------------------------------------------------------------

#[test]
fn the_default_policy_rejects_everything_but_documents_and_images() {
    let policy = TypePolicy::documents_and_images();
    for t in DetectedType::ALL {
        let allowed = !matches!(
            t,
            DetectedType::Executable
                | DetectedType::Script
                | DetectedType::Html
                | DetectedType::Zip
                | DetectedType::Empty
                | DetectedType::Unknown
        );
        assert_eq!(policy.allows(t), allowed, "{t}");
        let verdict = policy.check("application/octet-stream", t);
        assert_eq!(verdict == TypeVerdict::Accepted, allowed, "{t}");
    }
}

#[test]
fn declared_types_are_compared_by_family() {
    let policy = TypePolicy::default();
    let accepted = [
        ("image/jpg", DetectedType::Jpeg),
        ("image/pjpeg", DetectedType::Jpeg),
        ("Image/JPEG; q=1", DetectedType::Jpeg),
        ("image/tif", DetectedType::Tiff),
        ("application/x-pdf", DetectedType::Pdf),
        ("  application/pdf  ", DetectedType::Pdf),
        ("", DetectedType::Png),
        ("; charset=utf-8", DetectedType::Text),
        ("text/csv; header=present", DetectedType::Csv),
    ];
    for (declared, detected) in accepted {
        assert_eq!(
            policy.check(declared, detected),
            TypeVerdict::Accepted,
            "{declared} {detected}"
        );
    }
    let mismatched = [
        ("application/pdf", DetectedType::Png),
        ("image/png", DetectedType::Jpeg),
        ("text/plain", DetectedType::Pdf),
        ("application/zip", DetectedType::Pdf),
        ("image/jpeg", DetectedType::Tiff),
        ("application/msword", DetectedType::Docx),
    ];
    for (declared, detected) in mismatched {
        assert_eq!(
            policy.check(declared, detected),
            TypeVerdict::Mismatch,
            "{declared} {detected}"
        );
    }
}

#[test]
fn parses_a_policy_from_configuration() {
    let policy = TypePolicy::parse(" pdf, PNG ,text,").unwrap();
    assert!(
        policy.allows(DetectedType::Pdf)
            && policy.allows(DetectedType::Png)
            && policy.allows(DetectedType::Text)
    );
    assert!(!policy.allows(DetectedType::Jpeg));
    assert_eq!(
        policy.check("image/jpeg", DetectedType::Jpeg),
        TypeVerdict::NotAllowed
    );
    let with_zip = TypePolicy::parse("zip").unwrap();
    assert_eq!(
        with_zip.check("application/x-zip-compressed", DetectedType::Zip),
        TypeVerdict::Accepted
    );
    assert!(
        TypePolicy::parse("pdf,nonsense")
            .unwrap_err()
            .contains("nonsense")
    );
    assert!(TypePolicy::parse(" , ").is_err());
    assert!(TypePolicy::parse("").is_err());
}

#[test]
fn names_are_the_serde_names() {
    for t in DetectedType::ALL {
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            format!("\"{}\"", t.name())
        );
        assert_eq!(
            serde_json::from_str::<DetectedType>(&format!("\"{t}\"")).unwrap(),
            t
        );
        assert_eq!(t.name().parse::<DetectedType>().unwrap(), t);
    }
}

fn byte_stream(bytes: &[u8], chunk: usize) -> crate::ports::ByteStream {
    let chunks: Vec<std::io::Result<bytes::Bytes>> = bytes
        .chunks(chunk)
        .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
        .collect();
    Box::pin(futures_util::stream::iter(chunks))
}

#[tokio::test]
async fn the_streaming_inspection_on_digest_threads_equals_the_inline_one() {
    let mut noise = vec![0u8; 3 * 1024 * 1024 + 17];
    for (i, b) in noise.iter_mut().enumerate() {
        *b = (i.wrapping_mul(2_654_435_761) >> 13) as u8;
    }
    for bytes in [
        minimal_pdf(),
        docx(),
        png(),
        noise,
        b"plain text\n".to_vec(),
    ] {
        for chunk in [1, 7, 4096, 65_536, 1 << 20] {
            let streamed = inspect_stream(byte_stream(&bytes, chunk), u64::MAX)
                .await
                .unwrap();
            assert_eq!(
                streamed,
                StreamInspection::Complete(inspect(&bytes)),
                "{} bytes in chunks of {chunk}",
                bytes.len()
            );
        }
    }
    assert_eq!(
        inspect_stream(byte_stream(b"", 1), 0).await.unwrap(),
        StreamInspection::Complete(inspect(b""))
    );
}

#[tokio::test]
async fn the_streaming_inspection_stops_past_the_limit() {
    let bytes = minimal_pdf();
    let limit = bytes.len() as u64 - 1;
    assert_eq!(
        inspect_stream(byte_stream(&bytes, 16), limit)
            .await
            .unwrap(),
        StreamInspection::TooLarge {
            detected: DetectedType::Pdf
        }
    );
    let exact = inspect_stream(byte_stream(&bytes, 16), limit + 1)
        .await
        .unwrap();
    assert_eq!(exact, StreamInspection::Complete(inspect(&bytes)));
}

#[tokio::test]
async fn a_read_error_fails_the_streaming_inspection() {
    let chunks: Vec<std::io::Result<bytes::Bytes>> = vec![
        Ok(bytes::Bytes::from_static(b"%PDF-1.7\n")),
        Err(std::io::Error::other("connection reset")),
    ];
    let error = inspect_stream(Box::pin(futures_util::stream::iter(chunks)), u64::MAX)
        .await
        .unwrap_err();
    assert_eq!(error.to_string(), "connection reset");
}

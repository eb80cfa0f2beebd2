//! Hostile input at the edge: oversized and unexpected JSON, mail header injection, and file
//! names built to climb out of a directory, break a header or hide their real extension.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A JSON body over the 64 KiB every ordinary route accepts gets 413 before it is parsed; unknown
/// fields, counts and lengths beyond the bounds and addresses that are not plain get 400.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t13_oversized_and_unexpected_json_is_refused() {
    let app = spawn_logged(vec![], vec![]).await;
    let admin = app.admin_token().await;
    let alice = app.user(&admin, "alice@example.org", &["member"]).await;
    let body = b"MARKER-T13-5c0ffee plain text\n".to_vec();
    let good = || {
        json!({
            "recipients": ["bob@example.com"],
            "subject": "Quarterly figures",
            "message": "See attached.",
            "files": [file("figures.txt", &body, "text/plain")],
        })
    };
    let with = |field: &str, value: Value| {
        let mut b = good();
        b[field] = value;
        b
    };
    let with_file = |field: &str, value: Value| {
        let mut b = good();
        b["files"][0][field] = value;
        b
    };

    // Over the body limit: refused before anything is parsed, on a signed-in route and on one
    // anybody may call.
    let huge = with("message", json!("x".repeat(70 * 1024)));
    let (status, problem) = app
        .post("/api/v1/transfers", Some(&alice), huge.clone())
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{problem}");
    assert!(has_detail(&problem, "larger"), "{problem}");
    let padded = format!(
        "{{\"link_token\": \"{}\"{}}}",
        "A".repeat(43),
        " ".repeat(70_000)
    );
    let resp = app
        .http
        .post(app.url("/api/v1/access"))
        .header("content-type", "application/json")
        .body(padded)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let resp = app
        .http
        .post(app.url("/api/v1/transfers"))
        .bearer_auth(&alice)
        .header("content-type", "application/json")
        .body(huge.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);

    // JSON nested far deeper than any request needs: a clean 400, not a stack overflow.
    let deep = format!(
        "{{\"recipients\": {}{}, \"subject\": \"s\", \"files\": []}}",
        "[".repeat(20_000),
        "]".repeat(20_000)
    );
    let resp = app
        .http
        .post(app.url("/api/v1/transfers"))
        .bearer_auth(&alice)
        .header("content-type", "application/json")
        .body(deep)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

    // Each case: the body, and a word the problem's detail must contain.
    let too_many_files: Vec<Value> = (0..101)
        .map(|i| file(&format!("f{i}.txt"), &body, "text/plain"))
        .collect();
    let cases: Vec<(Value, &str)> = vec![
        // Fields the API does not know, at the top, in a file and with a near-miss name.
        (with("bcc", json!(["evil@example.net"])), "bcc"),
        (with_file("path", json!("/etc/passwd")), "path"),
        (
            with("Recipients", json!(["evil@example.net"])),
            "Recipients",
        ),
        (
            with("expires_in_hours", json!("forever")),
            "expires_in_hours",
        ),
        (with_file("size", json!("12")), "size"),
        // Counts and lengths beyond the bounds in the code.
        (
            with(
                "recipients",
                json!(
                    (0..51)
                        .map(|i| format!("r{i}@example.com"))
                        .collect::<Vec<_>>()
                ),
            ),
            "recipients",
        ),
        (with("files", json!(too_many_files)), "files"),
        (with("subject", json!("s".repeat(201))), "subject"),
        (with("subject", json!("   ")), "subject"),
        (with("message", json!("m".repeat(5001))), "message"),
        (
            with_file("name", json!(format!("{}.txt", "n".repeat(252)))),
            "name",
        ),
        (with("expires_in_hours", json!(0)), "expires_in_hours"),
        (
            with("expires_in_hours", json!(30 * 24 + 1)),
            "expires_in_hours",
        ),
        (
            with_file("content_type", json!("text/plain\r\nX-Evil: 1")),
            "content_type",
        ),
    ];
    let addresses = [
        "\"bob@example.com\" <evil@example.net>",
        "Bob <evil@example.net>",
        "<evil@example.net>",
        "bob@example.com\r\nBcc: evil@example.net",
        "bob@example.com\nevil@example.net",
        "bob@example.com, evil@example.net",
        "bob@example.com;evil@example.net",
        "bob@evil@example.net",
        "bob@example",
        "bob@[127.0.0.1]",
        "bob(comment)@example.com",
        "\"bob\"@example.com",
        "bob @example.com",
        "bob@exa\u{0000}mple.com",
        "",
        // Look-alike letters from another script: Cyrillic 'а', 'о', 'е' and 'с'.
        "bob@ex\u{0430}mple.com",
        "b\u{043e}b@example.com",
        "bob@\u{0435}xample.\u{0441}om",
    ];
    let mut cases = cases;
    for address in addresses {
        cases.push((with("recipients", json!([address])), "recipients"));
        // Also hidden behind a valid first recipient.
        cases.push((
            with("recipients", json!(["carol@example.org", address])),
            "recipients",
        ));
    }
    for (request, word) in &cases {
        let (status, problem) = app
            .post("/api/v1/transfers", Some(&alice), request.clone())
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{word}: {problem}");
        assert!(has_detail(&problem, word), "{word}: {problem}");
        assert_eq!(problem["status"], 400);
    }

    // Unknown fields on the other routes that take JSON.
    let (status, problem) = app
        .post(
            "/api/v1/access",
            None,
            json!({ "link_token": "A".repeat(43), "email": "evil@example.net" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert!(has_detail(&problem, "email"), "{problem}");
    let (status, problem) = app
        .post(
            "/api/v1/admin/users",
            Some(&admin),
            json!({ "email": "x@example.org", "name": "X", "password": "long-enough-password", "enabled": true, "is_admin": true }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");

    // Nothing was created and nothing was sent.
    let (status, list) = app.get("/api/v1/transfers?box=sent", &alice).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        list["transfers"],
        json!([]),
        "a refused request made a transfer"
    );
    assert!(app.mails().await.is_empty(), "a refused request sent mail");
    let (_, users) = app.get("/api/v1/admin/users", &admin).await;
    assert!(!users.to_string().contains("x@example.org"));

    // The request the cases were made from is itself fine: the refusals were the attacks'.
    let (status, t) = app.post("/api/v1/transfers", Some(&alice), good()).await;
    assert_eq!(status, StatusCode::CREATED, "{t}");

    app.assert_log_free_of(&[
        &admin,
        &alice,
        ADMIN_PASSWORD,
        &password("alice@example.org"),
        "MARKER-T13-5c0ffee",
    ]);
}

/// CR/LF followed by `Bcc:` or `Subject:` in a subject, message, user name or file name never
/// becomes a header of an email: such input is cleaned (or refused) and every mail keeps its
/// own headers only, addressed to the real recipient only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t14_mail_header_injection_is_impossible() {
    let app = spawn_logged(vec![], vec![]).await;
    let admin = app.admin_token().await;
    let injected = "\r\nBcc: evil@example.net\r\nSubject: Urgent wire transfer";

    // A user whose name carries the injection: refused, or stored without the line breaks.
    let mallory_email = "mallory@example.org";
    let (status, created) = app
        .post(
            "/api/v1/admin/users",
            Some(&admin),
            json!({ "email": mallory_email, "name": format!("Mallory{injected}"), "roles": ["member"], "password": password(mallory_email) }),
        )
        .await;
    let mallory = if status == StatusCode::CREATED {
        let name = created["name"].as_str().unwrap();
        assert!(!name.contains(['\r', '\n']), "{name:?}");
        app.token(mallory_email, &password(mallory_email)).await
    } else {
        assert_eq!(status, StatusCode::BAD_REQUEST, "{created}");
        app.user(&admin, mallory_email, &["member"]).await
    };

    let body = b"MARKER-T14-77aa21 the quarterly numbers\n".to_vec();
    let (status, t) = app
        .post(
            "/api/v1/transfers",
            Some(&mallory),
            json!({
                "recipients": ["bob@example.com"],
                "subject": format!("Invoice{injected}\u{2028}Bcc: evil@example.net\u{0085}Cc: evil@example.net"),
                "message": format!("Hello{injected}\r\n\r\nBcc: evil@example.net"),
                "files": [file(&format!("report{injected}.txt"), &body, "text/plain")],
            }),
        )
        .await;
    let t = if status == StatusCode::CREATED {
        // Accepted: then what is stored has no line break where a header could start.
        assert!(
            !t["subject"].as_str().unwrap().contains(['\r', '\n']),
            "{t}"
        );
        let name = t["documents"][0]["name"].as_str().unwrap();
        assert!(!name.contains(['\r', '\n']), "{t}");
        t
    } else {
        // Refused: the mails below then come from the same transfer without the injection.
        assert_eq!(status, StatusCode::BAD_REQUEST, "{t}");
        let (status, t) = app
            .post(
                "/api/v1/transfers",
                Some(&mallory),
                json!({ "recipients": ["bob@example.com"], "subject": "Invoice", "files": [file("report.txt", &body, "text/plain")] }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{t}");
        t
    };
    app.upload(&mallory, &t, 0, &body).await;
    let tid = t["id"].as_str().unwrap().to_owned();
    app.wait_for(&mallory, &tid, "the transfer to be sent", |t| {
        t["status"] == "sent"
    })
    .await;
    // Every kind of mail: the invitation, a code, and the sender's receipt.
    let link = app.link_token("bob@example.com").await;
    let bob = app.recipient_token(&link, "bob@example.com").await;
    app.wait_for_mail(mallory_email, "Sent:", 1).await;

    let mails = raw_mails(&app).await;
    assert!(mails.len() >= 3, "{} mails", mails.len());
    for (to, raw) in &mails {
        assert!(
            to == "bob@example.com" || to == mallory_email,
            "a mail went to {to}"
        );
        let headers = header_block(raw);
        let mut names: Vec<String> = headers.iter().map(|(n, _)| n.to_lowercase()).collect();
        names.sort();
        for (name, value) in &headers {
            let name = name.to_lowercase();
            assert!(
                [
                    "from",
                    "to",
                    "subject",
                    "date",
                    "message-id",
                    "auto-submitted",
                    "mime-version",
                    "content-type",
                    "content-transfer-encoding",
                ]
                .contains(&name.as_str()),
                "an unexpected header {name}: {value}"
            );
            if name == "to" {
                assert!(value.trim() == *to, "To: {value}");
            }
            if name != "subject" {
                assert!(!value.contains("evil@"), "{name}: {value}");
            }
        }
        for single in ["to", "subject", "from"] {
            assert_eq!(
                names.iter().filter(|n| *n == single).count(),
                1,
                "{single} in {names:?}"
            );
        }
    }
    assert!(
        mails.iter().all(|(to, _)| !to.contains("evil")),
        "a mail went to the injected address"
    );

    app.assert_log_free_of(&[
        &admin,
        &mallory,
        &bob,
        &link,
        ADMIN_PASSWORD,
        &password(mallory_email),
        "MARKER-T14-77aa21",
    ]);
}

/// File names that climb directories, are absolute, carry CR/LF, NUL or a bidi override, or
/// run to 1,000 characters are refused or shown cleaned; the download's Content-Disposition
/// cannot be broken out of; no file anywhere is named after them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t15_hostile_file_names_are_neutralised() {
    let app = spawn_logged(vec![], vec![]).await;
    let admin = app.admin_token().await;
    let alice = app.user(&admin, "alice@example.org", &["member"]).await;

    // A name far beyond the bound is refused outright.
    let long = format!("{}.pdf", "A".repeat(1000));
    let (status, problem) = app
        .post(
            "/api/v1/transfers",
            Some(&alice),
            json!({ "recipients": ["bob@example.com"], "subject": "s", "files": [file(&long, b"x", "text/plain")] }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert!(has_detail(&problem, "name"), "{problem}");
    // So are names with nothing left once cleaned.
    for empty in ["..", "../..", "/", "\u{202E}\u{0}", "dir/"] {
        let (status, problem) = app
            .post(
                "/api/v1/transfers",
                Some(&alice),
                json!({ "recipients": ["bob@example.com"], "subject": "s", "files": [file(empty, b"x", "text/plain")] }),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{empty:?}: {problem}");
    }

    // Hostile name, and what may remain of it once cleaned.
    let hostile: [(&str, &str); 9] = [
        ("../../etc/passwd", "passwd"),
        ("/abs/path.pdf", "path.pdf"),
        ("C:\\win.pdf", "win.pdf"),
        ("a\r\nX: y.pdf", "aX: y.pdf"),
        ("\u{202E}fdp.exe.pdf", "fdp.exe.pdf"),
        ("nul\u{0}byte\u{7}\u{1b}[31m.txt", "nulbyte[31m.txt"),
        (
            "quote\"; filename=evil.exe.txt",
            "quote\"; filename=evil.exe.txt",
        ),
        ("..\\..\\boot.ini", "boot.ini"),
        ("\u{2067}gpj\u{2069}\u{200F}.exe\u{061C}.txt", "gpj.exe.txt"),
    ];
    let bodies: Vec<Vec<u8>> = (0..hostile.len())
        .map(|i| format!("MARKER-T15-{i}-9be1 plain text\n").into_bytes())
        .collect();
    let files: Vec<Value> = hostile
        .iter()
        .zip(&bodies)
        .map(|((name, _), body)| file(name, body, "text/plain"))
        .collect();
    let (status, t) = app
        .post(
            "/api/v1/transfers",
            Some(&alice),
            json!({ "recipients": ["bob@example.com"], "subject": "Names", "files": files }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    let tid = t["id"].as_str().unwrap().to_owned();
    for (i, (raw, shown)) in hostile.iter().enumerate() {
        let name = t["documents"][i]["name"].as_str().unwrap();
        assert_eq!(name, *shown, "{raw:?}");
        assert!(clean_display(name), "{name:?}");
        app.upload(&alice, &t, i, &bodies[i]).await;
    }
    let t = app
        .wait_for(&alice, &tid, "the transfer to be sent", |t| {
            t["status"] == "sent"
        })
        .await;

    let link = app.link_token("bob@example.com").await;
    let bob = app.recipient_token(&link, "bob@example.com").await;
    for (i, (raw, shown)) in hostile.iter().enumerate() {
        let doc = &t["documents"][i];
        assert_eq!(doc["status"], "ready", "{raw:?}: {doc}");
        let did = doc["id"].as_str().unwrap();
        let resp = app
            .http
            .get(app.url(&format!("/api/v1/transfers/{tid}/documents/{did}/content")))
            .bearer_auth(&bob)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let location = resp.headers()["location"].to_str().unwrap().to_owned();
        let download = app.http.get(&location).send().await.unwrap();
        assert_eq!(download.status(), StatusCode::OK);
        let disposition = download.headers()["content-disposition"]
            .to_str()
            .expect("a visible-ASCII Content-Disposition")
            .to_owned();
        check_disposition(&disposition, shown);
        assert_eq!(download.bytes().await.unwrap(), bodies[i]);
    }

    // The invitation lists the cleaned names only.
    let invites = app
        .wait_for_mail("bob@example.com", "Documents from", 1)
        .await;
    let invite = &invites[0].2;
    assert!(!invite.contains('\u{202E}') && !invite.contains('\u{0}'));
    assert!(!invite.contains("a\r\nX: y.pdf"));

    // No file is named after any of them, in the data dir or beside it.
    let root = app.data_dir.parent().unwrap();
    for path in walk(root) {
        let name = path.file_name().unwrap().to_string_lossy().to_lowercase();
        for part in [
            "passwd", "path.pdf", "win.pdf", "x: y", "fdp", "exe", "nul", "byte", "boot", "gpj",
        ] {
            assert!(!name.contains(part), "{} was created", path.display());
        }
    }
    assert!(!Path::new("/abs/path.pdf").exists());

    let mut secrets = vec![
        admin.as_str(),
        alice.as_str(),
        bob.as_str(),
        link.as_str(),
        ADMIN_PASSWORD,
    ];
    let alice_password = password("alice@example.org");
    secrets.push(&alice_password);
    let markers: Vec<String> = (0..hostile.len())
        .map(|i| format!("MARKER-T15-{i}-9be1"))
        .collect();
    secrets.extend(markers.iter().map(String::as_str));
    app.assert_log_free_of(&secrets);
}

// ---- helpers shared by the attack modules -------------------------------------------------

/// One entry of a transfer's `files`, for these bytes.
pub(crate) fn file(name: &str, bytes: &[u8], content_type: &str) -> Value {
    json!({ "name": name, "size": bytes.len(), "content_type": content_type, "md5": md5_b64(bytes) })
}

/// The password [`TestApp::user`] gives an account.
pub(crate) fn password(email: &str) -> String {
    format!("{email}-password-123")
}

/// Whether a problem's detail mentions `word`.
pub(crate) fn has_detail(problem: &Value, word: &str) -> bool {
    problem["detail"].as_str().is_some_and(|d| d.contains(word))
}

/// The outbox's messages as `(to, raw message)`, exactly as written.
pub(crate) async fn raw_mails(app: &TestApp) -> Vec<(String, String)> {
    let list = app.public_json("/_dev/mail.json").await;
    let mut out = Vec::new();
    for m in list.as_array().unwrap() {
        let raw = app
            .http
            .get(app.url(&format!("/_dev/mail/{}", m["name"].as_str().unwrap())))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        out.push((m["to"].as_str().unwrap().to_owned(), raw));
    }
    out
}

/// Waits until no document of the transfer is still being checked or read, and the transfer
/// has moved on from processing; polls the health check meanwhile, which must keep answering.
pub(crate) async fn wait_settled(app: &TestApp, token: &str, tid: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let health = app
            .http
            .get(app.url("/api/v1/health"))
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .unwrap_or_else(|e| {
                let log = app.log();
                let tail: Vec<&str> = log.lines().rev().take(15).collect();
                panic!("ferry-local stopped answering ({e}); its log ends:\n{tail:#?}")
            });
        assert_eq!(health.status(), StatusCode::OK);
        let (status, t) = app
            .call(
                Method::GET,
                &format!("/api/v1/transfers/{tid}"),
                Some(token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{t}");
        let settled = t["documents"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| !["awaiting_upload", "uploaded"].contains(&d["status"].as_str().unwrap()));
        if settled && t["status"] != "uploading" && t["status"] != "processing" {
            return t;
        }
        assert!(
            Instant::now() < deadline,
            "the documents never settled: {t}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Every file and directory under `dir`.
pub(crate) fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(walk(&path));
            }
            out.push(path);
        }
    }
    out
}

/// The header lines of a raw message (before the first empty line), unfolded, as (name, value).
fn header_block(raw: &str) -> Vec<(String, String)> {
    let head = raw
        .split("\r\n\r\n")
        .next()
        .unwrap()
        .split("\n\n")
        .next()
        .unwrap();
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.split('\n').map(|l| l.trim_end_matches('\r')) {
        if line.starts_with([' ', '\t']) {
            let last = headers.last_mut().expect("a continuation follows a header");
            last.1.push_str(line);
            continue;
        }
        let (name, value) = line.split_once(':').expect("a header line has a colon");
        assert!(
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic()),
            "a malformed header line {line:?}"
        );
        headers.push((name.to_owned(), value.to_owned()));
    }
    headers
}

/// No control character, no bidi control, no path separator.
fn clean_display(name: &str) -> bool {
    !name.chars().any(|c| {
        c.is_control()
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '/' | '\\')
    })
}

/// `attachment; filename="ascii"; filename*=UTF-8''pct`: the quoted part holds no quote or
/// backslash, the encoded part only RFC 8187 attr-chars, and it decodes to the name shown.
fn check_disposition(disposition: &str, shown: &str) {
    let rest = disposition
        .strip_prefix("attachment; filename=\"")
        .unwrap_or_else(|| panic!("{disposition}"));
    let (fallback, rest) = rest.split_once('"').unwrap();
    assert!(
        !fallback.contains('\\') && fallback.chars().all(|c| c == ' ' || c.is_ascii_graphic()),
        "{disposition}"
    );
    let encoded = rest
        .strip_prefix("; filename*=UTF-8''")
        .unwrap_or_else(|| panic!("one quoted fallback, then filename*: {disposition}"));
    assert!(
        encoded
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~%".contains(&b)),
        "{disposition}"
    );
    let decoded = percent_decode(encoded);
    assert_eq!(decoded, shown, "{disposition}");
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

//! The mail outbox: ferry-local's `Mailer`. Nothing is sent; each message is written as an
//! RFC 5322 `.eml` file in `{data_dir}/outbox/` and shown at `/_dev/mail`, so the whole flow
//! (access links, one-time codes) can be followed on one machine.

use crate::html::escape;
use anyhow::Context;
use async_trait::async_trait;
use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ferry_core::ports::{Mailer, OutgoingMail};
use lettre::Message;
use lettre::message::header::{
    ContentTransferEncoding, ContentType, HeaderName, HeaderValue, MIME_VERSION_1_0,
};
use lettre::message::{Body, Mailbox};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

/// The most messages a listing shows; older ones stay on disk.
const MAX_LISTED: usize = 500;

/// Length of a message's name: the first 32 hex digits of SHA-256 of its idempotency key.
const NAME_LEN: usize = 32;

pub struct Outbox {
    dir: PathBuf,
    from: Mailbox,
}

/// One message as the listing shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MailSummary {
    /// The file's name without `.eml`; `GET /_dev/mail/{name}` returns the message.
    pub name: String,
    pub to: String,
    pub subject: String,
    /// RFC 3339 when the Date header parses, else the header as written.
    pub date: String,
}

impl Outbox {
    /// `dir` is created if missing; `from` is a mailbox such as `Ferry <no-reply@ferry.localhost>`.
    pub fn new(dir: PathBuf, from: String) -> anyhow::Result<Self> {
        let from: Mailbox = from
            .parse()
            .with_context(|| format!("'{from}' is not a valid sender mailbox"))?;
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        // Leftovers of writes interrupted by a crash; never listed, so only clutter.
        for entry in fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
            let path = entry?.path();
            let is_temp = path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.') && n.ends_with(".tmp"));
            if is_temp {
                let _ = fs::remove_file(&path);
            }
        }
        Ok(Self { dir, from })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Messages newest first (by when they were written), at most `MAX_LISTED`.
    pub fn list(&self) -> anyhow::Result<Vec<MailSummary>> {
        let mut found = Vec::new();
        for entry in
            fs::read_dir(&self.dir).with_context(|| format!("reading {}", self.dir.display()))?
        {
            let entry = entry?;
            let file_name = entry.file_name();
            let Some(name) = file_name
                .to_str()
                .and_then(|n| n.strip_suffix(".eml"))
                .filter(|n| is_name(n))
            else {
                continue;
            };
            // A message replaced between read_dir and here is listed by its new time, or
            // skipped if it is gone.
            let Ok(modified) = entry.metadata().and_then(|m| m.modified()) else {
                continue;
            };
            found.push((modified, name.to_owned()));
        }
        found.sort_by(|a, b| b.cmp(a));
        let mut listed = Vec::new();
        for (_, name) in found.into_iter().take(MAX_LISTED) {
            if let Some(raw) = self.read(&name)? {
                listed.push(summarise(name, &raw));
            }
        }
        Ok(listed)
    }

    /// The stored message, exactly as written; `None` for an unknown or malformed name.
    pub fn read(&self, name: &str) -> anyhow::Result<Option<Vec<u8>>> {
        if !is_name(name) {
            return Ok(None);
        }
        match fs::read(self.dir.join(format!("{name}.eml"))) {
            Ok(raw) => Ok(Some(raw)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).context("reading a message of the outbox"),
        }
    }

    fn build(&self, mail: &OutgoingMail, name: &str, now: SystemTime) -> anyhow::Result<Message> {
        let to: lettre::Address = mail.to.as_str().parse().context("recipient address")?;
        let body = eight_bit_body(&mail.text).unwrap_or_else(|| Body::new(mail.text.clone()));
        // lettre encodes non-ASCII and CR/LF in the subject as RFC 2047 words: no header can
        // be injected through it.
        Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(None, to))
            .subject(mail.subject.clone())
            .date(now)
            // Derived from the key, so a retried send is recognisably the same message.
            .message_id(Some(format!("<{name}@{}>", self.from.email.domain())))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("Auto-Submitted"),
                "auto-generated".into(),
            ))
            // Without it readers may ignore the charset and the 8bit encoding.
            .header(MIME_VERSION_1_0)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .context("building the message")
    }
}

#[async_trait]
impl Mailer for Outbox {
    async fn send(&self, mail: &OutgoingMail) -> anyhow::Result<()> {
        let name = name_for(&mail.idempotency_key);
        let now = SystemTime::now();
        let formatted = self.build(mail, &name, now)?.formatted();
        let dir = self.dir.clone();
        // One file per key: a retried send replaces the message instead of adding another.
        let file_name = format!("{name}.eml");
        tokio::task::spawn_blocking(move || write_atomically(&dir, &file_name, &formatted, now))
            .await
            .context("writing to the outbox")?
            .context("writing to the outbox")?;
        tracing::info!(to = %mail.to, message = %name, "mail written to the outbox");
        Ok(())
    }
}

/// The text as an 8bit body, which keeps it readable in the file and its links whole: lettre
/// would pick quoted-printable for any line over 76 bytes, and its soft line breaks cut long
/// URLs. `None` when the text breaks 8bit's rules (RFC 2045 §2.8: lines of at most 998 bytes,
/// no NUL); lettre's own choice is used then.
fn eight_bit_body(text: &str) -> Option<Body> {
    let crlf = text
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .replace('\n', "\r\n");
    let valid = !crlf.contains('\0') && crlf.split("\r\n").all(|line| line.len() <= 998);
    // Pre-encoded because lettre has no way to ask for 8bit beyond 76 bytes a line; the rules
    // that matter were checked just above.
    valid.then(|| Body::dangerous_pre_encoded(crlf.into_bytes(), ContentTransferEncoding::EightBit))
}

fn name_for(idempotency_key: &str) -> String {
    let mut name = hex::encode(Sha256::digest(idempotency_key.as_bytes()));
    name.truncate(NAME_LEN);
    name
}

fn is_name(s: &str) -> bool {
    s.len() == NAME_LEN && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Temp file, fsync, rename, fsync of the directory: a reader sees the old message or the new
/// one, never half of one, and a crash loses at most the message being written.
fn write_atomically(
    dir: &Path,
    file_name: &str,
    bytes: &[u8],
    written_at: SystemTime,
) -> io::Result<()> {
    let temp = dir.join(format!(
        ".{file_name}.{}.tmp",
        uuid::Uuid::new_v4().simple()
    ));
    let result = (|| -> io::Result<()> {
        let mut file = File::create_new(&temp)?;
        file.write_all(bytes)?;
        // Listings sort by mtime; the coarse clock the kernel stamps files with can give two
        // quick sends the same time, so the precise send time is set instead.
        file.set_modified(written_at)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temp, dir.join(file_name))?;
        #[cfg(unix)]
        File::open(dir)?.sync_all()?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// To, Subject and Date from the stored header, decoded for display.
fn summarise(name: String, raw: &[u8]) -> MailSummary {
    let text = String::from_utf8_lossy(raw);
    let fields = header_fields(&text);
    let field = |wanted: &str| {
        fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(wanted))
            .map(|(_, v)| decode_words(v.trim()))
            .unwrap_or_default()
    };
    let date = field("Date");
    let date = chrono::DateTime::parse_from_rfc2822(&date)
        .map(|d| {
            d.with_timezone(&chrono::Utc)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        })
        .unwrap_or(date);
    MailSummary {
        name,
        to: field("To"),
        subject: field("Subject"),
        date,
    }
}

/// The header fields of a message, unfolded (RFC 5322 §2.2.3), in order.
fn header_fields(message: &str) -> Vec<(String, String)> {
    let header = message.split("\r\n\r\n").next().unwrap_or_default();
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in header.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = fields.last_mut() {
                value.push_str(line);
            }
        } else if let Some((name, value)) = line.split_once(':') {
            fields.push((name.to_owned(), value.to_owned()));
        }
    }
    fields
}

/// Decodes RFC 2047 encoded-words (`=?utf-8?b?...?=`, `=?utf-8?q?...?=`), as lettre writes
/// them. Whitespace between two encoded-words is folding, not text, so it is dropped.
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    // Bytes of adjacent encoded-words: one character may be split across two of them.
    let mut pending: Vec<u8> = Vec::new();
    let mut rest = value;
    loop {
        match next_encoded_word(rest) {
            Some((start, end, bytes)) => {
                let between = &rest[..start];
                if pending.is_empty() || !between.chars().all(|c| c == ' ' || c == '\t') {
                    out.push_str(&String::from_utf8_lossy(&std::mem::take(&mut pending)));
                    out.push_str(between);
                }
                pending.extend(bytes);
                rest = &rest[end..];
            }
            None => {
                out.push_str(&String::from_utf8_lossy(&pending));
                out.push_str(rest);
                return out;
            }
        }
    }
}

/// The first well-formed encoded-word in `s`: its start, its end and its decoded bytes.
fn next_encoded_word(s: &str) -> Option<(usize, usize, Vec<u8>)> {
    let mut from = 0;
    while let Some(offset) = s[from..].find("=?") {
        let start = from + offset;
        if let Some((len, bytes)) = parse_encoded_word(&s[start..]) {
            return Some((start, start + len, bytes));
        }
        from = start + 2;
    }
    None
}

/// `=?charset?encoding?text?=` at the start of `s`: its length and decoded bytes. Any charset
/// is read as UTF-8 (lettre writes only that).
fn parse_encoded_word(s: &str) -> Option<(usize, Vec<u8>)> {
    let inner = s.strip_prefix("=?")?;
    let (charset, inner) = inner.split_once('?')?;
    let (encoding, inner) = inner.split_once('?')?;
    let end = inner.find("?=")?;
    let text = &inner[..end];
    if charset.is_empty() || text.contains([' ', '\t', '\r', '\n']) {
        return None;
    }
    let bytes = match encoding {
        "b" | "B" => STANDARD.decode(text).ok()?,
        "q" | "Q" => decode_q(text)?,
        _ => return None,
    };
    let len = 2 + charset.len() + 1 + encoding.len() + 1 + end + 2;
    Some((len, bytes))
}

fn decode_q(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'_' => out.push(b' '),
            b'=' => {
                let hex = [bytes.next()?, bytes.next()?];
                out.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
            }
            other => out.push(other),
        }
    }
    Some(out)
}

/// `GET /_dev/mail` (HTML), `GET /_dev/mail.json` and `GET /_dev/mail/{name}` (the raw message).
pub fn router(outbox: Arc<Outbox>) -> Router {
    Router::new()
        .route("/_dev/mail", get(page))
        .route("/_dev/mail.json", get(json))
        .route("/_dev/mail/{name}", get(raw))
        .with_state(outbox)
}

async fn listing(outbox: Arc<Outbox>) -> Result<Vec<MailSummary>, Response> {
    match tokio::task::spawn_blocking(move || outbox.list()).await {
        Ok(Ok(list)) => Ok(list),
        Ok(Err(e)) => {
            tracing::error!(error = %format!("{e:#}"), "listing the outbox failed");
            Err((
                StatusCode::INTERNAL_SERVER_ERROR,
                "the outbox could not be read",
            )
                .into_response())
        }
        Err(e) => {
            tracing::error!(error = %e, "listing the outbox failed");
            Err((
                StatusCode::INTERNAL_SERVER_ERROR,
                "the outbox could not be read",
            )
                .into_response())
        }
    }
}

/// Mail content is untrusted text: the page runs no script and loads nothing.
const PAGE_HEADERS: [(header::HeaderName, &str); 2] = [
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'",
    ),
    (header::CACHE_CONTROL, "no-store"),
];

async fn page(State(outbox): State<Arc<Outbox>>) -> Response {
    let list = match listing(outbox).await {
        Ok(list) => list,
        Err(response) => return response,
    };
    let mut html = String::from(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Ferry outbox</title>\
         <style>body{font:15px system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}\
         td,th{padding:.3rem .8rem;text-align:left;border-bottom:1px solid #ddd}</style></head>\
         <body><h1>Outbox</h1><p>Mail that ferry-local would have sent, newest first. \
         Nothing leaves this machine.</p>\n",
    );
    if list.is_empty() {
        html.push_str("<p>No mail yet.</p>\n");
    } else {
        html.push_str(
            "<table><thead><tr><th>Date</th><th>To</th><th>Subject</th></tr></thead><tbody>\n",
        );
        for mail in &list {
            html.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td><a href=\"mail/{}\">{}</a></td></tr>\n",
                escape(&mail.date),
                escape(&mail.to),
                escape(&mail.name),
                escape(if mail.subject.is_empty() {
                    "(no subject)"
                } else {
                    &mail.subject
                }),
            ));
        }
        html.push_str("</tbody></table>\n");
    }
    html.push_str("</body></html>\n");
    (PAGE_HEADERS, Html(html)).into_response()
}

async fn json(State(outbox): State<Arc<Outbox>>) -> Response {
    match listing(outbox).await {
        Ok(list) => ([(header::CACHE_CONTROL, "no-store")], axum::Json(list)).into_response(),
        Err(response) => response,
    }
}

async fn raw(State(outbox): State<Arc<Outbox>>, UrlPath(name): UrlPath<String>) -> Response {
    // The name is checked before it comes near a path: anything else, `..` included, is 404.
    if !is_name(&name) {
        return StatusCode::NOT_FOUND.into_response();
    }
    match tokio::task::spawn_blocking(move || outbox.read(&name)).await {
        Ok(Ok(Some(raw))) => (
            PAGE_HEADERS,
            [
                (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            raw,
        )
            .into_response(),
        Ok(Ok(None)) => StatusCode::NOT_FOUND.into_response(),
        Ok(Err(e)) => {
            tracing::error!(error = %format!("{e:#}"), "reading a message of the outbox failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "reading a message of the outbox failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body as HttpBody;
    use axum::http::Request;
    use ferry_core::values::EmailAddress;
    use tower::ServiceExt;

    fn mail(key: &str, subject: &str, text: &str) -> OutgoingMail {
        OutgoingMail {
            to: EmailAddress::parse("ann@example.org").unwrap(),
            subject: subject.into(),
            text: text.into(),
            idempotency_key: key.into(),
        }
    }

    fn outbox(dir: &tempfile::TempDir) -> Arc<Outbox> {
        Arc::new(
            Outbox::new(
                dir.path().join("outbox"),
                "Ferry <no-reply@ferry.localhost>".into(),
            )
            .unwrap(),
        )
    }

    fn files(outbox: &Outbox) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(outbox.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    async fn get(outbox: &Arc<Outbox>, uri: &str) -> (StatusCode, Option<String>, String) {
        let response = router(outbox.clone())
            .oneshot(Request::get(uri).body(HttpBody::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned());
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (
            status,
            content_type,
            String::from_utf8(body.to_vec()).unwrap(),
        )
    }

    #[tokio::test]
    async fn send_writes_one_message_with_the_expected_headers() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = outbox(&dir);
        let link = format!("http://127.0.0.1:8080/r/{}", "A".repeat(43));
        let text = format!(
            "Hello,\n\nyour documents: {link}\nCode: 123456\n{}\n",
            "long line ".repeat(12)
        );
        outbox
            .send(&mail("notify:t1:ann", "Grüße – your documents", &text))
            .await
            .unwrap();

        let name = name_for("notify:t1:ann");
        assert_eq!(files(&outbox), vec![format!("{name}.eml")]);
        let raw = String::from_utf8(outbox.read(&name).unwrap().unwrap()).unwrap();
        let fields = header_fields(&raw);
        let field = |n: &str| {
            fields
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(n))
                .map(|(_, v)| v.trim().to_owned())
                .unwrap_or_else(|| panic!("no {n} header in\n{raw}"))
        };
        assert_eq!(field("From"), "Ferry <no-reply@ferry.localhost>");
        assert_eq!(field("To"), "ann@example.org");
        assert!(
            field("Subject").starts_with("=?utf-8?"),
            "non-ASCII subjects are encoded"
        );
        assert_eq!(decode_words(&field("Subject")), "Grüße – your documents");
        assert!(chrono::DateTime::parse_from_rfc2822(&field("Date")).is_ok());
        assert_eq!(field("Message-ID"), format!("<{name}@ferry.localhost>"));
        assert_eq!(field("Auto-Submitted"), "auto-generated");
        assert_eq!(field("MIME-Version"), "1.0");
        assert_eq!(
            field("Content-Type").to_ascii_lowercase(),
            "text/plain; charset=utf-8"
        );
        // The body is readable as written, the link unbroken.
        let body = raw.split_once("\r\n\r\n").unwrap().1;
        assert!(body.contains(&link), "{body}");
        assert!(body.contains("Code: 123456\r\n"), "{body}");
        assert!(body.contains(&"long line ".repeat(12)), "{body}");
        assert_eq!(field("Content-Transfer-Encoding"), "8bit");
        // Beyond 8bit's line limit, lettre's encoding takes over.
        assert!(eight_bit_body(&"x".repeat(999)).is_none());
        assert!(eight_bit_body(&"x".repeat(998)).is_some());

        let listed = outbox.list().unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].name, name);
        assert_eq!(listed[0].to, "ann@example.org");
        assert_eq!(listed[0].subject, "Grüße – your documents");
        assert!(
            chrono::DateTime::parse_from_rfc3339(&listed[0].date).is_ok(),
            "{}",
            listed[0].date
        );
    }

    #[tokio::test]
    async fn a_retried_send_replaces_the_message() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = outbox(&dir);
        outbox
            .send(&mail("same-key", "First", "one"))
            .await
            .unwrap();
        outbox
            .send(&mail("same-key", "Second", "two"))
            .await
            .unwrap();
        let name = name_for("same-key");
        assert_eq!(
            files(&outbox),
            vec![format!("{name}.eml")],
            "no duplicate, no temp file left"
        );
        let listed = outbox.list().unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].subject, "Second");
    }

    #[tokio::test]
    async fn the_subject_cannot_inject_a_header() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = outbox(&dir);
        outbox
            .send(&mail("k", "Hello\r\nBcc: x@y.z", "text"))
            .await
            .unwrap();
        outbox
            .send(&mail("k2", "Hi\nBcc: x@y.z\n\nforged body", "text"))
            .await
            .unwrap();
        for key in ["k", "k2"] {
            let raw = String::from_utf8(outbox.read(&name_for(key)).unwrap().unwrap()).unwrap();
            let header = raw.split_once("\r\n\r\n").unwrap().0;
            assert!(
                header_fields(&raw)
                    .iter()
                    .all(|(n, _)| !n.eq_ignore_ascii_case("bcc")),
                "{header}"
            );
            assert!(
                !raw.contains("\nBcc:") && !raw.contains("forged body"),
                "{raw}"
            );
            // Every line of the header is a field or its continuation.
            assert!(
                header
                    .split("\r\n")
                    .all(|l| l.starts_with(' ') || l.contains(':')),
                "{header}"
            );
        }
        let listed = outbox.list().unwrap();
        assert!(
            listed.iter().any(|m| m.subject == "Hello\r\nBcc: x@y.z"),
            "{listed:?}"
        );
    }

    #[tokio::test]
    async fn the_router_lists_newest_first_and_serves_the_raw_message() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = outbox(&dir);
        outbox
            .send(&mail("older", "Older <b>one</b>", "first"))
            .await
            .unwrap();
        outbox
            .send(&mail("newer", "Newer & better", "second"))
            .await
            .unwrap();

        let (status, content_type, body) = get(&outbox, "/_dev/mail.json").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(content_type.as_deref(), Some("application/json"));
        let list: serde_json::Value = serde_json::from_str(&body).unwrap();
        let subjects: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["subject"].as_str().unwrap())
            .collect();
        assert_eq!(subjects, ["Newer & better", "Older <b>one</b>"]);
        assert_eq!(list[0]["name"], name_for("newer"));
        assert_eq!(list[0]["to"], "ann@example.org");
        assert!(list[0]["date"].is_string());

        let (status, content_type, html) = get(&outbox, "/_dev/mail").await;
        assert_eq!(status, StatusCode::OK);
        assert!(content_type.unwrap().starts_with("text/html"));
        assert!(
            html.contains("Newer &amp; better") && html.contains("Older &lt;b&gt;one&lt;/b&gt;"),
            "{html}"
        );
        assert!(!html.contains("<b>one"), "{html}");
        assert!(
            html.contains(&format!("href=\"mail/{}\"", name_for("older"))),
            "{html}"
        );
        assert!(html.find("Newer").unwrap() < html.find("Older").unwrap());

        let (status, content_type, raw) =
            get(&outbox, &format!("/_dev/mail/{}", name_for("older"))).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(content_type.as_deref(), Some("text/plain; charset=utf-8"));
        assert!(
            raw.contains("Message-ID: <") && raw.ends_with("first"),
            "{raw}"
        );
    }

    #[tokio::test]
    async fn only_well_formed_names_are_served() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = outbox(&dir);
        outbox.send(&mail("k", "Hi", "text")).await.unwrap();
        fs::write(dir.path().join("secret.txt"), "do not serve").unwrap();
        let name = name_for("k");
        for uri in [
            "/_dev/mail/..%2Fsecret.txt".to_owned(),
            "/_dev/mail/..%2F..%2Fetc%2Fpasswd".to_owned(),
            "/_dev/mail/../secret.txt".to_owned(),
            format!("/_dev/mail/{name}.eml"),
            format!("/_dev/mail/{}", name.to_uppercase()),
            format!("/_dev/mail/{}", &name[..31]),
            "/_dev/mail/0123456789abcdef0123456789abcdef".to_owned(),
        ] {
            let (status, _, body) = get(&outbox, &uri).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
            assert!(!body.contains("do not serve"));
        }
    }

    #[test]
    fn encoded_words_decode() {
        assert_eq!(decode_words("=?utf-8?b?R3LDvMOfZQ==?="), "Grüße");
        assert_eq!(
            decode_words("=?UTF-8?Q?Gr=C3=BC=C3=9Fe_dich?="),
            "Grüße dich"
        );
        // Split inside a character, and folded: the parts join without the folding space.
        assert_eq!(
            decode_words("=?utf-8?b?R3LD?= =?utf-8?b?vMOfZQ==?= now"),
            "Grüße now"
        );
        assert_eq!(
            decode_words("plain =? not a word ?= text"),
            "plain =? not a word ?= text"
        );
        assert_eq!(decode_words("a =?utf-8?q?b?= c"), "a b c");
    }
}

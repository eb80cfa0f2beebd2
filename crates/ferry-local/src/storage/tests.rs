use super::*;
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use ferry_core::disposition;
use ferry_core::memory::MemoryQueue;
use ferry_core::ports::{CompletedPart, Job, ObjectStore, PresignedRequest, StoreError, WorkQueue};
use ferry_core::values::ContentMd5;
use futures_util::StreamExt;
use md5::{Digest, Md5};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

const PUBLIC_URL: &str = "http://127.0.0.1:8080";
const KEY: &str =
    "transfers/6f1c2a8e-5f7b-4c0e-9a47-2b1d3c4e5f60/0b9a8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d";

struct Harness {
    _dir: tempfile::TempDir,
    root: PathBuf,
    store: Arc<DiskObjectStore>,
    queue: Arc<MemoryQueue>,
    app: Router,
}

fn harness() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("objects");
    let queue = Arc::new(MemoryQueue::default());
    let store = Arc::new(
        DiskObjectStore::new(
            root.clone(),
            PUBLIC_URL.into(),
            [7; 32],
            queue.clone() as Arc<dyn WorkQueue>,
        )
        .unwrap(),
    );
    let app = router(store.clone());
    Harness {
        _dir: dir,
        root,
        store,
        queue,
        app,
    }
}

fn md5(bytes: &[u8]) -> ContentMd5 {
    ContentMd5::from_digest(Md5::digest(bytes).into())
}

fn hex_md5(bytes: &[u8]) -> String {
    hex::encode(Md5::digest(bytes))
}

fn soon() -> DateTime<Utc> {
    Utc::now() + chrono::Duration::minutes(5)
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Bytes,
}

impl Answer {
    fn header(&self, name: header::HeaderName) -> &str {
        self.headers
            .get(&name)
            .unwrap_or_else(|| panic!("no {name} header"))
            .to_str()
            .unwrap()
    }

    /// Asserts a problem+json answer with `status` whose detail mentions `code`.
    fn assert_problem(&self, status: StatusCode, code: &str) {
        assert_eq!(
            self.status,
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(
            self.header(header::CONTENT_TYPE),
            "application/problem+json"
        );
        let problem: serde_json::Value = serde_json::from_slice(&self.body).unwrap();
        assert_eq!(problem["status"], status.as_u16());
        assert!(
            problem["type"]
                .as_str()
                .unwrap()
                .starts_with("urn:ferry:problem:"),
            "{problem}"
        );
        assert!(problem["title"].is_string(), "{problem}");
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains(code), "{detail}");
        assert!(!detail.contains("sig="), "{detail}");
    }
}

async fn send(
    app: &Router,
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Body,
) -> Answer {
    let mut request = Request::builder().method(method).uri(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = app
        .clone()
        .oneshot(request.body(body).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    Answer {
        status,
        headers,
        body,
    }
}

/// Sends `body` as the presigned request says, with every header it lists.
async fn send_signed(app: &Router, request: &PresignedRequest, body: impl Into<Body>) -> Answer {
    let headers: Vec<(&str, &str)> = request
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    send(
        app,
        request.method.parse().unwrap(),
        &request.url,
        &headers,
        body.into(),
    )
    .await
}

async fn read_all(store: &DiskObjectStore, key: &str) -> Option<Vec<u8>> {
    let mut stream = store.get(key).await.unwrap()?;
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk.unwrap());
    }
    Some(out)
}

fn files_under(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| entries.count())
        .unwrap_or(0)
}

#[tokio::test]
async fn a_signed_put_stores_the_bytes_answers_the_etag_and_announces_them_once() {
    let h = harness();
    let body = b"%PDF-1.7 a small document".to_vec();
    let plan = h
        .store
        .presign_put(KEY, &md5(&body), body.len() as u64, soon())
        .await
        .unwrap();
    assert_eq!(plan.method, "PUT");
    assert!(
        plan.url
            .starts_with(&format!("{PUBLIC_URL}/_storage/{KEY}?")),
        "{}",
        plan.url
    );
    assert!(
        plan.url.contains("&expires=") && plan.url.contains("&sig="),
        "{}",
        plan.url
    );
    assert_eq!(plan.headers.len(), 1, "only Content-MD5 is required");
    assert_eq!(plan.headers["Content-MD5"], md5(&body).to_base64());

    let answer = send_signed(&h.app, &plan, body.clone()).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.header(header::ETAG),
        format!("\"{}\"", hex_md5(&body))
    );
    assert_eq!(read_all(&h.store, KEY).await.unwrap(), body);
    assert_eq!(h.store.size(KEY).await.unwrap(), Some(body.len() as u64));
    assert_eq!(h.queue.pop(), Some(Job::ObjectCreated { key: KEY.into() }));
    assert!(h.queue.is_empty());
    assert_eq!(
        files_under(&h.root.join(".tmp")),
        0,
        "no temporary file is left"
    );
}

#[tokio::test]
async fn an_upload_never_replaces_a_stored_object() {
    let h = harness();
    let body = b"%PDF-1.7 the validated bytes".to_vec();
    let plan = h
        .store
        .presign_put(KEY, &md5(&body), body.len() as u64, soon())
        .await
        .unwrap();
    assert_eq!(
        send_signed(&h.app, &plan, body.clone()).await.status,
        StatusCode::OK
    );
    assert!(h.queue.pop().is_some());
    // The same URL again, while it is still valid.
    send_signed(&h.app, &plan, body.clone())
        .await
        .assert_problem(StatusCode::PRECONDITION_FAILED, "PreconditionFailed");
    assert!(h.queue.is_empty(), "nothing new is announced");
    assert_eq!(read_all(&h.store, KEY).await.unwrap(), body);
    assert_eq!(files_under(&h.root.join(".tmp")), 0);
}

#[tokio::test]
async fn a_body_that_differs_from_its_md5_is_a_bad_digest_and_nothing_is_stored() {
    let h = harness();
    let body = b"hello there!".to_vec();
    let plan = h
        .store
        .presign_put(KEY, &md5(&body), body.len() as u64, soon())
        .await
        .unwrap();
    send_signed(&h.app, &plan, b"hello there?".to_vec())
        .await
        .assert_problem(StatusCode::BAD_REQUEST, "BadDigest");
    assert_eq!(h.store.size(KEY).await.unwrap(), None);
    assert!(h.queue.is_empty());
    assert_eq!(files_under(&h.root.join(".tmp")), 0);
}

#[tokio::test]
async fn bad_signatures_expired_urls_and_other_content_md5_headers_are_forbidden() {
    let h = harness();
    let body = b"some bytes".to_vec();
    let plan = h
        .store
        .presign_put(KEY, &md5(&body), body.len() as u64, soon())
        .await
        .unwrap();
    let md5_header = plan.headers["Content-MD5"].clone();

    let tampered = plan.url.replace("sig=", "sig=ff");
    let answer = send(
        &h.app,
        Method::PUT,
        &tampered,
        &[("Content-MD5", &md5_header)],
        body.clone().into(),
    )
    .await;
    answer.assert_problem(StatusCode::FORBIDDEN, "SignatureDoesNotMatch");

    let unsigned = plan.url.split("&sig=").next().unwrap();
    let answer = send(
        &h.app,
        Method::PUT,
        unsigned,
        &[("Content-MD5", &md5_header)],
        body.clone().into(),
    )
    .await;
    answer.assert_problem(StatusCode::FORBIDDEN, "AccessDenied");

    let bigger = plan.url.replace("size=10", "size=11");
    let answer = send(
        &h.app,
        Method::PUT,
        &bigger,
        &[("Content-MD5", &md5_header)],
        body.clone().into(),
    )
    .await;
    answer.assert_problem(StatusCode::FORBIDDEN, "SignatureDoesNotMatch");

    let elsewhere = plan.url.replace(KEY, "transfers/elsewhere/document");
    let answer = send(
        &h.app,
        Method::PUT,
        &elsewhere,
        &[("Content-MD5", &md5_header)],
        body.clone().into(),
    )
    .await;
    answer.assert_problem(StatusCode::FORBIDDEN, "SignatureDoesNotMatch");

    let past = Utc::now() - chrono::Duration::minutes(1);
    let expired = h
        .store
        .presign_put(KEY, &md5(&body), body.len() as u64, past)
        .await
        .unwrap();
    send_signed(&h.app, &expired, body.clone())
        .await
        .assert_problem(StatusCode::FORBIDDEN, "expired");

    // Bytes that match their own Content-MD5, but not the signed one.
    let other = b"other bytes".to_vec();
    let other_md5 = md5(&other).to_base64();
    let answer = send(
        &h.app,
        Method::PUT,
        &plan.url,
        &[("Content-MD5", &other_md5)],
        other.into(),
    )
    .await;
    answer.assert_problem(StatusCode::FORBIDDEN, "Content-MD5");
    send(&h.app, Method::PUT, &plan.url, &[], body.clone().into())
        .await
        .assert_problem(StatusCode::FORBIDDEN, "Content-MD5");

    // An upload URL does not download.
    send(&h.app, Method::GET, &plan.url, &[], Body::empty())
        .await
        .assert_problem(StatusCode::FORBIDDEN, "AccessDenied");

    assert_eq!(h.store.size(KEY).await.unwrap(), None);
    assert!(h.queue.is_empty());
}

#[tokio::test]
async fn a_body_of_another_size_than_signed_is_refused_and_nothing_is_stored() {
    let h = harness();
    let body = b"0123456789".to_vec();
    let short = body[..9].to_vec();
    let long = [body.as_slice(), b"!"].concat();
    let plan = h
        .store
        .presign_put(KEY, &md5(&body), body.len() as u64, soon())
        .await
        .unwrap();
    let md5_header = plan.headers["Content-MD5"].clone();
    for wrong in [short, long] {
        // Streamed bodies declare no length, so the count of received bytes decides.
        let stream =
            futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from(wrong.clone()))]);
        let answer = send(
            &h.app,
            Method::PUT,
            &plan.url,
            &[("Content-MD5", &md5_header)],
            Body::from_stream(stream),
        )
        .await;
        answer.assert_problem(StatusCode::BAD_REQUEST, "IncompleteBody");
        // With a declared length, the request is refused before the body is read.
        let length = wrong.len().to_string();
        let headers = [
            ("Content-MD5", md5_header.as_str()),
            ("Content-Length", &length),
        ];
        let answer = send(&h.app, Method::PUT, &plan.url, &headers, wrong.into()).await;
        answer.assert_problem(StatusCode::BAD_REQUEST, "IncompleteBody");
        assert!(String::from_utf8_lossy(&answer.body).contains(&format!("this one has {length}")));
    }
    assert_eq!(h.store.size(KEY).await.unwrap(), None);
    assert!(h.queue.is_empty());
}

/// Uploads `parts` (numbered from 1) in reverse order and returns their ETags in order.
async fn put_parts(h: &Harness, upload_id: &str, parts: &[&[u8]]) -> Vec<String> {
    let mut etags = vec![String::new(); parts.len()];
    for (i, part) in parts.iter().enumerate().rev() {
        let number = i as u32 + 1;
        let signed = h
            .store
            .presign_part(
                KEY,
                upload_id,
                number,
                &md5(part),
                part.len() as u64,
                soon(),
            )
            .await
            .unwrap();
        assert_eq!(signed.headers.keys().collect::<Vec<_>>(), ["Content-MD5"]);
        let answer = send_signed(&h.app, &signed, part.to_vec()).await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
        etags[i] = answer.header(header::ETAG).to_owned();
    }
    etags
}

fn completed(etags: &[String]) -> Vec<CompletedPart> {
    etags
        .iter()
        .enumerate()
        .map(|(i, e)| CompletedPart {
            number: i as u32 + 1,
            etag: e.clone(),
        })
        .collect()
}

#[tokio::test]
async fn a_multipart_upload_joins_its_parts_in_order_and_is_announced_once() {
    let h = harness();
    let parts: [&[u8]; 3] = [b"first part, ", b"second part, ", b"third"];
    let upload_id = h.store.create_multipart(KEY).await.unwrap();
    let etags = put_parts(&h, &upload_id, &parts).await;
    assert_eq!(etags[1], format!("\"{}\"", hex_md5(parts[1])));
    assert!(h.queue.is_empty(), "parts are not announced");
    assert_eq!(
        h.store.size(KEY).await.unwrap(),
        None,
        "nothing is visible before completion"
    );

    // ETags are accepted with or without their quotes.
    let mut listed = completed(&etags);
    listed[2].etag = listed[2].etag.trim_matches('"').to_owned();
    h.store
        .complete_multipart(KEY, &upload_id, &listed)
        .await
        .unwrap();
    assert_eq!(read_all(&h.store, KEY).await.unwrap(), parts.concat());
    assert_eq!(h.queue.pop(), Some(Job::ObjectCreated { key: KEY.into() }));
    assert!(h.queue.is_empty());
    assert_eq!(
        files_under(&h.root.join(".uploads")),
        0,
        "the staged parts are gone"
    );

    // A retried completion succeeds and changes nothing.
    h.store
        .complete_multipart(KEY, &upload_id, &listed)
        .await
        .unwrap();
    assert_eq!(read_all(&h.store, KEY).await.unwrap(), parts.concat());
    assert!(h.queue.is_empty());

    // The upload is over: its part URLs no longer store anything.
    let late = h
        .store
        .presign_part(
            KEY,
            &upload_id,
            1,
            &md5(parts[0]),
            parts[0].len() as u64,
            soon(),
        )
        .await
        .unwrap();
    send_signed(&h.app, &late, parts[0].to_vec())
        .await
        .assert_problem(StatusCode::NOT_FOUND, "NoSuchUpload");
}

#[tokio::test]
async fn parts_stored_without_a_header_by_an_older_version_still_join() {
    let h = harness();
    let parts: [&[u8]; 2] = [b"FERRYPT1 looks like a header but is data, ", b"then more"];
    let upload_id = h.store.create_multipart(KEY).await.unwrap();
    let etags = put_parts(&h, &upload_id, &parts).await;
    // What an older ferry-local left: the part's bytes alone.
    let part_files = h.root.join(".uploads").join(&upload_id);
    for (i, part) in parts.iter().enumerate() {
        std::fs::write(part_files.join(format!("part-{}", i + 1)), part).unwrap();
    }
    let mut wrong = completed(&etags);
    wrong[1].etag = format!("\"{}\"", hex_md5(b"something else"));
    assert!(
        h.store
            .complete_multipart(KEY, &upload_id, &wrong)
            .await
            .is_err()
    );
    h.store
        .complete_multipart(KEY, &upload_id, &completed(&etags))
        .await
        .unwrap();
    assert_eq!(read_all(&h.store, KEY).await.unwrap(), parts.concat());
}

#[tokio::test]
async fn a_completion_with_a_wrong_etag_a_missing_part_or_a_gap_is_refused() {
    let h = harness();
    let parts: [&[u8]; 3] = [b"aaaa", b"bbbb", b"cc"];
    let upload_id = h.store.create_multipart(KEY).await.unwrap();
    let etags = put_parts(&h, &upload_id, &parts[..2]).await;

    let mut wrong = completed(&etags);
    wrong[1].etag = format!("\"{}\"", hex_md5(b"not the part"));
    let invalid = |r: Result<(), StoreError>| match r {
        Err(StoreError::InvalidParts(reason)) => reason,
        other => panic!("expected InvalidParts, got {other:?}"),
    };
    assert!(invalid(h.store.complete_multipart(KEY, &upload_id, &wrong).await).contains("part 2"));

    let mut missing = completed(&etags);
    missing.push(CompletedPart {
        number: 3,
        etag: hex_md5(parts[2]),
    });
    assert!(
        invalid(h.store.complete_multipart(KEY, &upload_id, &missing).await).contains("part 3")
    );

    let gap = vec![missing[0].clone(), missing[2].clone()];
    invalid(h.store.complete_multipart(KEY, &upload_id, &gap).await);
    let backwards = vec![missing[1].clone(), missing[0].clone()];
    invalid(
        h.store
            .complete_multipart(KEY, &upload_id, &backwards)
            .await,
    );
    invalid(h.store.complete_multipart(KEY, &upload_id, &[]).await);
    let garbage = vec![CompletedPart {
        number: 1,
        etag: "\"abc\"".into(),
    }];
    invalid(h.store.complete_multipart(KEY, &upload_id, &garbage).await);
    let other_key = "transfers/another/document";
    invalid(
        h.store
            .complete_multipart(other_key, &upload_id, &completed(&etags))
            .await,
    );
    invalid(
        h.store
            .complete_multipart(KEY, "0123456789abcdef0123456789abcdef", &completed(&etags))
            .await,
    );

    assert_eq!(h.store.size(KEY).await.unwrap(), None);
    assert!(h.queue.is_empty());

    // A part whose bytes differ from its Content-MD5 is not stored either.
    let signed = h
        .store
        .presign_part(
            KEY,
            &upload_id,
            3,
            &md5(parts[2]),
            parts[2].len() as u64,
            soon(),
        )
        .await
        .unwrap();
    send_signed(&h.app, &signed, b"xx".to_vec())
        .await
        .assert_problem(StatusCode::BAD_REQUEST, "BadDigest");
    assert!(
        invalid(h.store.complete_multipart(KEY, &upload_id, &missing).await).contains("part 3")
    );

    // The upload is still good once every part is right.
    put_parts(&h, &upload_id, &parts).await;
    h.store
        .complete_multipart(KEY, &upload_id, &missing)
        .await
        .unwrap();
    assert_eq!(read_all(&h.store, KEY).await.unwrap(), parts.concat());
}

#[tokio::test]
async fn a_part_url_is_bound_to_its_upload_number_and_md5() {
    let h = harness();
    let upload_id = h.store.create_multipart(KEY).await.unwrap();
    let part = b"part one".to_vec();
    let signed = h
        .store
        .presign_part(KEY, &upload_id, 1, &md5(&part), part.len() as u64, soon())
        .await
        .unwrap();
    let md5_header = signed.headers["Content-MD5"].clone();
    let renumbered = signed.url.replace("partNumber=1", "partNumber=2");
    let answer = send(
        &h.app,
        Method::PUT,
        &renumbered,
        &[("Content-MD5", &md5_header)],
        part.clone().into(),
    )
    .await;
    answer.assert_problem(StatusCode::FORBIDDEN, "SignatureDoesNotMatch");
    let other_upload = h.store.create_multipart(KEY).await.unwrap();
    let moved = signed.url.replace(&upload_id, &other_upload);
    let answer = send(
        &h.app,
        Method::PUT,
        &moved,
        &[("Content-MD5", &md5_header)],
        part.clone().into(),
    )
    .await;
    answer.assert_problem(StatusCode::FORBIDDEN, "SignatureDoesNotMatch");
    // The size is signed too: a part cannot grow past what the upload plan declared.
    let resized = signed.url.replace("size=8", "size=9000000");
    let answer = send(
        &h.app,
        Method::PUT,
        &resized,
        &[("Content-MD5", &md5_header)],
        part.clone().into(),
    )
    .await;
    answer.assert_problem(StatusCode::FORBIDDEN, "SignatureDoesNotMatch");
    let longer = [part.as_slice(), b" and more"].concat();
    let answer = send(
        &h.app,
        Method::PUT,
        &signed.url,
        &[("Content-MD5", &md5_header)],
        longer.into(),
    )
    .await;
    answer.assert_problem(StatusCode::BAD_REQUEST, "IncompleteBody");
    assert!(
        h.store
            .presign_part(KEY, &upload_id, 0, &md5(&part), part.len() as u64, soon())
            .await
            .is_err()
    );
    assert!(
        h.store
            .presign_part(
                KEY,
                &upload_id,
                10_001,
                &md5(&part),
                part.len() as u64,
                soon()
            )
            .await
            .is_err()
    );
    assert!(
        h.store
            .presign_part(KEY, "../../etc", 1, &md5(&part), part.len() as u64, soon())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn an_aborted_upload_is_gone_with_its_parts() {
    let h = harness();
    let upload_id = h.store.create_multipart(KEY).await.unwrap();
    let etags = put_parts(&h, &upload_id, &[b"abc"]).await;
    h.store.abort_multipart(KEY, &upload_id).await.unwrap();
    assert_eq!(files_under(&h.root.join(".uploads")), 0);
    h.store.abort_multipart(KEY, &upload_id).await.unwrap();

    let signed = h
        .store
        .presign_part(KEY, &upload_id, 1, &md5(b"abc"), 3, soon())
        .await
        .unwrap();
    send_signed(&h.app, &signed, b"abc".to_vec())
        .await
        .assert_problem(StatusCode::NOT_FOUND, "NoSuchUpload");
    assert_eq!(
        files_under(&h.root.join(".uploads")),
        0,
        "an aborted upload is not recreated"
    );
    let result = h
        .store
        .complete_multipart(KEY, &upload_id, &completed(&etags))
        .await;
    assert!(
        matches!(result, Err(StoreError::InvalidParts(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn uploads_left_incomplete_are_deleted_after_their_age() {
    let h = harness();
    let old = h.store.create_multipart(KEY).await.unwrap();
    put_parts(&h, &old, &[b"abc"]).await;
    h.store
        .delete_incomplete_uploads_older_than(Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!(
        files_under(&h.root.join(".uploads")),
        1,
        "a recent upload stays"
    );
    h.store
        .delete_incomplete_uploads_older_than(Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(files_under(&h.root.join(".uploads")), 0);
}

async fn download(h: &Harness, name: &str, content_type: &str) -> Answer {
    let url = h
        .store
        .presign_get(KEY, name, content_type, soon())
        .await
        .unwrap();
    assert!(
        url.starts_with(&format!("{PUBLIC_URL}/_storage/{KEY}?")) && url.contains("&sig="),
        "{url}"
    );
    send(&h.app, Method::GET, &url, &[], Body::empty()).await
}

/// The quoted ASCII fallback and the decoded `filename*` of a Content-Disposition.
fn disposition_names(value: &str) -> (String, String) {
    let rest = value
        .strip_prefix("attachment; filename=\"")
        .unwrap_or_else(|| panic!("{value}"));
    let (fallback, encoded) = rest
        .split_once("\"; filename*=UTF-8''")
        .unwrap_or_else(|| panic!("{value}"));
    let decoded = percent_encoding::percent_decode_str(encoded)
        .decode_utf8()
        .unwrap()
        .into_owned();
    (fallback.to_owned(), decoded)
}

#[tokio::test]
async fn a_presigned_get_streams_the_bytes_with_safe_headers() {
    let h = harness();
    let body: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    h.store
        .put_small(KEY, Bytes::from(body.clone()), "application/pdf")
        .await
        .unwrap();
    assert!(h.queue.is_empty(), "put_small does not announce");

    let answer = download(&h, "report.pdf", "application/pdf").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, body);
    assert_eq!(answer.header(header::CONTENT_TYPE), "application/pdf");
    assert_eq!(
        answer.header(header::CONTENT_LENGTH),
        body.len().to_string()
    );
    assert_eq!(answer.header(header::CACHE_CONTROL), "no-store");
    assert_eq!(answer.header(header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    assert_eq!(
        disposition_names(answer.header(header::CONTENT_DISPOSITION)),
        ("report.pdf".into(), "report.pdf".into())
    );

    let hostile = "\"a\r\nb/..\\x.pdf\"";
    let answer = download(&h, hostile, "application/pdf").await;
    assert_eq!(answer.status, StatusCode::OK);
    let value = answer.header(header::CONTENT_DISPOSITION);
    assert!(
        value.starts_with("attachment;") && !value.contains(['\r', '\n']),
        "{value}"
    );
    let (fallback, full) = disposition_names(value);
    assert_eq!(
        fallback, "ab_.._x.pdf",
        "no quote, line break or path separator in the fallback"
    );
    // Percent-encoded, quotes cannot end the parameter; separators and line breaks still go.
    assert_eq!(full, "\"ab_.._x.pdf\"");

    let unicode = "Übersicht – 東京 2024.pdf";
    let answer = download(&h, unicode, "application/pdf").await;
    let (fallback, full) = disposition_names(answer.header(header::CONTENT_DISPOSITION));
    assert_eq!(full, unicode);
    assert!(
        fallback.is_ascii() && fallback.ends_with(" 2024.pdf"),
        "{fallback}"
    );

    let answer = download(&h, "\u{202e}fdp.exe", "application/octet-stream").await;
    let (_, full) = disposition_names(answer.header(header::CONTENT_DISPOSITION));
    assert_eq!(
        full, "fdp.exe",
        "direction overrides cannot disguise an extension"
    );

    let head_url = h
        .store
        .presign_get(KEY, "report.pdf", "application/pdf", soon())
        .await
        .unwrap();
    let head = send(&h.app, Method::HEAD, &head_url, &[], Body::empty()).await;
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.body.is_empty());
}

#[tokio::test]
async fn a_tampered_or_expired_download_url_is_forbidden_and_a_missing_object_is_not_found() {
    let h = harness();
    h.store
        .put_small(KEY, Bytes::from_static(b"secret"), "text/plain")
        .await
        .unwrap();
    let url = h
        .store
        .presign_get(KEY, "notes.txt", "text/plain", soon())
        .await
        .unwrap();
    for tampered in [
        url.replace("sig=", "sig=00"),
        url.replace("text%2Fplain", "text%2Fhtml"),
        url.replace("notes.txt", "notes.html"),
        url.replace(KEY, "transfers/other/doc"),
        url.replace("&expires=", "&expires=9"),
    ] {
        assert_ne!(tampered, url);
        let answer = send(&h.app, Method::GET, &tampered, &[], Body::empty()).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{tampered}");
        assert!(!answer.body.windows(6).any(|w| w == b"secret"));
    }
    let expired = h.store.presign_get(
        KEY,
        "notes.txt",
        "text/plain",
        Utc::now() - chrono::Duration::seconds(5),
    );
    send(
        &h.app,
        Method::GET,
        &expired.await.unwrap(),
        &[],
        Body::empty(),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "expired");
    send(&h.app, Method::PUT, &url, &[], Body::from("x"))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "AccessDenied");
    send(&h.app, Method::DELETE, &url, &[], Body::empty())
        .await
        .assert_problem(StatusCode::METHOD_NOT_ALLOWED, "GET");

    h.store.delete(KEY).await.unwrap();
    send(&h.app, Method::GET, &url, &[], Body::empty())
        .await
        .assert_problem(StatusCode::NOT_FOUND, "NoSuchKey");
    assert!(
        h.store
            .presign_get(KEY, "x", "text/plain\r\nX-Evil: 1", soon())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn delete_removes_the_object_its_staged_uploads_and_its_empty_directories() {
    let h = harness();
    let text_key =
        "text/6f1c2a8e-5f7b-4c0e-9a47-2b1d3c4e5f60/0b9a8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d.json";
    h.store
        .put_small(text_key, Bytes::from_static(b"{}"), "application/json")
        .await
        .unwrap();
    h.store
        .put_small(KEY, Bytes::from_static(b"bytes"), "application/pdf")
        .await
        .unwrap();
    let upload_id = h.store.create_multipart(KEY).await.unwrap();
    put_parts(&h, &upload_id, &[b"part"]).await;

    h.store.delete(KEY).await.unwrap();
    assert!(h.store.get(KEY).await.unwrap().is_none());
    assert_eq!(h.store.size(KEY).await.unwrap(), None);
    assert_eq!(files_under(&h.root.join(".uploads")), 0);
    assert!(
        !h.root.join("transfers").exists(),
        "no directory names the purged transfer"
    );
    assert_eq!(
        read_all(&h.store, text_key).await.unwrap(),
        b"{}",
        "other objects stay"
    );
    h.store.delete(KEY).await.unwrap();
    h.store.delete(text_key).await.unwrap();
    assert!(h.store.get(text_key).await.unwrap().is_none());
}

#[tokio::test]
async fn no_key_can_leave_the_store() {
    let h = harness();
    let hostile = [
        "",
        "../outside",
        "transfers/../../outside",
        "/etc/passwd",
        "transfers//doc",
        "transfers/doc/",
        "transfers\\doc",
        "C:/doc",
        ".uploads/0123456789abcdef0123456789abcdef/meta.json",
        ".tmp/x",
        "transfers/a\0b",
    ];
    let body = Bytes::from_static(b"x");
    for key in hostile {
        assert!(
            h.store
                .presign_put(key, &md5(b"x"), 1, soon())
                .await
                .is_err(),
            "{key:?}"
        );
        assert!(
            h.store
                .put_small(key, body.clone(), "text/plain")
                .await
                .is_err(),
            "{key:?}"
        );
        assert!(h.store.get(key).await.is_err(), "{key:?}");
        assert!(h.store.size(key).await.is_err(), "{key:?}");
        assert!(h.store.delete(key).await.is_err(), "{key:?}");
        assert!(h.store.create_multipart(key).await.is_err(), "{key:?}");
        assert!(
            h.store
                .presign_get(key, "x", "text/plain", soon())
                .await
                .is_err(),
            "{key:?}"
        );
    }
    for path in [
        "/_storage/..%2F..%2Foutside",
        "/_storage/a/../b",
        "/_storage/.tmp/x",
        "/_storage/a%5Cb",
    ] {
        let answer = send(
            &h.app,
            Method::GET,
            &format!("{path}?expires=9999999999&sig=00"),
            &[],
            Body::empty(),
        )
        .await;
        answer.assert_problem(StatusCode::BAD_REQUEST, "InvalidArgument");
    }
    assert!(!h.root.parent().unwrap().join("outside").exists());
}

#[tokio::test]
async fn a_20_mib_put_is_streamed_to_disk() {
    let h = harness();
    const CHUNK: usize = 1024 * 1024;
    const CHUNKS: usize = 20;
    let chunk = |i: usize| {
        Bytes::from(
            (0..CHUNK)
                .map(|j| ((i * 31 + j * 7) % 256) as u8)
                .collect::<Vec<_>>(),
        )
    };
    let mut hasher = Md5::new();
    for i in 0..CHUNKS {
        hasher.update(chunk(i));
    }
    let digest: [u8; 16] = hasher.finalize().into();
    let plan = h
        .store
        .presign_put(
            KEY,
            &ContentMd5::from_digest(digest),
            (CHUNK * CHUNKS) as u64,
            soon(),
        )
        .await
        .unwrap();
    let body = Body::from_stream(futures_util::stream::iter(
        (0..CHUNKS).map(move |i| Ok::<_, std::io::Error>(chunk(i))),
    ));
    let answer = send_signed(&h.app, &plan, body).await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    assert_eq!(
        answer.header(header::ETAG),
        format!("\"{}\"", hex::encode(digest))
    );
    assert_eq!(
        h.store.size(KEY).await.unwrap(),
        Some((CHUNK * CHUNKS) as u64)
    );

    let mut stream = h.store.get(KEY).await.unwrap().unwrap();
    let mut stored = Md5::new();
    while let Some(piece) = stream.next().await {
        stored.update(piece.unwrap());
    }
    assert_eq!(<[u8; 16]>::from(stored.finalize()), digest);
    assert_eq!(h.queue.len(), 1);
}

#[tokio::test]
async fn leftovers_of_interrupted_writes_are_removed_at_start() {
    let h = harness();
    std::fs::write(h.root.join(".tmp").join("0123abcd"), b"half a document").unwrap();
    let queue = Arc::new(MemoryQueue::default()) as Arc<dyn WorkQueue>;
    DiskObjectStore::new(h.root.clone(), PUBLIC_URL.into(), [7; 32], queue).unwrap();
    assert_eq!(files_under(&h.root.join(".tmp")), 0);
}

#[tokio::test]
async fn urls_signed_with_another_key_are_forbidden() {
    let h = harness();
    let other_root = h.root.with_file_name("other");
    let queue = Arc::new(MemoryQueue::default()) as Arc<dyn WorkQueue>;
    let other = DiskObjectStore::new(other_root, PUBLIC_URL.into(), [8; 32], queue).unwrap();
    let plan = other.presign_put(KEY, &md5(b"x"), 1, soon()).await.unwrap();
    send_signed(&h.app, &plan, b"x".to_vec())
        .await
        .assert_problem(StatusCode::FORBIDDEN, "SignatureDoesNotMatch");
}

#[test]
fn the_signing_key_is_created_once_private_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys").join("storage-signing.key");
    let key = load_or_create_signing_key(&path).unwrap();
    assert_ne!(key, [0; 32]);
    assert_eq!(load_or_create_signing_key(&path).unwrap(), key);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let other = load_or_create_signing_key(&dir.path().join("recipient-token.key")).unwrap();
    assert_ne!(other, key);
    assert_eq!(
        std::fs::read_dir(dir.path().join("keys")).unwrap().count(),
        1,
        "no temporary file is left"
    );

    std::fs::write(&path, "not a key").unwrap();
    assert!(
        load_or_create_signing_key(&path).is_err(),
        "a damaged key is reported, not replaced"
    );
}

#[tokio::test]
async fn content_md5_values_in_urls_survive_base64_plus_and_slash() {
    // A digest whose base64 holds '+', '/' and '=' must round-trip through the query string.
    let digest = STANDARD.decode("+/+/+/+/+/+/+/+/+/+/+w==").unwrap();
    let md5 = ContentMd5::from_digest(digest.try_into().unwrap());
    let h = harness();
    let plan = h.store.presign_put(KEY, &md5, 1, soon()).await.unwrap();
    assert!(
        !plan.url.contains('+') && !plan.url.contains("=="),
        "{}",
        plan.url
    );
    // The signature holds; only the body's digest is wrong.
    send_signed(&h.app, &plan, b"x".to_vec())
        .await
        .assert_problem(StatusCode::BAD_REQUEST, "BadDigest");
}

#[test]
fn a_download_name_keeps_what_is_safe() {
    let (fallback, full) = disposition_names(&disposition::attachment("..\\..//.env"));
    assert_eq!(
        (fallback.as_str(), full.as_str()),
        ("_..__.env", "_..__.env")
    );
    let (fallback, full) = disposition_names(&disposition::attachment("\u{0}\r\n"));
    assert_eq!((fallback.as_str(), full.as_str()), ("download", "download"));
    let (fallback, full) = disposition_names(&disposition::attachment("50% \"off\"; x=1.pdf"));
    assert_eq!(fallback, "50% off; x=1.pdf");
    assert_eq!(full, "50% \"off\"; x=1.pdf");
    let long = "a".repeat(1000);
    assert_eq!(
        disposition_names(&disposition::attachment(&long)).1.len(),
        200
    );
}

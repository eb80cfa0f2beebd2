//! Tests of the guard through the `Deliverer` API, and real requests to a local server. Only
//! 127.0.0.1 ever receives traffic: forbidden targets are shown to be refused before any
//! connection, and public names are only checked, never sent to.

use crate::{HttpDeliverer, Resolve, TargetPolicy};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use ferry_core::ports::{ByteStream, Deliverer, DeliveryError};
use ferry_core::values::ContentMd5;
use futures_util::future::BoxFuture;
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Maps chosen names to chosen addresses; anything else does not exist.
struct StubResolver(HashMap<&'static str, Vec<IpAddr>>);

impl Resolve for StubResolver {
    fn resolve<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> BoxFuture<'a, io::Result<Vec<SocketAddr>>> {
        let answer = self
            .0
            .get(host)
            .map(|ips| ips.iter().map(|ip| SocketAddr::new(*ip, port)).collect())
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such host"));
        Box::pin(std::future::ready(answer))
    }
}

fn stub() -> Arc<StubResolver> {
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    Arc::new(StubResolver(HashMap::from([
        ("evil.example", vec![ip("127.0.0.1")]),
        ("meta.example", vec![ip("169.254.169.254")]),
        ("v6.example", vec![ip("::ffff:10.0.0.1")]),
        ("ok.example", vec![ip("93.184.216.34")]),
        (
            "ok6.example",
            vec![ip("2606:2800:220:1:248:1893:25c8:1946")],
        ),
        // One bad address among good ones is enough to refuse.
        ("mixed.example", vec![ip("93.184.216.34"), ip("10.0.0.1")]),
        ("pinned.example", vec![ip("127.0.0.1")]),
    ])))
}

fn deliverer(allow_private: bool) -> HttpDeliverer {
    let policy = TargetPolicy {
        allow_private,
        connect_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_secs(20),
        ..TargetPolicy::default()
    };
    HttpDeliverer::with_resolver(policy, stub()).unwrap()
}

fn body_of(parts: &[&'static [u8]]) -> ByteStream {
    let chunks: Vec<io::Result<Bytes>> = parts.iter().map(|p| Ok(Bytes::from_static(p))).collect();
    Box::pin(futures_util::stream::iter(chunks))
}

/// MD5 of "hello world".
fn hello_md5() -> ContentMd5 {
    ContentMd5::parse("XrY7u+Ae7tCTyyK7j1rNww==").unwrap()
}

fn refused(outcome: Result<(), DeliveryError>) -> String {
    match outcome {
        Err(DeliveryError::Refused(reason)) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn failed(outcome: Result<(), DeliveryError>) -> String {
    match outcome {
        Err(DeliveryError::Failed(reason)) => reason,
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[derive(Debug)]
struct Received {
    method: Method,
    uri: String,
    headers: HeaderMap,
    body: Bytes,
}

type Log = Arc<Mutex<Vec<Received>>>;

async fn record(
    State(log): State<Log>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    log.lock().unwrap().push(Received {
        method,
        uri: uri.to_string(),
        headers,
        body,
    });
    match path.as_str() {
        "/fail" => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        "/forbidden" => StatusCode::FORBIDDEN.into_response(),
        "/redirect" => (StatusCode::FOUND, [(header::LOCATION, "/landing")]).into_response(),
        "/chatty" => "x".repeat(1 << 20).into_response(),
        _ => StatusCode::OK.into_response(),
    }
}

/// A recording server on 127.0.0.1, port chosen by the OS.
async fn server() -> (u16, Log) {
    let log = Log::default();
    let app = Router::new().fallback(record).with_state(log.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (port, log)
}

#[tokio::test]
async fn forbidden_targets_are_refused_before_any_connection() {
    // Something is listening where the forbidden URLs point, so a connection would succeed.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let d = deliverer(false);
    for url in [
        format!("https://evil.example:{port}/doc?X-Amz-Signature=topsecret"),
        format!("https://127.0.0.1:{port}/doc?X-Amz-Signature=topsecret"),
        format!("https://[::1]:{port}/doc?X-Amz-Signature=topsecret"),
        format!("https://[::ffff:127.0.0.1]:{port}/doc?X-Amz-Signature=topsecret"),
        // Integer and hex spellings of 127.0.0.1 are IP literals too.
        format!("https://2130706433:{port}/doc?X-Amz-Signature=topsecret"),
        format!("https://0x7f.1:{port}/doc?X-Amz-Signature=topsecret"),
    ] {
        let put = d
            .put(&url, body_of(&[b"hello world"]), 11, &hello_md5())
            .await;
        let reason = refused(put);
        assert!(
            !reason.contains("topsecret") && !reason.contains("127.0.0.1"),
            "{reason}"
        );
        refused(d.post(&url, Bytes::from_static(b"{}"), &[]).await);
        refused(d.check_target(&url).await);
    }
    let accepted = tokio::time::timeout(Duration::from_millis(300), listener.accept()).await;
    assert!(accepted.is_err(), "a forbidden target was connected to");
}

#[tokio::test]
async fn every_resolved_address_is_checked() {
    let d = deliverer(false);
    for host in [
        "evil.example",
        "meta.example",
        "v6.example",
        "mixed.example",
    ] {
        let reason = refused(d.check_target(&format!("https://{host}/hook")).await);
        assert!(reason.contains("private"), "{reason}");
    }
    // Public addresses pass; nothing is sent by check_target.
    d.check_target("https://ok.example/hook?token=x")
        .await
        .unwrap();
    d.check_target("https://ok6.example:8443/hook")
        .await
        .unwrap();
    // A name that does not resolve may resolve later: worth a retry, not a refusal.
    failed(d.check_target("https://nowhere.example/hook").await);
}

#[tokio::test]
async fn only_plain_https_urls_pass_unless_private_targets_are_allowed() {
    let strict = deliverer(false);
    for url in [
        "http://ok.example/hook",
        "ftp://ok.example/hook",
        "file:///etc/passwd",
        "https://user:pw@ok.example/hook",
        "https://user@ok.example/hook",
        "not a url",
        "data:text/plain,hello",
    ] {
        refused(strict.check_target(url).await);
    }

    let lax = deliverer(true);
    lax.check_target("http://ok.example/hook").await.unwrap();
    lax.check_target("http://evil.example/hook").await.unwrap();
    lax.check_target("https://meta.example/hook").await.unwrap();
    lax.check_target("http://127.0.0.1:9/hook").await.unwrap();
    // Still refused: these are not about where the request goes.
    refused(lax.check_target("ftp://ok.example/hook").await);
    refused(lax.check_target("https://user:pw@ok.example/hook").await);
}

#[tokio::test]
async fn put_streams_the_document_with_its_length_and_md5() {
    let (port, log) = server().await;
    // A name, not an IP literal: the request reaches the server only through the pinned
    // addresses, as no real DNS knows pinned.example.
    let url = format!("http://pinned.example:{port}/docs/a?X-Amz-Signature=abc");
    deliverer(true)
        .put(&url, body_of(&[b"hello ", b"world"]), 11, &hello_md5())
        .await
        .unwrap();
    let log = log.lock().unwrap();
    let got = &log[0];
    assert_eq!(got.method, Method::PUT);
    assert_eq!(got.uri, "/docs/a?X-Amz-Signature=abc");
    assert_eq!(got.headers[header::CONTENT_LENGTH], "11");
    assert_eq!(got.headers["content-md5"], "XrY7u+Ae7tCTyyK7j1rNww==");
    assert!(got.headers.get(header::TRANSFER_ENCODING).is_none());
    assert_eq!(got.headers[header::HOST], format!("pinned.example:{port}"));
    assert_eq!(&got.body[..], b"hello world");
}

#[tokio::test]
async fn post_sends_json_with_the_given_headers() {
    let (port, log) = server().await;
    let url = format!("http://127.0.0.1:{port}/hook");
    let headers = vec![
        ("Ferry-Signature".to_owned(), "t=1,v1=abc".to_owned()),
        ("Ferry-Delivery".to_owned(), "d1".to_owned()),
    ];
    deliverer(true)
        .post(&url, Bytes::from_static(br#"{"a":1}"#), &headers)
        .await
        .unwrap();
    let log = log.lock().unwrap();
    let got = &log[0];
    assert_eq!(got.method, Method::POST);
    assert_eq!(got.uri, "/hook");
    assert_eq!(got.headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(got.headers["ferry-signature"], "t=1,v1=abc");
    assert_eq!(got.headers["ferry-delivery"], "d1");
    assert_eq!(&got.body[..], br#"{"a":1}"#);
}

#[tokio::test]
async fn error_answers_and_redirects_fail() {
    let (port, log) = server().await;
    let d = deliverer(true);
    let base = format!("http://127.0.0.1:{port}");
    let post = |path: &str| {
        let url = format!("{base}{path}?secret=topsecret");
        let d = &d;
        async move { d.post(&url, Bytes::from_static(b"{}"), &[]).await }
    };
    assert_eq!(failed(post("/fail").await), "target answered 500");
    assert_eq!(failed(post("/forbidden").await), "target answered 403");
    assert_eq!(
        failed(post("/redirect").await),
        "target answered with a redirect"
    );
    let put = d
        .put(
            &format!("{base}/redirect"),
            body_of(&[b"hello world"]),
            11,
            &hello_md5(),
        )
        .await;
    assert_eq!(failed(put), "target answered with a redirect");
    // A long answer is cut off, not a reason to fail.
    post("/chatty").await.unwrap();
    let log = log.lock().unwrap();
    assert!(
        log.iter().all(|r| r.uri != "/landing"),
        "a redirect was followed"
    );
}

#[tokio::test]
async fn a_document_of_the_wrong_length_fails() {
    let (port, _log) = server().await;
    let d = deliverer(true);
    let url = format!("http://127.0.0.1:{port}/docs/a");
    failed(
        d.put(&url, body_of(&[b"hello ", b"world"]), 20, &hello_md5())
            .await,
    );
    failed(
        d.put(&url, body_of(&[b"hello ", b"world"]), 5, &hello_md5())
            .await,
    );
}

#[tokio::test]
async fn unreachable_targets_fail_without_revealing_the_url() {
    // Bind and drop: the port is (almost certainly) closed now.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/hook?token=topsecret");
    let reason = failed(
        deliverer(true)
            .post(&url, Bytes::from_static(b"{}"), &[])
            .await,
    );
    assert!(
        reason.starts_with("could not connect to the target"),
        "{reason}"
    );
    assert!(!reason.contains("topsecret"), "{reason}");
}

#[tokio::test]
async fn framing_headers_cannot_be_overridden() {
    let d = deliverer(true);
    for name in ["Host", "Content-Length", "Transfer-Encoding"] {
        let headers = vec![(name.to_owned(), "x".to_owned())];
        refused(
            d.post("http://127.0.0.1:9/hook", Bytes::new(), &headers)
                .await,
        );
    }
    let injected = vec![("X-A".to_owned(), "a\r\nX-B: b".to_owned())];
    refused(
        d.post("http://127.0.0.1:9/hook", Bytes::new(), &injected)
            .await,
    );
}

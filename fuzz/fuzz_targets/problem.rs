#![no_main]
//! Any request to the API router, in process over the in-memory adapters: never a 5xx, every
//! 4xx a problem+json document whose `status` is the response's, and every JSON body valid.
//!
//! The input is a request in a plain form, so that seeds can be written by hand:
//!
//! ```text
//! POST /api/v1/transfers/{tid}/receipt
//! authorization: Bearer {recipient}
//! content-type: application/json
//!
//! {"body": "anything"}
//! ```
//!
//! `{tid}`, `{did}` and `{did2}` become the ids of a transfer that exists and of its two
//! documents; `{member}` and `{recipient}` become a signed-in member's token and a recipient
//! token for that transfer.

use ferry_fuzz::{Harness, OIDC_TOKEN, assert_problem, block_on};
use http::{HeaderName, HeaderValue, Method, Request, header};
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

fn request(data: &[u8], h: &Harness) -> Option<Request<axum::body::Body>> {
    let split = data.windows(2).position(|w| w == b"\n\n");
    let (head, body) = match split {
        Some(at) => (&data[..at], &data[at + 2..]),
        None => (data, &[][..]),
    };
    let head = String::from_utf8_lossy(head)
        .replace("{tid}", &h.transfer.id.to_string())
        .replace("{did}", &h.transfer.documents[0].id.to_string())
        .replace("{did2}", &h.transfer.documents[1].id.to_string())
        .replace("{member}", OIDC_TOKEN)
        .replace("{recipient}", &h.recipient_token);
    let mut lines = head.lines();
    let (method, target) = lines.next()?.split_once(' ')?;
    let mut builder = Request::builder()
        .method(Method::from_bytes(method.as_bytes()).ok()?)
        .uri(target);
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.trim().as_bytes()),
            HeaderValue::from_str(value.trim()),
        ) {
            builder = builder.header(name, value);
        }
    }
    builder.body(axum::body::Body::from(body.to_vec())).ok()
}

fuzz_target!(|data: &[u8]| {
    let h = Harness::new();
    let Some(request) = request(data, &h) else {
        return;
    };
    let head = request.method() == Method::HEAD;
    let path = request.uri().path().to_owned();
    let api = path == "/api/v1" || path.starts_with("/api/v1/");
    let router = ferry_api::router(h.ferry.clone());
    let response = block_on(router.oneshot(request)).expect("the router is infallible");
    let status = response.status().as_u16();
    assert!(status < 500, "{status} for {path}");
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if api && status == 401 {
        // RFC 9110: a 401 names the scheme it wants.
        assert!(response.headers().contains_key(header::WWW_AUTHENTICATE));
    }
    let body = block_on(axum::body::to_bytes(response.into_body(), usize::MAX))
        .expect("an in-memory body");
    if !api || head {
        return;
    }
    if (400..500).contains(&status) {
        assert_problem(status, content_type.as_deref(), &body);
    } else if content_type.as_deref() == Some("application/json") {
        let parsed: Result<serde_json::Value, _> = serde_json::from_slice(&body);
        assert!(parsed.is_ok(), "a {status} JSON body that does not parse");
    }
});

#![no_main]
//! What the Lambda functions are handed: SQS batches whose bodies are jobs or S3 event
//! notifications, and API Gateway (HTTP API v2) requests, which lambda_http turns into requests
//! for the API router. The same bytes are tried as each.
//!
//! Jobs that parse are run by the pipeline over the in-memory adapters, against a transfer that
//! exists: `{tid}`, `{did}` and `{did2}` in the input become its id and its documents' ids, and
//! the input itself is stored as the bytes of its first document.

// The SQS message parser of ferry-aws, compiled from its own source: ferry-aws links the AWS SDK.
#[path = "../../crates/ferry-aws/src/sqs/message.rs"]
mod message;

use aws_lambda_events::sqs::SqsEvent;
use ferry_api::SourceIp;
use ferry_core::Error;
use ferry_core::ports::{Job, object_key};
use ferry_fuzz::{Harness, assert_problem, block_on};
use lambda_http::RequestExt;
use lambda_http::request::RequestContext;
use libfuzzer_sys::fuzz_target;
use message::jobs_in_message;
use tower::ServiceExt;

fn check_body(body: &str) {
    let Ok(jobs) = jobs_in_message(body) else {
        return;
    };
    // A job goes back on a queue as its JSON and must come off it unchanged.
    for job in jobs {
        let again = serde_json::to_string(&job).expect("a job serialises");
        assert_eq!(jobs_in_message(&again).expect("a job parses"), vec![job]);
    }
}

/// S3 form-encodes the key in its notifications; whatever the key, decoding gives it back.
fn check_key_round_trip(key: &str) {
    let encoded: String = url::form_urlencoded::byte_serialize(key.as_bytes()).collect();
    let event = serde_json::json!({ "Records": [{
        "eventName": "ObjectCreated:Put",
        "s3": { "object": { "key": encoded } },
    }] });
    let jobs = jobs_in_message(&event.to_string()).expect("an S3 notification parses");
    assert_eq!(
        jobs,
        vec![Job::ObjectCreated {
            key: key.to_owned()
        }]
    );
}

/// The pipeline runs whatever job a message stands for; over adapters that cannot fail, a
/// failure (which would send the message round again) is a bug.
fn run_jobs(text: &str, data: &[u8]) {
    if !text.contains("\"job\"") && !text.contains("Records") {
        return;
    }
    let h = Harness::new();
    let tid = h.transfer.id;
    let body = text
        .replace("{tid}", &tid.to_string())
        .replace("{did}", &h.transfer.documents[0].id.to_string())
        .replace("{did2}", &h.transfer.documents[1].id.to_string());
    let Ok(jobs) = jobs_in_message(&body) else {
        return;
    };
    h.store
        .put_object(&object_key(tid, h.transfer.documents[0].id), data.to_vec());
    for job in jobs {
        match block_on(h.ferry.handle_job(&job)) {
            Ok(()) => {}
            Err(e @ Error::Unexpected(_)) => panic!("{job:?} failed: {e:?}"),
            // Refusals (a job about something that moved on) are answers, not failures.
            Err(_) => {}
        }
    }
}

/// The request lambda_http makes of an event, as the HTTP functions get it. Its conversion
/// `expect`s what API Gateway guarantees (a body marked base64 is base64; host and path make a
/// URL) and panics otherwise; in a function, lambda_runtime turns that panic into a failed
/// invocation. Such events never come from API Gateway, so they are skipped, not reported.
fn lambda_request(text: &str) -> Option<lambda_http::Request> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let converted = std::panic::catch_unwind(|| lambda_http::request::from_str(text));
    std::panic::set_hook(hook);
    converted.ok()?.ok()
}

fn check_api_gateway(text: &str) {
    let Some(mut request) = lambda_request(text) else {
        return;
    };
    // As the HTTP functions do: the caller's address from the request context.
    let source_ip = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context
            .http
            .source_ip
            .as_deref()
            .and_then(|ip| ip.parse().ok()),
        _ => None,
    };
    if let Some(ip) = source_ip {
        request.extensions_mut().insert(SourceIp(ip));
    }
    let path = request.uri().path();
    let api = path == "/api/v1" || path.starts_with("/api/v1/");
    let head = request.method() == http::Method::HEAD;
    let (parts, body) = request.into_parts();
    let request = http::Request::from_parts(parts, axum::body::Body::from(body.to_vec()));
    let router = ferry_api::router(std::sync::Arc::new(ferry_fuzz::ferry()));
    let response = block_on(router.oneshot(request)).expect("the router is infallible");
    let status = response.status().as_u16();
    assert!(status < 500, "{status} for an API Gateway request");
    if api && !head && (400..500).contains(&status) {
        let content_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = block_on(axum::body::to_bytes(response.into_body(), usize::MAX))
            .expect("an in-memory body");
        assert_problem(status, content_type.as_deref(), &body);
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    check_body(&text);
    check_key_round_trip(&text);
    run_jobs(&text, data);
    if let Ok(batch) = serde_json::from_slice::<SqsEvent>(data) {
        for record in batch.records {
            let body = record.body.as_deref().unwrap_or("");
            check_body(body);
            run_jobs(body, data);
        }
    }
    check_api_gateway(&text);
});

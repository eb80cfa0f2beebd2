//! Bad input on every route: each answer is a 4xx problem+json with a useful detail, never a
//! 5xx, and nothing changes.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Method, path, bearer token, JSON body, and the status expected.
type Case<'a> = (Method, String, Option<&'a str>, Option<Value>, StatusCode);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_refuses_bad_input_without_side_effects() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let alice = app.user(&admin, "alice@example.org", &["member"]).await;
    let body = b"hello there\n".to_vec();
    let big = 20 * 1024 * 1024u64;
    let (status, t) = app
        .post(
            "/api/v1/transfers",
            Some(&alice),
            json!({ "recipients": ["bob@example.com"], "subject": "Test", "files": [
                { "name": "a.txt", "size": body.len(), "content_type": "text/plain", "md5": md5_b64(&body) },
                { "name": "big.txt", "size": big, "content_type": "text/plain", "md5": md5_b64(b"whatever") }
            ] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let tid = t["id"].as_str().unwrap().to_owned();
    let small = t["documents"][0]["id"].as_str().unwrap().to_owned();
    let multi = t["documents"][1]["id"].as_str().unwrap().to_owned();
    let nobody = uuid::Uuid::new_v4().to_string();
    let ok_file = json!({ "name": "a.txt", "size": 5, "content_type": "text/plain", "md5": md5_b64(b"hello") });
    let transfer = |patch: Value| {
        let mut base = json!({ "recipients": ["bob@example.com"], "subject": "s", "files": [ok_file.clone()] });
        for (k, v) in patch.as_object().unwrap() {
            base[k] = v.clone();
        }
        base
    };

    let users_before = app.get("/api/v1/admin/users", &admin).await.1;
    let sent_before = app.get("/api/v1/transfers?box=sent", &alice).await.1;

    let post = Method::POST;
    let get = Method::GET;
    let tr = format!("/api/v1/transfers/{tid}");
    let cases: Vec<Case> = vec![
        (
            get.clone(),
            "/api/v1/me".into(),
            None,
            None,
            StatusCode::UNAUTHORIZED,
        ),
        (
            get.clone(),
            "/api/v1/me".into(),
            Some("not-a-jwt"),
            None,
            StatusCode::UNAUTHORIZED,
        ),
        (
            get.clone(),
            "/api/v1/me".into(),
            Some("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."),
            None,
            StatusCode::UNAUTHORIZED,
        ),
        (
            post.clone(),
            "/api/v1/transfers".into(),
            None,
            Some(transfer(json!({}))),
            StatusCode::UNAUTHORIZED,
        ),
        (
            post.clone(),
            "/api/v1/transfers".into(),
            Some(&alice),
            Some(transfer(json!({ "recipients": [] }))),
            StatusCode::BAD_REQUEST,
        ),
        (
            post.clone(),
            "/api/v1/transfers".into(),
            Some(&alice),
            Some(transfer(json!({ "recipients": ["x@"] }))),
            StatusCode::BAD_REQUEST,
        ),
        (
            post.clone(),
            "/api/v1/transfers".into(),
            Some(&alice),
            Some(transfer(
                json!({ "recipients": (0..51).map(|i| format!("r{i}@example.com")).collect::<Vec<_>>() }),
            )),
            StatusCode::BAD_REQUEST,
        ),
        (
            post.clone(),
            "/api/v1/transfers".into(),
            Some(&alice),
            Some(transfer(json!({ "files": [] }))),
            StatusCode::BAD_REQUEST,
        ),
        (
            post.clone(),
            "/api/v1/transfers".into(),
            Some(&alice),
            Some(transfer(
                json!({ "files": [{ "name": "a", "size": 5, "content_type": "text/plain", "md5": "xyz" }] }),
            )),
            StatusCode::BAD_REQUEST,
        ),
        (
            post.clone(),
            "/api/v1/transfers".into(),
            Some(&alice),
            Some(transfer(
                json!({ "files": [{ "name": "a", "size": -5, "content_type": "text/plain", "md5": md5_b64(b"x") }] }),
            )),
            StatusCode::BAD_REQUEST,
        ),
        (
            post.clone(),
            "/api/v1/transfers".into(),
            Some(&alice),
            Some(transfer(
                json!({ "files": [{ "name": "a", "size": 6_000_000_000u64, "content_type": "text/plain", "md5": md5_b64(b"x") }] }),
            )),
            StatusCode::BAD_REQUEST,
        ),
        (
            post.clone(),
            "/api/v1/transfers".into(),
            Some(&alice),
            Some(transfer(json!({ "surprise": true }))),
            StatusCode::BAD_REQUEST,
        ),
        (
            post.clone(),
            "/api/v1/transfers".into(),
            Some(&alice),
            Some(transfer(json!({ "subject": "x".repeat(100_000) }))),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            post.clone(),
            "/api/v1/transfers".into(),
            Some(&alice),
            Some(json!("just a string")),
            StatusCode::BAD_REQUEST,
        ),
        (
            get.clone(),
            "/api/v1/transfers?box=spam".into(),
            Some(&alice),
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            get.clone(),
            "/api/v1/transfers/not-a-uuid".into(),
            Some(&alice),
            None,
            StatusCode::NOT_FOUND,
        ),
        (
            get.clone(),
            format!("/api/v1/transfers/{nobody}"),
            Some(&alice),
            None,
            StatusCode::NOT_FOUND,
        ),
        (
            Method::DELETE,
            format!("/api/v1/transfers/{nobody}"),
            Some(&alice),
            None,
            StatusCode::NOT_FOUND,
        ),
        (
            post.clone(),
            format!("{tr}/documents/{small}/parts"),
            Some(&alice),
            Some(json!({ "parts": [{ "number": 1, "md5": md5_b64(b"x") }] })),
            StatusCode::CONFLICT,
        ),
        (
            post.clone(),
            format!("{tr}/documents/{multi}/parts"),
            Some(&alice),
            Some(json!({ "parts": [{ "number": 0, "md5": md5_b64(b"x") }] })),
            StatusCode::BAD_REQUEST,
        ),
        (
            post.clone(),
            format!("{tr}/documents/{multi}/parts"),
            Some(&alice),
            Some(json!({ "parts": [{ "number": 1, "md5": "nope" }] })),
            StatusCode::BAD_REQUEST,
        ),
        (
            post.clone(),
            format!("{tr}/documents/{multi}/parts"),
            Some(&alice),
            Some(json!({ "parts": [] })),
            StatusCode::BAD_REQUEST,
        ),
        (
            post.clone(),
            format!("{tr}/documents/{nobody}/parts"),
            Some(&alice),
            Some(json!({ "parts": [{ "number": 1, "md5": md5_b64(b"x") }] })),
            StatusCode::NOT_FOUND,
        ),
        (
            post.clone(),
            format!("{tr}/documents/{multi}/complete"),
            Some(&alice),
            Some(
                json!({ "parts": [{ "number": 1, "etag": "\"abc\"" }, { "number": 2, "etag": "\"abc\"" }] }),
            ),
            StatusCode::BAD_REQUEST,
        ),
        (
            post.clone(),
            format!("{tr}/documents/{multi}/complete"),
            Some(&alice),
            Some(json!({ "parts": [] })),
            StatusCode::BAD_REQUEST,
        ),
        (
            post.clone(),
            format!("{tr}/documents/{small}/complete"),
            Some(&alice),
            Some(json!({ "parts": [] })),
            StatusCode::CONFLICT,
        ),
        (
            get.clone(),
            format!("{tr}/documents/{small}/content"),
            Some(&alice),
            None,
            StatusCode::CONFLICT,
        ),
        (
            get.clone(),
            format!("{tr}/documents/{small}/text"),
            Some(&alice),
            None,
            StatusCode::CONFLICT,
        ),
        (
            get.clone(),
            format!("{tr}/documents/{nobody}/text"),
            Some(&alice),
            None,
            StatusCode::NOT_FOUND,
        ),
        (
            post.clone(),
            format!("{tr}/deliveries"),
            Some(&alice),
            Some(
                json!({ "destination": { "type": "webhook", "url": "https://example.com/x", "secret": "0123456789abcdef" } }),
            ),
            StatusCode::FORBIDDEN,
        ),
        (
            post.clone(),
            format!("{tr}/deliveries"),
            Some(&alice),
            Some(json!({ "destination": { "type": "carrier-pigeon" } })),
            StatusCode::BAD_REQUEST,
        ),
        (
            post.clone(),
            format!("{tr}/receipt"),
            Some(&alice),
            Some(json!({})),
            StatusCode::FORBIDDEN,
        ),
        (
            get.clone(),
            format!("/api/v1/transfers/{nobody}/events"),
            Some(&alice),
            None,
            StatusCode::NOT_FOUND,
        ),
        (
            post.clone(),
            "/api/v1/access".into(),
            None,
            Some(json!({ "link_token": "short" })),
            StatusCode::BAD_REQUEST,
        ),
        (
            post.clone(),
            "/api/v1/access".into(),
            None,
            Some(json!({ "link_token": "A".repeat(43) })),
            StatusCode::NOT_FOUND,
        ),
        (
            post.clone(),
            "/api/v1/access".into(),
            None,
            Some(json!({})),
            StatusCode::BAD_REQUEST,
        ),
        (
            post.clone(),
            "/api/v1/access/verify".into(),
            None,
            Some(json!({ "link_token": "A".repeat(43), "code": "12ab56" })),
            StatusCode::BAD_REQUEST,
        ),
        (
            post.clone(),
            "/api/v1/access/verify".into(),
            None,
            Some(json!({ "link_token": "A".repeat(43), "code": "123456" })),
            StatusCode::NOT_FOUND,
        ),
        (
            get.clone(),
            "/api/v1/admin/users".into(),
            Some(&alice),
            None,
            StatusCode::FORBIDDEN,
        ),
        (
            post.clone(),
            "/api/v1/admin/users".into(),
            Some(&admin),
            Some(
                json!({ "email": "not-an-email", "name": "X", "password": "long-enough-password" }),
            ),
            StatusCode::BAD_REQUEST,
        ),
        (
            post.clone(),
            "/api/v1/admin/users".into(),
            Some(&admin),
            Some(
                json!({ "email": "x@example.org", "name": "X", "roles": ["root"], "password": "long-enough-password" }),
            ),
            StatusCode::BAD_REQUEST,
        ),
        (
            post.clone(),
            "/api/v1/admin/users".into(),
            Some(&admin),
            Some(json!({ "email": "x@example.org", "name": "X", "password": "short" })),
            StatusCode::BAD_REQUEST,
        ),
        (
            post.clone(),
            "/api/v1/admin/users".into(),
            Some(&admin),
            Some(
                json!({ "email": "x@example.org", "name": "", "password": "long-enough-password" }),
            ),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::PATCH,
            format!("/api/v1/admin/users/{nobody}"),
            Some(&admin),
            Some(json!({ "name": "Y" })),
            StatusCode::NOT_FOUND,
        ),
        (
            Method::PATCH,
            format!("/api/v1/admin/users/{nobody}"),
            Some(&admin),
            Some(json!({ "nickname": "Y" })),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::DELETE,
            "/api/v1/admin/users/..%2F..%2Fetc".into(),
            Some(&admin),
            None,
            StatusCode::NOT_FOUND,
        ),
        (
            get.clone(),
            "/api/v1/admin/audit?cursor=abc".into(),
            Some(&admin),
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            get.clone(),
            "/api/v1/admin/audit?transfer_id=nope".into(),
            Some(&admin),
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            get.clone(),
            "/api/v1/admin/audit?since=yesterday".into(),
            Some(&admin),
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            get.clone(),
            "/api/v1/nothing-here".into(),
            Some(&admin),
            None,
            StatusCode::NOT_FOUND,
        ),
        (
            Method::PUT,
            "/api/v1/transfers".into(),
            Some(&alice),
            Some(json!({})),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
    ];
    for (method, path, token, body, expected) in cases {
        let (status, problem) = app.call(method.clone(), &path, token, body).await;
        assert_eq!(status, expected, "{method} {path}: {problem}");
        let detail = problem["detail"].as_str().unwrap_or_default();
        assert!(
            !detail.is_empty() && problem["status"] == status.as_u16(),
            "{method} {path}: {problem}"
        );
    }

    // The admin cannot lock themselves out.
    let (_, me) = app.get("/api/v1/me", &admin).await;
    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/admin/users/{}", me["id"].as_str().unwrap()),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Wrong content type and broken JSON.
    let resp = app
        .http
        .post(app.url("/api/v1/transfers"))
        .bearer_auth(&alice)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let resp = app
        .http
        .post(app.url("/api/v1/transfers"))
        .bearer_auth(&alice)
        .header("content-type", "application/json")
        .body("{\"recip")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

    // The storage endpoint refuses what was not signed, or bytes that differ from the MD5.
    let plan = &t["documents"][0]["upload"];
    let url = plan["url"].as_str().unwrap();
    let md5 = plan["headers"]["Content-MD5"].as_str().unwrap();
    let resp = app
        .http
        .put(url)
        .header("Content-MD5", md5)
        .body(b"hello there?".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::BAD_REQUEST,
        "a different body is refused"
    );
    let resp = app
        .http
        .put(url)
        .header("Content-MD5", md5_b64(b"other"))
        .body(b"other".to_vec())
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_client_error());
    let resp = app
        .http
        .put(url.replace("sig=", "sig=ff"))
        .header("Content-MD5", md5)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);

    // Nothing changed.
    assert_eq!(app.get("/api/v1/admin/users", &admin).await.1, users_before);
    let sent_after = app.get("/api/v1/transfers?box=sent", &alice).await.1;
    assert_eq!(
        sent_after["transfers"].as_array().unwrap().len(),
        sent_before["transfers"].as_array().unwrap().len()
    );
    assert_eq!(
        sent_after["transfers"][0]["documents"][0]["status"],
        "awaiting_upload"
    );
    assert_eq!(sent_after["transfers"][0]["status"], "uploading");
}

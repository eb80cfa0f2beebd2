//! The browser side: security headers on every page and answer, and no cross-origin access
//! (t21, t22).

use crate::helpers::*;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

const INDEX: &str = "<!doctype html><title>Ferry security test build</title>";

/// A portal build of two files, as `scripts/build-frontend.sh` would leave it.
fn built_portal() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("assets")).unwrap();
    std::fs::write(dir.path().join("index.html"), INDEX).unwrap();
    std::fs::write(dir.path().join("assets/app-5e6f7a.js"), "export {};").unwrap();
    dir
}

/// Every page and answer — the portal's routes and assets, the sign-in and account pages, the
/// mail outbox, API answers and errors, storage — carries a CSP without inline script on pages,
/// `frame-ancestors 'none'`, nosniff, a Referrer-Policy and a Permissions-Policy; HSTS is sent
/// where Ferry is served over HTTPS, and only there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t21_every_portal_page_has_strict_security_headers() {
    let web = built_portal();
    let web_dir = web.path().to_str().unwrap().to_owned();
    let public = "https://ferry.example.test";
    let app = spawn_logged(
        vec![
            "--web-dir".into(),
            web_dir.clone(),
            "--public-url".into(),
            public.into(),
        ],
        Vec::new(),
    )
    .await;

    let authorize = format!(
        "/oidc/authorize?response_type=code&client_id=ferry-web&redirect_uri={public}/auth/callback\
         &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGKSsw5-cM&code_challenge_method=S256\
         &state=s&scope=openid"
    );
    let pages = [
        "/",
        "/r/a-link-token-from-an-email",
        "/transfers/0190f5d4-8a6e-7c3b-9e21-5f0d6c2b1a47",
        "/auth/callback?code=x&state=y",
        authorize.as_str(),
        "/oidc/account",
        "/_dev/mail",
    ];
    for path in pages {
        let resp = app.http.get(app.url(path)).send().await.unwrap();
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        let headers = resp.headers().clone();
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{path}"
        );
        assert_page_policy(path, &headers);
        assert_common_headers(path, &headers, true);
    }

    // Answers that are not pages: the same hardening, HSTS included.
    for path in [
        "/assets/app-5e6f7a.js",
        "/config.json",
        "/api/v1/health",
        "/api/v1/transfers",
        "/api/v1/nothing-here",
        "/oidc/.well-known/openid-configuration",
        "/oidc/jwks",
        "/_storage/transfers/x/y?X-Amz-Signature=0",
        "/_dev/mail.json",
    ] {
        let resp = app.http.get(app.url(path)).send().await.unwrap();
        assert_page_policy(path, resp.headers());
        assert_common_headers(path, resp.headers(), true);
    }

    // Served over plain HTTP (a laptop), HSTS would be wrong: it is not sent.
    let plain = spawn_logged(vec!["--web-dir".into(), web_dir], Vec::new()).await;
    for path in ["/", "/api/v1/health", "/_dev/mail"] {
        let resp = plain.http.get(plain.url(path)).send().await.unwrap();
        assert_page_policy(path, resp.headers());
        assert_common_headers(path, resp.headers(), false);
    }

    // A signed-in answer and a document's download: the bytes of a user's file are served by
    // the portal's own origin, so they must never run or be framed either.
    let admin = plain.admin_token().await;
    let (status, me) = plain.get("/api/v1/me", &admin).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    let (status, t) = plain
        .post(
            "/api/v1/transfers",
            Some(&admin),
            serde_json::json!({ "recipients": ["bob@example.com"], "subject": "Headers", "files": [
                { "name": "a.txt", "size": 12, "content_type": "text/plain", "md5": md5_b64(b"plain text\n\n") },
            ] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    let tid = t["id"].as_str().unwrap().to_owned();
    plain.upload(&admin, &t, 0, b"plain text\n\n").await;
    let t = plain
        .wait_for(&admin, &tid, "the text to be ready", |t| {
            t["documents"][0]["status"] == "ready"
        })
        .await;
    let did = t["documents"][0]["id"].as_str().unwrap();
    let content = format!("/api/v1/transfers/{tid}/documents/{did}/content");
    let resp = plain
        .http
        .get(plain.url(&content))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_common_headers(&content, resp.headers(), false);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    let download = plain.http.get(&location).send().await.unwrap();
    assert_eq!(download.status(), StatusCode::OK);
    let headers = download.headers().clone();
    assert_page_policy("a download", &headers);
    assert_common_headers("a download", &headers, false);
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("sandbox"), "{csp}");
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );

    app.assert_log_free_of(&[]);
    plain.assert_log_free_of(&[&admin, ADMIN_PASSWORD]);
}

/// Another site's scripts get no CORS grant from Ferry: neither a simple request nor a
/// preflight from a foreign origin is answered with `Access-Control-Allow-*`, so the browser
/// keeps the answer from them; the portal itself is same-origin and needs none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t22_cors_answers_only_the_configured_origin() {
    let app = spawn_logged(Vec::new(), Vec::new()).await;
    let admin = app.admin_token().await;
    for origin in [
        "https://evil.example",
        "null",
        &app.base.replace("127.0.0.1", "localhost"),
    ] {
        for path in [
            "/api/v1/me",
            "/api/v1/transfers",
            "/oidc/token",
            "/oidc/userinfo",
            "/_storage/transfers/x/y",
            "/_dev/mail.json",
        ] {
            let simple = app
                .http
                .get(app.url(path))
                .header("origin", origin)
                .bearer_auth(&admin)
                .send()
                .await
                .unwrap();
            assert_no_cors_grant(origin, path, simple.headers());
            let preflight = app
                .http
                .request(reqwest::Method::OPTIONS, app.url(path))
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .header(
                    "access-control-request-headers",
                    "authorization, content-type",
                )
                .send()
                .await
                .unwrap();
            assert_no_cors_grant(origin, path, preflight.headers());
        }
    }
    // The portal's own origin (its public URL, where ferry-local serves the app, the API and
    // sign-in alike) is same-origin: its requests, which browsers send with that Origin, are
    // served as ever, and need no grant either.
    let (status, me) = app.get("/api/v1/me", &admin).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    for path in [
        "/api/v1/me",
        "/api/v1/transfers?box=sent",
        "/_dev/mail.json",
    ] {
        let own = app
            .http
            .get(app.url(path))
            .header("origin", &app.base)
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        assert_eq!(own.status(), StatusCode::OK, "{path}");
        assert_no_cors_grant(&app.base, path, own.headers());
        let body: serde_json::Value = own.json().await.unwrap();
        assert!(!body.is_null(), "{path}");
    }
    let own_post = app
        .http
        .post(app.url("/api/v1/transfers"))
        .header("origin", &app.base)
        .bearer_auth(&admin)
        .json(&serde_json::json!({ "recipients": ["bob@example.com"], "subject": "Same origin", "files": [
            { "name": "a.txt", "size": 5, "content_type": "text/plain", "md5": md5_b64(b"hello") }
        ] }))
        .send()
        .await
        .unwrap();
    assert_eq!(own_post.status(), StatusCode::CREATED);

    app.assert_log_free_of(&[&admin]);
}

fn assert_page_policy(path: &str, headers: &HeaderMap) {
    let csp = headers
        .get("content-security-policy")
        .unwrap_or_else(|| panic!("{path}: no Content-Security-Policy"))
        .to_str()
        .unwrap();
    let directive = |name: &str| {
        csp.split(';')
            .map(str::trim)
            .find(|d| d.split_whitespace().next() == Some(name))
            .map(str::to_owned)
    };
    // Scripts fall back to default-src when script-src is absent.
    let scripts = directive("script-src")
        .or_else(|| directive("default-src"))
        .unwrap_or_else(|| panic!("{path}: no script policy in {csp}"));
    for unsafe_source in [
        "'unsafe-inline'",
        "'unsafe-eval'",
        "*",
        "data:",
        "http:",
        "https:",
    ] {
        assert!(
            !scripts.split_whitespace().any(|s| s == unsafe_source),
            "{path}: scripts allow {unsafe_source}: {csp}"
        );
    }
    assert_eq!(
        directive("frame-ancestors").as_deref(),
        Some("frame-ancestors 'none'"),
        "{path}: {csp}"
    );
    let objects = directive("object-src").or_else(|| directive("default-src"));
    assert!(
        objects.is_some_and(|o| o.ends_with("'none'")),
        "{path}: plugins allowed: {csp}"
    );
}

fn assert_common_headers(path: &str, headers: &HeaderMap, https: bool) {
    let value = |name: &str| {
        headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_else(|| panic!("{path}: no {name}"))
    };
    assert_eq!(value("x-content-type-options"), "nosniff", "{path}");
    assert_eq!(value("referrer-policy"), "no-referrer", "{path}");
    let permissions = value("permissions-policy");
    for feature in ["camera=()", "microphone=()", "geolocation=()"] {
        assert!(permissions.contains(feature), "{path}: {permissions}");
    }
    match headers.get("strict-transport-security") {
        Some(hsts) if https => {
            let hsts = hsts.to_str().unwrap();
            let max_age: u64 = hsts
                .split(';')
                .find_map(|d| d.trim().strip_prefix("max-age="))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            assert!(max_age >= 31_536_000, "{path}: {hsts}");
        }
        None if !https => {}
        other => panic!("{path}: HSTS {other:?} where HTTPS is {https}"),
    }
}

fn assert_no_cors_grant(origin: &str, path: &str, headers: &HeaderMap) {
    for name in [
        "access-control-allow-origin",
        "access-control-allow-credentials",
        "access-control-allow-headers",
        "access-control-allow-methods",
    ] {
        assert!(
            headers.get(name).is_none(),
            "{path} granted {name} to {origin}: {:?}",
            headers.get(name)
        );
    }
}

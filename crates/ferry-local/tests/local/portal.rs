//! The web portal as ferry-local serves it, and the upload speed test it runs first.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

const INDEX: &str = "<!doctype html><title>Ferry test build</title>";

fn built_portal() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("assets")).unwrap();
    std::fs::write(dir.path().join("index.html"), INDEX).unwrap();
    std::fs::write(dir.path().join("assets/app-1a2b3c.js"), "export {};").unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portal_is_served_with_its_config_and_security_headers() {
    let web = built_portal();
    let web_dir = web.path().to_str().unwrap().to_owned();
    let app = spawn_configured(1, vec!["--web-dir".into(), web_dir], Vec::new()).await;

    // The app routes these paths itself: each gets index.html, never cached.
    for path in [
        "/",
        "/r/a-link-token",
        "/auth/callback?code=x&state=y",
        "/outbox",
    ] {
        let resp = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        let headers = resp.headers().clone();
        assert_eq!(headers["cache-control"], "no-cache", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self' 'wasm-unsafe-eval';"),
            "{csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(resp.text().await.unwrap(), INDEX, "{path}");
    }

    let asset = app
        .http
        .get(app.url("/assets/app-1a2b3c.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(asset.status(), StatusCode::OK);
    assert_eq!(
        asset.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let missing = app
        .http
        .get(app.url("/assets/gone-000.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        missing.status(),
        StatusCode::NOT_FOUND,
        "a missing asset is not the app"
    );

    let config = app.public_json("/config.json").await;
    assert_eq!(config["api_url"], app.base);
    assert_eq!(config["oidc"]["issuer"], format!("{}/oidc", app.base));
    assert_eq!(config["oidc"]["client_id"], "ferry-web");
    assert_eq!(
        config["oidc"]["account_url"],
        format!("{}/oidc/account", app.base)
    );
    assert_eq!(config["dev_mail_url"], "/_dev/mail");

    // The API keeps its own answers for unknown routes.
    let (status, body) = app
        .call(Method::GET, "/api/v1/nothing-here", None, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["type"], "urn:ferry:problem:not-found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_build_the_portal_says_how_to_make_one() {
    let app = spawn_configured(
        1,
        vec!["--web-dir".into(), "/nonexistent/ferry-portal".into()],
        Vec::new(),
    )
    .await;
    let resp = app.http.get(app.url("/")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("scripts/build-frontend.sh")
    );
    let (status, _) = app.call(Method::GET, "/api/v1/health", None, None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn speed_test_probes_reach_storage_and_are_not_kept() {
    let app = spawn_app_with(1).await;
    let admin = app.admin_token().await;
    let member = app.user(&admin, "mia@example.org", &["member"]).await;

    let (status, test) = app
        .post("/api/v1/speed-test", Some(&member), json!(null))
        .await;
    assert_eq!(status, StatusCode::OK, "{test}");
    let probes = test["probes"].as_array().unwrap();
    let sizes: Vec<u64> = probes.iter().map(|p| p["size"].as_u64().unwrap()).collect();
    assert_eq!(sizes, [256 << 10, 1 << 20, 4 << 20, 16 << 20]);

    for probe in probes {
        let size = probe["size"].as_u64().unwrap() as usize;
        let mut put = app
            .http
            .put(probe["url"].as_str().unwrap())
            .body(vec![0u8; size]);
        for (name, value) in probe["headers"].as_object().unwrap() {
            put = put.header(name, value.as_str().unwrap());
        }
        let resp = put.send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{size}");
        assert!(resp.headers().contains_key("etag"));
    }
    // Bytes other than the zeros the URL was signed for are refused.
    let first = &probes[0];
    let resp = app
        .http
        .put(first["url"].as_str().unwrap())
        .header(
            "content-md5",
            first["headers"]["Content-MD5"].as_str().unwrap(),
        )
        .body(vec![1u8; first["size"].as_u64().unwrap() as usize])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

    let objects = app.data_dir.join("objects");
    assert!(
        !objects.join("speedtest").exists(),
        "probes are dropped on arrival"
    );
    assert!(dir_contains(&objects, &[0u8; 4096]).is_none());

    let viewer = app.user(&admin, "vic@example.org", &[]).await;
    let (status, _) = app
        .post("/api/v1/speed-test", Some(&viewer), json!(null))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only members send");
    let (status, _) = app.post("/api/v1/speed-test", None, json!(null)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

//! The router over the in-memory adapters, as openapi.yaml describes it: requests that the
//! document calls valid are served, and the answers have the documented shape and headers.

use async_trait::async_trait;
use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ferry_core::auth::jwks::{JwksCache, JwksFetcher};
use ferry_core::auth::oidc::{OidcConfig, OidcVerifier};
use ferry_core::auth::recipient::RecipientTokens;
use ferry_core::config::{Settings, UserSource};
use ferry_core::limits::{InProcessLimits, RateLimits};
use ferry_core::memory::{ManualClock, MemoryStore};
use ferry_core::services::{Ferry, Ports};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};
use std::sync::{Arc, OnceLock};
use tower::ServiceExt;

const ISSUER: &str = "https://issuer.example";
const CLIENT: &str = "ferry-web";

struct TestKey {
    pem: String,
    jwks: JwkSet,
}

fn key() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let private = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
        let pem = private
            .to_pkcs1_pem(rsa::pkcs8::LineEnding::LF)
            .unwrap()
            .to_string();
        let jwks = serde_json::from_value(json!({ "keys": [{
            "kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
            "n": URL_SAFE_NO_PAD.encode(private.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(private.e().to_bytes_be()),
        }] }))
        .unwrap();
        TestKey { pem, jwks }
    })
}

struct TestKeys;

#[async_trait]
impl JwksFetcher for TestKeys {
    async fn fetch(&self) -> anyhow::Result<JwkSet> {
        Ok(key().jwks.clone())
    }
}

/// An access token of the test issuer for a member.
fn member_token() -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = json!({
        "iss": ISSUER, "aud": CLIENT, "sub": "alice", "exp": now + 300, "iat": now,
        "email": "alice@example.org", "email_verified": true, "groups": ["member"],
    });
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("k1".into());
    jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_rsa_pem(key().pem.as_bytes()).unwrap(),
    )
    .unwrap()
}

/// The API over in-memory adapters; `rate_limits` as ferry-local's `--rate-limits`.
fn api(rate_limits: &str) -> Router {
    let ports = Ports::in_memory(
        Arc::new(MemoryStore::default()),
        Arc::new(ManualClock::new(chrono::Utc::now())),
    );
    let mut settings = Settings::new("https://ferry.example.org");
    settings.users = UserSource::Token;
    let oidc = OidcVerifier::new(
        OidcConfig {
            issuer: ISSUER.into(),
            audience: CLIENT.into(),
            ..OidcConfig::default()
        },
        Arc::new(JwksCache::new(
            Arc::new(TestKeys),
            std::time::Duration::from_secs(60),
        )),
    );
    let tokens = RecipientTokens::new(&[7; 32], chrono::Duration::minutes(30));
    let limits = RateLimits::default().with_overrides(rate_limits).unwrap();
    let ferry = Ferry::new(ports, settings, tokens, oidc)
        .with_rate_limiter(Arc::new(InProcessLimits::new(&limits)));
    ferry_api::router(Arc::new(ferry))
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Value,
}

async fn post(api: &Router, path: &str, token: &str, body: &str) -> Answer {
    let request = Request::post(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap();
    let response = api.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
    Answer {
        status,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

const EMPTY_MD5: &str = "1B2M2Y8AsgTpgAmY7PhCfg==";

/// JSON Schema's `integer` is any number without a fraction, so `1.0` is as valid as `1`
/// wherever openapi.yaml says `type: integer`; such requests used to be refused with 400.
#[tokio::test]
async fn integers_written_with_a_decimal_point_are_accepted() {
    let api = api("");
    let token = member_token();
    let body = format!(
        r#"{{"recipients":["bob@example.org"],"subject":"Figures","expires_in_hours":24.0,
            "files":[{{"name":"big.bin","size":33554432.0,"md5":"{EMPTY_MD5}"}}]}}"#
    );
    let created = post(&api, "/api/v1/transfers", &token, &body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let document = &created.body["documents"][0];
    assert_eq!(document["size"], 33_554_432);
    assert_eq!(document["upload"]["part_count"], 2);

    let parts = format!(
        "/api/v1/transfers/{}/documents/{}/parts",
        created.body["id"].as_str().unwrap(),
        document["id"].as_str().unwrap()
    );
    let signed = post(
        &api,
        &parts,
        &token,
        &format!(r#"{{"parts":[{{"number":2.0,"md5":"{EMPTY_MD5}"}}]}}"#),
    )
    .await;
    assert_eq!(signed.status, StatusCode::OK, "{}", signed.body);
    assert_eq!(signed.body["parts"][0]["number"], 2);

    // A fraction is still no integer.
    let fraction = post(
        &api,
        &parts,
        &token,
        &format!(r#"{{"parts":[{{"number":1.5,"md5":"{EMPTY_MD5}"}}]}}"#),
    )
    .await;
    assert_eq!(fraction.status, StatusCode::BAD_REQUEST);
    assert!(
        fraction.body["detail"]
            .as_str()
            .unwrap()
            .contains("parts[0].number"),
        "{}",
        fraction.body
    );
}

/// openapi.yaml's `TooManyRequests`: problem+json with `Retry-After` in whole seconds.
#[tokio::test]
async fn too_many_new_transfers_answer_429_with_retry_after() {
    let api = api("create-transfer=1/min");
    let token = member_token();
    let body = format!(
        r#"{{"recipients":["bob@example.org"],"subject":"Figures",
            "files":[{{"name":"a.txt","size":5,"md5":"{EMPTY_MD5}"}}]}}"#
    );
    let first = post(&api, "/api/v1/transfers", &token, &body).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);

    let second = post(&api, "/api/v1/transfers", &token, &body).await;
    assert_eq!(second.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        second.headers[header::CONTENT_TYPE],
        "application/problem+json"
    );
    let retry_after: u64 = second.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(second.body["type"], "urn:ferry:problem:too-many-requests");
    assert_eq!(second.body["status"], 429);
    assert_eq!(second.body["title"], "Too Many Requests");
}

/// Every path under the API, its root with a trailing slash too, answers problem+json.
#[tokio::test]
async fn unknown_paths_under_the_api_answer_problem_json() {
    let api = api("");
    for (method, path) in [
        ("GET", "/api/v1/"),
        ("POST", "/api/v1/"),
        ("DELETE", "/api/v1/"),
        ("GET", "/api/v1/nothing-here"),
        ("GET", "/api/v1/transfers/x/y/z"),
    ] {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .body(Body::empty())
            .unwrap();
        let response = api.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{method} {path}");
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json",
            "{method} {path}"
        );
        let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        let body: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body["status"], 404, "{method} {path}");
    }
}

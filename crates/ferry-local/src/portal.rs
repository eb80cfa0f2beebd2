//! The web portal: the built single-page app from `frontend/dist`, its runtime configuration at
//! `/config.json`, and the security headers of every portal page.

use axum::Router;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use std::path::{Path, PathBuf};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

/// Where the portal is built in this source tree; `--web-dir` points elsewhere.
pub fn default_web_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../frontend/dist")
}

/// What the app reads at start, so one build serves any deployment.
pub struct PortalConfig {
    pub public_url: String,
    pub issuer: String,
    pub client_id: String,
    /// Where a user turns on two-factor sign-in.
    pub account_url: Option<String>,
    /// The development mail outbox, shown to testers; absent when mail really leaves.
    pub dev_mail_url: Option<String>,
    /// Where presigned URLs point when storage is not this origin (`--backend aws`), for the
    /// Content-Security-Policy's `connect-src`.
    pub storage_origin: Option<String>,
}

impl PortalConfig {
    fn to_json(&self) -> serde_json::Value {
        json!({
            "api_url": self.public_url,
            "oidc": {
                "issuer": self.issuer,
                "client_id": self.client_id,
                "scope": "openid email profile",
                "account_url": self.account_url,
                "logout_url": null,
            },
            "dev_mail_url": self.dev_mail_url,
        })
    }
}

/// Serves the app at `/` and every path the other routers leave (the app routes them itself),
/// or a page saying how to build it when `web_dir` holds no build.
pub fn router(web_dir: &Path, config: &PortalConfig) -> Router {
    let csp = content_security_policy(config.storage_origin.as_deref());
    let config = config.to_json();
    let index = web_dir.join("index.html");
    let app = if index.is_file() {
        Router::new()
            .nest_service(
                "/assets",
                tower::ServiceBuilder::new()
                    .layer(SetResponseHeaderLayer::overriding(
                        header::CACHE_CONTROL,
                        // File names carry a hash of their content.
                        HeaderValue::from_static("public, max-age=31536000, immutable"),
                    ))
                    .service(ServeDir::new(web_dir.join("assets"))),
            )
            .fallback_service(
                tower::ServiceBuilder::new()
                    .layer(SetResponseHeaderLayer::overriding(
                        header::CACHE_CONTROL,
                        HeaderValue::from_static("no-cache"),
                    ))
                    .service(ServeDir::new(web_dir).fallback(ServeFile::new(index))),
            )
    } else {
        tracing::warn!(dir = %web_dir.display(), "the web portal is not built; serving a notice at /");
        Router::new().fallback(not_built)
    };
    app.route(
        "/config.json",
        get(move || {
            let config = config.clone();
            async move { ([(header::CACHE_CONTROL, "no-cache")], axum::Json(config)) }
        }),
    )
    .layer(axum::middleware::map_response(move |response| {
        with_security_headers(response, csp.clone())
    }))
}

/// Everything the app loads is its own origin: in ferry-local the API, the identity provider and
/// (with the embedded store) storage share it. WebAssembly (the MD5 worker) needs
/// `wasm-unsafe-eval`; no inline script or style is allowed.
fn content_security_policy(storage_origin: Option<&str>) -> HeaderValue {
    let connect = match storage_origin {
        Some(origin) => format!("'self' {origin}"),
        None => "'self'".to_owned(),
    };
    HeaderValue::try_from(format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; connect-src {connect}; worker-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'"))
}

/// The other headers of every portal response.
const SECURITY_HEADERS: [(&str, &str); 4] = [
    ("x-content-type-options", "nosniff"),
    // The recipient's link token is in the page's path: no other site may see it.
    ("referrer-policy", "no-referrer"),
    (
        "permissions-policy",
        "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    ),
    ("x-frame-options", "DENY"),
];

async fn with_security_headers(mut response: Response, csp: HeaderValue) -> Response {
    let headers = response.headers_mut();
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(csp);
    for (name, value) in SECURITY_HEADERS {
        headers
            .entry(HeaderName::from_static(name))
            .or_insert(HeaderValue::from_static(value));
    }
    response
}

/// The policy of an HTML page that sets none of its own (the mail outbox, error pages): no
/// script at all, nothing loaded from elsewhere, never framed.
const FALLBACK_PAGE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
                                 form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// What every response carries, whichever router answered it (API, identity provider, storage,
/// outbox, portal), unless the router set its own: no MIME sniffing, no referrer, no framing, no
/// powerful browser features, a strict policy (no script at all but the app's own), and where
/// Ferry is served over HTTPS, HSTS for two years, so that a browser never again tries plain
/// HTTP.
pub async fn with_baseline_headers(https: bool, mut response: Response) -> Response {
    let headers = response.headers_mut();
    let is_page = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(if is_page {
            FALLBACK_PAGE_CSP
        } else {
            // JSON and the like: should a browser ever render one, nothing in it may run.
            "default-src 'none'; frame-ancestors 'none'"
        }));
    for (name, value) in SECURITY_HEADERS {
        headers
            .entry(HeaderName::from_static(name))
            .or_insert(HeaderValue::from_static(value));
    }
    if https {
        headers
            .entry(header::STRICT_TRANSPORT_SECURITY)
            .or_insert(HeaderValue::from_static(
                "max-age=63072000; includeSubDomains",
            ));
    }
    response
}

async fn not_built() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Html(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Ferry</title></head>\
             <body><main><h1>The web portal is not built</h1><p>Start Ferry with \
             <code>./scripts/ferry-local.sh</code>, which builds it, or build it with \
             <code>./scripts/build-frontend.sh</code> and pass <code>--web-dir frontend/dist</code>. \
             The API is at <a href=\"/api/v1/health\">/api/v1/health</a>.</p></main></body></html>",
        ),
    )
        .into_response()
}

//! API Gateway (HTTP API, payload 2.0) requests into the API's axum router, which ferry-local
//! serves too: the same routes, extractors and problem+json answers.

use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use ferry_api::SourceIp;
use ferry_core::services::Ferry;
use lambda_http::RequestExt;
use lambda_http::request::RequestContext;
use std::sync::Arc;

pub fn app(ferry: Arc<Ferry>) -> axum::Router {
    ferry_api::router(ferry).layer(middleware::from_fn(source_ip))
}

/// The caller's address from the request context, for the audit trail. API Gateway sets it
/// from the connection; a client's `X-Forwarded-For` cannot change it.
async fn source_ip(mut request: Request, next: Next) -> Response {
    let ip = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context
            .http
            .source_ip
            .as_deref()
            .and_then(|ip| ip.parse().ok()),
        _ => None,
    };
    if let Some(ip) = ip {
        request.extensions_mut().insert(SourceIp(ip));
    }
    next.run(request).await
}

pub async fn serve(ferry: Arc<Ferry>) -> Result<(), lambda_http::Error> {
    lambda_http::run(app(ferry)).await
}

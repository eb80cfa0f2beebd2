//! Errors as `application/problem+json` (RFC 9457): the one place where a service error becomes
//! a status code. Internals never reach the client; they are logged instead.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ferry_core::Error;
use serde::Serialize;

#[derive(Serialize)]
struct Problem<'a> {
    r#type: String,
    title: &'a str,
    status: u16,
    detail: &'a str,
}

pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        Self(e)
    }
}

pub fn problem(status: StatusCode, slug: &str, detail: &str) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    let body = serde_json::to_vec(&Problem {
        r#type: format!("urn:ferry:problem:{slug}"),
        title,
        status: status.as_u16(),
        detail,
    })
    .unwrap_or_default();
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self.0 {
            Error::Invalid(d) => problem(StatusCode::BAD_REQUEST, "invalid-request", d),
            Error::Unauthenticated(d) => {
                let mut r = problem(StatusCode::UNAUTHORIZED, "unauthenticated", d);
                r.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                r
            }
            Error::Forbidden(d) => problem(StatusCode::FORBIDDEN, "forbidden", d),
            Error::NotFound(d) => problem(StatusCode::NOT_FOUND, "not-found", d),
            Error::Conflict(d) => problem(StatusCode::CONFLICT, "conflict", d),
            Error::Gone(d) => problem(StatusCode::GONE, "gone", d),
            Error::TooManyRequests {
                detail,
                retry_after,
            } => {
                let mut r = problem(StatusCode::TOO_MANY_REQUESTS, "too-many-requests", detail);
                let secs = retry_after.as_secs().max(1).to_string();
                if let Ok(v) = HeaderValue::from_str(&secs) {
                    r.headers_mut().insert(header::RETRY_AFTER, v);
                }
                r
            }
            Error::Unexpected(e) => {
                tracing::error!(error = format!("{e:#}"), "request failed");
                problem(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "something went wrong on our side; nothing was changed unless the request is retried",
                )
            }
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

//! Request extractors: the caller from the bearer token, the client's address, and JSON bodies
//! whose every rejection is a problem+json with a useful detail.

use crate::AppState;
use crate::problem::{ApiError, problem};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::{StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use ferry_core::Error;
use ferry_core::auth::{AuthUser, Caller};
use serde::de::DeserializeOwned;
use std::net::SocketAddr;

pub struct Authenticated(pub Caller);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(header::AUTHORIZATION).ok_or_else(|| {
            Error::Unauthenticated("sign in first: this route needs a bearer token".into())
        })?;
        let token = header
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= 8192)
            .ok_or_else(|| {
                Error::Unauthenticated("the Authorization header must be 'Bearer <token>'".into())
            })?;
        Ok(Self(state.ferry.authenticate(token).await?))
    }
}

/// A registered user (not a link holder).
pub struct SignedIn(pub AuthUser);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match Authenticated::from_request_parts(parts, state).await?.0 {
            Caller::User(user) => Ok(Self(user)),
            Caller::Recipient(_) => {
                Err(Error::Forbidden("this route is for registered users".into()).into())
            }
        }
    }
}

/// A registered user with the admin role, checked before the body is read, so a member gets
/// 403 whatever they sent.
pub struct Admin(pub AuthUser);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let SignedIn(user) = SignedIn::from_request_parts(parts, state).await?;
        if !user.has_role(ferry_core::values::Role::Admin) {
            return Err(Error::Forbidden("this route is for admins".into()).into());
        }
        Ok(Self(user))
    }
}

/// Path parameters with the API's error shape.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Self(value)),
            Err(rejection) => Err(problem(
                StatusCode::BAD_REQUEST,
                "invalid-request",
                &format!("the path is not valid: {}", rejection.body_text()),
            )),
        }
    }
}

/// The client's address for the audit trail, when the server knows it.
pub struct ClientIp(pub Option<String>);

/// The client's address as a front end saw it, for servers that accept no connections of
/// their own: a Lambda function puts API Gateway's `sourceIp` here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SourceIp(pub std::net::IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let connected = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let forwarded = || parts.extensions.get::<SourceIp>().map(|s| s.0);
        Ok(Self(connected.or_else(forwarded).map(|ip| ip.to_string())))
    }
}

/// JSON with the API's error shape. Unknown fields are refused by the request types themselves.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        use axum::extract::rejection::JsonRejection;
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(match rejection {
                JsonRejection::MissingJsonContentType(_) => problem(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported-media-type",
                    "send the body as JSON with Content-Type: application/json",
                ),
                JsonRejection::JsonDataError(e) => problem(
                    StatusCode::BAD_REQUEST,
                    "invalid-request",
                    &body_error(&e.body_text()),
                ),
                JsonRejection::JsonSyntaxError(e) => problem(
                    StatusCode::BAD_REQUEST,
                    "invalid-json",
                    &body_error(&e.body_text()),
                ),
                JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    problem(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "too-large",
                        "the request body is larger than this route accepts",
                    )
                }
                other => problem(other.status(), "invalid-request", &other.body_text()),
            }),
        }
    }
}

/// serde's message without axum's prefix, which repeats what the status already says.
fn body_error(text: &str) -> String {
    let text = text
        .strip_prefix("Failed to deserialize the JSON body into the target type: ")
        .or_else(|| text.strip_prefix("Failed to parse the request body as JSON: "))
        .unwrap_or(text);
    format!("the request body is not valid: {text}")
}

pub fn not_found() -> Response {
    ApiError(Error::NotFound("no such route".into())).into_response()
}

/// A query string with the API's error shape.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Self(value)),
            Err(rejection) => Err(problem(
                StatusCode::BAD_REQUEST,
                "invalid-request",
                &format!(
                    "the query string is not valid: {}",
                    rejection
                        .body_text()
                        .trim_start_matches("Failed to deserialize query string: ")
                ),
            )),
        }
    }
}

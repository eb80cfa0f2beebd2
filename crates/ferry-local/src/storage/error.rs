//! What the storage endpoint answers when it refuses a request: the one place where its errors
//! become status codes, as `application/problem+json` whose detail starts with S3's error code.

use super::signing::Refusal;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub(super) enum StorageError {
    #[error("InvalidArgument: {0}")]
    InvalidKey(String),
    #[error("{0}")]
    Denied(Refusal),
    #[error("AccessDenied: {0}")]
    ContentMd5Header(&'static str),
    #[error("BadDigest: the MD5 of the body differs from its Content-MD5; nothing was stored")]
    BadDigest,
    #[error(
        "IncompleteBody: the URL was signed for a body of {expected} bytes, this one has {}; \
         nothing was stored",
        .actual.map_or_else(|| "more".to_owned(), |n| n.to_string())
    )]
    SizeMismatch { expected: u64, actual: Option<u64> },
    #[error("IncompleteBody: the body could not be read to its end; nothing was stored")]
    UnreadableBody,
    #[error(
        "PreconditionFailed: an object is already stored at this key and uploads never replace \
         one; nothing was stored"
    )]
    AlreadyExists,
    #[error("NoSuchKey: there is no object at this key")]
    NoSuchKey,
    #[error("NoSuchUpload: the multipart upload was completed, aborted or never created")]
    NoSuchUpload,
    #[error("MethodNotAllowed: the storage endpoint accepts GET, HEAD and PUT")]
    MethodNotAllowed,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl StorageError {
    fn status_and_slug(&self) -> (StatusCode, &'static str) {
        match self {
            Self::InvalidKey(_) => (StatusCode::BAD_REQUEST, "invalid-argument"),
            Self::Denied(Refusal::Mismatch) => (StatusCode::FORBIDDEN, "signature-does-not-match"),
            Self::Denied(_) | Self::ContentMd5Header(_) => (StatusCode::FORBIDDEN, "access-denied"),
            Self::BadDigest => (StatusCode::BAD_REQUEST, "bad-digest"),
            Self::SizeMismatch { .. } | Self::UnreadableBody => {
                (StatusCode::BAD_REQUEST, "incomplete-body")
            }
            Self::AlreadyExists => (StatusCode::PRECONDITION_FAILED, "precondition-failed"),
            Self::NoSuchKey => (StatusCode::NOT_FOUND, "no-such-key"),
            Self::NoSuchUpload => (StatusCode::NOT_FOUND, "no-such-upload"),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed"),
            Self::Unexpected(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl From<Refusal> for StorageError {
    fn from(refusal: Refusal) -> Self {
        Self::Denied(refusal)
    }
}

impl IntoResponse for StorageError {
    fn into_response(self) -> Response {
        let (status, slug) = self.status_and_slug();
        if let Self::Unexpected(e) = &self {
            tracing::error!(error = format!("{e:#}"), "a storage request failed");
            return ferry_api::problem(
                status,
                slug,
                "InternalError: something went wrong on our side; retry the request",
            );
        }
        ferry_api::problem(status, slug, &self.to_string())
    }
}

//! The services' error: what went wrong in terms a caller can act on. The HTTP layer maps each
//! arm to a status code in one place.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed or breaks a rule; `detail` says which.
    #[error("{0}")]
    Invalid(String),
    /// No valid credentials.
    #[error("{0}")]
    Unauthenticated(String),
    /// Authenticated, but the role does not allow it.
    #[error("{0}")]
    Forbidden(String),
    /// Does not exist, or is not the caller's to see (the two answer alike).
    #[error("{0}")]
    NotFound(String),
    /// The resource exists but its state does not allow this now.
    #[error("{0}")]
    Conflict(String),
    /// The content existed and was purged.
    #[error("{0}")]
    Gone(String),
    #[error("{detail}")]
    TooManyRequests {
        detail: String,
        retry_after: Duration,
    },
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::Invalid(detail.into())
    }

    pub fn not_found(what: &str) -> Self {
        Self::NotFound(format!("no such {what}"))
    }
}

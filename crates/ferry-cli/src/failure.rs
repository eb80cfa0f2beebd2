//! What went wrong, as a script sees it: each kind has its own exit code (README, "Exit codes").

use std::process::ExitCode;

#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The server refused the request as malformed or not allowed now (400, 409, 413...).
    #[error("{0}")]
    Refused(String),
    /// Missing or refused credentials (401, 403, a bad client secret).
    #[error("{0}")]
    Auth(String),
    /// A document was rejected or the transfer was cancelled (`send --wait`), or a received
    /// file does not match its checksums.
    #[error("{0}")]
    Rejected(String),
    /// No such transfer or link, or its documents are gone (404, 410).
    #[error("{0}")]
    NotFound(String),
    /// The server or the network failed, or asked to slow down (5xx, 429, timeouts): trying
    /// again later may work.
    #[error("{0}")]
    Unavailable(String),
}

impl Failure {
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Refused(_) => 1,
            Self::Auth(_) => 3,
            Self::Rejected(_) => 4,
            Self::NotFound(_) => 5,
            Self::Unavailable(_) => 6,
        }
    }
}

/// 1 for failures of no particular kind (a file that cannot be read, a broken answer).
pub fn exit_code(error: &anyhow::Error) -> ExitCode {
    ExitCode::from(
        error
            .downcast_ref::<Failure>()
            .map(Failure::exit_code)
            .unwrap_or(1),
    )
}

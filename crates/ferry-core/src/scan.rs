//! The malware scan port: an optional step of the validation pipeline. When a scanner is
//! installed (`Ferry::with_malware_scanner`), every document that passed the checksum, size and
//! type checks is streamed to it before its text is extracted; an infected one is rejected with
//! `malware` and its bytes deleted.

use crate::ports::ByteStream;
use async_trait::async_trait;

/// What the scanner found in a document it read to the end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScanVerdict {
    Clean,
    /// `signature` names what was found (`Win.Test.EICAR_HDB-1`); it is the scanner's word and
    /// is cleaned up by [`display_signature`] before it is shown or recorded.
    Infected {
        signature: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The scanner refuses documents this large, and will again on every retry: the document
    /// is rejected as too large rather than passed unscanned or retried in vain.
    #[error("the document is larger than the malware scanner accepts")]
    TooLarge,
    /// Unreachable, too slow or answering with an error: the document is neither clean nor
    /// infected yet, so the job fails and is retried (then settled as `processing_failed`).
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

#[async_trait]
pub trait MalwareScanner: Send + Sync {
    /// Scans the object's bytes as they stream by; an implementation must not hold the whole
    /// document in memory, and answers `Clean` only after reading `body` to its end.
    async fn scan(&self, body: ByteStream) -> Result<ScanVerdict, ScanError>;
}

/// Longest signature name kept; real ones are far shorter.
const MAX_SIGNATURE_CHARS: usize = 120;

/// The scanner's signature name made safe for an audit entry, a log line or an email: printable
/// ASCII only, bounded, never empty.
pub fn display_signature(signature: &str) -> String {
    let cleaned: String = signature
        .trim()
        .chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(MAX_SIGNATURE_CHARS)
        .collect();
    if cleaned.is_empty() {
        "unnamed signature".to_owned()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::display_signature;

    #[test]
    fn signatures_are_printable_and_bounded() {
        assert_eq!(
            display_signature(" Win.Test.EICAR_HDB-1 "),
            "Win.Test.EICAR_HDB-1"
        );
        assert_eq!(display_signature("Evil\n\u{1b}[31mName\0"), "Evil[31mName");
        assert_eq!(display_signature("\n"), "unnamed signature");
        assert_eq!(display_signature(&"x".repeat(1000)).len(), 120);
    }
}

//! The malware scanner port of ferry-core on ClamAV's daemon: each document is streamed to
//! clamd with its INSTREAM command, over TCP or a Unix socket, in chunks of at most
//! [`CHUNK_LEN`] bytes, so memory stays bounded whatever the document's size.
//!
//! Outcomes: `stream: OK` is clean; `<signature> FOUND` is infected. A document larger than
//! clamd will scan (`INSTREAM size limit exceeded`, its `StreamMaxLength`; or, with
//! `AlertExceedsMax yes`, a `Heuristics.Limits.Exceeded.MaxFileSize`/`MaxScanSize` finding) is
//! [`ScanError::TooLarge`], which the pipeline turns into a `too_large` rejection: it would be
//! refused on every retry, and must not pass unscanned. Anything else (connection refused, a
//! timeout, an `ERROR` answer, a garbled answer) is [`ScanError::Failed`]: the job is retried,
//! then settled as `processing_failed`.

mod address;
mod protocol;

pub use address::ClamdAddress;
pub use protocol::CHUNK_LEN;

use async_trait::async_trait;
use ferry_core::ports::ByteStream;
use ferry_core::scan::{MalwareScanner, ScanError, ScanVerdict};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Opening the connection.
    pub connect: Duration,
    /// Each write of a chunk (clamd stops reading when it is overloaded), and a command's answer.
    pub io: Duration,
    /// The verdict, once the whole document is sent: clamd scans only then.
    pub reply: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            io: Duration::from_secs(30),
            // Beyond clamd's own MaxScanTime (2 minutes by default), so that its limit answers
            // first (a FOUND with AlertExceedsMax) rather than this one.
            reply: Duration::from_secs(150),
        }
    }
}

/// What went wrong talking to clamd; each message carries its cause, so it reads whole on its own.
#[derive(Debug, thiserror::Error)]
pub enum ClamdError {
    #[error("cannot connect: {0}")]
    Connect(std::io::Error),
    #[error("timed out after {limit:?} waiting for {waiting_for}")]
    Timeout {
        waiting_for: &'static str,
        limit: Duration,
    },
    #[error("sending failed: {0}")]
    Write(std::io::Error),
    #[error("reading the answer failed: {0}")]
    Read(std::io::Error),
    /// Reading the document from storage failed: not clamd's fault, but no verdict either.
    #[error("reading the document failed: {0}")]
    Source(std::io::Error),
    #[error("clamd answered with an error: {0}")]
    Refused(String),
    /// Over `StreamMaxLength`, or (with `AlertExceedsMax`) over `MaxFileSize` / `MaxScanSize`.
    #[error("the document is larger than clamd is configured to scan")]
    SizeLimit,
    #[error("{0}")]
    Protocol(String),
}

/// A clamd reached at one address; every scan opens its own connection, so any number of
/// documents may be scanned at once (clamd queues what its `MaxThreads` cannot take).
#[derive(Clone, Debug)]
pub struct ClamdScanner {
    address: ClamdAddress,
    timeouts: Timeouts,
}

impl ClamdScanner {
    pub fn new(address: ClamdAddress) -> Self {
        Self {
            address,
            timeouts: Timeouts::default(),
        }
    }

    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    pub fn address(&self) -> &ClamdAddress {
        &self.address
    }

    /// `PING` → `PONG`: whether clamd is up and answering.
    pub async fn ping(&self) -> Result<(), ClamdError> {
        let answer = protocol::command(self.connect().await?, "PING", &self.timeouts).await?;
        if answer.trim() == "PONG" {
            Ok(())
        } else {
            Err(ClamdError::Protocol(format!(
                "unexpected answer to PING: '{}'",
                answer.chars().take(200).collect::<String>().escape_debug()
            )))
        }
    }

    /// Streams `body` to clamd and returns its verdict.
    pub async fn scan_stream(&self, body: ByteStream) -> Result<ScanVerdict, ClamdError> {
        let reply = protocol::instream(self.connect().await?, body, &self.timeouts).await?;
        verdict(reply)
    }

    async fn connect(&self) -> Result<Connection, ClamdError> {
        let connect = async {
            match &self.address {
                ClamdAddress::Tcp(hostport) => tokio::net::TcpStream::connect(hostport.as_str())
                    .await
                    .map(|s| Box::new(s) as Connection),
                #[cfg(unix)]
                ClamdAddress::Unix(path) => tokio::net::UnixStream::connect(path)
                    .await
                    .map(|s| Box::new(s) as Connection),
                #[cfg(not(unix))]
                ClamdAddress::Unix(_) => Err(std::io::Error::new(
                    std::io::ErrorKind::Unsupported,
                    "Unix sockets are not available on this platform",
                )),
            }
        };
        tokio::time::timeout(self.timeouts.connect, connect)
            .await
            .map_err(|_| ClamdError::Timeout {
                waiting_for: "the connection",
                limit: self.timeouts.connect,
            })?
            .map_err(ClamdError::Connect)
    }
}

/// With `AlertExceedsMax yes`, clamd reports the parts it did not scan as heuristic findings;
/// those about size mean the same as its stream limit (too large to scan), the others (nesting,
/// file count, scan time) stay findings: an archive built to exhaust a scanner is suspect.
const SIZE_FINDINGS: [&str; 2] = [
    "Heuristics.Limits.Exceeded.MaxFileSize",
    "Heuristics.Limits.Exceeded.MaxScanSize",
];

fn verdict(reply: protocol::Reply) -> Result<ScanVerdict, ClamdError> {
    match reply {
        protocol::Reply::Clean => Ok(ScanVerdict::Clean),
        protocol::Reply::Found(signature)
            if SIZE_FINDINGS.iter().any(|s| signature.starts_with(s)) =>
        {
            Err(ClamdError::SizeLimit)
        }
        protocol::Reply::Found(signature) => Ok(ScanVerdict::Infected { signature }),
        protocol::Reply::SizeLimit => Err(ClamdError::SizeLimit),
        protocol::Reply::Error(why) => Err(ClamdError::Refused(why)),
    }
}

#[async_trait]
impl MalwareScanner for ClamdScanner {
    async fn scan(&self, body: ByteStream) -> Result<ScanVerdict, ScanError> {
        match self.scan_stream(body).await {
            Ok(verdict) => Ok(verdict),
            Err(ClamdError::SizeLimit) => Err(ScanError::TooLarge),
            Err(e) => Err(ScanError::Failed(
                anyhow::Error::new(e).context(format!("clamd at {}", self.address)),
            )),
        }
    }
}

/// Either transport clamd listens on.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}
type Connection = Box<dyn Io>;

#[cfg(test)]
mod tests {
    use super::{ClamdError, ScanVerdict, verdict};
    use crate::protocol::Reply;

    #[test]
    fn size_findings_are_size_limits_and_other_findings_are_infections() {
        assert!(matches!(
            verdict(Reply::Found(
                "Heuristics.Limits.Exceeded.MaxScanSize".into()
            )),
            Err(ClamdError::SizeLimit)
        ));
        assert!(matches!(
            verdict(Reply::Found(
                "Heuristics.Limits.Exceeded.MaxFileSize.UNOFFICIAL".into()
            )),
            Err(ClamdError::SizeLimit)
        ));
        assert_eq!(
            verdict(Reply::Found(
                "Heuristics.Limits.Exceeded.MaxRecursion".into()
            ))
            .unwrap(),
            ScanVerdict::Infected {
                signature: "Heuristics.Limits.Exceeded.MaxRecursion".into()
            }
        );
        assert!(matches!(
            verdict(Reply::SizeLimit),
            Err(ClamdError::SizeLimit)
        ));
        assert!(matches!(
            verdict(Reply::Error("busy".into())),
            Err(ClamdError::Refused(_))
        ));
    }
}

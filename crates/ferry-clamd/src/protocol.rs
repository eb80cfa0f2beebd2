//! clamd's INSTREAM command: `zINSTREAM\0`, then the document in chunks, each prefixed with its
//! length as 4 bytes big-endian, then a zero length; clamd answers one `\0`-terminated line:
//! `stream: OK`, `stream: <signature> FOUND`, or `<why> ERROR`.

use crate::{ClamdError, Timeouts};
use ferry_core::ports::ByteStream;
use futures_util::StreamExt;
use std::future::Future;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Largest chunk sent at once: what is held in memory besides the store's own chunk, and the
/// granularity at which clamd's size limit is noticed.
pub const CHUNK_LEN: usize = 64 * 1024;
/// Longest answer read: a signature name or an error message is far shorter.
const MAX_REPLY_LEN: usize = 4096;

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Reply {
    Clean,
    Found(String),
    /// clamd's `StreamMaxLength` was reached: it stopped reading.
    SizeLimit,
    Error(String),
}

pub(crate) fn parse_reply(raw: &[u8]) -> Result<Reply, ClamdError> {
    let text = String::from_utf8_lossy(raw);
    let text = text.trim_end_matches(['\0', '\n']).trim();
    if text == "stream: OK" {
        return Ok(Reply::Clean);
    }
    if let Some(found) = text.strip_suffix(" FOUND") {
        let signature = found.strip_prefix("stream:").unwrap_or(found).trim();
        return Ok(Reply::Found(signature.to_owned()));
    }
    // clamd 0.9x to 1.x: "INSTREAM size limit exceeded. ERROR".
    if text.to_ascii_lowercase().contains("size limit exceeded") {
        return Ok(Reply::SizeLimit);
    }
    if let Some(error) = text.strip_suffix("ERROR") {
        return Ok(Reply::Error(
            error.trim().trim_end_matches(['.', ':']).to_owned(),
        ));
    }
    Err(ClamdError::Protocol(format!(
        "unexpected answer '{}'",
        text.chars().take(200).collect::<String>().escape_debug()
    )))
}

/// Sends the command and the document, and reads clamd's answer. clamd may answer before the
/// document is sent (its size limit): the answer is read while sending, so it is not lost when
/// clamd then closes the connection under the writes.
pub(crate) async fn instream<S>(
    conn: S,
    body: ByteStream,
    timeouts: &Timeouts,
) -> Result<Reply, ClamdError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let (reader, writer) = tokio::io::split(conn);
    let reply = read_reply(reader);
    let send = send_document(writer, body, timeouts.io);
    tokio::pin!(reply, send);
    let sent = tokio::select! {
        sent = &mut send => sent,
        early = &mut reply => {
            return match early? {
                // An OK for part of a document would be a pass for bytes nobody scanned.
                Reply::Clean => Err(ClamdError::Protocol(
                    "clamd answered OK before the whole document was sent".into(),
                )),
                other => Ok(other),
            };
        }
    };
    match sent {
        Ok(()) => within(timeouts.reply, "the scan result", reply).await?,
        Err(e @ ClamdError::Write(_)) => {
            // The connection broke under the writes: clamd may have said why just before.
            match tokio::time::timeout(timeouts.io, reply).await {
                Ok(Ok(reply)) if reply != Reply::Clean => Ok(reply),
                _ => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

/// A command without a document (`zPING\0`): its answer.
pub(crate) async fn command<S>(
    mut conn: S,
    command: &str,
    timeouts: &Timeouts,
) -> Result<String, ClamdError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let line = format!("z{command}\0");
    within(
        timeouts.io,
        "sending a command",
        conn.write_all(line.as_bytes()),
    )
    .await?
    .map_err(ClamdError::Write)?;
    let answer = within(timeouts.io, "the answer", read_line(&mut conn)).await??;
    Ok(String::from_utf8_lossy(&answer)
        .trim_end_matches('\0')
        .to_owned())
}

async fn send_document<W>(
    mut writer: W,
    mut body: ByteStream,
    io_timeout: Duration,
) -> Result<(), ClamdError>
where
    W: AsyncWrite + Unpin,
{
    let mut frame = Vec::with_capacity(4 + CHUNK_LEN);
    let mut write = async |frame: &[u8]| {
        within(io_timeout, "sending the document", writer.write_all(frame))
            .await?
            .map_err(ClamdError::Write)
    };
    write(b"zINSTREAM\0").await?;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(ClamdError::Source)?;
        for part in chunk.chunks(CHUNK_LEN) {
            frame.clear();
            let len = u32::try_from(part.len()).expect("a chunk is at most CHUNK_LEN bytes");
            frame.extend_from_slice(&len.to_be_bytes());
            frame.extend_from_slice(part);
            write(&frame).await?;
        }
    }
    write(&0u32.to_be_bytes()).await?;
    within(io_timeout, "sending the document", writer.flush())
        .await?
        .map_err(ClamdError::Write)
}

/// Everything up to the terminating `\0`, or to the end of the connection.
async fn read_reply<R>(mut reader: R) -> Result<Reply, ClamdError>
where
    R: AsyncRead + Unpin,
{
    let raw = read_line(&mut reader).await?;
    parse_reply(&raw)
}

async fn read_line<R>(reader: &mut R) -> Result<Vec<u8>, ClamdError>
where
    R: AsyncRead + Unpin,
{
    let mut answer = Vec::new();
    let mut buf = [0u8; 512];
    loop {
        let n = reader.read(&mut buf).await.map_err(ClamdError::Read)?;
        if n == 0 {
            if answer.is_empty() {
                return Err(ClamdError::Protocol(
                    "clamd closed the connection without answering".into(),
                ));
            }
            return Ok(answer);
        }
        if let Some(end) = buf[..n].iter().position(|b| *b == b'\0') {
            answer.extend_from_slice(&buf[..end]);
            return Ok(answer);
        }
        answer.extend_from_slice(&buf[..n]);
        if answer.len() > MAX_REPLY_LEN {
            return Err(ClamdError::Protocol("clamd's answer is too long".into()));
        }
    }
}

async fn within<T>(
    limit: Duration,
    waiting_for: &'static str,
    future: impl Future<Output = T>,
) -> Result<T, ClamdError> {
    tokio::time::timeout(limit, future)
        .await
        .map_err(|_| ClamdError::Timeout { waiting_for, limit })
}

#[cfg(test)]
mod tests {
    use super::{Reply, parse_reply};

    #[test]
    fn reads_clamds_answers() {
        assert_eq!(parse_reply(b"stream: OK\0").unwrap(), Reply::Clean);
        assert_eq!(parse_reply(b"stream: OK\n").unwrap(), Reply::Clean);
        assert_eq!(
            parse_reply(b"stream: Win.Test.EICAR_HDB-1 FOUND").unwrap(),
            Reply::Found("Win.Test.EICAR_HDB-1".into())
        );
        assert_eq!(
            parse_reply(b"INSTREAM size limit exceeded. ERROR").unwrap(),
            Reply::SizeLimit
        );
        assert_eq!(
            parse_reply(b"stream: Can't allocate memory ERROR").unwrap(),
            Reply::Error("stream: Can't allocate memory".into())
        );
        assert!(parse_reply(b"UNKNOWN COMMAND").is_err());
        assert!(parse_reply(b"stream: OK maybe").is_err());
    }
}

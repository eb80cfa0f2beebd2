//! The adapter against a stub clamd on 127.0.0.1 and on a Unix socket in a temporary directory:
//! it speaks INSTREAM as clamd does, finds the EICAR test string, refuses documents over its
//! StreamMaxLength mid-stream, and can be made to fail or stall.

use bytes::Bytes;
use ferry_clamd::{CHUNK_LEN, ClamdAddress, ClamdError, ClamdScanner, Timeouts};
use ferry_core::ports::ByteStream;
use ferry_core::scan::{MalwareScanner, ScanError, ScanVerdict};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

const EICAR: &[u8] = br"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

#[derive(Clone, Copy, Debug)]
enum Mode {
    /// Like clamd: finds EICAR; refuses documents over `max` bytes as soon as a chunk header
    /// says so, and closes the connection without reading the rest.
    Scan { max: usize },
    /// Reads the document, then answers an error.
    Error,
    /// Reads the document and never answers.
    Silent,
    /// Takes the command and reads nothing more.
    Stalled,
}

/// What the stub received on one connection.
#[derive(Clone, Debug, Default)]
struct Exchange {
    command: String,
    chunks: Vec<usize>,
    terminated: bool,
    /// The client went away before the end of the document.
    cut_short: bool,
}

struct Stub {
    address: ClamdAddress,
    exchanges: Arc<Mutex<Vec<Exchange>>>,
    task: tokio::task::JoinHandle<()>,
    _dir: Option<tempfile::TempDir>,
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Stub {
    async fn tcp(mode: Mode) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = ClamdAddress::Tcp(listener.local_addr().unwrap().to_string());
        let exchanges = Arc::new(Mutex::new(Vec::new()));
        let seen = exchanges.clone();
        let task = tokio::spawn(async move {
            loop {
                let (conn, _) = listener.accept().await.unwrap();
                tokio::spawn(serve(conn, mode, seen.clone()));
            }
        });
        Self {
            address,
            exchanges,
            task,
            _dir: None,
        }
    }

    async fn unix(mode: Mode) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clamd.sock");
        let listener = tokio::net::UnixListener::bind(&path).unwrap();
        let exchanges = Arc::new(Mutex::new(Vec::new()));
        let seen = exchanges.clone();
        let task = tokio::spawn(async move {
            loop {
                let (conn, _) = listener.accept().await.unwrap();
                tokio::spawn(serve(conn, mode, seen.clone()));
            }
        });
        Self {
            address: ClamdAddress::Unix(path),
            exchanges,
            task,
            _dir: Some(dir),
        }
    }

    fn scanner(&self) -> ClamdScanner {
        ClamdScanner::new(self.address.clone())
    }

    fn exchanges(&self) -> Vec<Exchange> {
        self.exchanges.lock().unwrap().clone()
    }
}

async fn serve<S>(mut conn: S, mode: Mode, exchanges: Arc<Mutex<Vec<Exchange>>>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut exchange = Exchange::default();
    let mut byte = [0u8; 1];
    while conn.read_exact(&mut byte).await.is_ok() && byte[0] != 0 {
        exchange.command.push(byte[0] as char);
    }
    let index = {
        let mut all = exchanges.lock().unwrap();
        all.push(exchange.clone());
        all.len() - 1
    };
    let record = |s: &Exchange| exchanges.lock().unwrap()[index] = s.clone();
    if exchange.command == "zPING" {
        let _ = conn.write_all(b"PONG\0").await;
        return;
    }
    if matches!(mode, Mode::Stalled) {
        return std::future::pending().await;
    }
    let mut total = 0;
    let mut window: Vec<u8> = Vec::new();
    let mut found = false;
    loop {
        let mut len = [0u8; 4];
        if conn.read_exact(&mut len).await.is_err() {
            exchange.cut_short = true;
            record(&exchange);
            return;
        }
        let len = u32::from_be_bytes(len) as usize;
        if len == 0 {
            exchange.terminated = true;
            break;
        }
        if let Mode::Scan { max } = mode
            && total + len > max
        {
            let _ = conn
                .write_all(b"INSTREAM size limit exceeded. ERROR\0")
                .await;
            record(&exchange);
            return;
        }
        let mut chunk = vec![0; len];
        if conn.read_exact(&mut chunk).await.is_err() {
            exchange.cut_short = true;
            record(&exchange);
            return;
        }
        total += len;
        exchange.chunks.push(len);
        window.extend_from_slice(&chunk);
        found |= window.windows(EICAR.len()).any(|w| w == EICAR);
        let keep = window.len().saturating_sub(EICAR.len());
        window.drain(..keep);
        record(&exchange);
    }
    record(&exchange);
    let answer: &[u8] = match mode {
        Mode::Scan { .. } if found => b"stream: Eicar-Test-Signature FOUND\0",
        Mode::Scan { .. } => b"stream: OK\0",
        Mode::Error => b"INSTREAM: Can't write to temporary file. ERROR\0",
        Mode::Silent | Mode::Stalled => return std::future::pending().await,
    };
    let _ = conn.write_all(answer).await;
}

/// A document as the object store yields it: chunks of uneven sizes.
fn body(bytes: &[u8], chunk: usize) -> ByteStream {
    let chunks: Vec<std::io::Result<Bytes>> = bytes
        .chunks(chunk)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    Box::pin(futures_util::stream::iter(chunks))
}

/// `len` bytes produced as they are sent, never held at once.
fn large_body(len: usize) -> ByteStream {
    let block = Bytes::from(vec![b'a'; 256 * 1024]);
    let count = len / block.len();
    Box::pin(futures_util::stream::iter(
        (0..count).map(move |_| Ok(block.clone())),
    ))
}

fn text(len: usize) -> Vec<u8> {
    b"Quarterly figures, revenue rose by 12 percent.\n"
        .iter()
        .copied()
        .cycle()
        .take(len)
        .collect()
}

fn quick() -> Timeouts {
    Timeouts {
        connect: Duration::from_secs(5),
        io: Duration::from_millis(500),
        reply: Duration::from_millis(500),
    }
}

#[tokio::test]
async fn a_clean_document_is_streamed_in_bounded_chunks() {
    let clamd = Stub::tcp(Mode::Scan { max: 10 << 20 }).await;
    let document = text(1_000_000);
    // The store's chunks are larger than what is sent at once.
    let verdict = clamd
        .scanner()
        .scan(body(&document, 300 * 1024))
        .await
        .unwrap();
    assert_eq!(verdict, ScanVerdict::Clean);
    let exchanges = clamd.exchanges();
    assert_eq!(exchanges.len(), 1);
    let exchange = &exchanges[0];
    assert_eq!(exchange.command, "zINSTREAM");
    assert!(exchange.terminated, "ends with a zero-length chunk");
    assert_eq!(exchange.chunks.iter().sum::<usize>(), document.len());
    assert!(exchange.chunks.iter().all(|&c| c > 0 && c <= CHUNK_LEN));
}

#[tokio::test]
async fn eicar_is_found_and_named() {
    let clamd = Stub::tcp(Mode::Scan { max: 10 << 20 }).await;
    let verdict = clamd.scanner().scan(body(EICAR, 68)).await.unwrap();
    assert_eq!(
        verdict,
        ScanVerdict::Infected {
            signature: "Eicar-Test-Signature".into()
        }
    );
    // Inside a larger document, across the store's chunks.
    let mut padded = text(200_000);
    padded.splice(100_000..100_000, EICAR.iter().copied());
    let verdict = clamd.scanner().scan(body(&padded, 100_010)).await.unwrap();
    assert!(matches!(verdict, ScanVerdict::Infected { .. }));
}

#[tokio::test]
async fn speaks_the_same_over_a_unix_socket() {
    let clamd = Stub::unix(Mode::Scan { max: 10 << 20 }).await;
    let scanner = clamd.scanner();
    scanner.ping().await.unwrap();
    assert_eq!(
        scanner.scan(body(&text(5000), 1000)).await.unwrap(),
        ScanVerdict::Clean
    );
    assert!(matches!(
        scanner.scan(body(EICAR, 10)).await.unwrap(),
        ScanVerdict::Infected { signature } if signature == "Eicar-Test-Signature"
    ));
}

#[tokio::test]
async fn answers_ping() {
    let clamd = Stub::tcp(Mode::Scan { max: 1 }).await;
    clamd.scanner().ping().await.unwrap();
    assert_eq!(clamd.exchanges()[0].command, "zPING");
}

#[tokio::test]
async fn an_error_answer_is_a_failure_to_retry() {
    let clamd = Stub::tcp(Mode::Error).await;
    let error = clamd
        .scanner()
        .scan(body(&text(1000), 100))
        .await
        .unwrap_err();
    let ScanError::Failed(e) = error else {
        panic!("an error answer is not a verdict: {error:?}")
    };
    let message = format!("{e:#}");
    assert!(message.contains(&format!("clamd at {}", clamd.address)));
    assert!(
        message.contains("Can't write to temporary file"),
        "{message}"
    );
}

#[tokio::test]
async fn a_document_over_clamds_limit_is_too_large() {
    for clamd in [
        Stub::tcp(Mode::Scan { max: 100 * 1024 }).await,
        Stub::unix(Mode::Scan { max: 100 * 1024 }).await,
    ] {
        // Just over: clamd answers before the end.
        let error = clamd
            .scanner()
            .scan(body(&text(150 * 1024), 8192))
            .await
            .unwrap_err();
        assert!(matches!(error, ScanError::TooLarge), "{error:?}");
        // Far over: clamd closes the connection under the writes, its answer still counts.
        let error = clamd
            .scanner()
            .scan(large_body(64 << 20))
            .await
            .unwrap_err();
        assert!(matches!(error, ScanError::TooLarge), "{error:?}");
    }
}

#[tokio::test]
async fn a_clamd_that_never_answers_times_out() {
    let clamd = Stub::tcp(Mode::Silent).await;
    let error = clamd
        .scanner()
        .with_timeouts(quick())
        .scan_stream(body(&text(1000), 100))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            ClamdError::Timeout {
                waiting_for: "the scan result",
                ..
            }
        ),
        "{error}"
    );
    let error = clamd
        .scanner()
        .with_timeouts(quick())
        .scan(body(&text(1000), 100))
        .await
        .unwrap_err();
    assert!(matches!(&error, ScanError::Failed(e) if format!("{e:#}").contains("timed out")));
}

#[tokio::test]
async fn a_clamd_that_stops_reading_times_out() {
    let clamd = Stub::unix(Mode::Stalled).await;
    // More than the socket buffers hold, so a write blocks.
    let error = clamd
        .scanner()
        .with_timeouts(quick())
        .scan_stream(large_body(64 << 20))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            ClamdError::Timeout {
                waiting_for: "sending the document",
                ..
            }
        ),
        "{error}"
    );
}

#[tokio::test]
async fn nobody_listening_is_a_failure() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let scanner = ClamdScanner::new(ClamdAddress::Tcp(format!("127.0.0.1:{port}")));
    assert!(matches!(
        scanner.scan_stream(body(b"x", 1)).await,
        Err(ClamdError::Connect(_))
    ));
    assert!(matches!(
        scanner.scan(body(b"x", 1)).await,
        Err(ScanError::Failed(_))
    ));
    let missing = tempfile::tempdir().unwrap();
    let scanner = ClamdScanner::new(ClamdAddress::Unix(missing.path().join("clamd.sock")));
    assert!(matches!(scanner.ping().await, Err(ClamdError::Connect(_))));
}

#[tokio::test]
async fn a_failing_store_is_a_failure_not_a_verdict() {
    let clamd = Stub::tcp(Mode::Scan { max: 10 << 20 }).await;
    let broken: ByteStream = Box::pin(futures_util::stream::iter(vec![
        Ok(Bytes::from_static(b"Quarterly figures")),
        Err(std::io::Error::other("storage went away")),
    ]));
    let error = clamd.scanner().scan_stream(broken).await.unwrap_err();
    assert!(matches!(error, ClamdError::Source(_)), "{error}");
    // The stub sees the connection end without the zero-length chunk.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !clamd.exchanges().first().is_some_and(|s| s.cut_short) {
        assert!(
            std::time::Instant::now() < deadline,
            "{:?}",
            clamd.exchanges()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        !clamd.exchanges()[0].terminated,
        "an unfinished document is never ended as if complete"
    );
}

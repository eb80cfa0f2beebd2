//! The inspection of a stored object as it streams in: MD5 and SHA-256 each on a blocking thread
//! of its own, fed the same chunks (shared, not copied) through short bounded queues, while the
//! caller's task reads the stream and sniffs the type. The pass then takes as long as the slower
//! digest alone, and memory stays bounded: a few chunks in flight per queue.

use super::{DetectedType, Inspection, Sniffer};
use crate::ports::ByteStream;
use bytes::Bytes;
use futures_util::StreamExt;
use md5::digest::Output;
use md5::{Digest, Md5};
use sha2::Sha256;
use std::io;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Chunks queued per digest: enough to ride out the reader's hiccups, few enough that memory
/// stays a small multiple of the chunk size.
const QUEUE_DEPTH: usize = 4;

#[derive(Debug, PartialEq, Eq)]
pub enum StreamInspection {
    Complete(Inspection),
    /// More than the allowed bytes: reading stopped there, with what the type looked like.
    TooLarge {
        detected: DetectedType,
    },
}

/// Reads `stream` to its end (or to `max_bytes` + 1) and inspects every byte once.
pub async fn inspect_stream(
    mut stream: ByteStream,
    max_bytes: u64,
) -> io::Result<StreamInspection> {
    let md5 = DigestThread::<Md5>::spawn();
    let sha256 = DigestThread::<Sha256>::spawn();
    let mut sniffer = Sniffer::new();
    let mut seen: u64 = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if chunk.is_empty() {
            continue;
        }
        seen += chunk.len() as u64;
        if seen > max_bytes {
            // No need to read the rest of an object that is already too large; the digest
            // threads end when their queues close.
            let (_, detected) = sniffer.finish();
            return Ok(StreamInspection::TooLarge { detected });
        }
        sniffer.update(&chunk);
        md5.send(chunk.clone()).await?;
        sha256.send(chunk).await?;
    }
    let (size, detected) = sniffer.finish();
    Ok(StreamInspection::Complete(Inspection {
        size,
        md5: md5.finish().await?.into(),
        sha256: sha256.finish().await?.into(),
        detected,
    }))
}

struct DigestThread<D: Digest> {
    chunks: mpsc::Sender<Bytes>,
    digest: JoinHandle<D>,
}

impl<D: Digest + Send + 'static> DigestThread<D> {
    fn spawn() -> Self {
        let (chunks, mut queue) = mpsc::channel::<Bytes>(QUEUE_DEPTH);
        let digest = tokio::task::spawn_blocking(move || {
            let mut digest = D::new();
            while let Some(chunk) = queue.blocking_recv() {
                digest.update(&chunk);
            }
            digest
        });
        Self { chunks, digest }
    }

    async fn send(&self, chunk: Bytes) -> io::Result<()> {
        self.chunks
            .send(chunk)
            .await
            .map_err(|_| io::Error::other("a digest thread ended before the stream did"))
    }

    async fn finish(self) -> io::Result<Output<D>> {
        drop(self.chunks);
        let digest = self.digest.await.map_err(io::Error::other)?;
        Ok(digest.finalize())
    }
}

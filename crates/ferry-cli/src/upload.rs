//! Sending a file, or one part of it, straight to storage with a presigned request: streamed
//! from disk, with every header it was signed with, retried when the network fails.

use crate::api::{SignedRequest, unreachable};
use crate::failure::Failure;
use crate::progress::FileProgress;
use crate::throttle::Throttle;
use futures_util::TryStreamExt;
use reqwest::{Method, StatusCode, header};
use std::io::SeekFrom;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

const STREAM_CHUNK: usize = 256 * 1024;
const ATTEMPTS: u32 = 4;

/// What storage said to a PUT.
pub enum Stored {
    /// Stored, with the ETag it answered (parts need it for `complete`).
    Etag(String),
    /// An earlier attempt already stored it (412: an upload never replaces an object).
    Already,
}

pub struct Sender {
    pub http: reqwest::Client,
    pub throttle: Option<Arc<Throttle>>,
}

impl Sender {
    /// `len` bytes of `path` from `offset`, as `request` says.
    pub async fn put(
        &self,
        request: &SignedRequest,
        path: &Path,
        offset: u64,
        len: u64,
        progress: &FileProgress,
    ) -> anyhow::Result<Stored> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let counted = Arc::new(AtomicU64::new(0));
            match self
                .put_once(request, path, offset, len, progress, &counted)
                .await
            {
                Ok(stored) => return Ok(stored),
                Err(e) => {
                    // Those bytes will be sent again.
                    progress.retreat(counted.load(Ordering::Relaxed));
                    let retryable = e
                        .downcast_ref::<Failure>()
                        .is_some_and(|f| matches!(f, Failure::Unavailable(_)));
                    if !retryable || attempt >= ATTEMPTS {
                        return Err(e);
                    }
                    tokio::time::sleep(Duration::from_secs(1 << attempt)).await;
                }
            }
        }
    }

    async fn put_once(
        &self,
        request: &SignedRequest,
        path: &Path,
        offset: u64,
        len: u64,
        progress: &FileProgress,
        counted: &Arc<AtomicU64>,
    ) -> anyhow::Result<Stored> {
        let mut file = tokio::fs::File::open(path).await?;
        file.seek(SeekFrom::Start(offset)).await?;
        let throttle = self.throttle.clone();
        let progress = progress.clone();
        let counted = counted.clone();
        let body =
            ReaderStream::with_capacity(file.take(len), STREAM_CHUNK).and_then(move |chunk| {
                let throttle = throttle.clone();
                let progress = progress.clone();
                let counted = counted.clone();
                async move {
                    if let Some(throttle) = throttle {
                        throttle.admit(chunk.len() as u64).await;
                    }
                    progress.advance(chunk.len() as u64);
                    counted.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                    Ok(chunk)
                }
            });
        let method = Method::from_bytes(request.method.as_bytes())
            .map_err(|_| anyhow::anyhow!("the upload plan names an unknown method"))?;
        let mut builder = self
            .http
            .request(method, &request.url)
            .body(reqwest::Body::wrap_stream(body));
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        // A streamed body has no length of its own; storage needs it (and signed it).
        if !request
            .headers
            .keys()
            .any(|k| k.eq_ignore_ascii_case("content-length"))
        {
            builder = builder.header(header::CONTENT_LENGTH, len);
        }
        let response = builder.send().await.map_err(unreachable)?;
        let status = response.status();
        if status == StatusCode::PRECONDITION_FAILED {
            return Ok(Stored::Already);
        }
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            let detail: String = body.chars().take(300).collect();
            let message = format!("storage refused the upload ({status}): {detail}");
            return Err(
                if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
                    Failure::Unavailable(message)
                } else {
                    Failure::Refused(message)
                }
                .into(),
            );
        }
        let etag = response
            .headers()
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        Ok(Stored::Etag(etag))
    }
}

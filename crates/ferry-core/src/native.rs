//! The text extractor that needs no cloud: PDFs with a text layer and plain text formats are
//! read in process; images and scans get engine `none` (Textract handles them on AWS).

use crate::extract::{self, ExtractLimits};
use crate::model::Engine;
use crate::ports::{Extraction, ObjectStore, TextExtractor};
use crate::validation::DetectedType;
use anyhow::Context;
use async_trait::async_trait;
use futures_util::StreamExt;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::io::AsyncWriteExt;

pub struct NativeExtractor {
    store: Arc<dyn ObjectStore>,
    limits: ExtractLimits,
    spool_dir: Option<PathBuf>,
}

impl NativeExtractor {
    pub fn new(store: Arc<dyn ObjectStore>, limits: ExtractLimits) -> Self {
        Self {
            store,
            limits,
            spool_dir: None,
        }
    }

    /// Where documents are copied while they are read. Give a directory that the purge and a
    /// restart clean up, so a crash mid-extraction leaves no copy in the system's temp dir.
    pub fn with_spool_dir(mut self, dir: PathBuf) -> Self {
        self.spool_dir = Some(dir);
        self
    }

    /// Copies the object to a private temporary file: PDF parsing needs random access.
    async fn spool(&self, key: &str) -> anyhow::Result<Option<tempfile::NamedTempFile>> {
        let Some(mut stream) = self.store.get(key).await? else {
            return Ok(None);
        };
        let file = match &self.spool_dir {
            Some(dir) => tempfile::NamedTempFile::new_in(dir),
            None => tempfile::NamedTempFile::new(),
        }
        .context("creating a temporary file")?;
        let mut writer = tokio::fs::File::from_std(file.reopen()?);
        while let Some(chunk) = stream.next().await {
            writer.write_all(&chunk?).await?;
        }
        writer.flush().await?;
        Ok(Some(file))
    }
}

#[async_trait]
impl TextExtractor for NativeExtractor {
    async fn extract(
        &self,
        key: &str,
        detected: DetectedType,
        size: u64,
    ) -> anyhow::Result<Extraction> {
        let none = Extraction::none();
        match detected {
            DetectedType::Pdf if size <= self.limits.max_pdf_bytes => {
                let Some(file) = self.spool(key).await? else {
                    return Ok(none);
                };
                let limits = self.limits.clone();
                let result =
                    tokio::task::spawn_blocking(move || extract::extract_pdf(file.path(), &limits))
                        .await
                        .context("PDF extraction task")?;
                match result {
                    Ok(Some(text)) => Ok(Extraction {
                        engine: Engine::Native,
                        text: Some(text),
                    }),
                    Ok(None) => Ok(none),
                    Err(e) => {
                        // A PDF the parser cannot read is still a valid document to hand over.
                        tracing::info!(error = %e, "no text layer could be read");
                        Ok(none)
                    }
                }
            }
            DetectedType::Text | DetectedType::Csv => {
                let Some(stream) = self.store.get(key).await? else {
                    return Ok(none);
                };
                let reader = blocking_reader(stream);
                let limits = self.limits.clone();
                let text =
                    tokio::task::spawn_blocking(move || extract::extract_text(reader, &limits))
                        .await
                        .context("text extraction task")??;
                Ok(Extraction {
                    engine: Engine::Native,
                    text: Some(text),
                })
            }
            _ => Ok(none),
        }
    }
}

/// A blocking `Read` over the object stream, for the extractor's blocking thread.
fn blocking_reader(stream: crate::ports::ByteStream) -> impl std::io::Read + Send + 'static {
    let handle = tokio::runtime::Handle::current();
    StreamReader {
        stream,
        handle,
        buf: bytes::Bytes::new(),
    }
}

struct StreamReader {
    stream: crate::ports::ByteStream,
    handle: tokio::runtime::Handle,
    buf: bytes::Bytes,
}

impl std::io::Read for StreamReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.buf.is_empty() {
            match self.handle.block_on(self.stream.next()) {
                Some(chunk) => self.buf = chunk?,
                None => return Ok(0),
            }
        }
        let n = out.len().min(self.buf.len());
        out[..n].copy_from_slice(&self.buf.split_to(n));
        Ok(n)
    }
}

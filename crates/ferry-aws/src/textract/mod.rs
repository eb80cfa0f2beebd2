//! Text extraction with Amazon Textract, and the choice between it and native extraction.
//!
//! Single-page images go through DetectDocumentText; PDFs and TIFFs through an asynchronous
//! job that is polled with bounded exponential backoff and read page by page (`NextToken`).
//! [`CostAwareExtractor`] keeps documents that can be read in process away from Textract,
//! which charges per page.

pub mod blocks;
mod client;
mod cost;
#[cfg(test)]
mod tests;

pub use client::{AwsTextract, NotificationChannel, TextractApi};
pub use cost::{CostAwareExtractor, ExtractionMode};

use async_trait::async_trait;
use blocks::{JobStatus, TextCollector, TextractResponse};
use ferry_core::extract::ExtractLimits;
use ferry_core::model::Engine;
use ferry_core::ports::{Extraction, TextExtractor};
use ferry_core::validation::DetectedType;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Textract's limit for JPEG and PNG documents.
pub const MAX_IMAGE_BYTES: u64 = 10 * 1024 * 1024;
/// Textract's limit for PDF and TIFF documents of an asynchronous job.
pub const MAX_DOCUMENT_BYTES: u64 = 500 * 1024 * 1024;
/// Result pages followed for one job: Textract returns up to 1,000 blocks a page, so this
/// covers its 3,000-page maximum; a token that never ends is an error, not an endless loop.
const MAX_RESULT_PAGES: usize = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum TextractError {
    /// Textract refuses the document itself (corrupt, unsupported, too large): a retry gives the
    /// same answer.
    #[error("Textract cannot read the document: {0}")]
    Unreadable(String),
    #[error("the Textract job failed: {0}")]
    JobFailed(String),
    #[error("the Textract job {job_id} did not finish within {waited:?}")]
    Timeout { job_id: String, waited: Duration },
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextractSettings {
    pub limits: ExtractLimits,
    /// The wait before the first status check; each further wait doubles, up to
    /// `poll_max_delay`.
    pub poll_initial_delay: Duration,
    pub poll_max_delay: Duration,
    /// How long a job may run before the extraction gives up. Keep it below the function's
    /// timeout: the waiting is billed.
    pub max_wait: Duration,
    /// Passed to every job so that its completion is also published to SNS.
    pub notification: Option<NotificationChannel>,
}

impl Default for TextractSettings {
    fn default() -> Self {
        Self {
            limits: ExtractLimits::default(),
            poll_initial_delay: Duration::from_secs(2),
            poll_max_delay: Duration::from_secs(30),
            max_wait: Duration::from_secs(10 * 60),
            notification: None,
        }
    }
}

/// [`TextExtractor`] on Textract, for the objects of one bucket.
pub struct TextractExtractor {
    api: Arc<dyn TextractApi>,
    bucket: String,
    settings: TextractSettings,
}

impl TextractExtractor {
    pub fn new(api: Arc<dyn TextractApi>, bucket: String, settings: TextractSettings) -> Self {
        Self {
            api,
            bucket,
            settings,
        }
    }

    /// Text of a single-page image.
    async fn detect(&self, key: &str) -> Result<Extraction, TextractError> {
        let response = self.api.detect_document_text(&self.bucket, key).await?;
        let mut collector = TextCollector::new(self.settings.limits.clone());
        collector.add(response);
        Ok(textract(collector))
    }

    /// Text of a multi-page document, through an asynchronous job.
    async fn run_job(&self, key: &str) -> Result<Extraction, TextractError> {
        let job_id = self
            .api
            .start_document_text_detection(&self.bucket, key, self.settings.notification.as_ref())
            .await?;
        tracing::info!(job_id, "Textract job started");
        let first = self.wait_for(&job_id).await?;
        let mut collector = TextCollector::new(self.settings.limits.clone());
        let mut next_token = first.next_token.clone();
        note_warnings(&job_id, &first);
        collector.add(first);
        let mut fetched = 1;
        while let Some(token) = next_token {
            if fetched >= MAX_RESULT_PAGES {
                return Err(anyhow::anyhow!(
                    "the Textract job {job_id} returned more than {MAX_RESULT_PAGES} result pages"
                )
                .into());
            }
            let page = self
                .api
                .get_document_text_detection(&job_id, Some(&token))
                .await?;
            fetched += 1;
            next_token = page.next_token.clone();
            note_warnings(&job_id, &page);
            collector.add(page);
        }
        Ok(textract(collector))
    }

    /// Polls the job until it is done; returns its first page of results.
    async fn wait_for(&self, job_id: &str) -> Result<TextractResponse, TextractError> {
        let started = Instant::now();
        let deadline = started + self.settings.max_wait;
        let mut delay = self.settings.poll_initial_delay;
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Err(TextractError::Timeout {
                    job_id: job_id.to_owned(),
                    waited: now - started,
                });
            }
            tokio::time::sleep(delay.min(deadline - now)).await;
            let response = self.api.get_document_text_detection(job_id, None).await?;
            match response.job_status {
                Some(JobStatus::Succeeded) => return Ok(response),
                Some(JobStatus::PartialSuccess) => {
                    tracing::warn!(
                        job_id,
                        status_message = response.status_message.as_deref(),
                        "Textract read the document only in part"
                    );
                    return Ok(response);
                }
                Some(JobStatus::Failed) => {
                    return Err(TextractError::JobFailed(
                        response
                            .status_message
                            .unwrap_or_else(|| "no reason given".to_owned()),
                    ));
                }
                Some(JobStatus::InProgress) => {}
                Some(JobStatus::Unknown) | None => {
                    return Err(anyhow::anyhow!(
                        "the Textract job {job_id} reported no known status"
                    )
                    .into());
                }
            }
            delay = delay.saturating_mul(2).min(self.settings.poll_max_delay);
        }
    }
}

fn textract(collector: TextCollector) -> Extraction {
    Extraction {
        engine: Engine::Textract,
        text: collector.finish(),
    }
}

fn note_warnings(job_id: &str, response: &TextractResponse) {
    for warning in &response.warnings {
        tracing::warn!(
            job_id,
            error_code = warning.error_code.as_deref(),
            pages = ?warning.pages,
            "Textract skipped pages"
        );
    }
}

#[async_trait]
impl TextExtractor for TextractExtractor {
    async fn extract(
        &self,
        key: &str,
        detected: DetectedType,
        size: u64,
    ) -> anyhow::Result<Extraction> {
        let none = Extraction::none();
        let result = match detected {
            DetectedType::Png | DetectedType::Jpeg if size <= MAX_IMAGE_BYTES => {
                self.detect(key).await
            }
            DetectedType::Pdf | DetectedType::Tiff if size <= MAX_DOCUMENT_BYTES => {
                self.run_job(key).await
            }
            DetectedType::Png | DetectedType::Jpeg | DetectedType::Pdf | DetectedType::Tiff => {
                tracing::info!(%detected, size, "too large for Textract");
                return Ok(none);
            }
            _ => return Ok(none),
        };
        match result {
            Ok(extraction) => Ok(extraction),
            // The document is still valid to hand over, just without its text.
            Err(TextractError::Unreadable(reason)) => {
                tracing::info!(%detected, reason, "Textract cannot read the document");
                Ok(none)
            }
            Err(e) => Err(e.into()),
        }
    }
}

//! The three Textract calls Ferry makes, behind a trait so that the extractor can be tested
//! without the service, and their implementation on the AWS SDK.

use super::TextractError;
use super::blocks::{
    Block, BlockType, BoundingBox, DocumentMetadata, Geometry, JobStatus, Relationship,
    TextractResponse, Warning,
};
use anyhow::Context;
use async_trait::async_trait;
use aws_sdk_textract::error::{DisplayErrorContext, SdkError};
use aws_sdk_textract::operation::detect_document_text::DetectDocumentTextOutput;
use aws_sdk_textract::operation::get_document_text_detection::GetDocumentTextDetectionOutput;
use aws_sdk_textract::types as sdk;

/// Where Textract announces the end of a job: an SNS topic, and the role that lets Textract
/// publish to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotificationChannel {
    pub sns_topic_arn: String,
    pub role_arn: String,
}

#[async_trait]
pub trait TextractApi: Send + Sync {
    /// Synchronous text detection of a single-page document in S3.
    async fn detect_document_text(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<TextractResponse, TextractError>;

    /// Starts an asynchronous text detection job; returns its id.
    async fn start_document_text_detection(
        &self,
        bucket: &str,
        key: &str,
        notification: Option<&NotificationChannel>,
    ) -> Result<String, TextractError>;

    /// The job's status and, once done, one page of its blocks.
    async fn get_document_text_detection(
        &self,
        job_id: &str,
        next_token: Option<&str>,
    ) -> Result<TextractResponse, TextractError>;
}

/// [`TextractApi`] on the AWS SDK.
#[derive(Clone, Debug)]
pub struct AwsTextract {
    client: aws_sdk_textract::Client,
}

impl AwsTextract {
    pub fn new(client: aws_sdk_textract::Client) -> Self {
        Self { client }
    }

    pub fn from_conf(config: &aws_config::SdkConfig) -> Self {
        Self::new(aws_sdk_textract::Client::new(config))
    }
}

fn s3_object(bucket: &str, key: &str) -> sdk::S3Object {
    sdk::S3Object::builder().bucket(bucket).name(key).build()
}

/// The document id of a system-chosen key, used as the job's idempotency token and tag: a
/// retried extraction gets the job already started instead of paying for a second one.
pub(super) fn job_token(key: &str) -> Option<String> {
    ferry_core::ports::parse_object_key(key).map(|(_, document)| document.to_string())
}

/// Errors about the document itself are final; everything else (throttling, access, the
/// network) is worth a retry and stays unexpected.
fn classify<E, R>(
    error: SdkError<E, R>,
    unreadable: impl Fn(&E) -> bool,
    call: &str,
) -> TextractError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    if error.as_service_error().is_some_and(unreadable) {
        return TextractError::Unreadable(DisplayErrorContext(&error).to_string());
    }
    TextractError::Unexpected(anyhow::Error::new(error).context(call.to_owned()))
}

#[async_trait]
impl TextractApi for AwsTextract {
    async fn detect_document_text(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<TextractResponse, TextractError> {
        let output = self
            .client
            .detect_document_text()
            .document(
                sdk::Document::builder()
                    .s3_object(s3_object(bucket, key))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| {
                classify(
                    e,
                    |e| {
                        e.is_bad_document_exception()
                            || e.is_document_too_large_exception()
                            || e.is_unsupported_document_exception()
                    },
                    "Textract DetectDocumentText",
                )
            })?;
        Ok(from_detect_output(output))
    }

    async fn start_document_text_detection(
        &self,
        bucket: &str,
        key: &str,
        notification: Option<&NotificationChannel>,
    ) -> Result<String, TextractError> {
        let channel = notification
            .map(|n| {
                sdk::NotificationChannel::builder()
                    .sns_topic_arn(&n.sns_topic_arn)
                    .role_arn(&n.role_arn)
                    .build()
                    .context("building the notification channel")
            })
            .transpose()?;
        let token = job_token(key);
        let output = self
            .client
            .start_document_text_detection()
            .document_location(
                sdk::DocumentLocation::builder()
                    .s3_object(s3_object(bucket, key))
                    .build(),
            )
            .set_notification_channel(channel)
            .set_client_request_token(token.clone())
            .set_job_tag(token)
            .send()
            .await
            .map_err(|e| {
                classify(
                    e,
                    |e| {
                        e.is_bad_document_exception()
                            || e.is_document_too_large_exception()
                            || e.is_unsupported_document_exception()
                    },
                    "Textract StartDocumentTextDetection",
                )
            })?;
        output
            .job_id
            .ok_or_else(|| anyhow::anyhow!("Textract started a job without an id").into())
    }

    async fn get_document_text_detection(
        &self,
        job_id: &str,
        next_token: Option<&str>,
    ) -> Result<TextractResponse, TextractError> {
        let output = self
            .client
            .get_document_text_detection()
            .job_id(job_id)
            .set_next_token(next_token.map(str::to_owned))
            .send()
            .await
            .map_err(|e| classify(e, |_| false, "Textract GetDocumentTextDetection"))?;
        Ok(from_get_output(output))
    }
}

pub(crate) fn from_detect_output(output: DetectDocumentTextOutput) -> TextractResponse {
    TextractResponse {
        job_status: None,
        status_message: None,
        next_token: None,
        document_metadata: output.document_metadata.map(from_metadata),
        blocks: from_blocks(output.blocks),
        warnings: Vec::new(),
    }
}

pub(crate) fn from_get_output(output: GetDocumentTextDetectionOutput) -> TextractResponse {
    TextractResponse {
        job_status: output
            .job_status
            .as_ref()
            .map(|s| JobStatus::from_name(s.as_str())),
        status_message: output.status_message,
        next_token: output.next_token,
        document_metadata: output.document_metadata.map(from_metadata),
        blocks: from_blocks(output.blocks),
        warnings: output
            .warnings
            .unwrap_or_default()
            .into_iter()
            .map(|w| Warning {
                error_code: w.error_code,
                pages: w
                    .pages
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|p| u32::try_from(p).ok())
                    .collect(),
            })
            .collect(),
    }
}

fn from_metadata(metadata: sdk::DocumentMetadata) -> DocumentMetadata {
    DocumentMetadata {
        pages: metadata.pages.and_then(|p| u32::try_from(p).ok()),
    }
}

fn from_blocks(blocks: Option<Vec<sdk::Block>>) -> Vec<Block> {
    blocks
        .unwrap_or_default()
        .into_iter()
        .map(from_block)
        .collect()
}

pub(crate) fn from_block(block: sdk::Block) -> Block {
    Block {
        block_type: block
            .block_type
            .as_ref()
            .map_or(BlockType::Other, |t| BlockType::from_name(t.as_str())),
        id: block.id,
        page: block.page.and_then(|p| u32::try_from(p).ok()),
        text: block.text,
        confidence: block.confidence,
        geometry: block.geometry.map(|g| Geometry {
            bounding_box: g.bounding_box.map(|b| BoundingBox {
                width: b.width,
                height: b.height,
                left: b.left,
                top: b.top,
            }),
        }),
        relationships: block
            .relationships
            .unwrap_or_default()
            .into_iter()
            .map(|r| Relationship {
                r#type: r.r#type.map(|t| t.as_str().to_owned()),
                ids: r.ids.unwrap_or_default(),
            })
            .collect(),
    }
}

//! The object store on S3. Uploads and downloads never pass through a function: clients get
//! presigned requests whose signature covers the MD5, the exact size and `If-None-Match: *`, so
//! S3 itself refuses other bytes, other sizes and overwrites.

use anyhow::Context;
use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::operation::head_object::HeadObjectOutput;
use aws_sdk_s3::presigning::{PresignedRequest as SdkPresigned, PresigningConfig};
use aws_sdk_s3::primitives::ByteStream as SdkByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart as SdkPart, ObjectIdentifier};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use ferry_core::disposition;
use ferry_core::ports::{ByteStream, CompletedPart, ObjectStore, PresignedRequest, StoreError};
use ferry_core::values::ContentMd5;
use std::time::Duration;

/// S3 accepts presigned URLs for at most seven days.
const MAX_PRESIGN: Duration = Duration::from_secs(7 * 24 * 3600);

pub struct S3ObjectStore {
    client: Client,
    bucket: String,
}

/// An S3 client for `sdk`; a custom endpoint (moto, LocalStack, MinIO) gets path-style
/// addressing, which emulators need and S3 itself does not.
pub fn client(sdk: &aws_config::SdkConfig) -> Client {
    let config = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(sdk.endpoint_url().is_some())
        .build();
    Client::from_conf(config)
}

impl S3ObjectStore {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The object's metadata; `None` when it does not exist.
    pub(crate) async fn head(&self, key: &str) -> anyhow::Result<Option<HeadObjectOutput>> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => Ok(Some(out)),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
            Err(e) => Err(anyhow::Error::new(e).context("reading an object's metadata")),
        }
    }

    async fn exists(&self, key: &str) -> anyhow::Result<bool> {
        Ok(self.size(key).await?.is_some())
    }
}

fn presigning(expires_at: DateTime<Utc>) -> anyhow::Result<PresigningConfig> {
    let left = (expires_at - Utc::now())
        .to_std()
        .unwrap_or(Duration::from_secs(1))
        .clamp(Duration::from_secs(1), MAX_PRESIGN);
    Ok(PresigningConfig::expires_in(left)?)
}

/// The request as the client must send it. `host` and `content-length` are signed but set by
/// every HTTP client itself (browsers refuse to set them), so they are not listed.
fn to_plan(request: &SdkPresigned) -> PresignedRequest {
    PresignedRequest {
        method: request.method().to_owned(),
        url: request.uri().to_owned(),
        headers: request
            .headers()
            .filter(|(name, _)| !name.eq_ignore_ascii_case("host"))
            .filter(|(name, _)| !name.eq_ignore_ascii_case("content-length"))
            .map(|(name, value)| (canonical_header(name), value.to_owned()))
            .collect(),
    }
}

/// `content-md5` → `Content-MD5`, the spelling the API documents.
fn canonical_header(name: &str) -> String {
    match name.to_ascii_lowercase().as_str() {
        "content-md5" => "Content-MD5".into(),
        "if-none-match" => "If-None-Match".into(),
        "content-type" => "Content-Type".into(),
        other => other.to_owned(),
    }
}

fn i64_of(n: u64) -> anyhow::Result<i64> {
    i64::try_from(n).context("size out of range")
}

#[async_trait]
impl ObjectStore for S3ObjectStore {
    async fn presign_put(
        &self,
        key: &str,
        md5: &ContentMd5,
        size: u64,
        expires_at: DateTime<Utc>,
    ) -> anyhow::Result<PresignedRequest> {
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_md5(md5.to_base64())
            .content_length(i64_of(size)?)
            .if_none_match("*")
            .presigned(presigning(expires_at)?)
            .await
            .context("presigning a PUT")?;
        Ok(to_plan(&request))
    }

    async fn create_multipart(&self, key: &str) -> anyhow::Result<String> {
        let out = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .context("starting a multipart upload")?;
        out.upload_id()
            .map(str::to_owned)
            .context("S3 returned no upload id")
    }

    async fn presign_part(
        &self,
        key: &str,
        upload_id: &str,
        number: u32,
        md5: &ContentMd5,
        size: u64,
        expires_at: DateTime<Utc>,
    ) -> anyhow::Result<PresignedRequest> {
        let request = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(i32::try_from(number).context("part number out of range")?)
            .content_md5(md5.to_base64())
            .content_length(i64_of(size)?)
            .presigned(presigning(expires_at)?)
            .await
            .context("presigning a part")?;
        Ok(to_plan(&request))
    }

    async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[CompletedPart],
    ) -> Result<(), StoreError> {
        let mut completed = Vec::with_capacity(parts.len());
        for part in parts {
            let number = i32::try_from(part.number)
                .map_err(|_| StoreError::InvalidParts("part number out of range".into()))?;
            completed.push(
                SdkPart::builder()
                    .part_number(number)
                    .e_tag(&part.etag)
                    .build(),
            );
        }
        let result = self
            .client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(completed))
                    .build(),
            )
            .if_none_match("*")
            .send()
            .await;
        let Err(e) = result else {
            return Ok(());
        };
        match e.code() {
            // A retried completion: the first one put the object in place.
            Some("NoSuchUpload") if self.exists(key).await? => Ok(()),
            Some("InvalidPart" | "InvalidPartOrder" | "EntityTooSmall" | "NoSuchUpload") => {
                Err(StoreError::InvalidParts(
                    e.message()
                        .unwrap_or("the parts do not make a complete upload")
                        .to_owned(),
                ))
            }
            _ => Err(StoreError::Other(
                anyhow::Error::new(e).context("completing a multipart upload"),
            )),
        }
    }

    async fn abort_multipart(&self, key: &str, upload_id: &str) -> anyhow::Result<()> {
        match self
            .client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("NoSuchUpload") => Ok(()),
            Err(e) => Err(anyhow::Error::new(e).context("aborting a multipart upload")),
        }
    }

    async fn presign_get(
        &self,
        key: &str,
        download_name: &str,
        content_type: &str,
        expires_at: DateTime<Utc>,
    ) -> anyhow::Result<String> {
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .response_content_disposition(disposition::attachment(download_name))
            .response_content_type(content_type)
            .response_cache_control("no-store")
            .presigned(presigning(expires_at)?)
            .await
            .context("presigning a GET")?;
        Ok(request.uri().to_owned())
    }

    async fn get(&self, key: &str) -> anyhow::Result<Option<ByteStream>> {
        let out = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if e.code() == Some("NoSuchKey") => return Ok(None),
            Err(e) => return Err(anyhow::Error::new(e).context("reading an object")),
        };
        Ok(Some(Box::pin(chunks(out.body))))
    }

    async fn size(&self, key: &str) -> anyhow::Result<Option<u64>> {
        Ok(self.head(key).await?.map(|out| {
            out.content_length()
                .and_then(|n| u64::try_from(n).ok())
                .unwrap_or(0)
        }))
    }

    async fn put_small(&self, key: &str, body: Bytes, content_type: &str) -> anyhow::Result<()> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(SdkByteStream::from(body))
            .send()
            .await
            .context("writing an object")?;
        Ok(())
    }

    async fn delete(&self, key: &str) -> anyhow::Result<()> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .context("deleting an object")?;
        // Where versioning is on, the delete above only added a marker: remove every version
        // of this key (the listing is by prefix, so keep exact matches only).
        let listing = self
            .client
            .list_object_versions()
            .bucket(&self.bucket)
            .prefix(key)
            .send()
            .await
            .context("listing an object's versions")?;
        let versions = listing
            .versions()
            .iter()
            .map(|v| (v.key(), v.version_id()))
            .chain(
                listing
                    .delete_markers()
                    .iter()
                    .map(|m| (m.key(), m.version_id())),
            )
            .filter(|(k, _)| *k == Some(key))
            .filter_map(|(_, version)| version)
            .filter(|version| *version != "null");
        let mut objects = Vec::new();
        for version in versions {
            objects.push(
                ObjectIdentifier::builder()
                    .key(key)
                    .version_id(version)
                    .build()
                    .context("naming an object version")?,
            );
        }
        if !objects.is_empty() {
            self.client
                .delete_objects()
                .bucket(&self.bucket)
                .delete(
                    aws_sdk_s3::types::Delete::builder()
                        .set_objects(Some(objects))
                        .quiet(true)
                        .build()
                        .context("listing versions to delete")?,
                )
                .send()
                .await
                .context("deleting an object's versions")?;
        }
        Ok(())
    }
}

/// The SDK's body as the ports' byte stream: chunks as they arrive, never the whole object.
pub(crate) fn chunks(
    body: SdkByteStream,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send {
    futures_util::stream::unfold(body, |mut body| async move {
        body.next()
            .await
            .map(|chunk| (chunk.map_err(std::io::Error::other), body))
    })
}

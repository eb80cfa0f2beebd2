//! `DiskObjectStore`: the `ObjectStore` port on the local file system, behaving like an S3
//! bucket whose uploads and downloads go through presigned URLs to `/_storage/{key}`.

use super::disk::{ConcatError, Disk, ReceiveError, Received};
use super::error::StorageError;
use super::keys::{MAX_PART_NUMBER, ObjectKey, UploadId};
use super::signing::{Grant, Refusal, Signer};
use anyhow::Context;
use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use ferry_core::disposition;
use ferry_core::ports::{
    ByteStream, CompletedPart, Job, ObjectStore, PresignedRequest, StoreError, WorkQueue,
};
use ferry_core::values::ContentMd5;
use futures_util::Stream;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio_util::io::ReaderStream;

/// S3's largest part; a signed part URL cannot be used to fill the disk beyond it.
const MAX_PART_BYTES: u64 = 5 * 1024 * 1024 * 1024;

/// Chunk size of downloads and of `get` streams.
const READ_CHUNK: usize = 64 * 1024;

/// The longest response content type a download URL may carry.
const MAX_CONTENT_TYPE_LEN: usize = 255;

pub struct DiskObjectStore {
    disk: Disk,
    signer: Signer,
    public_url: String,
    queue: Arc<dyn WorkQueue>,
}

impl DiskObjectStore {
    /// A store of the objects under `root`, whose presigned URLs start with `public_url` (no
    /// trailing slash) and are signed with `signing_key`. New uploaded documents are announced
    /// on `queue`, as the bucket's event notification does in AWS.
    pub fn new(
        root: PathBuf,
        public_url: String,
        signing_key: [u8; 32],
        queue: Arc<dyn WorkQueue>,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            disk: Disk::open(root)?,
            signer: Signer::new(signing_key),
            public_url: public_url.trim_end_matches('/').to_owned(),
            queue,
        })
    }

    /// Like S3's lifecycle rule for incomplete multipart uploads: removes the uploads created
    /// more than `age` ago that were neither completed nor aborted, with their parts.
    pub async fn delete_incomplete_uploads_older_than(&self, age: Duration) -> anyhow::Result<()> {
        let Some(cutoff) = SystemTime::now().checked_sub(age) else {
            return Ok(());
        };
        let mut removed = 0;
        for upload in self.disk.staged_uploads().await? {
            let created = upload
                .meta
                .map(|m| UNIX_EPOCH + Duration::from_secs(m.created_at.max(0).unsigned_abs()))
                .unwrap_or(upload.modified);
            if created < cutoff {
                self.disk.remove_upload(&upload.id).await?;
                removed += 1;
            }
        }
        if removed > 0 {
            tracing::info!(removed, "incomplete multipart uploads deleted");
        }
        Ok(())
    }

    /// Checks a request's presigned URL and returns what it allows.
    pub(super) fn verify(
        &self,
        method: &http::Method,
        key: &ObjectKey,
        query: &str,
    ) -> Result<Grant, Refusal> {
        self.signer
            .verify(method, key, query, Utc::now().timestamp())
    }

    /// Stores a whole object from a client's PUT and returns its MD5. Nothing is stored unless
    /// the body has exactly `size` bytes and the MD5 `md5`.
    pub(super) async fn store_object<S, E>(
        &self,
        key: &ObjectKey,
        md5: &ContentMd5,
        size: u64,
        body: S,
    ) -> Result<[u8; 16], StorageError>
    where
        S: Stream<Item = Result<Bytes, E>>,
        E: std::fmt::Display,
    {
        // Refused before the body is read, and again atomically when it is placed.
        if self.disk.object_exists(key).await? {
            return Err(StorageError::AlreadyExists);
        }
        let received = self.receive_exactly(body, size, md5, &[]).await?;
        if key.is_speed_probe() {
            // Received and checked like any upload, then dropped with its temporary file.
            return Ok(received.md5);
        }
        if !self.disk.place_new_object(received.temp, key).await? {
            return Err(StorageError::AlreadyExists);
        }
        self.announce(key).await?;
        tracing::info!(%key, size, "object stored");
        Ok(received.md5)
    }

    /// Streams the body to a temporary file: exactly `size` bytes whose MD5 is `md5`, or an
    /// error and nothing kept.
    async fn receive_exactly<S, E>(
        &self,
        body: S,
        size: u64,
        md5: &ContentMd5,
        header: &[u8],
    ) -> Result<Received, StorageError>
    where
        S: Stream<Item = Result<Bytes, E>>,
        E: std::fmt::Display,
    {
        let received = self
            .disk
            .receive(body, size, header)
            .await
            .map_err(|e| match e {
                ReceiveError::TooLong => StorageError::SizeMismatch {
                    expected: size,
                    actual: None,
                },
                ReceiveError::Body => StorageError::UnreadableBody,
                ReceiveError::Io(e) => StorageError::Unexpected(e),
            })?;
        if received.len != size {
            return Err(StorageError::SizeMismatch {
                expected: size,
                actual: Some(received.len),
            });
        }
        if &received.md5 != md5.digest() {
            return Err(StorageError::BadDigest);
        }
        Ok(received)
    }

    /// Stores one part of a multipart upload and returns its MD5.
    pub(super) async fn store_part<S, E>(
        &self,
        key: &ObjectKey,
        upload_id: &UploadId,
        number: u32,
        md5: &ContentMd5,
        size: u64,
        body: S,
    ) -> Result<[u8; 16], StorageError>
    where
        S: Stream<Item = Result<Bytes, E>>,
        E: std::fmt::Display,
    {
        match self.disk.upload(upload_id).await? {
            Some(meta) if meta.key == key.as_str() => {}
            _ => return Err(StorageError::NoSuchUpload),
        }
        let header = super::disk::part_header(md5.digest());
        let received = self.receive_exactly(body, size, md5, &header).await?;
        if !self
            .disk
            .place_part(received.temp, upload_id, number)
            .await?
        {
            return Err(StorageError::NoSuchUpload);
        }
        tracing::debug!(%key, number, size = received.len, "part stored");
        Ok(received.md5)
    }

    /// The object's bytes and length, for a download; `None` when there is no such object.
    pub(super) async fn download(
        &self,
        key: &ObjectKey,
    ) -> anyhow::Result<Option<(ByteStream, u64)>> {
        Ok(self
            .disk
            .open_object(key)
            .await?
            .map(|(file, len)| (stream(file), len)))
    }

    /// Puts `body` at `key`, replacing what is there, and announces it: what S3's CopyObject
    /// and its event do for a file handed over from a drop folder.
    pub async fn copy_in(&self, key: &str, body: ByteStream) -> anyhow::Result<()> {
        let key = ObjectKey::parse(key)?;
        let received = match self.disk.receive(body, u64::MAX, &[]).await {
            Ok(received) => received,
            Err(ReceiveError::Io(e)) => return Err(e),
            Err(ReceiveError::Body | ReceiveError::TooLong) => {
                anyhow::bail!("the file for {key} could not be read to its end")
            }
        };
        self.disk.place_object(received.temp, &key).await?;
        self.announce(&key).await?;
        tracing::info!(%key, size = received.len, "object copied in");
        Ok(())
    }

    /// Tells the pipeline that bytes arrived; durable before the client hears of success.
    async fn announce(&self, key: &ObjectKey) -> anyhow::Result<()> {
        if key.notifies() {
            self.queue
                .enqueue(
                    &Job::ObjectCreated {
                        key: key.to_string(),
                    },
                    Duration::ZERO,
                )
                .await
                .with_context(|| format!("announcing the new object {key}"))?;
        }
        Ok(())
    }

    /// A completion whose upload is gone succeeds if the object is there: it is a retry of a
    /// completion that already went through.
    async fn already_completed(&self, key: &ObjectKey) -> Result<(), StoreError> {
        if self.disk.object_len(key).await?.is_some() {
            Ok(())
        } else {
            Err(StoreError::InvalidParts(
                "no such upload: it was aborted, expired or never created".into(),
            ))
        }
    }
}

fn stream(file: tokio::fs::File) -> ByteStream {
    Box::pin(ReaderStream::with_capacity(file, READ_CHUNK))
}

/// Parts are listed once each, numbered 1, 2, 3… with an ETag that can be an MD5.
fn check_parts(parts: &[CompletedPart]) -> Result<Vec<(u32, String)>, StoreError> {
    if parts.is_empty() {
        return Err(StoreError::InvalidParts(
            "an upload has at least one part".into(),
        ));
    }
    if parts.len() > MAX_PART_NUMBER as usize {
        return Err(StoreError::InvalidParts(format!(
            "an upload has at most {MAX_PART_NUMBER} parts"
        )));
    }
    let mut listed = Vec::with_capacity(parts.len());
    for (i, part) in parts.iter().enumerate() {
        if part.number as usize != i + 1 {
            return Err(StoreError::InvalidParts(
                "list every part once, in ascending order from 1, without gaps".into(),
            ));
        }
        let hex = part.etag.trim().trim_matches('"');
        if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(StoreError::InvalidParts(format!(
                "part {}: the ETag is not one this store answered",
                part.number
            )));
        }
        listed.push((part.number, part.etag.clone()));
    }
    Ok(listed)
}

/// A content type fit to be sent back as a header: printable ASCII, no line breaks.
fn check_content_type(content_type: &str) -> anyhow::Result<()> {
    let printable = content_type
        .bytes()
        .all(|b| b == b' ' || b.is_ascii_graphic());
    if content_type.trim().is_empty() || content_type.len() > MAX_CONTENT_TYPE_LEN || !printable {
        anyhow::bail!(
            "a download's content type is 1 to {MAX_CONTENT_TYPE_LEN} printable ASCII characters"
        );
    }
    Ok(())
}

#[async_trait]
impl ObjectStore for DiskObjectStore {
    async fn presign_put(
        &self,
        key: &str,
        md5: &ContentMd5,
        size: u64,
        expires_at: DateTime<Utc>,
    ) -> anyhow::Result<PresignedRequest> {
        let key = ObjectKey::parse(key)?;
        let grant = Grant::Put { md5: *md5, size };
        Ok(PresignedRequest {
            method: "PUT".into(),
            url: self
                .signer
                .url(&self.public_url, &key, expires_at.timestamp(), &grant),
            headers: [("Content-MD5".to_owned(), md5.to_base64())].into(),
        })
    }

    async fn create_multipart(&self, key: &str) -> anyhow::Result<String> {
        let key = ObjectKey::parse(key)?;
        let id = self
            .disk
            .create_upload(&key, Utc::now().timestamp())
            .await?;
        Ok(id.to_string())
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
        let key = ObjectKey::parse(key)?;
        let upload_id = UploadId::parse(upload_id).context("not an upload id of this store")?;
        if !(1..=MAX_PART_NUMBER).contains(&number) {
            anyhow::bail!("part numbers go from 1 to {MAX_PART_NUMBER}");
        }
        if size > MAX_PART_BYTES {
            anyhow::bail!("a part has at most {MAX_PART_BYTES} bytes");
        }
        let grant = Grant::Part {
            upload_id,
            number,
            md5: *md5,
            size,
        };
        Ok(PresignedRequest {
            method: "PUT".into(),
            url: self
                .signer
                .url(&self.public_url, &key, expires_at.timestamp(), &grant),
            headers: [("Content-MD5".to_owned(), md5.to_base64())].into(),
        })
    }

    async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[CompletedPart],
    ) -> Result<(), StoreError> {
        let key = ObjectKey::parse(key)?;
        let Some(id) = UploadId::parse(upload_id) else {
            return Err(StoreError::InvalidParts("no such upload".into()));
        };
        let Some(meta) = self.disk.upload(&id).await? else {
            return self.already_completed(&key).await;
        };
        if meta.key != key.as_str() {
            return Err(StoreError::InvalidParts(
                "the upload belongs to another object".into(),
            ));
        }
        let listed = check_parts(parts)?;
        let temp = match self.disk.concatenate(&id, listed).await {
            Ok(temp) => temp,
            Err(ConcatError::MissingPart(number)) => {
                // A retried completion racing the first one finds the parts gone.
                if self.disk.upload(&id).await?.is_none() {
                    return self.already_completed(&key).await;
                }
                return Err(StoreError::InvalidParts(format!(
                    "part {number} was not uploaded"
                )));
            }
            Err(ConcatError::EtagMismatch(number)) => {
                return Err(StoreError::InvalidParts(format!(
                    "part {number}: the ETag does not match the part that was uploaded"
                )));
            }
            Err(ConcatError::Io(e)) => return Err(e.into()),
        };
        self.disk.place_object(temp, &key).await?;
        // Announced before the parts go: if this fails, a retried completion still finds them.
        self.announce(&key).await?;
        self.disk.remove_upload(&id).await?;
        tracing::info!(%key, parts = parts.len(), "multipart upload completed");
        Ok(())
    }

    async fn abort_multipart(&self, key: &str, upload_id: &str) -> anyhow::Result<()> {
        let key = ObjectKey::parse(key)?;
        let id = UploadId::parse(upload_id).context("not an upload id of this store")?;
        match self.disk.upload(&id).await? {
            Some(meta) if meta.key != key.as_str() => {
                anyhow::bail!("the upload belongs to another object")
            }
            _ => self.disk.remove_upload(&id).await,
        }
    }

    async fn presign_get(
        &self,
        key: &str,
        download_name: &str,
        content_type: &str,
        expires_at: DateTime<Utc>,
    ) -> anyhow::Result<String> {
        let key = ObjectKey::parse(key)?;
        check_content_type(content_type)?;
        let grant = Grant::Get {
            content_type: content_type.to_owned(),
            disposition: disposition::attachment(download_name),
        };
        Ok(self
            .signer
            .url(&self.public_url, &key, expires_at.timestamp(), &grant))
    }

    async fn get(&self, key: &str) -> anyhow::Result<Option<ByteStream>> {
        let key = ObjectKey::parse(key)?;
        Ok(self
            .disk
            .open_object(&key)
            .await?
            .map(|(file, _)| stream(file)))
    }

    async fn size(&self, key: &str) -> anyhow::Result<Option<u64>> {
        self.disk.object_len(&ObjectKey::parse(key)?).await
    }

    async fn put_small(&self, key: &str, body: Bytes, _content_type: &str) -> anyhow::Result<()> {
        self.disk.write_object(&ObjectKey::parse(key)?, body).await
    }

    async fn delete(&self, key: &str) -> anyhow::Result<()> {
        let key = ObjectKey::parse(key)?;
        self.disk.remove_object(&key).await?;
        for upload in self.disk.staged_uploads().await? {
            if upload.meta.is_some_and(|m| m.key == key.as_str()) {
                self.disk.remove_upload(&upload.id).await?;
            }
        }
        Ok(())
    }
}

//! The drop folders on S3: the `inbox/` prefix of the document bucket, written by any S3
//! client or an AWS Transfer Family SFTP server. Files are handed over with a server-side
//! copy, so no byte passes through the function (CopyObject takes up to 5 GiB, the largest
//! file a transfer accepts by default).

use crate::s3::S3ObjectStore;
use anyhow::Context;
use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::types::TaggingDirective;
use bytes::Bytes;
use ferry_core::ports::{ByteStream, Inbox, InboxEntry, ObjectStore};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// A copy source is `bucket/key` with the key URL-encoded; its slashes stay.
const COPY_SOURCE_KEY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

pub struct S3Inbox {
    client: Client,
    bucket: String,
    /// Reads, notes and deletes are those of any object.
    objects: S3ObjectStore,
}

impl S3Inbox {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        let bucket = bucket.into();
        Self {
            objects: S3ObjectStore::new(client.clone(), &bucket),
            client,
            bucket,
        }
    }

    fn copy_source(&self, key: &str) -> String {
        format!(
            "{}/{}",
            self.bucket,
            utf8_percent_encode(key, COPY_SOURCE_KEY)
        )
    }

    /// `false` when there is nothing at `from`.
    async fn copy(&self, from: &str, to: &str) -> anyhow::Result<bool> {
        match self
            .client
            .copy_object()
            .bucket(&self.bucket)
            .copy_source(self.copy_source(from))
            // The copy carries no tags: copying them would need the right to read them.
            .tagging_directive(TaggingDirective::Replace)
            .key(to)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.code() == Some("NoSuchKey") => Ok(false),
            Err(e) => Err(anyhow::Error::new(e).context(format!("copying {from} to {to}"))),
        }
    }
}

/// ETag and last-modified time: the ETag alone repeats when the same bytes are written again.
fn version(etag: Option<&str>, modified: Option<&aws_sdk_s3::primitives::DateTime>) -> String {
    format!(
        "{}@{}",
        etag.unwrap_or_default().trim_matches('"'),
        modified.map_or(0, |m| m.as_nanos())
    )
}

fn size(length: Option<i64>) -> u64 {
    length.and_then(|n| u64::try_from(n).ok()).unwrap_or(0)
}

#[async_trait]
impl Inbox for S3Inbox {
    async fn head(&self, key: &str) -> anyhow::Result<Option<InboxEntry>> {
        Ok(self.objects.head(key).await?.map(|out| InboxEntry {
            key: key.to_owned(),
            size: size(out.content_length()),
            version: version(out.e_tag(), out.last_modified()),
        }))
    }

    async fn list(&self, prefix: &str, limit: usize) -> anyhow::Result<Vec<InboxEntry>> {
        let mut entries = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .delimiter("/")
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.context("listing a drop folder")?;
            for object in page.contents() {
                let Some(key) = object.key() else { continue };
                // SFTP clients' partial uploads and other hidden files do not use up the limit.
                if key[prefix.len().min(key.len())..].starts_with('.') {
                    continue;
                }
                entries.push(InboxEntry {
                    key: key.to_owned(),
                    size: size(object.size()),
                    version: version(object.e_tag(), object.last_modified()),
                });
                if entries.len() >= limit {
                    return Ok(entries);
                }
            }
        }
        Ok(entries)
    }

    async fn read(&self, key: &str) -> anyhow::Result<Option<ByteStream>> {
        self.objects.get(key).await
    }

    async fn hand_over(&self, key: &str, object_key: &str) -> anyhow::Result<()> {
        // The copy's ObjectCreated event on `transfers/` starts the validation.
        if self.copy(key, object_key).await? {
            Ok(())
        } else {
            anyhow::bail!("{key} vanished before it was handed over")
        }
    }

    async fn rename(&self, from: &str, to: &str) -> anyhow::Result<()> {
        if self.copy(from, to).await? {
            self.remove(from).await?;
        }
        Ok(())
    }

    async fn write_note(&self, key: &str, text: &str) -> anyhow::Result<()> {
        self.objects
            .put_small(
                key,
                Bytes::from(text.to_owned()),
                "text/plain; charset=utf-8",
            )
            .await
    }

    async fn remove(&self, key: &str) -> anyhow::Result<()> {
        self.objects.delete(key).await
    }
}

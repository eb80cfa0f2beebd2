//! UC1 for the sender: create a transfer with an upload plan, sign parts, complete multipart
//! uploads; and the reads every party shares: view, list, download, text, audit trail.

use super::authorize::{self, Access};
use super::{Ferry, Step};
use crate::audit::{AuditEvent, AuditQuery, Outcome};
use crate::auth::{AuthUser, Caller};
use crate::error::{Error, Result};
use crate::ids::{DocumentId, TransferId};
use crate::limits::Action;
use crate::model::{
    Document, DocumentStatus, Party, Recipient, RecipientStatus, Transfer, TransferStatus,
    UploadPlan,
};
use crate::ports::{
    CompletedPart, ExtractedText, PresignedRequest, StoreError, object_key, text_key,
};
use crate::values::{ContentMd5, EmailAddress, Role, clean_text};
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeSet;

pub struct NewFile {
    pub name: String,
    pub size: u64,
    pub content_type: String,
    /// Required, but for a file uploaded in parts, whose MD5 may come with `complete`.
    pub md5: Option<String>,
}

pub struct NewTransfer {
    pub recipients: Vec<String>,
    pub subject: String,
    pub message: Option<String>,
    pub expires_in_hours: Option<i64>,
    pub files: Vec<NewFile>,
}

/// Where a new transfer comes from.
pub(crate) enum Origin {
    /// The API: the client uploads the bytes with presigned requests.
    Portal { source_ip: Option<String> },
    /// A drop folder: the bytes are copied within the store.
    DropFolder { folder: String },
}

/// One recipient address, checked as every address a sender types is.
pub(crate) fn parse_recipient(raw: &str, field: &str) -> Result<EmailAddress> {
    let email = EmailAddress::parse(raw).map_err(|e| Error::invalid(format!("{field}: {e}")))?;
    // A look-alike letter from another script (a Cyrillic 'а' in "exаmple.com") is how a
    // recipient list is spoofed; and mail services take ASCII addresses only, with an
    // international domain in its xn-- form.
    if !email.as_str().is_ascii() {
        return Err(Error::invalid(format!(
            "{field}: '{}' has letters outside ASCII; write an international domain in its \
             xn-- form",
            email.as_str().escape_default()
        )));
    }
    Ok(email)
}

/// How the client sends a document's bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UploadInstructions {
    Single {
        request: PresignedRequest,
        expires_at: DateTime<Utc>,
    },
    Multipart {
        part_size: u64,
        part_count: u32,
        expires_at: DateTime<Utc>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mailbox {
    Sent,
    Received,
}

/// Extracted text as stored beside the object.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct StoredText {
    pub engine: crate::model::Engine,
    pub pages: Vec<String>,
    pub page_count: Option<u32>,
    pub truncated: bool,
}

impl From<(&ExtractedText, crate::model::Engine)> for StoredText {
    fn from((text, engine): (&ExtractedText, crate::model::Engine)) -> Self {
        Self {
            engine,
            pages: text.pages.clone(),
            page_count: Some(text.page_count),
            truncated: text.truncated,
        }
    }
}

const MAX_TEXT_OBJECT_BYTES: usize = 64 * 1024 * 1024;
const MAX_PARTS_PER_REQUEST: usize = 1000;
const MAX_PARTS: u64 = 10_000;

impl Ferry {
    #[tracing::instrument(skip_all, fields(sender = %user.id))]
    pub async fn create_transfer(
        &self,
        user: &AuthUser,
        request: NewTransfer,
        source_ip: Option<String>,
    ) -> Result<Transfer> {
        if !user.has_role(Role::Member) {
            return Err(Error::Forbidden("only members may send transfers".into()));
        }
        self.limit(
            Action::CreateTransfer,
            source_ip.as_deref(),
            Some(user.id.as_str()),
        )?;
        self.open_transfer(
            user,
            TransferId::new(),
            request,
            Origin::Portal { source_ip },
        )
        .await
    }

    /// Checks a request and stores the new transfer; `user` is known to be a member.
    pub(crate) async fn open_transfer(
        &self,
        user: &AuthUser,
        transfer_id: TransferId,
        request: NewTransfer,
        origin: Origin,
    ) -> Result<Transfer> {
        let limits = &self.settings.limits;
        let now = self.now();

        let mut recipients = BTreeSet::new();
        if request.recipients.is_empty() || request.recipients.len() > limits.max_recipients {
            return Err(Error::invalid(format!(
                "recipients: between 1 and {} addresses are required",
                limits.max_recipients
            )));
        }
        for raw in &request.recipients {
            recipients.insert(parse_recipient(raw, "recipients")?);
        }
        let subject = clean_text(&request.subject, 200, false)
            .map_err(|e| Error::invalid(format!("subject: {e}")))?;
        if subject.is_empty() {
            return Err(Error::invalid("subject: a subject is required"));
        }
        let message = clean_text(request.message.as_deref().unwrap_or(""), 5000, true)
            .map_err(|e| Error::invalid(format!("message: {e}")))?;
        let hours = request
            .expires_in_hours
            .unwrap_or(limits.default_expiry_hours);
        if !(1..=limits.max_expiry_hours).contains(&hours) {
            return Err(Error::invalid(format!(
                "expires_in_hours: between 1 and {} hours",
                limits.max_expiry_hours
            )));
        }
        if request.files.is_empty() || request.files.len() > limits.max_files {
            return Err(Error::invalid(format!(
                "files: between 1 and {} files are required",
                limits.max_files
            )));
        }

        let mut documents = Vec::with_capacity(request.files.len());
        let mut total: u64 = 0;
        for (i, file) in request.files.iter().enumerate() {
            let doc = self.new_document(i, file)?;
            total = total.saturating_add(doc.size);
            documents.push(doc);
        }
        if total > limits.max_transfer_bytes {
            return Err(Error::invalid(format!(
                "files: {total} bytes in all, more than the {} bytes a transfer may carry",
                limits.max_transfer_bytes
            )));
        }
        // Multipart uploads are created only once the whole request is known to be valid; files
        // from a drop folder are copied within the store instead.
        for doc in &mut documents {
            if doc.size > limits.single_put_max_bytes && matches!(origin, Origin::Portal { .. }) {
                let upload_id = self
                    .ports
                    .store
                    .create_multipart(&object_key(transfer_id, doc.id))
                    .await?;
                doc.upload = UploadPlan::Multipart {
                    upload_id,
                    part_size: limits.part_size,
                    part_count: doc.size.div_ceil(limits.part_size) as u32,
                };
            }
        }

        let transfer = Transfer {
            id: transfer_id,
            version: 0,
            sender: Party {
                id: user.id.clone(),
                email: user.email.clone(),
            },
            recipients: recipients.into_iter().map(Recipient::pending).collect(),
            subject,
            message,
            status: TransferStatus::Uploading,
            created_at: now,
            expires_at: now + Duration::hours(hours),
            documents,
            deliveries: vec![],
            notifications_queued: false,
            sender_receipt_sent: false,
            purged_at: None,
            content_deleted: false,
        };
        self.ports.catalog.create_transfer(&transfer).await?;
        let (source_ip, from) = match origin {
            Origin::Portal { source_ip } => (source_ip, String::new()),
            Origin::DropFolder { folder } => (None, format!(" from the drop folder {folder}")),
        };
        self.audit(
            AuditEvent::new(
                format!("user:{}", user.id),
                "transfer.created",
                Outcome::Success,
                now,
            )
            .transfer(transfer.id)
            .detail(format!(
                "{}, {}{from}",
                counted(transfer.documents.len(), "document"),
                counted(transfer.recipients.len(), "recipient")
            ))
            .source_ip(source_ip),
        )
        .await;
        Ok(transfer)
    }

    fn new_document(&self, index: usize, file: &NewFile) -> Result<Document> {
        let limits = &self.settings.limits;
        let at = |e: String| Error::invalid(format!("files[{index}]: {e}"));
        // The name is metadata only, never part of a key; a path is reduced to its last segment.
        let base = file.name.rsplit(['/', '\\']).next().unwrap_or_default();
        let name = clean_text(base, 255, false).map_err(|e| at(format!("name: {e}")))?;
        if name.is_empty() || name == "." || name == ".." {
            return Err(at("name: a file name is required".into()));
        }
        if file.size == 0 {
            return Err(at("size: the file is empty".into()));
        }
        if file.size > limits.max_file_bytes {
            return Err(at(format!(
                "size: {} bytes is more than the {} bytes allowed per file",
                file.size, limits.max_file_bytes
            )));
        }
        let content_type = file.content_type.trim().to_ascii_lowercase();
        let content_type = if content_type.is_empty() {
            "application/octet-stream".to_owned()
        } else {
            content_type
        };
        // Parameters (`; charset=...`) are kept, so the whole value must be fit for a header.
        let valid_type = content_type.len() <= 127
            && content_type.bytes().all(|c| (0x20..0x7f).contains(&c))
            && content_type.split_once('/').is_some_and(|(a, b)| {
                let token = |s: &str| {
                    !s.is_empty()
                        && s.bytes()
                            .all(|c| c.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&c))
                };
                let b = b.split(';').next().unwrap_or_default().trim();
                token(a) && token(b)
            });
        if !valid_type {
            return Err(at(
                "content_type: not a media type such as application/pdf".into()
            ));
        }
        let md5 = match &file.md5 {
            Some(md5) => Some(ContentMd5::parse(md5).map_err(|e| at(format!("md5: {e}")))?),
            None if file.size > limits.single_put_max_bytes => None,
            None => {
                return Err(at(format!(
                    "md5: required for a file of up to {} bytes (sent in one request); a \
                     larger one may declare it when its upload is completed",
                    limits.single_put_max_bytes
                )));
            }
        };
        if file.size.div_ceil(limits.part_size) > MAX_PARTS {
            return Err(at("size: too many parts for a multipart upload".into()));
        }
        Ok(Document {
            id: DocumentId::new(),
            name,
            size: file.size,
            content_type,
            md5,
            status: DocumentStatus::AwaitingUpload,
            reason: None,
            upload: UploadPlan::Single,
            detected_type: None,
            sha256: None,
            pages: None,
            text_preview: None,
            text_truncated: false,
            engine: None,
            uploaded_at: None,
        })
    }

    /// The instructions to upload a document, for the sender while it awaits its bytes. A
    /// single PUT is signed afresh each time, so a page reload gets a URL that has not expired.
    pub async fn upload_instructions(
        &self,
        transfer: &Transfer,
        doc: &Document,
    ) -> Result<Option<UploadInstructions>> {
        if doc.status != DocumentStatus::AwaitingUpload || transfer.status.is_final() {
            return Ok(None);
        }
        let expires_at = self.now() + self.settings.upload_url_ttl;
        Ok(Some(match &doc.upload {
            UploadPlan::Single => UploadInstructions::Single {
                request: self
                    .ports
                    .store
                    .presign_put(
                        &object_key(transfer.id, doc.id),
                        doc.md5.as_ref().ok_or_else(|| {
                            anyhow::anyhow!("a single-request upload without an md5")
                        })?,
                        doc.size,
                        expires_at,
                    )
                    .await?,
                expires_at,
            },
            UploadPlan::Multipart {
                part_size,
                part_count,
                ..
            } => UploadInstructions::Multipart {
                part_size: *part_size,
                part_count: *part_count,
                expires_at,
            },
        }))
    }

    pub async fn get_transfer(
        &self,
        caller: &Caller,
        id: TransferId,
    ) -> Result<(Transfer, Access)> {
        let transfer = self.load(id).await?;
        let access = authorize::require(caller, &transfer)?;
        Ok((transfer, access))
    }

    pub async fn list_transfers(&self, user: &AuthUser, mailbox: Mailbox) -> Result<Vec<Transfer>> {
        const LIMIT: usize = 200;
        Ok(match mailbox {
            Mailbox::Sent => self.ports.catalog.list_sent(&user.id, LIMIT).await?,
            Mailbox::Received => self
                .ports
                .catalog
                .list_received(&user.email, LIMIT)
                .await?
                .into_iter()
                .filter(|t| {
                    t.recipient(&user.email)
                        .is_some_and(|r| r.status != RecipientStatus::Pending)
                })
                .collect(),
        })
    }

    fn multipart_document<'a>(
        caller: &Caller,
        transfer: &'a Transfer,
        did: DocumentId,
    ) -> Result<(&'a Document, &'a str, u64, u32)> {
        authorize::require_sender(caller, transfer)?;
        let doc = transfer
            .document(did)
            .ok_or_else(|| Error::not_found("document"))?;
        if transfer.status.is_final() {
            return Err(Error::Gone("the transfer has ended".into()));
        }
        if doc.status != DocumentStatus::AwaitingUpload {
            return Err(Error::Conflict(
                "this document's bytes have already been received".into(),
            ));
        }
        match &doc.upload {
            UploadPlan::Multipart {
                upload_id,
                part_size,
                part_count,
            } => Ok((doc, upload_id, *part_size, *part_count)),
            UploadPlan::Single => Err(Error::Conflict(
                "this document is uploaded with a single PUT, not in parts".into(),
            )),
        }
    }

    pub async fn sign_parts(
        &self,
        caller: &Caller,
        tid: TransferId,
        did: DocumentId,
        parts: Vec<(u32, String)>,
    ) -> Result<Vec<(u32, PresignedRequest)>> {
        let transfer = self.load(tid).await?;
        let (doc, upload_id, part_size, part_count) =
            Self::multipart_document(caller, &transfer, did)?;
        if parts.is_empty() || parts.len() > MAX_PARTS_PER_REQUEST {
            return Err(Error::invalid(format!(
                "parts: between 1 and {MAX_PARTS_PER_REQUEST} parts per request"
            )));
        }
        let mut parsed = Vec::with_capacity(parts.len());
        for (number, md5) in parts {
            if number == 0 || number > part_count {
                return Err(Error::invalid(format!(
                    "parts: number {number} is not between 1 and {part_count}"
                )));
            }
            let md5 = ContentMd5::parse(&md5)
                .map_err(|e| Error::invalid(format!("parts[{number}].md5: {e}")))?;
            parsed.push((number, md5));
        }
        let expires_at = self.now() + self.settings.upload_url_ttl;
        let key = object_key(tid, did);
        let mut signed = Vec::with_capacity(parsed.len());
        for (number, md5) in parsed {
            // Every part but the last is exactly `part_size`: the parts add up to the declared
            // size, so nobody can store more than they declared.
            let size = if number < part_count {
                part_size
            } else {
                doc.size - part_size * u64::from(part_count - 1)
            };
            signed.push((
                number,
                self.ports
                    .store
                    .presign_part(&key, upload_id, number, &md5, size, expires_at)
                    .await?,
            ));
        }
        Ok(signed)
    }

    pub async fn complete_upload(
        &self,
        caller: &Caller,
        tid: TransferId,
        did: DocumentId,
        parts: Vec<CompletedPart>,
        md5: Option<String>,
        source_ip: Option<String>,
    ) -> Result<()> {
        let transfer = self.load(tid).await?;
        let (doc, upload_id, part_size, part_count) =
            Self::multipart_document(caller, &transfer, did)?;
        let md5 = md5
            .map(|md5| ContentMd5::parse(&md5).map_err(|e| Error::invalid(format!("md5: {e}"))))
            .transpose()?;
        match (&doc.md5, &md5) {
            (Some(declared), Some(md5)) if declared != md5 => {
                return Err(Error::invalid(
                    "md5: differs from the md5 already declared for this document (at its \
                     creation or an earlier completion)",
                ));
            }
            (None, None) => {
                return Err(Error::invalid(
                    "md5: the whole file's MD5 is required, as it was not declared when the \
                     transfer was created",
                ));
            }
            _ => {}
        }
        if parts.len() as u32 != part_count {
            return Err(Error::invalid(format!(
                "parts: this upload has {part_count} parts of {part_size} bytes, {} were listed",
                parts.len()
            )));
        }
        for (i, part) in parts.iter().enumerate() {
            if part.number != i as u32 + 1 {
                return Err(Error::invalid(
                    "parts: list every part once, in ascending order from 1",
                ));
            }
            if part.etag.is_empty() || part.etag.len() > 128 {
                return Err(Error::invalid(format!(
                    "parts[{}].etag: the ETag the part's upload answered",
                    part.number
                )));
            }
        }
        if let (None, Some(md5)) = (&doc.md5, md5) {
            // Recorded before the bytes are assembled: their event finds it to check against.
            self.update(tid, |t| {
                let doc = t
                    .documents
                    .iter_mut()
                    .find(|d| d.id == did)
                    .ok_or_else(|| Error::not_found("document"))?;
                match &doc.md5 {
                    None => {
                        doc.md5 = Some(md5);
                        Ok(Step::Save(()))
                    }
                    Some(declared) if *declared == md5 => Ok(Step::Keep(())),
                    Some(_) => Err(Error::invalid(
                        "md5: differs from the md5 declared for this document",
                    )),
                }
            })
            .await?;
        }
        self.ports
            .store
            .complete_multipart(&object_key(tid, did), upload_id, &parts)
            .await
            .map_err(|e| match e {
                StoreError::InvalidParts(detail) => Error::invalid(format!("parts: {detail}")),
                StoreError::Other(e) => Error::Unexpected(e),
            })?;
        self.audit(
            AuditEvent::new(
                caller.actor(),
                "document.upload_completed",
                Outcome::Success,
                self.now(),
            )
            .transfer(tid)
            .document(did)
            .source_ip(source_ip),
        )
        .await;
        Ok(())
    }

    fn readable_document(transfer: &Transfer, did: DocumentId) -> Result<&Document> {
        let doc = transfer
            .document(did)
            .ok_or_else(|| Error::not_found("document"))?;
        if transfer.status.is_final() || doc.status == DocumentStatus::Purged {
            return Err(Error::Gone(
                "the documents of this transfer have been deleted".into(),
            ));
        }
        match doc.status {
            DocumentStatus::Ready => Ok(doc),
            DocumentStatus::Rejected => Err(Error::Gone(
                "this document was rejected and its bytes deleted".into(),
            )),
            _ => Err(Error::Conflict("this document is not ready yet".into())),
        }
    }

    /// A short-lived URL that downloads the document under its original name.
    pub async fn download_url(
        &self,
        caller: &Caller,
        tid: TransferId,
        did: DocumentId,
        source_ip: Option<String>,
    ) -> Result<String> {
        self.limit(Action::Download, source_ip.as_deref(), None)?;
        let transfer = self.load(tid).await?;
        authorize::require_sender_or_recipient(caller, &transfer)?;
        self.limit(Action::Download, None, Some(&caller.actor()))?;
        let doc = Self::readable_document(&transfer, did)?;
        let content_type = doc
            .detected_type
            .map(|t| t.mime())
            .unwrap_or("application/octet-stream");
        let url = self
            .ports
            .store
            .presign_get(
                &object_key(tid, did),
                &doc.name,
                content_type,
                self.now() + self.settings.download_url_ttl,
            )
            .await?;
        self.audit(
            AuditEvent::new(
                caller.actor(),
                "document.downloaded",
                Outcome::Success,
                self.now(),
            )
            .transfer(tid)
            .document(did)
            .source_ip(source_ip),
        )
        .await;
        Ok(url)
    }

    pub async fn document_text(
        &self,
        caller: &Caller,
        tid: TransferId,
        did: DocumentId,
        source_ip: Option<String>,
    ) -> Result<StoredText> {
        let transfer = self.load(tid).await?;
        authorize::require_sender_or_recipient(caller, &transfer)?;
        let doc = Self::readable_document(&transfer, did)?;
        let text = match self.ports.store.get(&text_key(tid, did)).await? {
            Some(stream) => {
                let bytes = collect_bounded(stream, MAX_TEXT_OBJECT_BYTES).await?;
                serde_json::from_slice(&bytes).map_err(anyhow::Error::from)?
            }
            None => StoredText {
                engine: doc.engine.unwrap_or(crate::model::Engine::None),
                pages: vec![],
                page_count: doc.pages,
                truncated: false,
            },
        };
        self.audit(
            AuditEvent::new(
                caller.actor(),
                "document.text_read",
                Outcome::Success,
                self.now(),
            )
            .transfer(tid)
            .document(did)
            .source_ip(source_ip),
        )
        .await;
        Ok(text)
    }

    pub async fn transfer_events(
        &self,
        caller: &Caller,
        tid: TransferId,
    ) -> Result<Vec<AuditEvent>> {
        let transfer = self.load(tid).await?;
        authorize::require_sender_or_admin(caller, &transfer)?;
        let page = self
            .ports
            .catalog
            .query_audit(&AuditQuery {
                transfer_id: Some(tid),
                limit: 1000,
                ..Default::default()
            })
            .await?;
        Ok(page.events)
    }

    /// Sender or admin cancels: the transfer ends and its content is purged.
    pub async fn cancel_transfer(
        &self,
        caller: &Caller,
        tid: TransferId,
        source_ip: Option<String>,
    ) -> Result<Transfer> {
        let transfer = self.load(tid).await?;
        authorize::require_sender_or_admin(caller, &transfer)?;
        if transfer.status.is_final() && transfer.status != TransferStatus::Cancelled {
            return Err(Error::Conflict(
                format!("the transfer has already ended ({:?})", transfer.status).to_lowercase(),
            ));
        }
        // Cancelling again changes nothing and is not recorded; it still finishes the purge.
        if transfer.status != TransferStatus::Cancelled {
            self.audit(
                AuditEvent::new(
                    caller.actor(),
                    "transfer.cancelled",
                    Outcome::Success,
                    self.now(),
                )
                .transfer(tid)
                .source_ip(source_ip),
            )
            .await;
        }
        self.end_transfer(tid, TransferStatus::Cancelled).await
    }
}

pub(crate) async fn collect_bounded(
    mut stream: crate::ports::ByteStream,
    max: usize,
) -> Result<Vec<u8>> {
    use futures_util::StreamExt;
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(anyhow::Error::from)?;
        if out.len() + chunk.len() > max {
            return Err(anyhow::anyhow!("object larger than {max} bytes").into());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// "1 document", "3 documents": the audit trail is read by people.
fn counted(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

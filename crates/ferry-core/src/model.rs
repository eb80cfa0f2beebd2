//! The transfer aggregate and its state machines. Every state change is a method that checks the
//! expected old state, so replaying an event is a no-op instead of a second email or a
//! resurrected document; the catalog then saves the aggregate only if nobody else did first.

use crate::ids::{DeliveryId, DocumentId, TransferId, UserId};
use crate::validation::DetectedType;
use crate::values::{ContentMd5, EmailAddress, Role};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub email: EmailAddress,
    pub name: String,
    pub roles: Vec<Role>,
    pub enabled: bool,
}

impl User {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// Credentials of a script or a target system (OAuth client credentials), acting for the user
/// who owns them with at most the `member` role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MachineClient {
    /// The OAuth `client_id`, also the `sub` of the tokens issued to it.
    pub id: String,
    pub name: String,
    pub owner: UserId,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferStatus {
    Uploading,
    Processing,
    Sent,
    Completed,
    Expired,
    Cancelled,
}

impl TransferStatus {
    /// A finished transfer's bytes are gone (or going); content routes answer 410.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Expired | Self::Cancelled)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentStatus {
    AwaitingUpload,
    Uploaded,
    Ready,
    Rejected,
    Purged,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    ChecksumMismatch,
    TypeNotAllowed,
    TypeMismatch,
    TooLarge,
    Empty,
    /// The bytes could not be checked, again and again: they are deleted rather than handed on.
    ProcessingFailed,
    /// The malware scan (when one is configured) found something.
    Malware,
    /// Its drop-folder file was taken away before Ferry could copy it.
    Withdrawn,
}

impl RejectReason {
    /// The reason's name in the API (`type_not_allowed`), also the audit event's detail.
    pub fn code(self) -> &'static str {
        match self {
            Self::ChecksumMismatch => "checksum_mismatch",
            Self::TypeNotAllowed => "type_not_allowed",
            Self::TypeMismatch => "type_mismatch",
            Self::TooLarge => "too_large",
            Self::Empty => "empty",
            Self::ProcessingFailed => "processing_failed",
            Self::Malware => "malware",
            Self::Withdrawn => "withdrawn",
        }
    }

    /// Words a sender understands, for the receipt email.
    pub fn explain(self) -> &'static str {
        match self {
            Self::ChecksumMismatch => "the bytes received differ from the file's MD5 checksum",
            Self::TypeNotAllowed => "this type of file is not accepted",
            Self::TypeMismatch => "the file's content does not match its declared type",
            Self::TooLarge => "the file is larger than declared or allowed",
            Self::Empty => "the file is empty",
            Self::ProcessingFailed => "the file could not be checked; please send it again",
            Self::Malware => "a virus scan found malware in the file",
            Self::Withdrawn => "the file was taken out of the drop folder before it could be sent",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecipientStatus {
    Pending,
    Notified,
    Verified,
    Received,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    Native,
    Textract,
    None,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum UploadPlan {
    Single,
    Multipart {
        upload_id: String,
        part_size: u64,
        part_count: u32,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    pub id: DocumentId,
    pub name: String,
    pub size: u64,
    pub content_type: String,
    /// The whole file's MD5 as its sender declared it: at creation, or for a multipart upload
    /// at the latest when it is completed (so a client can hash while it uploads).
    pub md5: Option<ContentMd5>,
    pub status: DocumentStatus,
    pub reason: Option<RejectReason>,
    pub upload: UploadPlan,
    pub detected_type: Option<DetectedType>,
    pub sha256: Option<String>,
    pub pages: Option<u32>,
    pub text_preview: Option<String>,
    pub text_truncated: bool,
    pub engine: Option<Engine>,
    pub uploaded_at: Option<DateTime<Utc>>,
}

impl Document {
    pub fn is_settled(&self) -> bool {
        matches!(
            self.status,
            DocumentStatus::Ready | DocumentStatus::Rejected | DocumentStatus::Purged
        )
    }
}

/// The emailed one-time code a recipient is currently asked for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeChallenge {
    pub code_hash: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    pub email: EmailAddress,
    pub status: RecipientStatus,
    /// SHA-256 of the access link token; the token itself exists only in the email.
    pub link_hash: Option<String>,
    pub challenge: Option<CodeChallenge>,
    /// Wrong codes since the last success or lockout, whichever code they were aimed at.
    #[serde(default)]
    pub failed_attempts: u32,
    /// Codes sent in the current window, to keep a code flood out of the recipient's inbox.
    pub codes_sent: Vec<DateTime<Utc>>,
    pub locked_until: Option<DateTime<Utc>>,
    pub notified_at: Option<DateTime<Utc>>,
    pub verified_at: Option<DateTime<Utc>>,
    pub received_at: Option<DateTime<Utc>>,
}

impl Recipient {
    /// Someone who will be notified once the documents are ready.
    pub fn pending(email: EmailAddress) -> Self {
        Self {
            email,
            status: RecipientStatus::Pending,
            link_hash: None,
            challenge: None,
            failed_attempts: 0,
            codes_sent: vec![],
            locked_until: None,
            notified_at: None,
            verified_at: None,
            received_at: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DeliveryTarget {
    /// Presigned PUT URLs supplied by the recipient, one per document.
    S3Presigned { urls: Vec<(DocumentId, String)> },
    /// A JSON manifest POSTed to the recipient's HTTPS endpoint, signed with their secret.
    Webhook { url: String, secret: String },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Succeeded,
    Failed,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: DeliveryId,
    pub recipient: EmailAddress,
    pub kind: String,
    /// Cleared once the delivery is finished: it holds the recipient's URLs and secret.
    pub target: Option<DeliveryTarget>,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    pub id: UserId,
    pub email: EmailAddress,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    pub id: TransferId,
    /// Optimistic concurrency: the catalog saves only over the version that was read.
    #[serde(default)]
    pub version: u64,
    pub sender: Party,
    pub recipients: Vec<Recipient>,
    pub subject: String,
    pub message: String,
    pub status: TransferStatus,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub documents: Vec<Document>,
    pub deliveries: Vec<Delivery>,
    pub notifications_queued: bool,
    pub sender_receipt_sent: bool,
    pub purged_at: Option<DateTime<Utc>>,
    /// Set once every byte and every text of a finished transfer is deleted.
    #[serde(default)]
    pub content_deleted: bool,
}

/// What settling a document led to, so the caller knows which messages to send next.
#[derive(Debug, PartialEq, Eq)]
pub enum Progress {
    Unchanged,
    Changed,
    /// Every document is settled: time to notify (done once, guarded by `notifications_queued`).
    AllSettled,
}

impl Transfer {
    pub fn document(&self, id: DocumentId) -> Option<&Document> {
        self.documents.iter().find(|d| d.id == id)
    }

    pub fn document_mut(&mut self, id: DocumentId) -> Option<&mut Document> {
        self.documents.iter_mut().find(|d| d.id == id)
    }

    pub fn recipient(&self, email: &EmailAddress) -> Option<&Recipient> {
        self.recipients.iter().find(|r| &r.email == email)
    }

    pub fn recipient_mut(&mut self, email: &EmailAddress) -> Option<&mut Recipient> {
        self.recipients.iter_mut().find(|r| &r.email == email)
    }

    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        now >= self.expires_at
    }

    /// Bytes verified: `awaiting_upload → uploaded`.
    pub fn accept_upload(
        &mut self,
        id: DocumentId,
        detected: DetectedType,
        sha256: String,
        now: DateTime<Utc>,
    ) -> Progress {
        let Some(doc) = self.open_document(id, DocumentStatus::AwaitingUpload) else {
            return Progress::Unchanged;
        };
        doc.status = DocumentStatus::Uploaded;
        doc.detected_type = Some(detected);
        doc.sha256 = Some(sha256);
        doc.uploaded_at = Some(now);
        self.refresh_status()
    }

    /// Bytes refused: `awaiting_upload → rejected`.
    pub fn reject_upload(
        &mut self,
        id: DocumentId,
        reason: RejectReason,
        detected: Option<DetectedType>,
        sha256: Option<String>,
    ) -> Progress {
        let Some(doc) = self.open_document(id, DocumentStatus::AwaitingUpload) else {
            return Progress::Unchanged;
        };
        doc.status = DocumentStatus::Rejected;
        doc.reason = Some(reason);
        doc.detected_type = detected;
        doc.sha256 = sha256;
        self.refresh_status()
    }

    /// Text extracted (or not extractable): `uploaded → ready`.
    pub fn mark_ready(
        &mut self,
        id: DocumentId,
        engine: Engine,
        pages: Option<u32>,
        preview: Option<String>,
        truncated: bool,
    ) -> Progress {
        let Some(doc) = self.open_document(id, DocumentStatus::Uploaded) else {
            return Progress::Unchanged;
        };
        doc.status = DocumentStatus::Ready;
        doc.engine = Some(engine);
        doc.pages = pages;
        doc.text_preview = preview;
        doc.text_truncated = truncated;
        self.refresh_status()
    }

    /// The document, if the transfer is open and the document is in the state a transition
    /// starts from; anything else makes the transition a no-op (a replayed event, say).
    fn open_document(&mut self, id: DocumentId, from: DocumentStatus) -> Option<&mut Document> {
        if self.status.is_final() {
            return None;
        }
        self.document_mut(id).filter(|d| d.status == from)
    }

    fn refresh_status(&mut self) -> Progress {
        let awaiting = self
            .documents
            .iter()
            .any(|d| d.status == DocumentStatus::AwaitingUpload);
        if !awaiting && self.status == TransferStatus::Uploading {
            self.status = TransferStatus::Processing;
        }
        if self.documents.iter().all(Document::is_settled) && !self.notifications_queued {
            self.notifications_queued = true;
            // Recipients are emailed from here on; with nothing to send, the sender's receipt
            // says so and the transfer ends.
            if self.has_ready_documents() {
                self.status = TransferStatus::Sent;
            }
            return Progress::AllSettled;
        }
        Progress::Changed
    }

    pub fn has_ready_documents(&self) -> bool {
        self.documents
            .iter()
            .any(|d| d.status == DocumentStatus::Ready)
    }

    /// Ends the transfer and forgets its content. Returns false when it had already ended,
    /// so that a replayed purge does nothing.
    pub fn finish(&mut self, status: TransferStatus, now: DateTime<Utc>) -> bool {
        debug_assert!(status.is_final());
        if self.status.is_final() {
            return false;
        }
        self.status = status;
        self.purged_at = Some(now);
        for doc in &mut self.documents {
            if doc.status != DocumentStatus::Rejected {
                doc.status = DocumentStatus::Purged;
            }
            doc.text_preview = None;
        }
        for recipient in &mut self.recipients {
            recipient.link_hash = None;
            recipient.challenge = None;
        }
        for delivery in &mut self.deliveries {
            delivery.target = None;
            if delivery.status == DeliveryStatus::Pending {
                delivery.status = DeliveryStatus::Failed;
                delivery.last_error =
                    Some("the transfer ended before the delivery finished".into());
            }
        }
        true
    }

    pub fn all_recipients_received(&self) -> bool {
        self.recipients
            .iter()
            .all(|r| r.status == RecipientStatus::Received)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn reject_codes_are_the_api_names() {
        use RejectReason::*;
        for reason in [
            ChecksumMismatch,
            TypeNotAllowed,
            TypeMismatch,
            TooLarge,
            Empty,
            ProcessingFailed,
            Malware,
            Withdrawn,
        ] {
            assert_eq!(serde_json::to_value(reason).unwrap(), reason.code());
        }
    }

    pub(crate) fn sample_transfer(docs: usize) -> Transfer {
        let now = Utc::now();
        Transfer {
            id: TransferId::new(),
            version: 0,
            sender: Party {
                id: UserId::parse("sender-1").unwrap(),
                email: EmailAddress::parse("sender@example.org").unwrap(),
            },
            recipients: vec![Recipient::pending(
                EmailAddress::parse("bob@example.com").unwrap(),
            )],
            subject: "Contracts".into(),
            message: String::new(),
            status: TransferStatus::Uploading,
            created_at: now,
            expires_at: now + Duration::days(7),
            documents: (0..docs)
                .map(|i| Document {
                    id: DocumentId::new(),
                    name: format!("doc{i}.pdf"),
                    size: 10,
                    content_type: "application/pdf".into(),
                    md5: Some(ContentMd5::from_digest([0; 16])),
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
                .collect(),
            deliveries: vec![],
            notifications_queued: false,
            sender_receipt_sent: false,
            purged_at: None,
            content_deleted: false,
        }
    }

    #[test]
    fn documents_move_forward_only_once() {
        let mut t = sample_transfer(2);
        let (a, b) = (t.documents[0].id, t.documents[1].id);
        let now = Utc::now();
        assert_eq!(
            t.accept_upload(a, DetectedType::Pdf, "aa".into(), now),
            Progress::Changed
        );
        assert_eq!(
            t.accept_upload(a, DetectedType::Pdf, "aa".into(), now),
            Progress::Unchanged
        );
        assert_eq!(t.status, TransferStatus::Uploading);
        assert_eq!(
            t.reject_upload(b, RejectReason::ChecksumMismatch, None, None),
            Progress::Changed
        );
        assert_eq!(t.status, TransferStatus::Processing);
        // A replayed rejection cannot undo the acceptance of the other document.
        assert_eq!(
            t.reject_upload(a, RejectReason::Empty, None, None),
            Progress::Unchanged
        );
        assert_eq!(
            t.mark_ready(a, Engine::Native, Some(1), None, false),
            Progress::AllSettled
        );
        assert_eq!(t.status, TransferStatus::Sent);
        assert_eq!(
            t.mark_ready(a, Engine::Native, Some(1), None, false),
            Progress::Unchanged
        );
    }

    #[test]
    fn a_rejection_that_settles_the_last_document_still_sends() {
        let mut t = sample_transfer(2);
        let (a, b) = (t.documents[0].id, t.documents[1].id);
        t.accept_upload(a, DetectedType::Pdf, "aa".into(), Utc::now());
        t.mark_ready(a, Engine::Native, Some(1), None, false);
        assert_eq!(
            t.reject_upload(b, RejectReason::TypeNotAllowed, None, None),
            Progress::AllSettled
        );
        assert_eq!(t.status, TransferStatus::Sent);
    }

    #[test]
    fn a_finished_transfer_forgets_content_and_stays_finished() {
        let mut t = sample_transfer(1);
        let a = t.documents[0].id;
        t.accept_upload(a, DetectedType::Pdf, "aa".into(), Utc::now());
        t.mark_ready(
            a,
            Engine::Native,
            Some(1),
            Some("secret text".into()),
            false,
        );
        t.recipients[0].link_hash = Some("h".into());
        assert!(t.finish(TransferStatus::Completed, Utc::now()));
        assert_eq!(t.documents[0].status, DocumentStatus::Purged);
        assert_eq!(t.documents[0].text_preview, None);
        assert_eq!(t.recipients[0].link_hash, None);
        assert!(!t.finish(TransferStatus::Expired, Utc::now()));
        assert_eq!(t.status, TransferStatus::Completed);
        // Late events for a purged document change nothing.
        assert_eq!(
            t.mark_ready(a, Engine::Native, None, None, false),
            Progress::Unchanged
        );
    }
}

/// What a user's drop folder does with files that arrive without a manifest, and what a
/// manifest leaves out.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DropFolder {
    /// Empty: files without a manifest wait for one.
    pub default_recipients: Vec<EmailAddress>,
    pub subject: Option<String>,
    pub message: Option<String>,
}

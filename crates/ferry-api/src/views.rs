//! The API's resource shapes (DESIGN.md, openapi.yaml). Fields may be added, never renamed.

use chrono::{DateTime, Utc};
use ferry_core::audit::AuditEvent;
use ferry_core::ids::{DeliveryId, DocumentId, TransferId};
use ferry_core::model::{
    Delivery, DeliveryStatus, Document, DocumentStatus, Engine, RecipientStatus, RejectReason,
    Transfer, TransferStatus, User,
};
use ferry_core::ports::PresignedRequest;
use ferry_core::services::authorize::Access;
use ferry_core::services::transfers::UploadInstructions;
use ferry_core::values::{ContentMd5, Role};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Serialize)]
pub struct PartyView {
    pub id: String,
    pub email: String,
}

#[derive(Serialize)]
pub struct RecipientView {
    pub email: String,
    pub status: RecipientStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notified_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub received_at: Option<DateTime<Utc>>,
}

#[derive(Serialize)]
#[serde(untagged)]
pub enum UploadView {
    Single {
        method: String,
        url: String,
        headers: BTreeMap<String, String>,
        expires_at: DateTime<Utc>,
    },
    Multipart {
        part_size: u64,
        part_count: u32,
        expires_at: DateTime<Utc>,
    },
}

impl From<UploadInstructions> for UploadView {
    fn from(u: UploadInstructions) -> Self {
        match u {
            UploadInstructions::Single {
                request:
                    PresignedRequest {
                        method,
                        url,
                        headers,
                    },
                expires_at,
            } => Self::Single {
                method,
                url,
                headers,
                expires_at,
            },
            UploadInstructions::Multipart {
                part_size,
                part_count,
                expires_at,
            } => Self::Multipart {
                part_size,
                part_count,
                expires_at,
            },
        }
    }
}

#[derive(Serialize)]
pub struct DocumentView {
    pub id: DocumentId,
    pub name: String,
    pub size: u64,
    pub content_type: String,
    pub detected_type: Option<&'static str>,
    pub md5: Option<String>,
    pub sha256: Option<String>,
    pub status: DocumentStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<RejectReason>,
    pub pages: Option<u32>,
    pub text_preview: Option<String>,
    pub text_truncated: bool,
    pub engine: Option<Engine>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload: Option<UploadView>,
}

impl DocumentView {
    pub fn new(d: &Document, upload: Option<UploadInstructions>) -> Self {
        Self {
            id: d.id,
            name: d.name.clone(),
            size: d.size,
            content_type: d.content_type.clone(),
            detected_type: d.detected_type.map(|t| t.mime()),
            md5: d.md5.as_ref().map(ContentMd5::to_base64),
            sha256: d
                .sha256
                .clone()
                .filter(|s| !s.is_empty() && d.status != DocumentStatus::Rejected),
            status: d.status,
            reason: d.reason,
            pages: d.pages,
            text_preview: d.text_preview.clone(),
            text_truncated: d.text_truncated,
            engine: d.engine,
            upload: upload.map(UploadView::from),
        }
    }
}

#[derive(Serialize)]
pub struct DeliveryView {
    pub id: DeliveryId,
    pub recipient: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<&Delivery> for DeliveryView {
    fn from(d: &Delivery) -> Self {
        Self {
            id: d.id,
            recipient: d.recipient.to_string(),
            kind: d.kind.clone(),
            status: d.status,
            attempts: d.attempts,
            last_error: d.last_error.clone(),
            created_at: d.created_at,
            finished_at: d.finished_at,
        }
    }
}

#[derive(Serialize)]
pub struct TransferView {
    pub id: TransferId,
    pub status: TransferStatus,
    pub sender: PartyView,
    pub recipients: Vec<RecipientView>,
    pub subject: String,
    pub message: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub purged_at: Option<DateTime<Utc>>,
    pub documents: Vec<DocumentView>,
    pub deliveries: Vec<DeliveryView>,
}

impl TransferView {
    /// A recipient sees only themselves among the recipients, and only their own deliveries.
    pub fn new(t: &Transfer, access: &Access, uploads: Vec<Option<UploadInstructions>>) -> Self {
        let own = |email: &str| match access {
            Access::Recipient(me) => me.as_str() == email,
            _ => true,
        };
        let mut uploads = uploads.into_iter();
        Self {
            id: t.id,
            status: t.status,
            sender: PartyView {
                id: t.sender.id.to_string(),
                email: t.sender.email.to_string(),
            },
            recipients: t
                .recipients
                .iter()
                .filter(|r| own(r.email.as_str()))
                .map(|r| RecipientView {
                    email: r.email.to_string(),
                    status: r.status,
                    notified_at: r.notified_at,
                    verified_at: r.verified_at,
                    received_at: r.received_at,
                })
                .collect(),
            subject: t.subject.clone(),
            message: t.message.clone(),
            created_at: t.created_at,
            expires_at: t.expires_at,
            purged_at: t.purged_at,
            documents: t
                .documents
                .iter()
                .map(|d| DocumentView::new(d, uploads.next().flatten()))
                .collect(),
            deliveries: t
                .deliveries
                .iter()
                .filter(|d| own(d.recipient.as_str()))
                .map(DeliveryView::from)
                .collect(),
        }
    }
}

#[derive(Serialize)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub name: String,
    pub roles: Vec<Role>,
    pub enabled: bool,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.to_string(),
            email: u.email.to_string(),
            name: u.name.clone(),
            roles: u.roles.clone(),
            enabled: u.enabled,
        }
    }
}

#[derive(Serialize)]
pub struct AuditView {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub transfer_id: Option<TransferId>,
    pub document_id: Option<DocumentId>,
    pub outcome: ferry_core::audit::Outcome,
    pub detail: Option<String>,
    pub source_ip: Option<String>,
}

impl From<&AuditEvent> for AuditView {
    fn from(e: &AuditEvent) -> Self {
        Self {
            at: e.at,
            actor: e.actor.clone(),
            action: e.action.clone(),
            transfer_id: e.transfer_id,
            document_id: e.document_id,
            outcome: e.outcome,
            detail: e.detail.clone(),
            source_ip: e.source_ip.clone(),
        }
    }
}

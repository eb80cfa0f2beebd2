//! The audit trail: who did what to which transfer, and how it ended. Never any content.

use crate::ids::{AuditId, DocumentId, TransferId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
    Denied,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub id: AuditId,
    pub at: DateTime<Utc>,
    /// `user:{id}`, `recipient:{email}`, `system` or `anonymous`.
    pub actor: String,
    pub action: String,
    pub transfer_id: Option<TransferId>,
    pub document_id: Option<DocumentId>,
    pub outcome: Outcome,
    pub detail: Option<String>,
    pub source_ip: Option<String>,
}

impl AuditEvent {
    pub fn new(
        actor: impl Into<String>,
        action: &str,
        outcome: Outcome,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            id: AuditId::new(),
            at,
            actor: actor.into(),
            action: action.to_owned(),
            transfer_id: None,
            document_id: None,
            outcome,
            detail: None,
            source_ip: None,
        }
    }

    pub fn transfer(mut self, id: TransferId) -> Self {
        self.transfer_id = Some(id);
        self
    }

    pub fn document(mut self, id: DocumentId) -> Self {
        self.document_id = Some(id);
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn source_ip(mut self, ip: Option<String>) -> Self {
        self.source_ip = ip;
        self
    }
}

/// A filter over the trail; results are newest first, paged with an opaque cursor.
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    pub transfer_id: Option<TransferId>,
    pub actor: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub cursor: Option<String>,
    pub limit: usize,
}

#[derive(Clone, Debug, Default)]
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    pub next_cursor: Option<String>,
}

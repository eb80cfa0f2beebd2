//! When a job has failed every retry. The work it stood for is settled where people see it —
//! a document is rejected or handed on without its text, a failure enters the audit trail —
//! and never dropped silently. ferry-local calls this before burying a job; on AWS the function
//! does on a message's last receive, before the message moves to its dead-letter queue.

use super::{Ferry, Step};
use crate::audit::{AuditEvent, Outcome};
use crate::error::Result;
use crate::ids::{DocumentId, TransferId};
use crate::model::{Engine, Progress, RejectReason};
use crate::ports::{Job, parse_object_key};

impl Ferry {
    pub async fn abandon_job(&self, job: &Job) -> Result<()> {
        tracing::error!(job = job.kind(), "a job failed every retry: settling it");
        match job {
            Job::ObjectCreated { key } if key.starts_with(crate::inbox::INBOX_PREFIX) => {
                self.abandon_inbox_object(key).await
            }
            Job::ObjectCreated { key } => {
                let Some((tid, did)) = parse_object_key(key) else {
                    return Ok(());
                };
                // Bytes nobody could check must not be handed on, nor kept.
                self.ports.store.delete(key).await?;
                let reason = RejectReason::ProcessingFailed;
                self.settle_document(tid, did, "document.rejected", reason.code(), |t| {
                    t.reject_upload(did, reason, None, None)
                })
                .await
            }
            Job::Extract {
                transfer_id,
                document_id,
            } => {
                // The bytes were validated: the recipient still gets them, without a preview.
                let did = *document_id;
                self.settle_document(
                    *transfer_id,
                    did,
                    "document.ready",
                    "processing_failed",
                    |t| t.mark_ready(did, Engine::None, None, None, false),
                )
                .await
            }
            other => {
                if let Some(tid) = other.transfer_id() {
                    self.audit(
                        AuditEvent::new("system", "job.abandoned", Outcome::Failure, self.now())
                            .transfer(tid)
                            .detail(other.kind()),
                    )
                    .await;
                }
                Ok(())
            }
        }
    }

    /// Applies `change` to one document and, when it changed anything, audits it as a failure
    /// and moves the transfer on.
    pub(super) async fn settle_document(
        &self,
        tid: TransferId,
        did: DocumentId,
        action: &str,
        detail: &str,
        mut change: impl FnMut(&mut crate::model::Transfer) -> Progress,
    ) -> Result<()> {
        if self.ports.catalog.get_transfer(tid).await?.is_none() {
            return Ok(());
        }
        let (transfer, progress) = self
            .update(tid, |t| {
                let progress = change(t);
                Ok(if progress == Progress::Unchanged {
                    Step::Keep(progress)
                } else {
                    Step::Save(progress)
                })
            })
            .await?;
        if progress != Progress::Unchanged {
            self.audit(
                AuditEvent::new("system", action, Outcome::Failure, self.now())
                    .transfer(tid)
                    .document(did)
                    .detail(detail),
            )
            .await;
        }
        self.follow_up(&transfer, Some(did)).await
    }
}

//! The end of a transfer: receipts, cancellation and expiry all lead here. The transfer is
//! marked finished first (content routes answer 410 from then on), then every byte and every
//! text is deleted, then the catalog scrubs freed pages. Each step is idempotent, so a retry
//! after a failure in the middle completes the purge.

use super::authorize;
use super::{Ferry, Step};
use crate::audit::{AuditEvent, Outcome};
use crate::auth::Caller;
use crate::error::{Error, Result};
use crate::ids::TransferId;
use crate::model::{
    Document, DocumentStatus, RecipientStatus, Transfer, TransferStatus, UploadPlan,
};
use crate::ports::{Job, object_key, text_key};
use futures_util::future::BoxFuture;
use futures_util::{FutureExt, StreamExt};
use std::time::Duration;

/// Long enough for the purge in progress to finish first; within SQS's 15-minute delay limit.
const PURGE_CHECK_DELAY: Duration = Duration::from_secs(5 * 60);

/// Documents deleted at once by a purge.
const PURGE_CONCURRENCY: usize = 8;

impl Ferry {
    /// A recipient confirms receipt; when the last one has, the transfer is completed and purged.
    pub async fn confirm_receipt(
        &self,
        caller: &Caller,
        tid: TransferId,
        source_ip: Option<String>,
    ) -> Result<Transfer> {
        let transfer = self.load(tid).await?;
        let email = authorize::require_recipient(caller, &transfer)?;
        if transfer.status.is_final() {
            if transfer.status == TransferStatus::Completed {
                // A repeated confirmation also finishes a purge that was interrupted.
                return self.end_transfer(tid, TransferStatus::Completed).await;
            }
            return Err(Error::Gone(
                "this transfer has ended and its documents were deleted".into(),
            ));
        }
        if transfer.status != TransferStatus::Sent {
            return Err(Error::Conflict("the documents are not ready yet".into()));
        }
        let now = self.now();
        let (transfer, changed) = self
            .update(tid, |t| {
                let r = t
                    .recipient_mut(&email)
                    .ok_or_else(|| Error::not_found("transfer"))?;
                if r.status == RecipientStatus::Received {
                    return Ok(Step::Keep(false));
                }
                r.status = RecipientStatus::Received;
                r.received_at = Some(now);
                Ok(Step::Save(true))
            })
            .await?;
        if changed {
            self.audit(
                AuditEvent::new(caller.actor(), "recipient.received", Outcome::Success, now)
                    .transfer(tid)
                    .detail(email.to_string())
                    .source_ip(source_ip),
            )
            .await;
        }
        if transfer.all_recipients_received() {
            return self.end_transfer(tid, TransferStatus::Completed).await;
        }
        Ok(transfer)
    }

    /// Ends the transfer with `status` (unless it already ended) and deletes its content.
    pub(crate) async fn end_transfer(
        &self,
        tid: TransferId,
        status: TransferStatus,
    ) -> Result<Transfer> {
        // Queued before anything changes: should the process die between marking the transfer
        // ended and deleting the last byte, this job finishes the purge after the restart.
        self.ports
            .queue
            .enqueue(&Job::Purge { transfer_id: tid }, PURGE_CHECK_DELAY)
            .await?;
        self.finish_and_purge(tid, status).await
    }

    /// The background check queued by [`Self::end_transfer`].
    pub(crate) async fn on_purge(&self, tid: TransferId) -> Result<()> {
        let Some(transfer) = self.ports.catalog.get_transfer(tid).await? else {
            return Ok(());
        };
        if transfer.status.is_final() && !transfer.content_deleted {
            tracing::warn!(transfer_id = %tid, "finishing a purge that was interrupted");
            self.finish_and_purge(tid, transfer.status).await?;
        }
        Ok(())
    }

    async fn finish_and_purge(&self, tid: TransferId, status: TransferStatus) -> Result<Transfer> {
        let now = self.now();
        let (transfer, ended) = self
            .update(tid, |t| {
                Ok(if t.finish(status, now) {
                    Step::Save(true)
                } else {
                    Step::Keep(false)
                })
            })
            .await?;
        if ended {
            self.audit(
                AuditEvent::new("system", "transfer.ended", Outcome::Success, now)
                    .transfer(tid)
                    .detail(format!("{:?}", transfer.status).to_lowercase()),
            )
            .await;
        }
        if transfer.content_deleted {
            return Ok(transfer);
        }
        self.delete_content(&transfer).await?;
        let (transfer, ()) = self
            .update(tid, |t| {
                if t.content_deleted {
                    return Ok(Step::Keep(()));
                }
                t.content_deleted = true;
                Ok(Step::Save(()))
            })
            .await?;
        self.ports.catalog.scrub().await?;
        self.audit(
            AuditEvent::new("system", "transfer.purged", Outcome::Success, self.now())
                .transfer(tid)
                .detail(format!("{} documents deleted", transfer.documents.len())),
        )
        .await;
        Ok(transfer)
    }

    /// Documents are deleted a few at a time: a receipt or a cancel waits for the purge, and a
    /// hundred documents one after the other could outlast the request.
    async fn delete_content(&self, transfer: &Transfer) -> Result<()> {
        // Boxed as `Send` futures: the request handlers that end here must stay `Send`.
        let deletions: Vec<BoxFuture<'_, Result<()>>> = transfer
            .documents
            .iter()
            .map(|doc| self.delete_document(transfer.id, doc).boxed())
            .collect();
        let mut deletions =
            futures_util::stream::iter(deletions).buffer_unordered(PURGE_CONCURRENCY);
        // Every deletion is tried; the first failure is reported (the purge is retried whole).
        let mut failed = None;
        while let Some(done) = deletions.next().await {
            if let Err(e) = done {
                failed.get_or_insert(e);
            }
        }
        failed.map_or(Ok(()), Err)
    }

    async fn delete_document(&self, tid: TransferId, doc: &Document) -> Result<()> {
        let key = object_key(tid, doc.id);
        if let UploadPlan::Multipart { upload_id, .. } = &doc.upload
            && doc.uploaded_at.is_none()
            && doc.status != DocumentStatus::Rejected
        {
            self.ports.store.abort_multipart(&key, upload_id).await?;
        }
        self.ports.store.delete(&key).await?;
        self.ports.store.delete(&text_key(tid, doc.id)).await?;
        Ok(())
    }

    /// The periodic sweep: expire what is past its date. Returns how many transfers it ended;
    /// fails, after trying every one, when any could not be ended, so that the failure reaches
    /// an operator (the function's error alarm) instead of only a log line.
    pub async fn sweep_expired(&self) -> Result<usize> {
        let due = self.ports.catalog.expired_before(self.now(), 100).await?;
        let (mut ended, mut failed) = (0, 0);
        for tid in due {
            match self.end_transfer(tid, TransferStatus::Expired).await {
                Ok(_) => ended += 1,
                Err(e) => {
                    failed += 1;
                    tracing::error!(transfer_id = %tid, error = %e, "expiring a transfer failed")
                }
            }
        }
        if failed > 0 {
            return Err(anyhow::anyhow!(
                "{failed} expired transfers could not be ended ({ended} were)"
            )
            .into());
        }
        Ok(ended)
    }
}

//! The event-driven half of UC1: validate bytes as they land, extract text, and once every
//! document is settled email the recipients and the sender. Each handler is idempotent: a
//! duplicated or replayed message finds the state already moved on and only re-sends the
//! follow-up messages that might have been lost (which are idempotent in turn).

use super::{Ferry, Step};
use crate::audit::{AuditEvent, Outcome};
use crate::error::{Error, Result};
use crate::ids::{DocumentId, TransferId};
use crate::model::{
    Document, DocumentStatus, Engine, Progress, RecipientStatus, RejectReason, Transfer,
    TransferStatus,
};
use crate::ports::{Job, OutgoingMail, object_key, parse_object_key, text_key};
use crate::scan::{ScanError, ScanVerdict, display_signature};
use crate::services::transfers::StoredText;
use crate::tokens;
use crate::validation::{StreamInspection, TypeVerdict, inspect_stream};
use crate::values::{ContentMd5, EmailAddress};
use futures_util::StreamExt;
use sha2::{Digest as _, Sha256};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

const PREVIEW_CHARS: usize = 280;

impl Ferry {
    /// Runs one job. An error means "not handled, deliver again later".
    #[tracing::instrument(skip_all, fields(job = job.kind()))]
    pub async fn handle_job(&self, job: &Job) -> Result<()> {
        match job {
            Job::ObjectCreated { key } => self.on_object_created(key).await,
            Job::Extract {
                transfer_id,
                document_id,
            } => self.on_extract(*transfer_id, *document_id).await,
            Job::NotifyRecipient { transfer_id, email } => {
                self.on_notify_recipient(*transfer_id, email).await
            }
            Job::NotifySender { transfer_id } => self.on_notify_sender(*transfer_id).await,
            Job::Deliver {
                transfer_id,
                delivery_id,
            } => self.on_deliver(*transfer_id, *delivery_id).await,
            Job::Purge { transfer_id } => self.on_purge(*transfer_id).await,
        }
    }

    async fn enqueue(&self, job: Job) -> Result<()> {
        Ok(self.ports.queue.enqueue(&job, Duration::ZERO).await?)
    }

    #[tracing::instrument(skip_all, fields(transfer_id, document_id))]
    async fn on_object_created(&self, key: &str) -> Result<()> {
        if key.starts_with(crate::inbox::INBOX_PREFIX) {
            return self.on_inbox_object(key).await;
        }
        let Some((tid, did)) = parse_object_key(key) else {
            tracing::warn!("object created outside transfers/ and inbox/: ignored");
            return Ok(());
        };
        tracing::Span::current().record("transfer_id", tracing::field::display(tid));
        tracing::Span::current().record("document_id", tracing::field::display(did));
        let transfer = match self.ports.catalog.get_transfer(tid).await? {
            Some(t) => t,
            None => {
                // Bytes nobody asked for: remove them rather than keep unaccounted content.
                self.ports.store.delete(key).await?;
                return Ok(());
            }
        };
        let Some(doc) = transfer.document(did) else {
            self.ports.store.delete(key).await?;
            return Ok(());
        };
        if transfer.status.is_final() {
            self.ports.store.delete(key).await?;
            return Ok(());
        }
        if matches!(
            doc.status,
            DocumentStatus::Rejected | DocumentStatus::Purged
        ) {
            // Bytes sent again to a document that was refused: they are as unwanted as before.
            self.ports.store.delete(key).await?;
            return Ok(());
        }
        if doc.status != DocumentStatus::AwaitingUpload {
            return self.follow_up(&transfer, Some(did)).await;
        }

        let verdict = self
            .inspect(key, doc.size, doc.md5.as_ref(), &doc.content_type)
            .await?;
        let Some(mut verdict) = verdict else {
            // The event arrived but the object is gone (deleted by a concurrent cancel).
            return Ok(());
        };
        if verdict.outcome.is_ok() && !self.scan_for_malware(key, &mut verdict).await? {
            return Ok(());
        }
        if let Err(reason) = &verdict.outcome {
            // Rejected bytes are deleted at once, before the state says so.
            self.ports.store.delete(key).await?;
            tracing::info!(reason = ?reason, "document rejected");
        }
        let now = self.now();
        let (transfer, progress) = self
            .update(tid, |t| {
                let progress = match &verdict.outcome {
                    Ok(()) => t.accept_upload(did, verdict.detected, verdict.sha256.clone(), now),
                    Err(reason) => t.reject_upload(
                        did,
                        *reason,
                        Some(verdict.detected),
                        Some(verdict.sha256.clone()),
                    ),
                };
                Ok(if progress == Progress::Unchanged {
                    Step::Keep(progress)
                } else {
                    Step::Save(progress)
                })
            })
            .await?;
        if progress != Progress::Unchanged {
            let (action, outcome, detail) = match &verdict.outcome {
                Ok(()) => (
                    "document.validated",
                    Outcome::Success,
                    verdict.detected.name().to_owned(),
                ),
                Err(reason) => (
                    "document.rejected",
                    Outcome::Failure,
                    verdict
                        .detail
                        .clone()
                        .unwrap_or_else(|| reason.code().to_owned()),
                ),
            };
            self.audit(
                AuditEvent::new("system", action, outcome, now)
                    .transfer(tid)
                    .document(did)
                    .detail(detail),
            )
            .await;
        }
        self.follow_up(&transfer, Some(did)).await
    }

    /// One streaming pass: MD5, SHA-256 and the real type, in constant memory.
    async fn inspect(
        &self,
        key: &str,
        declared_size: u64,
        md5: Option<&ContentMd5>,
        declared_type: &str,
    ) -> Result<Option<Verdict>> {
        let Some(stream) = self.ports.store.get(key).await? else {
            return Ok(None);
        };
        let max = declared_size.min(self.settings.limits.max_file_bytes);
        let inspection = match inspect_stream(stream, max)
            .await
            .map_err(anyhow::Error::from)?
        {
            StreamInspection::Complete(inspection) => inspection,
            StreamInspection::TooLarge { detected } => {
                return Ok(Some(Verdict {
                    outcome: Err(RejectReason::TooLarge),
                    detected,
                    sha256: String::new(),
                    detail: None,
                }));
            }
        };
        let sha256 = hex::encode(inspection.sha256);
        let outcome = if inspection.size == 0 {
            Err(RejectReason::Empty)
        } else if md5 != Some(&ContentMd5::from_digest(inspection.md5)) {
            // Also when none was declared: bytes assembled without one promised nothing.
            Err(RejectReason::ChecksumMismatch)
        } else {
            match self
                .settings
                .types
                .check(declared_type, inspection.detected)
            {
                TypeVerdict::Accepted => Ok(()),
                TypeVerdict::NotAllowed => Err(RejectReason::TypeNotAllowed),
                TypeVerdict::Mismatch => Err(RejectReason::TypeMismatch),
            }
        };
        Ok(Some(Verdict {
            outcome,
            detected: inspection.detected,
            sha256,
            detail: None,
        }))
    }

    /// A second streaming pass, through the malware scanner when one is installed; turns an
    /// accepting verdict into a rejection when the scanner finds something. `false` when the
    /// object is gone. A scanner that cannot answer fails the job, which is retried: a document
    /// is never passed unscanned.
    async fn scan_for_malware(&self, key: &str, verdict: &mut Verdict) -> Result<bool> {
        let Some(scanner) = &self.malware_scanner else {
            return Ok(true);
        };
        let Some(stream) = self.ports.store.get(key).await? else {
            return Ok(false);
        };
        // The bytes scanned must be the bytes just verified: hashed again on the way through.
        let seen = Arc::new(Mutex::new(Sha256::new()));
        let hasher = seen.clone();
        let stream = Box::pin(stream.inspect(move |chunk| {
            if let Ok(bytes) = chunk {
                hasher
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .update(bytes);
            }
        }));
        match scanner.scan(stream).await {
            Ok(ScanVerdict::Clean) => {
                let hasher =
                    std::mem::take(&mut *seen.lock().unwrap_or_else(PoisonError::into_inner));
                if hex::encode(hasher.finalize()) != verdict.sha256 {
                    return Err(anyhow::anyhow!(
                        "the malware scan did not see the bytes that were validated (changed meanwhile, or not read to the end)"
                    )
                    .into());
                }
            }
            Ok(ScanVerdict::Infected { signature }) => {
                let signature = display_signature(&signature);
                tracing::warn!(signature = %signature, "malware found");
                verdict.outcome = Err(RejectReason::Malware);
                verdict.detail = Some(format!("{}: {signature}", RejectReason::Malware.code()));
            }
            Err(ScanError::TooLarge) => {
                verdict.outcome = Err(RejectReason::TooLarge);
                verdict.detail = Some(format!(
                    "{}: larger than the malware scanner accepts",
                    RejectReason::TooLarge.code()
                ));
            }
            Err(ScanError::Failed(e)) => {
                // The cause in the message itself: it is what a log line of the retry shows.
                return Err(anyhow::anyhow!("the malware scan failed: {e:#}").into());
            }
        }
        Ok(true)
    }

    /// Sends the messages that the transfer's state calls for. Called after every handled
    /// event, changed or not, so a message lost between a save and its send is sent again.
    pub(crate) async fn follow_up(
        &self,
        transfer: &Transfer,
        document: Option<DocumentId>,
    ) -> Result<()> {
        if transfer.status.is_final() {
            return Ok(());
        }
        if let Some(did) = document.filter(|&did| {
            transfer
                .document(did)
                .is_some_and(|d| d.status == DocumentStatus::Uploaded)
        }) {
            self.enqueue(Job::Extract {
                transfer_id: transfer.id,
                document_id: did,
            })
            .await?;
        }
        if transfer.notifications_queued {
            if transfer.has_ready_documents() {
                for r in transfer
                    .recipients
                    .iter()
                    .filter(|r| r.status == RecipientStatus::Pending)
                {
                    self.enqueue(Job::NotifyRecipient {
                        transfer_id: transfer.id,
                        email: r.email.clone(),
                    })
                    .await?;
                }
            }
            if !transfer.sender_receipt_sent {
                self.enqueue(Job::NotifySender {
                    transfer_id: transfer.id,
                })
                .await?;
            }
        }
        Ok(())
    }

    #[tracing::instrument(skip(self))]
    async fn on_extract(&self, tid: TransferId, did: DocumentId) -> Result<()> {
        let Some(transfer) = self.ports.catalog.get_transfer(tid).await? else {
            return Ok(());
        };
        let Some(doc) = transfer.document(did) else {
            return Ok(());
        };
        if doc.status != DocumentStatus::Uploaded || transfer.status.is_final() {
            return self.follow_up(&transfer, None).await;
        }
        let detected = doc
            .detected_type
            .ok_or_else(|| anyhow::anyhow!("an uploaded document has no detected type"))?;
        let extraction = self
            .ports
            .extractor
            .extract(&object_key(tid, did), detected, doc.size)
            .await?;
        let (pages, preview, truncated) = match &extraction.text {
            Some(text) => {
                let stored = StoredText::from((text, extraction.engine));
                let body = serde_json::to_vec(&stored).map_err(anyhow::Error::from)?;
                self.ports
                    .store
                    .put_small(&text_key(tid, did), body.into(), "application/json")
                    .await?;
                (
                    Some(text.page_count),
                    Some(preview(&text.pages)),
                    text.truncated,
                )
            }
            None => (None, None, false),
        };
        let engine = extraction.engine;
        let (transfer, progress) = self
            .update(tid, |t| {
                let progress = t.mark_ready(did, engine, pages, preview.clone(), truncated);
                Ok(if progress == Progress::Unchanged {
                    Step::Keep(progress)
                } else {
                    Step::Save(progress)
                })
            })
            .await?;
        if transfer.status.is_final() {
            // Cancelled while extracting: the text just written must not outlive the purge.
            self.ports.store.delete(&text_key(tid, did)).await?;
            return Ok(());
        }
        if progress != Progress::Unchanged {
            self.audit(
                AuditEvent::new("system", "document.ready", Outcome::Success, self.now())
                    .transfer(tid)
                    .document(did)
                    .detail(format!("engine {}", engine_name(engine))),
            )
            .await;
        }
        self.follow_up(&transfer, None).await
    }

    #[tracing::instrument(skip(self, email))]
    async fn on_notify_recipient(&self, tid: TransferId, email: &EmailAddress) -> Result<()> {
        let Some(transfer) = self.ports.catalog.get_transfer(tid).await? else {
            return Ok(());
        };
        let pending = transfer
            .recipient(email)
            .is_some_and(|r| r.status == RecipientStatus::Pending);
        if !pending || transfer.status.is_final() || !transfer.has_ready_documents() {
            return Ok(());
        }
        // The token exists only in this email; a retry replaces it (and the email) with a new one.
        let token = tokens::new_link_token();
        let link_hash = tokens::hash_secret(&token, "link");
        let (transfer, ()) = self
            .update(tid, |t| {
                let r = t
                    .recipient_mut(email)
                    .ok_or_else(|| Error::not_found("recipient"))?;
                r.link_hash = Some(link_hash.clone());
                Ok(Step::Save(()))
            })
            .await?;
        let link = format!("{}/r/{token}", self.settings.public_url);
        let ready: Vec<_> = transfer
            .documents
            .iter()
            .filter(|d| d.status == DocumentStatus::Ready)
            .collect();
        let mut text = format!(
            "{sender} sent you {n} document{s} with Ferry.\n\nSubject: {subject}\n",
            sender = transfer.sender.email,
            n = ready.len(),
            s = if ready.len() == 1 { "" } else { "s" },
            subject = transfer.subject,
        );
        if !transfer.message.is_empty() {
            text.push_str(&format!("\n{}\n", transfer.message));
        }
        text.push_str("\nDocuments:\n");
        for d in &ready {
            text.push_str(&format!("  - {} ({} bytes)\n", d.name, d.size));
        }
        text.push_str(&format!(
            "\nOpen this link to receive them. You will be asked for a code sent to this address.\n\n  {link}\n\nThe link is for you alone and works until {}.\n",
            transfer.expires_at.format("%Y-%m-%d %H:%M UTC")
        ));
        self.ports
            .mailer
            .send(&OutgoingMail {
                to: email.clone(),
                subject: format!(
                    "Documents from {}: {}",
                    transfer.sender.email, transfer.subject
                ),
                text,
                idempotency_key: format!("invite:{tid}:{email}"),
            })
            .await?;
        let now = self.now();
        let (_, changed) = self
            .update(tid, |t| {
                let r = t
                    .recipient_mut(email)
                    .ok_or_else(|| Error::not_found("recipient"))?;
                if r.status != RecipientStatus::Pending
                    || r.link_hash.as_deref() != Some(link_hash.as_str())
                {
                    return Ok(Step::Keep(false));
                }
                r.status = RecipientStatus::Notified;
                r.notified_at = Some(now);
                Ok(Step::Save(true))
            })
            .await?;
        if changed {
            self.audit(
                AuditEvent::new("system", "recipient.notified", Outcome::Success, now)
                    .transfer(tid)
                    .detail(email.to_string()),
            )
            .await;
        }
        Ok(())
    }

    #[tracing::instrument(skip(self))]
    async fn on_notify_sender(&self, tid: TransferId) -> Result<()> {
        let Some(transfer) = self.ports.catalog.get_transfer(tid).await? else {
            return Ok(());
        };
        if !transfer.notifications_queued {
            return Ok(());
        }
        let ready: Vec<_> = transfer
            .documents
            .iter()
            .filter(|d| d.status == DocumentStatus::Ready)
            .collect();
        let rejected: Vec<_> = transfer
            .documents
            .iter()
            .filter(|d| d.status == DocumentStatus::Rejected)
            .collect();
        if !transfer.sender_receipt_sent {
            self.send_sender_receipt(&transfer, &ready, &rejected)
                .await?;
        }
        // Also on a retry after the receipt went out: a transfer with nothing to send is ended.
        if ready.is_empty() && !transfer.status.is_final() {
            self.audit(
                AuditEvent::new("system", "transfer.rejected", Outcome::Failure, self.now())
                    .transfer(tid)
                    .detail("every document was rejected"),
            )
            .await;
            self.end_transfer(tid, TransferStatus::Cancelled).await?;
        }
        Ok(())
    }

    async fn send_sender_receipt(
        &self,
        transfer: &Transfer,
        ready: &[&Document],
        rejected: &[&Document],
    ) -> Result<()> {
        let tid = transfer.id;
        let mut text = if ready.is_empty() {
            format!(
                "Your transfer \"{}\" was not sent: every document was rejected.\n",
                transfer.subject
            )
        } else {
            let to: Vec<_> = transfer
                .recipients
                .iter()
                .map(|r| r.email.as_str())
                .collect();
            format!(
                "Your transfer \"{}\" was sent to {}.\n",
                transfer.subject,
                to.join(", ")
            )
        };
        if !ready.is_empty() {
            text.push_str("\nAccepted:\n");
            for d in ready {
                text.push_str(&format!(
                    "  - {} ({} bytes, MD5 verified, SHA-256 {})\n",
                    d.name,
                    d.size,
                    d.sha256.as_deref().unwrap_or("")
                ));
            }
        }
        if !rejected.is_empty() {
            text.push_str("\nRejected:\n");
            for d in rejected {
                let why = d.reason.map(RejectReason::explain).unwrap_or("rejected");
                text.push_str(&format!("  - {}: {why}\n", d.name));
            }
        }
        text.push_str(&format!("\nTransfer id: {tid}\n"));
        let subject = if ready.is_empty() {
            format!("Not sent: {}", transfer.subject)
        } else {
            format!("Sent: {}", transfer.subject)
        };
        self.ports
            .mailer
            .send(&OutgoingMail {
                to: transfer.sender.email.clone(),
                subject,
                text,
                idempotency_key: format!("receipt:{tid}"),
            })
            .await?;
        self.update(tid, |t| {
            if t.sender_receipt_sent {
                return Ok(Step::Keep(()));
            }
            t.sender_receipt_sent = true;
            Ok(Step::Save(()))
        })
        .await?;
        Ok(())
    }
}

struct Verdict {
    outcome: std::result::Result<(), RejectReason>,
    detected: crate::validation::DetectedType,
    sha256: String,
    /// The audit entry's detail when more than the reason's code (the malware's name).
    detail: Option<String>,
}

pub(crate) fn engine_name(engine: Engine) -> &'static str {
    match engine {
        Engine::Native => "native",
        Engine::Textract => "textract",
        Engine::None => "none",
    }
}

/// The first words of the text, whitespace folded, for the document view: at most
/// `PREVIEW_CHARS` characters, ending at a word with `…` when more text follows.
fn preview(pages: &[String]) -> String {
    let mut out = String::new();
    let mut chars = 0;
    let mut space_before = false;
    for c in pages
        .iter()
        .flat_map(|p| p.chars().chain(std::iter::once(' ')))
    {
        if c.is_whitespace() {
            space_before = !out.is_empty();
            continue;
        }
        // Room for the next character, a space and the ellipsis.
        if chars + 2 >= PREVIEW_CHARS {
            if !space_before && let Some(cut) = out.rfind(' ') {
                out.truncate(cut);
            }
            out.push('…');
            return out;
        }
        if space_before {
            out.push(' ');
            chars += 1;
            space_before = false;
        }
        out.push(c);
        chars += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn preview_folds_whitespace_and_is_bounded() {
        let pages = vec!["Hello\n\n  world".to_owned(), "page two".to_owned()];
        assert_eq!(super::preview(&pages), "Hello world page two");
        let long = vec!["x ".repeat(1000)];
        assert!(super::preview(&long).chars().count() <= super::PREVIEW_CHARS);
    }

    #[test]
    fn a_cut_preview_ends_at_a_word_with_an_ellipsis() {
        let words = vec!["revenue ".repeat(100)];
        let cut = super::preview(&words);
        assert!(cut.chars().count() <= super::PREVIEW_CHARS, "{cut}");
        assert!(cut.ends_with("revenue…"), "{cut}");
        let exact = vec!["short text".to_owned()];
        assert_eq!(super::preview(&exact), "short text");
    }
}

//! Pushing documents to a recipient's target system: PUT to presigned URLs they supply, or a
//! signed webhook carrying short-lived download URLs. Deliveries run from the work queue,
//! retried with backoff, and their outcome is recorded on the transfer and in the audit trail.

use super::authorize;
use super::{Ferry, Step};
use crate::audit::{AuditEvent, Outcome};
use crate::auth::Caller;
use crate::error::{Error, Result};
use crate::ids::{DeliveryId, DocumentId, TransferId};
use crate::model::{
    Delivery, DeliveryStatus, DeliveryTarget, DocumentStatus, Transfer, TransferStatus,
};
use crate::ports::{DeliveryError, Job, object_key};
use chrono::Duration;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::BTreeMap;

pub enum Destination {
    S3Presigned { urls: BTreeMap<String, String> },
    Webhook { url: String, secret: String },
}

const MAX_URL_LEN: usize = 4096;
/// Deliveries under way keep their targets (URLs, secrets) inside the transfer until they end;
/// the transfer must stay well within what a catalog item may hold (DynamoDB: 400 KB).
const MAX_PENDING_TARGET_BYTES: usize = 128 * 1024;

fn target_bytes(target: &DeliveryTarget) -> usize {
    match target {
        DeliveryTarget::S3Presigned { urls } => urls.iter().map(|(_, url)| url.len() + 40).sum(),
        DeliveryTarget::Webhook { url, secret } => url.len() + secret.len(),
    }
}

/// `t={unix},v1={hex HMAC-SHA256(secret, "{t}.{body}")}`: the timestamp is signed too, so a
/// receiver can refuse replays of an old delivery.
pub fn webhook_signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

impl Ferry {
    pub async fn create_delivery(
        &self,
        caller: &Caller,
        tid: TransferId,
        destination: Destination,
        source_ip: Option<String>,
    ) -> Result<Delivery> {
        let transfer = self.load(tid).await?;
        let email = authorize::require_recipient(caller, &transfer)?;
        if transfer.status.is_final() {
            return Err(Error::Gone(
                "the documents of this transfer have been deleted".into(),
            ));
        }
        if transfer.status != TransferStatus::Sent {
            return Err(Error::Conflict("the documents are not ready yet".into()));
        }
        let ready: Vec<DocumentId> = transfer
            .documents
            .iter()
            .filter(|d| d.status == DocumentStatus::Ready)
            .map(|d| d.id)
            .collect();
        let (kind, target) = match destination {
            Destination::S3Presigned { urls } => {
                let mut targets = Vec::with_capacity(urls.len());
                for (did, url) in urls {
                    let did = DocumentId::parse(&did)
                        .filter(|d| ready.contains(d))
                        .ok_or_else(|| {
                            Error::invalid(format!(
                                "destination.urls: {did} is not a ready document of this transfer"
                            ))
                        })?;
                    self.check_url(&url, "destination.urls").await?;
                    targets.push((did, url));
                }
                if let Some(missing) = ready.iter().find(|d| !targets.iter().any(|(t, _)| t == *d))
                {
                    return Err(Error::invalid(format!(
                        "destination.urls: a URL is needed for every ready document, {missing} has none"
                    )));
                }
                (
                    "s3_presigned",
                    DeliveryTarget::S3Presigned { urls: targets },
                )
            }
            Destination::Webhook { url, secret } => {
                self.check_url(&url, "destination.url").await?;
                if !(16..=256).contains(&secret.len()) {
                    return Err(Error::invalid(
                        "destination.secret: between 16 and 256 characters",
                    ));
                }
                ("webhook", DeliveryTarget::Webhook { url, secret })
            }
        };
        let now = self.now();
        let delivery = Delivery {
            id: DeliveryId::new(),
            recipient: email.clone(),
            kind: kind.into(),
            target: Some(target),
            status: DeliveryStatus::Pending,
            attempts: 0,
            last_error: None,
            created_at: now,
            finished_at: None,
        };
        let pending_limit = 20;
        self.update(tid, |t| {
            if t.deliveries
                .iter()
                .filter(|d| d.status == DeliveryStatus::Pending)
                .count()
                >= pending_limit
            {
                return Err(Error::Conflict(
                    "too many deliveries are already under way".into(),
                ));
            }
            let pending_bytes: usize = t
                .deliveries
                .iter()
                .filter(|d| d.status == DeliveryStatus::Pending)
                .filter_map(|d| d.target.as_ref())
                .map(target_bytes)
                .sum();
            if pending_bytes + delivery.target.as_ref().map_or(0, target_bytes)
                > MAX_PENDING_TARGET_BYTES
            {
                return Err(Error::Conflict(
                    "the deliveries under way hold too many target URLs: try again when they have finished"
                        .into(),
                ));
            }
            t.deliveries.push(delivery.clone());
            Ok(Step::Save(()))
        })
        .await?;
        self.ports
            .queue
            .enqueue(
                &Job::Deliver {
                    transfer_id: tid,
                    delivery_id: delivery.id,
                },
                std::time::Duration::ZERO,
            )
            .await?;
        self.audit(
            AuditEvent::new(caller.actor(), "delivery.requested", Outcome::Success, now)
                .transfer(tid)
                .detail(format!("{kind} {}", delivery.id))
                .source_ip(source_ip),
        )
        .await;
        Ok(delivery)
    }

    async fn check_url(&self, url: &str, field: &str) -> Result<()> {
        if url.len() > MAX_URL_LEN {
            return Err(Error::invalid(format!(
                "{field}: URLs have at most {MAX_URL_LEN} characters"
            )));
        }
        self.ports
            .deliverer
            .check_target(url)
            .await
            .map_err(|e| Error::invalid(format!("{field}: {e}")))
    }

    pub(crate) async fn on_deliver(&self, tid: TransferId, id: DeliveryId) -> Result<()> {
        let Some(transfer) = self.ports.catalog.get_transfer(tid).await? else {
            return Ok(());
        };
        let Some(delivery) = transfer.deliveries.iter().find(|d| d.id == id) else {
            return Ok(());
        };
        if delivery.status != DeliveryStatus::Pending || transfer.status.is_final() {
            return Ok(());
        }
        let Some(target) = delivery.target.clone() else {
            return Ok(());
        };
        let outcome = match &target {
            DeliveryTarget::S3Presigned { urls } => self.put_documents(&transfer, urls).await,
            DeliveryTarget::Webhook { url, secret } => {
                self.post_webhook(&transfer, id, url, secret).await
            }
        };
        let now = self.now();
        let max_attempts = self.settings.max_delivery_attempts;
        let (_, retry_in) = self
            .update(tid, |t| {
                let Some(d) = t.deliveries.iter_mut().find(|d| d.id == id) else {
                    return Ok(Step::Keep(None));
                };
                if d.status != DeliveryStatus::Pending {
                    return Ok(Step::Keep(None));
                }
                d.attempts += 1;
                let mut retry = None;
                match &outcome {
                    Ok(()) => {
                        d.status = DeliveryStatus::Succeeded;
                        d.last_error = None;
                    }
                    Err(DeliveryError::Failed(e)) if d.attempts < max_attempts => {
                        d.last_error = Some(e.clone());
                        retry = Some(std::time::Duration::from_secs(5 << (d.attempts - 1).min(7)));
                    }
                    Err(DeliveryError::Failed(e) | DeliveryError::Refused(e)) => {
                        d.status = DeliveryStatus::Failed;
                        d.last_error = Some(e.clone());
                    }
                }
                if d.status != DeliveryStatus::Pending {
                    d.finished_at = Some(now);
                    d.target = None;
                }
                Ok(Step::Save(retry))
            })
            .await?;
        match (&outcome, retry_in) {
            (_, Some(delay)) => {
                self.ports
                    .queue
                    .enqueue(
                        &Job::Deliver {
                            transfer_id: tid,
                            delivery_id: id,
                        },
                        delay,
                    )
                    .await?;
            }
            (Ok(()), None) => {
                self.audit(
                    AuditEvent::new("system", "delivery.succeeded", Outcome::Success, now)
                        .transfer(tid)
                        .detail(id.to_string()),
                )
                .await;
            }
            (Err(e), None) => {
                self.audit(
                    AuditEvent::new("system", "delivery.failed", Outcome::Failure, now)
                        .transfer(tid)
                        .detail(format!("{id}: {e}")),
                )
                .await;
            }
        }
        Ok(())
    }

    async fn put_documents(
        &self,
        transfer: &Transfer,
        urls: &[(DocumentId, String)],
    ) -> Result<(), DeliveryError> {
        for (did, url) in urls {
            let Some(doc) = transfer
                .document(*did)
                .filter(|d| d.status == DocumentStatus::Ready)
            else {
                return Err(DeliveryError::Refused(format!(
                    "document {did} is no longer available"
                )));
            };
            let body = match self.ports.store.get(&object_key(transfer.id, *did)).await {
                Ok(Some(body)) => body,
                Ok(None) => {
                    return Err(DeliveryError::Refused(format!(
                        "document {did} is no longer stored"
                    )));
                }
                Err(e) => {
                    return Err(DeliveryError::Failed(format!(
                        "reading document {did}: {e}"
                    )));
                }
            };
            let md5 = doc.md5.as_ref().ok_or_else(|| {
                DeliveryError::Refused(format!("document {did} has no verified MD5"))
            })?;
            self.ports.deliverer.put(url, body, doc.size, md5).await?;
        }
        Ok(())
    }

    async fn post_webhook(
        &self,
        transfer: &Transfer,
        id: DeliveryId,
        url: &str,
        secret: &str,
    ) -> Result<(), DeliveryError> {
        let expires_at = self.now() + Duration::hours(1);
        let mut documents = Vec::new();
        for doc in transfer
            .documents
            .iter()
            .filter(|d| d.status == DocumentStatus::Ready)
        {
            let content_type = doc
                .detected_type
                .map(|t| t.mime())
                .unwrap_or("application/octet-stream");
            let download = self
                .ports
                .store
                .presign_get(
                    &object_key(transfer.id, doc.id),
                    &doc.name,
                    content_type,
                    expires_at,
                )
                .await
                .map_err(|e| DeliveryError::Failed(format!("signing a download URL: {e}")))?;
            documents.push(serde_json::json!({
                "id": doc.id, "name": doc.name, "size": doc.size, "content_type": content_type,
                "md5": doc.md5, "sha256": doc.sha256, "pages": doc.pages, "url": download,
            }));
        }
        let body = serde_json::to_vec(&serde_json::json!({
            "type": "transfer.delivery",
            "delivery_id": id,
            "transfer_id": transfer.id,
            "subject": transfer.subject,
            "sender": transfer.sender.email,
            "urls_expire_at": expires_at,
            "documents": documents,
        }))
        .map_err(|e| DeliveryError::Failed(e.to_string()))?;
        let signature = webhook_signature(secret.as_bytes(), self.now().timestamp(), &body);
        let headers = vec![
            ("Ferry-Signature".to_owned(), signature),
            ("Ferry-Delivery".to_owned(), id.to_string()),
        ];
        self.ports.deliverer.post(url, body.into(), &headers).await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn signature_covers_timestamp_and_body() {
        let a = super::webhook_signature(b"secret-secret-16", 1700000000, b"{}");
        assert!(a.starts_with("t=1700000000,v1="));
        assert_ne!(
            a,
            super::webhook_signature(b"secret-secret-16", 1700000001, b"{}")
        );
        assert_ne!(
            a,
            super::webhook_signature(b"secret-secret-16", 1700000000, b"{ }")
        );
        assert_ne!(
            a,
            super::webhook_signature(b"another-secret-1", 1700000000, b"{}")
        );
    }
}
